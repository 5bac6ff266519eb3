"""``/analysis``: carrier density and coverage as JSON tables.

The routers only check and bound the parameters, then call :mod:`baoshan_gis.analysis`. Bounds
are checked BEFORE any work: a grid finer than ``BAOSHAN_ANALYSIS_MIN_CELL_M`` or with more than
``BAOSHAN_ANALYSIS_MAX_CELLS`` cells (estimated from the area's bounds) is 413; a radius beyond
``BAOSHAN_ANALYSIS_MAX_RADIUS_M`` is 413; a radius <= 0 is 400.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import LayerEntry, ServiceState, State
from baoshan_gis._errors import AnalysisError, RequestTooLarge
from baoshan_gis.tiles.source import _plain

router = APIRouter(prefix="/analysis", tags=["analysis"])

_MAX_CATEGORIES = 32


def _polygons(state: ServiceState, name: str, what: str) -> LayerEntry:
    entry = state.layer(name)
    if entry.vector is None or entry.vector.kind != "fill":
        polys = [n for n, e in state.layers.items() if e.vector is not None
                 and e.vector.kind == "fill"]
        raise AnalysisError(f"{what} {name!r} is not a polygon layer; polygon layers: "
                            f"{', '.join(polys)}")
    return entry


def _points(state: ServiceState, name: str, what: str) -> LayerEntry:
    entry = state.layer(name)
    if entry.vector is None or entry.vector.kind != "point":
        pts = [n for n, e in state.layers.items() if e.vector is not None
               and e.vector.kind == "point"]
        raise AnalysisError(f"{what} {name!r} is not a point layer; point layers: "
                            f"{', '.join(pts)}")
    return entry


def _categories(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    if len(values) > _MAX_CATEGORIES:
        raise RequestTooLarge(f"{len(values)} categories given; at most {_MAX_CATEGORIES}")
    return values


_LABELS = ("name_zh", "name_en", "category", "geometry_quality", "cell_id", "h3")


def _rows(frame: Any, measures: tuple[str, ...]) -> list[dict[str, Any]]:
    """The label and measure columns of an analysis result, one JSON-ready dict per zone."""
    cols = [c for c in frame.columns if c in _LABELS or str(c).startswith(measures)]
    records = frame[cols].to_dict(orient="records")
    return [{k: _plain(v) for k, v in r.items()} for r in records]


@router.get("/density", summary="Carriers per zone (count and per km²)")
def density(
    *,
    points: Annotated[str, Query(description="Point layer to count.", examples=["carriers"])
                      ] = "carriers",
    zones: Annotated[str | None, Query(
        description="Polygon layer whose features are the zones. Leave empty when "
                    "`cell_size` is given.", examples=["belt_zones"])] = None,
    cell_size: Annotated[float | None, Query(
        description="Instead of `zones`: a square grid of this cell size in metres over "
                    "`area` (at least `BAOSHAN_ANALYSIS_MIN_CELL_M`).", examples=[1000])] = None,
    area: Annotated[str, Query(description="Polygon layer the grid covers.",
                               examples=["district"])] = "district",
    category: Annotated[list[str] | None, Query(
        description="Only these categories (repeat the parameter for several).",
        examples=[["incubator"]])] = None,
    state: State,
) -> dict[str, Any]:
    """One row per zone (or grid cell) with `area_km2`, `count`, `per_km2` and the same per
    category (`count_<category>`, `per_km2_<category>`)."""
    from baoshan_gis.analysis.density import carrier_density, grid_density

    s = state.settings
    pts = _points(state, points, "points")
    cats = _categories(category)
    carriers = pts.frame
    if cats is not None:
        if "category" not in carriers.columns:
            raise AnalysisError(f"layer {points!r} has no 'category' field to select from")
        carriers = carriers[carriers["category"].astype(str).isin(cats)]
    if cell_size is not None:
        if zones is not None:
            raise AnalysisError("give either 'zones' or 'cell_size', not both")
        if not math.isfinite(cell_size) or cell_size <= 0:
            raise AnalysisError(f"cell_size={cell_size!r} must be a positive number of metres")
        if cell_size < s.analysis_min_cell_m:
            raise RequestTooLarge(f"cell_size={cell_size!r} m is finer than the smallest "
                                  f"allowed, {s.analysis_min_cell_m:g} m")
        area_entry = _polygons(state, area, "area")
        w, so, e, n = area_entry.vector.bounds
        lat = math.radians((so + n) / 2)
        est = ((e - w) * 111_320 * math.cos(lat) / cell_size + 2) * ((n - so) * 110_574
                                                                     / cell_size + 2)
        if est > s.analysis_max_cells:
            raise RequestTooLarge(
                f"a {cell_size:g} m grid over {area!r} has about {est:,.0f} cells; at most "
                f"{s.analysis_max_cells:,} are allowed (use a larger cell_size)")
        out = grid_density(carriers, area=area_entry.frame, cell_size=cell_size,
                           categories=cats, max_cells=s.analysis_max_cells)
        zone_name = f"grid {cell_size:g} m over {area}"
    else:
        zone_entry = _polygons(state, zones or "belt_zones", "zones")
        out = carrier_density(zone_entry.frame, carriers, categories=cats)
        zone_name = zone_entry.name
    rows = _rows(out, ("area_km2", "count", "per_km2"))
    return {"points": points, "zones": zone_name, "categories": cats, "rows": rows}


@router.get("/coverage", summary="Share of each zone within reach of a facility")
def coverage(
    *,
    radius: Annotated[float, Query(
        description="Straight-line reach in metres (> 0, at most "
                    "`BAOSHAN_ANALYSIS_MAX_RADIUS_M`).", examples=[1000])] = 1000.0,
    facilities: Annotated[str, Query(
        description="Point layer of facilities (e.g. `carriers` or `metro_stations`).",
        examples=["carriers"])] = "carriers",
    zones: Annotated[str, Query(description="Polygon layer of zones.",
                                examples=["belt_zones"])] = "belt_zones",
    category: Annotated[list[str] | None, Query(
        description="Only facilities of these categories (repeat for several).",
        examples=[["incubator"]])] = None,
    state: State,
) -> dict[str, Any]:
    """One row per zone with `area_km2`, `covered_km2` and `covered_share` (0-1) of the zone
    lying within `radius` metres of a facility."""
    from baoshan_gis.analysis.coverage import euclidean_coverage

    s = state.settings
    if not math.isfinite(radius) or radius <= 0:
        raise AnalysisError(f"radius={radius!r} must be a positive number of metres")
    if radius > s.analysis_max_radius_m:
        raise RequestTooLarge(f"radius={radius:g} m exceeds the largest allowed, "
                              f"{s.analysis_max_radius_m:g} m")
    fac = _points(state, facilities, "facilities")
    zone_entry = _polygons(state, zones, "zones")
    cats = _categories(category)
    out = euclidean_coverage(zone_entry.frame, fac.frame, radius=radius,
                             by="category" if cats else None, categories=cats)
    rows = _rows(out, ("area_km2", "covered_km2", "covered_share"))
    return {"facilities": facilities, "zones": zones, "radius_m": radius,
            "categories": cats, "rows": rows}
