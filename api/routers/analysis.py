"""``/analysis``: carrier density and coverage as JSON tables.

The routers only check and bound the parameters, then call :mod:`baoshan_gis.analysis` through
:class:`api.limits.AnalysisRunner` (concurrency limit with 503 + ``Retry-After``, identical
requests computed once and cached, waiting time bounded). Bounds are checked BEFORE any work:
``cell_size`` must be finite and within ``BAOSHAN_ANALYSIS_MIN_CELL_M`` (finer: 413) ..
``BAOSHAN_ANALYSIS_MAX_CELL_M`` (coarser: 400); a grid of more than ``BAOSHAN_ANALYSIS_MAX_CELLS``
cells (estimated from the area's bounds), an input layer of more than
``BAOSHAN_ANALYSIS_MAX_FEATURES`` features, an answer of more than ``BAOSHAN_ANALYSIS_MAX_VALUES``
values, or a radius beyond ``BAOSHAN_ANALYSIS_MAX_RADIUS_M`` is 413; a radius <= 0 is 400.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import LayerEntry, Snapshot, State
from baoshan_gis._errors import AnalysisError, RequestTooLarge
from baoshan_gis.tiles.source import _plain

router = APIRouter(prefix="/analysis", tags=["analysis"])

_MAX_CATEGORIES = 32


def _bounded(entry: LayerEntry, max_features: int) -> LayerEntry:
    n = len(entry.frame) if entry.frame is not None else 0
    if n > max_features:
        raise RequestTooLarge(f"layer {entry.name!r} has {n:,} features; analyses take at most "
                              f"{max_features:,} per input layer (BAOSHAN_ANALYSIS_MAX_FEATURES)")
    return entry


def _values(rows: float, columns: int, max_values: int) -> None:
    if rows * columns > max_values:
        raise RequestTooLarge(f"the answer would hold about {rows * columns:,.0f} values "
                              f"({rows:,.0f} rows x {columns} columns); at most {max_values:,}")


def _answer(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _polygons(state: Snapshot, name: str, what: str) -> LayerEntry:
    entry = state.layer(name)
    if entry.vector is None or entry.vector.kind != "fill":
        polys = [n for n, e in state.layers.items() if e.vector is not None
                 and e.vector.kind == "fill"]
        raise AnalysisError(f"{what} {name!r} is not a polygon layer; polygon layers: "
                            f"{', '.join(polys)}")
    return entry


def _points(state: Snapshot, name: str, what: str) -> LayerEntry:
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


@router.get("/density", summary="Carriers per zone (count and per km²)",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def density(
    *,
    points: Annotated[str, Query(description="Point layer to count.", examples=["carriers"])
                      ] = "carriers",
    zones: Annotated[str | None, Query(
        description="Polygon layer whose features are the zones. Leave empty when "
                    "`cell_size` is given.", examples=["belt_zones"])] = None,
    cell_size: Annotated[float | None, Query(
        description="Instead of `zones`: a square grid of this cell size in metres over "
                    "`area`, from `BAOSHAN_ANALYSIS_MIN_CELL_M` (100) to "
                    "`BAOSHAN_ANALYSIS_MAX_CELL_M` (10000).", examples=[1000])] = None,
    area: Annotated[str, Query(description="Polygon layer the grid covers.",
                               examples=["district"])] = "district",
    category: Annotated[list[str] | None, Query(
        description="Only these categories (repeat the parameter for several).",
        examples=[["incubator"]])] = None,
    state: State,
) -> Response:
    """One row per zone (or grid cell) with `area_km2`, `count`, `per_km2` and the same per
    category (`count_<category>`, `per_km2_<category>`)."""
    from baoshan_gis.analysis.density import carrier_density, grid_density

    s = state.settings
    snap = state.snapshot
    pts = _bounded(_points(snap, points, "points"), s.analysis_max_features)
    cats = _categories(category)
    carriers = pts.frame
    if cats is not None:
        if "category" not in carriers.columns:
            raise AnalysisError(f"layer {points!r} has no 'category' field to select from")
        carriers = carriers[carriers["category"].astype(str).isin(cats)]
    columns = 4 + 2 * len(cats or ())
    if cell_size is not None:
        if zones is not None:
            raise AnalysisError("give either 'zones' or 'cell_size', not both")
        if not math.isfinite(cell_size) or cell_size <= 0:
            raise AnalysisError(f"cell_size={cell_size!r} must be a positive number of metres")
        if cell_size < s.analysis_min_cell_m:
            raise RequestTooLarge(f"cell_size={cell_size!r} m is finer than the smallest "
                                  f"allowed, {s.analysis_min_cell_m:g} m")
        if cell_size > s.analysis_max_cell_m:
            raise AnalysisError(f"cell_size={cell_size!r} m is out of range: give "
                                f"{s.analysis_min_cell_m:g} to {s.analysis_max_cell_m:g} m")
        area_entry = _bounded(_polygons(snap, area, "area"), s.analysis_max_features)
        w, so, e, n = area_entry.vector.bounds
        lat = math.radians((so + n) / 2)
        est = ((e - w) * 111_320 * math.cos(lat) / cell_size + 2) * ((n - so) * 110_574
                                                                     / cell_size + 2)
        if est > s.analysis_max_cells:
            raise RequestTooLarge(
                f"a {cell_size:g} m grid over {area!r} has about {est:,.0f} cells; at most "
                f"{s.analysis_max_cells:,} are allowed (use a larger cell_size)")
        _values(est, columns, s.analysis_max_values)
        zone_name = f"grid {cell_size:g} m over {area}"

        def compute() -> bytes:
            out = grid_density(carriers, area=area_entry.frame, cell_size=cell_size,
                               categories=cats, max_cells=s.analysis_max_cells)
            rows = _rows(out, ("area_km2", "count", "per_km2"))
            return _answer({"points": points, "zones": zone_name, "categories": cats,
                            "rows": rows})
    else:
        zone_entry = _bounded(_polygons(snap, zones or "belt_zones", "zones"),
                              s.analysis_max_features)
        _values(len(zone_entry.frame), columns, s.analysis_max_values)

        def compute() -> bytes:
            out = carrier_density(zone_entry.frame, carriers, categories=cats)
            rows = _rows(out, ("area_km2", "count", "per_km2"))
            return _answer({"points": points, "zones": zone_entry.name, "categories": cats,
                            "rows": rows})

    key = ("density", points, zones, cell_size, area, tuple(cats or ()))
    body = await state.runner.run(snap.results, key, compute)
    return Response(body, media_type="application/json")


@router.get("/coverage", summary="Share of each zone within reach of a facility",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def coverage(
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
) -> Response:
    """One row per zone with `area_km2`, `covered_km2` and `covered_share` (0-1) of the zone
    lying within `radius` metres of a facility."""
    from baoshan_gis.analysis.coverage import euclidean_coverage

    s = state.settings
    if not math.isfinite(radius) or radius <= 0:
        raise AnalysisError(f"radius={radius!r} must be a positive number of metres")
    if radius > s.analysis_max_radius_m:
        raise RequestTooLarge(f"radius={radius:g} m exceeds the largest allowed, "
                              f"{s.analysis_max_radius_m:g} m")
    snap = state.snapshot
    fac = _bounded(_points(snap, facilities, "facilities"), s.analysis_max_features)
    zone_entry = _bounded(_polygons(snap, zones, "zones"), s.analysis_max_features)
    cats = _categories(category)
    _values(len(zone_entry.frame) * (len(cats) if cats else 1), 6, s.analysis_max_values)

    def compute() -> bytes:
        out = euclidean_coverage(zone_entry.frame, fac.frame, radius=radius,
                                 by="category" if cats else None, categories=cats)
        rows = _rows(out, ("area_km2", "covered_km2", "covered_share"))
        return _answer({"facilities": facilities, "zones": zones, "radius_m": radius,
                        "categories": cats, "rows": rows})

    key = ("coverage", facilities, zones, radius, tuple(cats or ()))
    body = await state.runner.run(snap.results, key, compute)
    return Response(body, media_type="application/json")
