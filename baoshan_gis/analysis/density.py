"""Carrier density per zone: any polygon layer, a regular square grid, or H3 hexagons.

Counts are points that *intersect* a zone (the same rule as ``geopandas.sjoin``'s default, so a
point on a shared edge counts in both zones); densities are per km² of the zone's area measured
in the metric CRS. Counting uses vectorised point-in-polygon tests on coordinate arrays
(``shapely.intersects_xy``) with a bounding-box prefilter, or an STR-tree for many zones, so no
per-point geometry objects are built for few zones and memory stays low for millions of points.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis._validate import (
    MAX_CELLS,
    check_cell_count,
    is_geographic,
    parse_distance,
    point_xy,
    points_xy_in,
    require_polygons,
    to_metric,
    warn_if_empty,
)

_FEW_ZONES = 8
_MANY_ZONES = 5_000
_CHUNK = 100_000


def _iter_hits(geoms: np.ndarray, x: np.ndarray, y: np.ndarray
               ) -> Iterator[tuple[np.ndarray, np.ndarray | int]]:
    """Yield ``(point indices, zone index or indices)`` for points intersecting the zones.

    Three strategies by the number of zones; none builds per-point geometries except the last,
    and none holds all pairs at once, so memory stays a few arrays of the point count.
    """
    live = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(geoms)
    shapely.prepare(geoms[live])
    if len(geoms) <= _FEW_ZONES:
        # few zones: bounding-box mask over a chunk of points, exact test on the candidates
        for start in range(0, len(x), 4 * _CHUNK):
            xc, yc = x[start:start + 4 * _CHUNK], y[start:start + 4 * _CHUNK]
            for zi in np.flatnonzero(live):
                minx, miny, maxx, maxy = bounds[zi]
                idx = np.flatnonzero((xc >= minx) & (xc <= maxx) & (yc >= miny) & (yc <= maxy))
                if len(idx):
                    yield idx[shapely.intersects_xy(geoms[zi], xc[idx], yc[idx])] + start, \
                        int(zi)
    elif len(geoms) <= _MANY_ZONES:
        # many zones: points bucketed into vertical strips (radix sort of small integer keys);
        # each zone scans only the strips its bounding box spans
        nb = 4096
        x0 = float(x.min())
        width = max((float(x.max()) - x0) / nb, 1e-9)
        scaled = (x - x0) / width
        np.clip(scaled, 0, nb - 1, out=scaled)
        key = scaled.astype(np.uint16)
        del scaled
        order = np.argsort(key, kind="stable")  # radix sort for uint16
        offs = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=nb))])
        del key
        xs, ys = x[order], y[order]
        for zi in np.flatnonzero(live):
            minx, miny, maxx, maxy = bounds[zi]
            b0 = int(np.clip((minx - x0) // width, 0, nb - 1))
            b1 = int(np.clip((maxx - x0) // width, 0, nb - 1))
            lo, hi = int(offs[b0]), int(offs[b1 + 1])
            if hi <= lo:
                continue
            xsl, ysl = xs[lo:hi], ys[lo:hi]
            sel = np.flatnonzero((xsl >= minx) & (xsl <= maxx) & (ysl >= miny) & (ysl <= maxy))
            if len(sel):
                ok = sel[shapely.intersects_xy(geoms[zi], xsl[sel], ysl[sel])] + lo
                yield order[ok], int(zi)
    else:
        # very many zones (fine grids, hexagons): STR-tree of zones, points in chunks
        tree = shapely.STRtree(geoms)
        for start in range(0, len(x), _CHUNK):
            pts = shapely.points(x[start:start + _CHUNK], y[start:start + _CHUNK])
            pi, zi = tree.query(pts, predicate="intersects")
            yield pi + start, zi


def point_zone_pairs(zones: Sequence[Any] | np.ndarray, x: np.ndarray, y: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(point, zone)`` for every point that intersects a zone (same CRS).

    Parameters
    ----------
    zones
        Polygon geometries.
    x, y
        Point coordinates (1-D arrays of equal length).
    """
    geoms = np.asarray(zones, dtype=object)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    pts_out: list[np.ndarray] = []
    zones_out: list[np.ndarray] = []
    if len(geoms) and len(x):
        for pi, zi in _iter_hits(geoms, x, y):
            pts_out.append(pi)
            zones_out.append(np.broadcast_to(np.int64(zi), pi.shape) if isinstance(zi, int)
                             else zi)
    if not pts_out:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(pts_out).astype(np.int64), np.concatenate(zones_out).astype(np.int64)


def zone_counts(zones: Sequence[Any] | np.ndarray, x: np.ndarray, y: np.ndarray,
                codes: np.ndarray | None = None, n_codes: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Points per zone, in total and per integer code (e.g. category), without storing pairs.

    Returns ``(totals[n_zones], per_code[n_zones, n_codes])``; points with a negative code count
    in the totals only.
    """
    geoms = np.asarray(zones, dtype=object)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    totals = np.zeros(len(geoms), dtype=np.int64)
    per = np.zeros((len(geoms), max(n_codes, 0)), dtype=np.int64)
    if not len(geoms) or not len(x):
        return totals, per
    for pi, zi in _iter_hits(geoms, x, y):
        if isinstance(zi, int):
            totals[zi] += len(pi)
            if n_codes and codes is not None:
                c = codes[pi]
                per[zi] += np.bincount(c[c >= 0], minlength=n_codes)
        else:
            totals += np.bincount(zi, minlength=len(geoms))
            if n_codes and codes is not None:
                c = codes[pi]
                ok = c >= 0
                per += np.bincount(zi[ok] * n_codes + c[ok],
                                   minlength=len(geoms) * n_codes).reshape(len(geoms), n_codes)
    return totals, per


def _categories(carriers: gpd.GeoDataFrame, by: str | None,
                categories: Sequence[str] | None) -> tuple[list[str], np.ndarray | None]:
    if by is None:
        return [], None
    if by not in carriers.columns:
        if categories:
            raise AnalysisError(
                f"carriers have no column {by!r} to split by; columns: "
                f"{', '.join(map(str, carriers.columns))}"
            )
        return [], None
    values = carriers[by].astype("string").fillna("unknown").to_numpy(dtype=object)
    cats = list(categories) if categories is not None else sorted(set(values))
    return cats, values


def _codes(cats: list[str], values: np.ndarray | None) -> np.ndarray | None:
    if values is None or not cats:
        return None
    lookup = {c: i for i, c in enumerate(cats)}
    return np.fromiter((lookup.get(v, -1) for v in values), dtype=np.int32, count=len(values))


def _density_table(zones_out: gpd.GeoDataFrame, areas_m2: np.ndarray, totals: np.ndarray,
                   per: np.ndarray, cats: list[str]) -> gpd.GeoDataFrame:
    area_km2 = np.nan_to_num(np.asarray(areas_m2, dtype=float)) / 1e6  # no geometry: 0
    safe = np.where(area_km2 > 0, area_km2, np.inf)
    out = zones_out
    out["area_km2"] = area_km2
    out["count"] = totals.astype(np.int64)
    out["per_km2"] = totals / safe
    for i, cat in enumerate(cats):
        c = per[:, i] if per.shape[1] > i else np.zeros(len(out), dtype=np.int64)
        out[f"count_{cat}"] = c.astype(np.int64)
        out[f"per_km2_{cat}"] = c / safe
    return out


def carrier_density(
    zones: gpd.GeoDataFrame,
    carriers: gpd.GeoDataFrame,
    *,
    by: str | None = "category",
    categories: Sequence[str] | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Carriers per zone, as counts and per km², in total and by category.

    Parameters
    ----------
    zones
        Polygon layer (clusters, parks, the district, a grid...). Any CRS with a CRS set.
    carriers
        Point layer; reprojected to the zones' metric CRS when it differs.
    by
        Column of ``carriers`` to split counts by (``None``: totals only).
    categories
        Categories to report (default: those present); listed ones absent from the data get 0.
    crs
        Metric CRS to measure areas in (default UTM 51N).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` (same index and CRS) with ``area_km2``, ``count``, ``per_km2`` and
        ``count_<category>`` / ``per_km2_<category>`` columns. Never NaN: a zone of zero area has
        density 0.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> zones = gpd.GeoDataFrame({"name_zh": ["甲"]}, geometry=[box(0, 0, 1000, 1000)],
    ...                          crs="EPSG:32651")
    >>> pts = gpd.GeoDataFrame({"category": ["lab", "incubator"]},
    ...                        geometry=[Point(10, 10), Point(20, 20)], crs="EPSG:32651")
    >>> carrier_density(zones, pts)[["count", "per_km2", "count_lab"]].to_dict("records")
    [{'count': 2, 'per_km2': 2.0, 'count_lab': 1}]
    """
    zm = require_polygons(to_metric(zones, "zones", crs), "zones")
    cats, _ = _categories(carriers, by, categories)
    out = zones.copy()
    areas = zm.geometry.area.to_numpy()
    if warn_if_empty(carriers, "carrier layer"):
        return _density_table(out, areas, np.zeros(len(zm), dtype=np.int64),
                              np.zeros((len(zm), len(cats)), dtype=np.int64), cats)
    x, y, keep = points_xy_in(carriers, zm.crs, "carriers")
    cats, cat_values = _categories(carriers[keep] if not keep.all() else carriers, by, categories)
    totals, per = zone_counts(zm.geometry.to_numpy(), x, y, _codes(cats, cat_values), len(cats))
    return _density_table(out, areas, totals, per, cats)


def square_grid(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_size: float | str,
    crs: Any = None,
    clip: bool = False,
    max_cells: int = MAX_CELLS,
) -> gpd.GeoDataFrame:
    """Square cells of ``cell_size`` metres covering ``area`` (cells that intersect it).

    The grid is aligned to multiples of ``cell_size`` in the metric CRS, so grids of the same
    size always line up. With ``clip`` each cell is cut to the area.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``cell_id`` ("r<row>_c<col>"), ``row``, ``col``, geometry, in the metric CRS.
    """
    am = require_polygons(to_metric(area, "area", crs), "area")
    size = parse_distance(cell_size, "cell_size", geographic_input=is_geographic(area))
    if warn_if_empty(am, "area layer"):
        return gpd.GeoDataFrame({"cell_id": [], "row": [], "col": []}, geometry=[], crs=am.crs)
    minx, miny, maxx, maxy = am.total_bounds
    x0, y0 = np.floor(minx / size) * size, np.floor(miny / size) * size
    ncol = max(1, int(np.ceil((maxx - x0) / size)))
    nrow = max(1, int(np.ceil((maxy - y0) / size)))
    check_cell_count(float(ncol) * nrow, f"a {size:g} m grid over this area", max_cells=max_cells)
    cols2d, rows2d = np.meshgrid(np.arange(ncol), np.arange(nrow))
    cols, rows = cols2d.ravel(), rows2d.ravel()
    cells = shapely.box(x0 + cols * size, y0 + rows * size, x0 + (cols + 1) * size,
                        y0 + (rows + 1) * size)
    union = shapely.union_all(am.geometry.to_numpy())
    shapely.prepare(union)
    keep = shapely.intersects(union, cells)
    cells, rows, cols = cells[keep], rows[keep], cols[keep]
    if clip:
        cells = shapely.intersection(cells, union)
    return gpd.GeoDataFrame(
        {"cell_id": [f"r{r}_c{c}" for r, c in zip(rows, cols, strict=True)],
         "row": rows.astype(np.int64), "col": cols.astype(np.int64)},
        geometry=cells, crs=am.crs,
    )


def grid_density(
    carriers: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    cell_size: float | str,
    by: str | None = "category",
    categories: Sequence[str] | None = None,
    crs: Any = None,
    max_cells: int = MAX_CELLS,
) -> gpd.GeoDataFrame:
    """:func:`carrier_density` on a :func:`square_grid` of ``cell_size`` metres over ``area``."""
    grid = square_grid(area, cell_size=cell_size, crs=crs, max_cells=max_cells)
    return carrier_density(grid, carriers, by=by, categories=categories, crs=grid.crs)


def h3_grid(area: gpd.GeoDataFrame | gpd.GeoSeries, *, resolution: int,
            max_cells: int = MAX_CELLS) -> gpd.GeoDataFrame:
    """H3 hexagons of ``resolution`` (0-15) that intersect ``area``, in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``h3`` (cell index) and geometry.
    """
    import h3

    if not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 15:
        raise AnalysisError(f"H3 resolution must be an integer 0-15, got {resolution!r}")
    res = int(resolution)
    am = require_polygons(to_metric(area, "area"), "area")
    if warn_if_empty(am, "area layer"):
        return gpd.GeoDataFrame({"h3": []}, geometry=[], crs="EPSG:4326")
    area_m2 = float(am.geometry.area.sum())
    check_cell_count(area_m2 / h3.average_hexagon_area(res, unit="m^2") * 1.2,
                     f"an H3 resolution-{res} grid over this area", max_cells=max_cells)
    union = shapely.union_all(am.to_crs(4326).geometry.to_numpy())
    cells: set[str] = set()
    for poly in getattr(union, "geoms", [union]):
        cells.update(h3.geo_to_cells(poly, res))
    # cells whose centre is outside but which overlap the edge: walk the densified boundary
    edge = h3.average_hexagon_edge_length(res, unit="m")
    boundary = am.geometry.boundary.segmentize(edge / 3).to_crs(4326)
    coords = shapely.get_coordinates(boundary.to_numpy())
    near = {h3.latlng_to_cell(lat, lon, res) for lon, lat in coords}
    ring = set()
    for c in near:
        ring.update(h3.grid_disk(c, 1))
    shapely.prepare(union)
    for c in ring - cells:
        hexagon = shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)])
        if union.intersects(hexagon):
            cells.add(c)
    ordered = sorted(cells)
    geoms = [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(c)]) for c in ordered]
    return gpd.GeoDataFrame({"h3": ordered}, geometry=geoms, crs="EPSG:4326")


def h3_density(
    carriers: gpd.GeoDataFrame,
    *,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    resolution: int,
    by: str | None = "category",
    categories: Sequence[str] | None = None,
    max_cells: int = MAX_CELLS,
) -> gpd.GeoDataFrame:
    """Carriers per H3 hexagon over ``area``: each point is counted in the cell H3 assigns it.

    Returns the hexagons of :func:`h3_grid` with the columns of :func:`carrier_density`
    (areas from the hexagon polygons in the metric CRS). Carriers outside the grid are ignored.
    """
    import h3

    grid = h3_grid(area, resolution=resolution, max_cells=max_cells)
    out = grid.copy()
    areas = to_metric(grid, "H3 grid").geometry.area.to_numpy()
    cats, _ = _categories(carriers, by, categories)
    if warn_if_empty(carriers, "carrier layer"):
        return _density_table(out, areas, np.zeros(len(grid), dtype=np.int64),
                              np.zeros((len(grid), len(cats)), dtype=np.int64), cats)
    cw = carriers.to_crs(4326)
    cw = cw[~(cw.geometry.is_empty | cw.geometry.isna()).to_numpy()]
    cats, cat_values = _categories(cw, by, categories)
    x, y = point_xy(cw)
    lookup = pd.Series(np.arange(len(grid)), index=grid["h3"].to_numpy())
    ids = [h3.latlng_to_cell(lat, lon, int(resolution)) for lon, lat in zip(x, y, strict=True)]
    zi_all = lookup.reindex(ids).to_numpy()
    inside = ~np.isnan(zi_all)
    zi = zi_all[inside].astype(np.int64)
    totals = np.bincount(zi, minlength=len(grid))
    codes = _codes(cats, cat_values)
    per = np.zeros((len(grid), len(cats)), dtype=np.int64)
    if codes is not None:
        c = codes[inside]
        ok = c >= 0
        per = np.bincount(zi[ok] * len(cats) + c[ok], minlength=len(grid) * len(cats)
                          ).reshape(len(grid), len(cats))
    return _density_table(out, areas, totals, per, cats)
