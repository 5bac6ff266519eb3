"""Coverage of zones by reach areas: Euclidean reach per carrier category, station catchments,
and population-weighted shares from a user-supplied population GeoTIFF.

For every zone the result gives the covered area (m² and km²), the covered share of the zone's
area and, when a population raster is given, the people living in the zone, the covered people
and their share. Areas are measured in the metric CRS; buffers are drawn with 32 segments per
quarter circle (area within 0.05% of πr²). Population sums count raster cells whose *centre*
falls inside the polygon (rasterio's default rasterisation rule), so a zone's covered and
uncovered people add up to its total exactly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis._union import buffered_union
from baoshan_gis.analysis._validate import (
    check_categories,
    is_geographic,
    parse_distance,
    radii_by_category,
    require_polygons,
    to_metric,
    warn_if_empty,
)

#: Default catchment radius of a metro station, metres (a 10-minute walk).
STATION_RADIUS_M: float = 800.0
_QUAD_SEGS = 32

PopulationInput = str | os.PathLike[str] | None


def reach_areas(
    carriers: gpd.GeoDataFrame,
    *,
    radius: float | str | Mapping[str, float | str],
    by: str | None = "category",
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Euclidean reach: the union of circles of ``radius`` metres around the carriers.

    Parameters
    ----------
    carriers
        Point layer (any CRS with a CRS set).
    radius
        One radius in metres for all carriers, or ``{category: radius}``; with a mapping only
        the listed categories count.
    by
        Category column used with a radius mapping.
    crs
        Metric CRS (default UTM 51N).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per category (a single row ``"all"`` for one radius) in the metric CRS:
        ``category``, ``radius_m``, ``n_carriers``, geometry (empty when no carriers).
    """
    radii = radii_by_category(radius, "radius", geographic_input=is_geographic(carriers))
    cm = to_metric(carriers, "carriers", crs)
    cm = cm[~(cm.geometry.is_empty | cm.geometry.isna()).to_numpy()]
    rows: list[dict[str, Any]] = []
    if isinstance(radii, dict):
        if by is None or (len(cm) and by not in cm.columns):
            raise AnalysisError(
                f"a radius per category needs the carriers' category column {by!r}"
            )
        check_categories(cm, list(radii), by=by, mapping=True)
        for cat, r in radii.items():
            sel = cm[cm[by].astype(str) == cat] if len(cm) else cm
            geom = buffered_union(sel.geometry.to_numpy(), r, quad_segs=_QUAD_SEGS)
            rows.append({"category": cat, "radius_m": r, "n_carriers": len(sel), "geometry": geom})
    else:
        geom = buffered_union(cm.geometry.to_numpy(), radii, quad_segs=_QUAD_SEGS)
        rows.append({"category": "all", "radius_m": radii, "n_carriers": len(cm),
                     "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=cm.crs)


def zonal_sum(polygons: gpd.GeoDataFrame | gpd.GeoSeries,
              raster: str | os.PathLike[str]) -> np.ndarray:
    """Sum of raster values (e.g. people) inside each polygon; cells counted by their centre.

    Nodata and non-finite cells count as 0. Raises :class:`AnalysisError` when the raster does
    not overlap the polygons at all, or cannot be opened.
    """
    import rasterio
    from affine import Affine
    from rasterio.features import geometry_mask
    from rasterio.windows import from_bounds

    path = Path(raster)
    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise AnalysisError(f"cannot open population raster {str(path)!r}: {exc}") from exc
    with src:
        if src.crs is None:
            raise AnalysisError(f"population raster {path.name!r} has no CRS")
        geoms = polygons if isinstance(polygons, gpd.GeoSeries) else polygons.geometry
        if geoms.crs is None:
            raise AnalysisError("polygons for the zonal sum have no CRS")
        geoms = geoms.to_crs(src.crs)
        rb = src.bounds
        live = ~(geoms.is_empty | geoms.isna()).to_numpy()
        if live.any():
            gx0, gy0, gx1, gy1 = geoms[live].total_bounds
            if gx0 >= rb.right or gx1 <= rb.left or gy0 >= rb.top or gy1 <= rb.bottom:
                raise AnalysisError(
                    f"population raster {path.name!r} (bounds {tuple(round(v, 1) for v in rb)} in "
                    f"{src.crs}) does not overlap the zones (bounds "
                    f"{(round(gx0, 1), round(gy0, 1), round(gx1, 1), round(gy1, 1))}); check "
                    "that it covers Baoshan and has the right CRS"
                )
        out = np.zeros(len(geoms))
        nodata = src.nodata
        for i, geom in enumerate(geoms.to_numpy()):
            if geom is None or geom.is_empty:
                continue
            x0, y0, x1, y1 = geom.bounds
            x0, x1 = max(x0, rb.left), min(x1, rb.right)
            y0, y1 = max(y0, rb.bottom), min(y1, rb.top)
            if x0 >= x1 or y0 >= y1:
                continue
            win = from_bounds(x0, y0, x1, y1, transform=src.transform)
            win = win.round_offsets(op="floor").round_lengths(op="ceil")
            win = win.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
            if win.width <= 0 or win.height <= 0:
                continue
            data = src.read(1, window=win, masked=False).astype(np.float64)
            t = src.transform  # window transform, without affine's deprecated '*'
            wt = Affine(t.a, t.b, t.c + win.col_off * t.a + win.row_off * t.b,
                        t.d, t.e, t.f + win.col_off * t.d + win.row_off * t.e)
            inside = geometry_mask([geom], out_shape=data.shape, transform=wt, invert=True)
            ok = inside & np.isfinite(data)
            if nodata is not None:
                ok &= data != nodata
            out[i] = float(data[ok].sum())
    return out


def coverage(
    zones: gpd.GeoDataFrame,
    reach: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    population: PopulationInput = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Covered area, covered share and (with a population raster) covered people per zone.

    Parameters
    ----------
    zones
        Polygon layer.
    reach
        Polygons of the area within reach (from :func:`reach_areas`,
        :func:`baoshan_gis.analysis.network_reach`, ...); all rows are united.
    population
        Optional path of a population GeoTIFF (people per cell, any CRS).
    crs
        Metric CRS (default UTM 51N).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``zones`` with ``area_m2``, ``area_km2``, ``covered_m2``, ``covered_km2``,
        ``covered_share`` (0-1) and with population ``population``, ``covered_population``,
        ``covered_population_share``. Never NaN.
    """
    zm = require_polygons(to_metric(zones, "zones", crs), "zones")
    rm = to_metric(reach, "reach", zm.crs)
    rm = rm[~(rm.geometry.is_empty | rm.geometry.isna()).to_numpy()]
    union = shapely.union_all(rm.geometry.to_numpy()) if len(rm) else shapely.Polygon()
    geoms = zm.geometry.to_numpy()
    covered = shapely.intersection(geoms, union) if not union.is_empty else None
    area = np.nan_to_num(shapely.area(geoms))  # a zone without geometry has area 0
    cov_area = (np.nan_to_num(shapely.area(covered)) if covered is not None
                else np.zeros(len(geoms)))
    cov_area = np.minimum(cov_area, area)
    out = zones.copy()
    out["area_m2"] = area
    out["area_km2"] = area / 1e6
    out["covered_m2"] = cov_area
    out["covered_km2"] = cov_area / 1e6
    out["covered_share"] = np.divide(cov_area, area, out=np.zeros(len(area)), where=area > 0)
    if population is not None:
        pop = zonal_sum(zm.geometry, population)
        if covered is not None:
            cov_pop = zonal_sum(gpd.GeoSeries(covered, crs=zm.crs), population)
        else:
            cov_pop = np.zeros(len(geoms))
        out["population"] = pop
        out["covered_population"] = cov_pop
        out["covered_population_share"] = np.divide(cov_pop, pop, out=np.zeros(len(pop)),
                                                    where=pop > 0)
    return out


def euclidean_coverage(
    zones: gpd.GeoDataFrame,
    carriers: gpd.GeoDataFrame,
    *,
    radius: float | str | Mapping[str, float | str],
    by: str | None = "category",
    categories: Sequence[str] | None = None,
    population: PopulationInput = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Share of each zone within ``radius`` metres (straight line) of a carrier.

    ``radius`` may be one value or ``{category: radius}``; ``categories`` restricts the carriers
    to those categories (with one radius). An empty carrier layer gives zeros and a warning.

    Examples
    --------
    >>> import geopandas as gpd, math
    >>> from shapely.geometry import Point, box
    >>> zone = gpd.GeoDataFrame(geometry=[box(0, 0, 4000, 4000)], crs="EPSG:32651")
    >>> one = gpd.GeoDataFrame({"category": ["incubator"]}, geometry=[Point(2000, 2000)],
    ...                        crs="EPSG:32651")
    >>> share = euclidean_coverage(zone, one, radius=1000)["covered_share"].iloc[0]
    >>> bool(abs(share - math.pi * 1000**2 / 4000**2) < 1e-3)
    True
    """
    parse_checked = radii_by_category(radius, "radius",
                                      geographic_input=is_geographic(zones, carriers))
    sel = carriers
    if categories is not None:
        if by is None or by not in carriers.columns:
            raise AnalysisError(f"carriers have no column {by!r} to select categories from")
        wanted = check_categories(carriers, categories, by=by)
        sel = carriers[carriers[by].astype(str).isin(wanted)]
    if warn_if_empty(sel, "carrier layer"):
        empty = gpd.GeoDataFrame(geometry=[], crs=zones.crs)
        return coverage(zones, empty, population=population, crs=crs)
    reach = reach_areas(sel, radius=parse_checked, by=by, crs=crs)
    return coverage(zones, reach, population=population, crs=crs)


def station_coverage(
    zones: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    radius: float | str = STATION_RADIUS_M,
    population: PopulationInput = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Share of each zone within ``radius`` metres (default 800) of a metro station."""
    r = parse_distance(radius, "radius", geographic_input=is_geographic(zones, stations))
    return euclidean_coverage(zones, stations, radius=r, by=None, population=population, crs=crs)


def covered_point_counts(zones_geoms: np.ndarray, x: np.ndarray, y: np.ndarray,
                         facilities_xy: np.ndarray, radius: float
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Points per zone and, of them, the points within ``radius`` of a facility.

    All coordinates in one metric CRS. A point counts as covered when its straight-line distance
    to the nearest facility is at most ``radius`` (exact, through a KD-tree, not a polygon
    approximation of the circles). Returns ``(totals[n_zones], covered[n_zones])``.
    """
    from scipy.spatial import cKDTree

    from baoshan_gis.analysis.density import zone_counts

    codes = np.full(len(x), -1, dtype=np.int64)
    if len(facilities_xy) and len(x):
        d, _ = cKDTree(facilities_xy).query(np.column_stack([x, y]),
                                            distance_upper_bound=radius * (1 + 1e-12))
        codes[d <= radius] = 0
    totals, per = zone_counts(zones_geoms, x, y, codes, 1)
    return totals, per[:, 0]


def point_coverage_table(zones: gpd.GeoDataFrame, totals: np.ndarray, covered: np.ndarray,
                         radius: float) -> gpd.GeoDataFrame:
    """The result table of :func:`point_coverage`: ``points``, ``covered_points``,
    ``covered_points_share`` (0-1; 0 where a zone holds no points), ``radius_m``."""
    out = zones.copy()
    out["points"] = np.asarray(totals, dtype=np.int64)
    out["covered_points"] = np.asarray(covered, dtype=np.int64)
    out["covered_points_share"] = np.divide(
        out["covered_points"].to_numpy(dtype=float), out["points"].to_numpy(dtype=float),
        out=np.zeros(len(out)), where=out["points"].to_numpy() > 0)
    out["radius_m"] = float(radius)
    return out


def point_coverage(
    zones: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    radius: float | str,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """How many of the points in each zone lie within ``radius`` metres of a facility.

    The demand is a point layer (enterprise registrations, POIs, sensor records) rather than the
    zones' area: for each zone, ``points`` (inside the zone; a point on a shared edge counts in
    both), ``covered_points`` (of those, within ``radius`` of the nearest facility, straight
    line) and ``covered_points_share``. For points beyond memory,
    :func:`~baoshan_gis.analysis.partitioned.point_coverage_partitioned` gives the same table.
    """
    from baoshan_gis.analysis._validate import points_xy_in

    r = parse_distance(radius, "radius",
                       geographic_input=is_geographic(zones, points, facilities))
    zm = require_polygons(to_metric(zones, "zones", crs), "zones")
    x, y, _ = points_xy_in(points, zm.crs, "points")
    fx, fy, _ = points_xy_in(facilities, zm.crs, "facilities")
    warn_if_empty(facilities, "facility layer")
    totals, covered = covered_point_counts(zm.geometry.to_numpy(), x, y,
                                           np.column_stack([fx, fy]), r)
    return point_coverage_table(zones, totals, covered, r)
