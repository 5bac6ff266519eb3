"""Zone recipes over real road geometry: the plan's "west of 蕰川公路", "along 逸仙路–同济路",
"along 沪太路".

A road in a roads layer is rarely one clean line: OSM maps dual carriageways as two one-way ways,
and a road comes in many pieces. :func:`road_axis` turns the pieces of the named roads into one
polyline from one end to the other: the two end points farthest apart are joined by the shortest
path through the pieces (gaps between pieces are bridged straight, at a penalty, so the path keeps
to the mapped road wherever it can). The recipes then work on that axis:

``side_of_road``   the part of ``clip`` west (or east) of the axis, the axis extended along its
                   end bearings to the edge of ``clip`` where the road ends
``road_corridor``  ``radius_m`` either side of the axis, optionally only between the points of
                   the axis nearest two stations (``between``)
``between_roads``  the area enclosed by two axes and the straight lines joining their ends

Each takes a ``fallback`` recipe (today's station rule) used when the roads layer lacks the road
or the road does not reach the stretch the plan names; the result then stays schematic and the
feature's note says why.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from baoshan_gis._errors import CatalogueError

if TYPE_CHECKING:
    from baoshan_gis.recipes import Placed, RecipeContext

#: Gaps between pieces of a road are bridged at this multiple of their length.
GAP_PENALTY: float = 3.0
#: Length (m) over which the end bearing of an axis is measured.
BEARING_BASE_M: float = 300.0
#: A road drawn zone whose axis had to be extended farther than this inside the clip area keeps
#: the feature's declared (schematic-scale) accuracy.
EXTENSION_TOLERANCE_M: float = 500.0
#: Share of the stretch between two stations that a road must run along for a corridor.
MIN_SPAN_SHARE: float = 0.8
#: Accuracy (m) of a zone edge drawn along a road: the road's own accuracy plus the outline's.
ROAD_EDGE_ACCURACY_M: float = 100.0


def _names(spec: dict[str, Any], key: str = "road") -> list[str]:
    value = spec.get(key) if key in spec else spec.get("roads")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise CatalogueError(f"road recipe {spec.get('op')!r} needs '{key}' as a road name or a list "
                         f"of names, got {value!r}")


def road_axis(parts: list[shapely.Geometry]) -> shapely.LineString:
    """One polyline through the pieces of a road, between its two farthest-apart end points."""
    import networkx as nx

    merged = shapely.line_merge(shapely.union_all(parts))
    lines = [g for g in getattr(merged, "geoms", [merged]) if g.length > 0]
    if not lines:
        raise CatalogueError("the road has no length")
    graph = nx.Graph()
    ends = []
    for line in lines:
        coords = [tuple(c) for c in np.asarray(line.coords)[:, :2]]
        for a, b in itertools.pairwise(coords):
            graph.add_edge(a, b, weight=math.dist(a, b))
        ends += [coords[0], coords[-1]]
    ends_arr = np.array(ends)
    # bridge every pair of piece ends (penalised), so the path can cross gaps in the data
    for i in range(len(ends)):
        for j in range(i + 1, len(ends)):
            a, b = ends[i], ends[j]
            if a != b and not graph.has_edge(a, b):
                graph.add_edge(a, b, weight=GAP_PENALTY * math.dist(a, b), gap=True)
    d = np.hypot(*(ends_arr[:, None, :] - ends_arr[None, :, :]).transpose(2, 0, 1))
    far_a, far_b = (int(v) for v in np.unravel_index(int(np.argmax(d)), d.shape))
    path = nx.shortest_path(graph, ends[far_a], ends[far_b], weight="weight")
    axis = shapely.LineString(path)
    start, end = axis.coords[0], axis.coords[-1]
    if (start[1], start[0]) > (end[1], end[0]):  # run south to north (west to east on a tie)
        axis = shapely.LineString(list(axis.coords)[::-1])
    return axis


def _bearing_point(axis: shapely.LineString, at_start: bool) -> np.ndarray:
    base = min(BEARING_BASE_M, axis.length / 2)
    end = axis.interpolate(0 if at_start else axis.length)
    back = axis.interpolate(base if at_start else axis.length - base)
    v = np.array([end.x - back.x, end.y - back.y])
    return v / (np.hypot(*v) or 1.0)


def extend_axis(axis: shapely.LineString, dist: float) -> shapely.LineString:
    """The axis continued straight along its end bearings by ``dist`` metres at both ends."""
    coords = np.asarray(axis.coords)[:, :2]
    head = coords[0] + _bearing_point(axis, True) * dist
    tail = coords[-1] + _bearing_point(axis, False) * dist
    return shapely.LineString(np.vstack([head, coords, tail]))


def _side_polygon(line: shapely.LineString, side: str) -> shapely.Geometry:
    coords = np.asarray(line.coords)
    span = float(np.ptp(coords[:, 0]) + np.ptp(coords[:, 1])) + 100_000.0
    far = coords[:, 0].min() - span if side == "west" else coords[:, 0].max() + span
    ring = [*map(tuple, coords), (far, coords[-1, 1]), (far, coords[0, 1])]
    return shapely.make_valid(shapely.Polygon(ring))


def _inside_length(line: shapely.Geometry, shape: shapely.Geometry | None) -> float:
    return float(line.length if shape is None else shapely.intersection(line, shape).length)


def _fallback(spec: dict[str, Any], ctx: RecipeContext, why: str) -> Placed:
    from baoshan_gis.recipes import Placed, place

    fb = spec.get("fallback")
    if not isinstance(fb, dict):
        raise CatalogueError(f"{why}, and the recipe has no 'fallback' recipe to use instead")
    placed = place(fb, ctx)
    return Placed(placed.geometry, placed.source, placed.min_accuracy_m, note=f"{why}; "
                  "the station rule is kept (schematic)")


def _clip_to(geom: shapely.Geometry, ctx: RecipeContext, spec: dict[str, Any]) -> shapely.Geometry:
    from baoshan_gis.recipes import _clip

    return _clip(geom, ctx, spec)


def side_of_road(spec: dict[str, Any], ctx: RecipeContext) -> Placed:
    """``{op="side_of_road", road=NAME, continue_with=[...], side="west"|"east", clip,
    fallback}``: ``continue_with`` roads extend the line where present, but only ``road`` itself
    makes the recipe road-drawn."""
    from baoshan_gis.recipes import Placed

    names = _names(spec)
    side = spec.get("side", "west")
    if side not in ("west", "east"):
        raise CatalogueError(f"side_of_road: side {side!r} must be 'west' or 'east'")
    parts, found = ctx.road_parts(names)
    if not parts:
        return _fallback(spec, ctx, f"{'/'.join(names)} not in the roads data")
    more, more_found = ctx.road_parts(list(spec.get("continue_with") or []))
    parts, found = parts + more, found + more_found
    axis = road_axis(parts)
    clip = ctx.clip_shape(spec.get("clip"))
    reach = 200_000.0
    extended = extend_axis(axis, reach)
    poly = _clip_to(_side_polygon(extended, side), ctx, spec)
    ext_inside = _inside_length(extended, clip) - _inside_length(axis, clip)
    road_km = _inside_length(axis, clip) / 1000
    quality = "approximate"
    accuracy: float | None = ROAD_EDGE_ACCURACY_M
    note = (f"{side.capitalize()} of {'/'.join(found)} as mapped in the roads data "
            f"({road_km:.1f} km of the road inside the area)")
    if ext_inside > 1.0:
        note += (f", continued straight along its end bearings for {ext_inside / 1000:.1f} km to "
                 "the district edge where the mapped road ends")
        if ext_inside > EXTENSION_TOLERANCE_M:
            accuracy = None  # the declared (schematic-scale) accuracy stays for the extension
    return Placed(poly, f"{side} of {'/'.join(found)} ({ctx.road_source(found)})",
                  quality=quality, accuracy_m=accuracy, note=note)


def _span_between(axis: shapely.LineString, ctx: RecipeContext, refs: list[Any]
                  ) -> tuple[shapely.LineString, float]:
    """The piece of ``axis`` between the points nearest two stations, and the share of the
    station-to-station stretch that the road runs along (within ``radius``)."""
    from baoshan_gis.recipes import _station_points

    a, b = _station_points(ctx, refs)
    ta, tb = sorted((axis.project(a), axis.project(b)))
    from shapely.ops import substring

    piece = substring(axis, ta, tb)
    stretch = a.distance(b) or 1.0
    return piece, min(piece.length / stretch, 1.0)


def road_corridor(spec: dict[str, Any], ctx: RecipeContext) -> Placed:
    """``{op="road_corridor", roads=[...], radius_m, between=[[line, station], [line, station]],
    clip, fallback}``."""
    from baoshan_gis.recipes import Placed

    names = _names(spec, "roads")
    radius = float(spec["radius_m"])
    parts, found = ctx.road_parts(names)
    if not parts:
        return _fallback(spec, ctx, f"{'/'.join(names)} not in the roads data")
    axis = road_axis(parts)
    where = ""
    if spec.get("between"):
        piece, share = _span_between(axis, ctx, spec["between"])
        (l1, s1), (l2, s2) = spec["between"]
        where = f" between the points nearest Line {l1} {s1} and Line {l2} {s2}"
        far_off = _station_points_distance(ctx, spec["between"], axis)
        if share < MIN_SPAN_SHARE or far_off > radius:
            return _fallback(spec, ctx, f"{'/'.join(found)} in the roads data does not reach the "
                             f"stretch{where} (runs along {share:.0%} of it)")
        axis = piece
    poly = _clip_to(axis.buffer(radius, 32), ctx, spec)
    note = (f"{radius:g} m either side of {'/'.join(found)} as mapped in the roads data{where} "
            "(the width is the project's reading of 'along', not the plan's)")
    return Placed(poly, f"corridor along {'/'.join(found)} ({ctx.road_source(found)})",
                  quality="approximate", accuracy_m=radius, note=note)


def _station_points_distance(ctx: RecipeContext, refs: list[Any], axis: shapely.LineString
                             ) -> float:
    from baoshan_gis.recipes import _station_points

    return max(p.distance(axis) for p in _station_points(ctx, refs))


def between_roads(spec: dict[str, Any], ctx: RecipeContext) -> Placed:
    """``{op="between_roads", roads=[[names of the first], [names of the second]], clip,
    fallback}``."""
    from baoshan_gis.recipes import Placed

    groups = spec.get("roads")
    if not (isinstance(groups, list) and len(groups) == 2):
        raise CatalogueError(
            "between_roads needs roads = [[first road names], [second road names]]")
    axes, found_all = [], []
    for group in groups:
        names = [group] if isinstance(group, str) else list(group)
        parts, found = ctx.road_parts(names)
        if not parts:
            return _fallback(spec, ctx, f"{'/'.join(names)} not in the roads data")
        axes.append(road_axis(parts))
        found_all.append("/".join(found))
    a, b = axes
    ca, cb = np.asarray(a.coords), np.asarray(b.coords)
    if math.dist(ca[0], cb[0]) > math.dist(ca[0], cb[-1]):
        cb = cb[::-1]
    ring = shapely.Polygon([*map(tuple, ca), *map(tuple, cb[::-1])])
    poly = _clip_to(shapely.make_valid(ring), ctx, spec)
    note = f"Between {found_all[0]} and {found_all[1]} as mapped in the roads data"
    return Placed(poly, f"between {found_all[0]} and {found_all[1]} "
                  f"({ctx.road_source([*found_all[0].split('/'), *found_all[1].split('/')])})",
                  quality="approximate", accuracy_m=ROAD_EDGE_ACCURACY_M, note=note)


OPS = {"side_of_road": side_of_road, "road_corridor": road_corridor,
       "between_roads": between_roads}
