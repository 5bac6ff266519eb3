"""Point density and Euclidean coverage counts on partitioned GeoParquet, beyond memory (Dask).

The points are read with ``dask_geopandas.read_parquet`` (one file, or a folder of parts); each
partition is counted against the zones on a worker with the same vectorised point-in-polygon
join as :func:`~baoshan_gis.analysis.density.carrier_density` (``intersects``, so a point on a
shared edge counts in both zones), the small zone geometries broadcast to every worker, and the
per-partition counts (one small table per partition) are summed on the client as they arrive.
No process ever holds more than one partition's points, so memory is bounded by the partition
size, not the file size. Results equal :func:`carrier_density`, :func:`grid_density` and
:func:`h3_density` on the same data.

A local cluster (two workers, one thread each) is started by default; ``scheduler`` connects
to any Dask scheduler (``tcp://host:8786``) to scale out across machines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis._errors import ClusterUnavailable, CRSError, DataImportError
from baoshan_gis.analysis._validate import (
    MAX_CELLS,
    parse_distance,
    points_xy_in,
    require_polygons,
    to_metric,
)
from baoshan_gis.analysis.density import (
    _codes,
    _density_table,
    h3_grid,
    square_grid,
    zone_counts,
)

#: Seconds to wait for a remote scheduler before giving up.
CONNECT_TIMEOUT_S = 10.0


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = False,
    timeout: float = CONNECT_TIMEOUT_S,
) -> Iterator[Any]:
    """A ``distributed.Client``: on ``scheduler`` if given, else on a new local cluster.

    An unreachable scheduler raises :class:`ClusterUnavailable` within ``timeout`` seconds.
    Both the client and a cluster started here are closed on exit.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterUnavailable(
                f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no reply'}); "
                "give the address of a running scheduler, e.g. tcp://10.0.0.5:8786, or leave "
                "out --scheduler for a local cluster"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=processes,
        dashboard_address=None,
    )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _parts(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix in (".parquet", ".geoparquet")
        )
        if not files:
            raise DataImportError(f"folder {path.name!r} holds no .parquet parts")
        return files
    raise DataImportError(f"no such GeoParquet file or folder: {path.name!r}")


def check_points(points_path: str | Path) -> dict[str, Any]:
    """Check every part is GeoParquet with a known CRS; the primary column, CRS and columns.

    Raises :class:`DataImportError` (plain Parquet, unreadable, mixed geometry columns) or
    :class:`CRSError` (``"crs": null``), saying what was found. An absent ``crs`` is OGC:CRS84,
    as the GeoParquet specification says.
    """
    import pyarrow.parquet as pq
    from pyproj import CRS

    from baoshan_gis.inputs.geoparquet import geo_metadata

    path = Path(points_path)
    files = _parts(path)
    primary: str | None = None
    crs: Any = None
    for f in files:
        meta = geo_metadata(f)
        column = meta["column"]
        assert isinstance(column, dict)
        if "crs" in column and column["crs"] is None:
            raise CRSError(
                f'{f.name!r} is GeoParquet {meta["version"]} with "crs": null (unknown '
                f"coordinate system) on column {meta['primary']!r}; write the points with a "
                "CRS, e.g. frame.set_crs('EPSG:4326').to_parquet(...)"
            )
        part_crs = CRS.from_user_input(column.get("crs", "OGC:CRS84"))
        if primary is None:
            primary, crs = str(meta["primary"]), part_crs
        elif primary != meta["primary"] or not part_crs.equals(crs):
            raise DataImportError(
                f"{f.name!r} differs from the first part (geometry column {meta['primary']!r} "
                f"in {part_crs.name}, expected {primary!r} in {crs.name}); all parts must share "
                "one geometry column and CRS"
            )
    columns = list(pq.read_schema(files[0]).names)
    return {"files": files, "primary": primary, "crs": crs, "columns": columns}


def _count_partition(
    part: gpd.GeoDataFrame, geoms: np.ndarray, crs: Any, by: str | None
) -> pd.DataFrame:
    """Counts of one partition per zone position: ``count`` and ``count_<category>``."""
    from baoshan_gis.analysis.density import _categories

    x, y, keep = points_xy_in(part, crs, "points")
    cats, values = _categories(part[keep] if not keep.all() else part, by, None)
    totals, per = zone_counts(geoms, x, y, _codes(cats, values), len(cats))
    out = pd.DataFrame({"count": totals})
    for i, cat in enumerate(cats):
        out[f"count_{cat}"] = per[:, i]
    return out


def _covered_partition(
    part: gpd.GeoDataFrame, geoms: np.ndarray, crs: Any, fxy: np.ndarray, radius: float,
    by: str | None,
) -> pd.DataFrame:
    """Points of one partition per zone position, and of them those within ``radius`` of a
    facility: ``count`` and ``count_covered``."""
    from baoshan_gis.analysis.coverage import covered_point_counts

    x, y, _ = points_xy_in(part, crs, "points")
    totals, covered = covered_point_counts(geoms, x, y, fxy, radius)
    return pd.DataFrame({"count": totals, "count_covered": covered})


def _h3_partition(
    part: gpd.GeoDataFrame, cells: pd.Series, resolution: int, by: str | None
) -> pd.DataFrame:
    """Counts of one partition per H3 cell position (points outside the grid ignored)."""
    import h3

    from baoshan_gis.analysis.density import _categories

    x, y, keep = points_xy_in(part, "EPSG:4326", "points")
    cats, values = _categories(part[keep] if not keep.all() else part, by, None)
    to_cell = np.frompyfunc(lambda lat, lon: h3.latlng_to_cell(lat, lon, resolution), 2, 1)
    ids = to_cell(y, x) if len(x) else np.empty(0, dtype=object)
    zi_all = cells.reindex(ids).to_numpy()
    inside = ~np.isnan(zi_all)
    zi = zi_all[inside].astype(np.int64)
    out = pd.DataFrame({"count": np.bincount(zi, minlength=len(cells))})
    codes = _codes(cats, values)
    if codes is not None:
        c = codes[inside]
        ok = c >= 0
        per = np.bincount(zi[ok] * len(cats) + c[ok], minlength=len(cells) * len(cats)).reshape(
            len(cells), len(cats)
        )
        for i, cat in enumerate(cats):
            out[f"count_{cat}"] = per[:, i]
    return out


def _run(
    points_path: str | Path,
    task: Any,
    args: tuple[Any, ...],
    n: int,
    by: str | None,
    client: Any,
    scheduler: str | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Map ``task`` over the partitions, sum the tables; ``(totals, per[n, cats], cats)``."""
    import dask
    import dask_geopandas

    info = check_points(points_path)
    by = by if by in info["columns"] else None
    cols = [info["primary"]] + ([by] if by else [])
    ddf = dask_geopandas.read_parquet(str(points_path), columns=cols)
    if ddf.crs is None:
        ddf = ddf.set_crs(info["crs"])

    def go(c: Any) -> pd.DataFrame:
        shared = c.scatter(list(args), broadcast=True)
        parts = ddf.to_delayed()
        futures = c.compute([dask.delayed(task)(p, *shared, by) for p in parts])
        total = pd.DataFrame({"count": np.zeros(n, dtype=np.int64)})
        for fut in futures:  # in order; each result is one small table
            total = total.add(c.gather(fut), fill_value=0)
            fut.release()
        return total

    if client is not None:
        total = go(client)
    else:
        with dask_client(scheduler) as c:
            total = go(c)
    cats = sorted(c[len("count_") :] for c in total.columns if c.startswith("count_"))
    totals = total["count"].to_numpy(dtype=np.int64)
    per = np.zeros((n, len(cats)), dtype=np.int64)
    for i, cat in enumerate(cats):
        per[:, i] = total[f"count_{cat}"].to_numpy(dtype=np.int64)
    return totals, per, cats


def density_partitioned(
    points_path: str | Path,
    zones: gpd.GeoDataFrame | None = None,
    *,
    grid: float | str | None = None,
    h3: int | None = None,
    area: gpd.GeoDataFrame | None = None,
    by: str | None = "category",
    client: Any = None,
    scheduler: str | None = None,
    max_cells: int = MAX_CELLS,
) -> gpd.GeoDataFrame:
    """Points per zone (or square grid cell / H3 hexagon) of partitioned GeoParquet, with Dask.

    Parameters
    ----------
    points_path
        A GeoParquet file or a folder of GeoParquet parts (one CRS).
    zones
        Polygon layer to count in; with ``grid`` / ``h3`` it is the area the cells cover
        (unless ``area`` is given).
    grid, h3
        Square grid cell size in metres, or H3 resolution (0-15); at most one.
    by
        Column to split counts by, when the points have it (``None``: totals only).
    client, scheduler
        A ``distributed.Client`` to use, or a scheduler address to connect to; neither: a local
        two-worker cluster for the call.

    Returns
    -------
    geopandas.GeoDataFrame
        The same table as :func:`carrier_density` / :func:`grid_density` / :func:`h3_density`
        (``area_km2``, ``count``, ``per_km2``, ``count_<category>``, ``per_km2_<category>``),
        with categories those present in the data.
    """
    from baoshan_gis._errors import AnalysisError

    if grid is not None and h3 is not None:
        raise AnalysisError("give grid or h3, not both")
    cover = area if area is not None else zones
    if cover is None:
        raise AnalysisError("give the zones (or the area the grid / H3 cells cover)")
    if h3 is not None:
        cells = h3_grid(cover, resolution=h3, max_cells=max_cells)
        lookup = pd.Series(np.arange(len(cells)), index=cells["h3"].to_numpy())
        totals, per, cats = _run(
            points_path, _h3_partition, (lookup, int(h3)), len(cells), by, client, scheduler
        )
        areas = to_metric(cells, "H3 grid").geometry.area.to_numpy()
        return _density_table(cells.copy(), areas, totals, per, cats)
    target = square_grid(cover, cell_size=grid, max_cells=max_cells) if grid is not None else cover
    zm = require_polygons(
        to_metric(target, "zones", target.crs if grid is not None else None), "zones"
    )
    totals, per, cats = _run(
        points_path,
        _count_partition,
        (zm.geometry.to_numpy(), zm.crs),
        len(zm),
        by,
        client,
        scheduler,
    )
    return _density_table(target.copy(), zm.geometry.area.to_numpy(), totals, per, cats)


def coverage_counts_partitioned(
    points_path: str | Path,
    zones: gpd.GeoDataFrame,
    radius: float | str,
    *,
    by: str | None = "category",
    client: Any = None,
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """Points within ``radius`` metres (straight line) of each zone: counts in the buffered zone.

    Equals :func:`carrier_density` on ``zones`` buffered by ``radius`` in the metric CRS;
    ``area_km2`` / ``per_km2`` refer to the buffered zone, and ``radius_m`` is added.
    """
    r = parse_distance(radius, "radius")
    zm = require_polygons(to_metric(zones, "zones"), "zones")
    buffered = zm.copy()
    buffered["geometry"] = zm.geometry.buffer(r)
    totals, per, cats = _run(
        points_path,
        _count_partition,
        (buffered.geometry.to_numpy(), buffered.crs),
        len(buffered),
        by,
        client,
        scheduler,
    )
    out = _density_table(zones.copy(), buffered.geometry.area.to_numpy(), totals, per, cats)
    out["radius_m"] = r
    return out


def point_coverage_partitioned(
    points_path: str | Path,
    zones: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    radius: float | str,
    *,
    client: Any = None,
    scheduler: str | None = None,
) -> gpd.GeoDataFrame:
    """:func:`~baoshan_gis.analysis.coverage.point_coverage` on partitioned GeoParquet: per zone,
    the points inside it and, of them, those within ``radius`` metres of a facility.

    The facilities (a few thousand at most) and zones are broadcast to the workers; each
    partition's points are counted where they are read. Equal to the in-memory function.
    """
    from baoshan_gis.analysis.coverage import point_coverage_table

    r = parse_distance(radius, "radius")
    zm = require_polygons(to_metric(zones, "zones"), "zones")
    fx, fy, _ = points_xy_in(facilities, zm.crs, "facilities")
    totals, per, cats = _run(
        points_path,
        _covered_partition,
        (zm.geometry.to_numpy(), zm.crs, np.column_stack([fx, fy]), r),
        len(zm),
        None,
        client,
        scheduler,
    )
    covered = per[:, cats.index("covered")] if "covered" in cats else np.zeros(len(zm), np.int64)
    return point_coverage_table(zones, totals, covered, r)
