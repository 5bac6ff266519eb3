"""Coverage gaps: the parts of each zone outside every reach area, as ranked polygons."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from baoshan_gis.analysis._validate import parse_distance, require_polygons, to_metric, zone_labels
from baoshan_gis.analysis.coverage import PopulationInput, zonal_sum


def coverage_gaps(
    zones: gpd.GeoDataFrame,
    reach: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    min_area: float | str = 10_000.0,
    population: PopulationInput = None,
    zone_id: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Uncovered parts of the zones, one polygon per connected piece, largest first.

    Parameters
    ----------
    zones
        Polygon layer.
    reach
        Reach polygons (all rows united).
    min_area
        Smallest gap kept, m² (default 10,000 m² = 1 ha).
    population
        Optional population GeoTIFF: adds ``population`` and ``rank_population``.
    zone_id
        Column naming the zones (default ``name_zh``, else the index).
    crs
        Metric CRS (default UTM 51N).

    Returns
    -------
    geopandas.GeoDataFrame
        In the metric CRS, sorted by area (descending): ``rank_area``, ``zone``, ``zone_index``,
        ``name_en`` (when the zones have it), ``area_m2``, ``area_km2``, ``share_of_zone``,
        [``population``, ``rank_population``], geometry.
    """
    min_m2 = parse_distance(min_area, "min_area", geographic_input=False, allow_zero=True)
    zm = require_polygons(to_metric(zones, "zones", crs), "zones")
    rm = to_metric(reach, "reach", zm.crs)
    rm = rm[~(rm.geometry.is_empty | rm.geometry.isna()).to_numpy()]
    union = shapely.union_all(rm.geometry.to_numpy()) if len(rm) else shapely.Polygon()
    labels = zone_labels(zones, zone_id)
    geoms = zm.geometry.to_numpy()
    holes = shapely.difference(geoms, union) if not union.is_empty else geoms
    rows: list[dict[str, Any]] = []
    zone_area = shapely.area(geoms)
    for zi, (h, za) in enumerate(zip(holes, zone_area, strict=True)):
        if h is None or h.is_empty:
            continue
        parts = shapely.get_parts(h)
        parts = parts[shapely.get_type_id(parts) == 3]  # polygons only (drop slivers' lines)
        for p in parts:
            a = p.area
            if a >= min_m2 and a > 0:
                row = {"zone": labels[zi], "zone_index": zones.index[zi], "area_m2": a,
                       "area_km2": a / 1e6, "share_of_zone": a / za if za > 0 else 0.0,
                       "geometry": p}
                if "name_en" in zones.columns:
                    row["name_en"] = str(zones["name_en"].iloc[zi])
                rows.append(row)
    cols = ["zone", "zone_index", "area_m2", "area_km2", "share_of_zone"]
    if not rows:
        out = gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=zm.crs)
        out.insert(0, "rank_area", np.array([], dtype=np.int64))
        if population is not None:
            out["population"] = []
            out["rank_population"] = np.array([], dtype=np.int64)
        return out
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=zm.crs)
    out = out.sort_values("area_m2", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank_area", np.arange(1, len(out) + 1, dtype=np.int64))
    if population is not None:
        pop = zonal_sum(out.geometry, population)
        out["population"] = pop
        order = np.argsort(-pop, kind="stable")
        rank = np.empty(len(pop), dtype=np.int64)
        rank[order] = np.arange(1, len(pop) + 1)
        out["rank_population"] = rank
    return out
