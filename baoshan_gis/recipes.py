"""Geometry recipes of the curated layers: how a declared feature becomes a shape.

The plan gives no coordinates. Curated features therefore say *how* they are placed, in terms of
things that have real positions: OpenStreetMap metro stations and the district outline. Each
recipe is one ``op`` in a feature's ``geometry`` table (see ``layers/README.md``):

``station``         the point of a metro station: ``{op, line, name}``
``zone_point``      the representative point of a zone drawn earlier: ``{op, layer, name}``;
                    the feature's accuracy becomes at least the distance to the zone's farthest
                    point
``stations_buffer`` union of circles around stations: ``{op, stations=[[line, name]...],
                    radius_m, clip}``
``line_buffer``     corridor along a line between two stations: ``{op, line, from, to,
                    radius_m, clip}``
``west_of``         the part of ``clip`` west of a polyline through stations, extended along its
                    end bearings: ``{op, stations, extend_m, clip}``
``copy``            the geometry of a feature drawn earlier: ``{op, layer, name}``
``union``           union of features drawn earlier: ``{op, parts=[[layer, name]...]}``
``osm_area``        the representative point of a named polygon of ``osm_areas`` (a campus):
                    ``{op, name}``; accuracy at least the distance to the polygon's farthest point
``side_of_road``    the part of ``clip`` west/east of named roads (see :mod:`baoshan_gis._road_ops`)
``road_corridor``   a corridor along named roads
``between_roads``   the area between two roads
``none``            no geometry (a feature the plan names but that cannot be located)

The road recipes use the ``roads`` layer (embedded OSM roads, plus a roads file given to the
build) and fall back to a station recipe, labelled schematic, when the road is not there.

All lengths are metres, computed in :data:`baoshan_gis.settings.METRIC_CRS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from baoshan_gis import _road_ops, settings
from baoshan_gis._errors import CatalogueError

_TO_METRIC = Transformer.from_crs(settings.WGS84, settings.METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(settings.METRIC_CRS, settings.WGS84, always_xy=True)


def to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    """WGS84 lon/lat geometry -> metric CRS."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_METRIC.transform(*xy.T)))


def to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    """Metric CRS geometry -> WGS84 lon/lat."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_WGS84.transform(*xy.T)))


@dataclass
class RecipeContext:
    """What recipes can refer to: stations and the layers built so far (all metric)."""

    stations: pd.DataFrame  # columns line_no, name_zh, osm_id, x, y
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def station(self, line: int, name: str) -> pd.Series:
        hit = self.stations[(self.stations.line_no == int(line)) & (self.stations.name_zh == name)]
        if hit.empty:
            known = self.stations[self.stations.line_no == int(line)].name_zh
            raise CatalogueError(
                f"no station {name!r} on line {line} in metro_stations; "
                f"line {line} has: {', '.join(known)}"
            )
        return hit.iloc[0]

    def feature(self, layer: str, name: str) -> shapely.Geometry:
        if layer not in self.layers:
            raise CatalogueError(
                f"recipe refers to layer {layer!r}, which is not built before this one "
                f"(built so far: {', '.join(self.layers)}); check the layers' 'order'"
            )
        gdf = self.layers[layer]
        hit = gdf[gdf.name_zh == name]
        if hit.empty:
            raise CatalogueError(
                f"recipe refers to {name!r} in layer {layer!r}, which has: {', '.join(gdf.name_zh)}"
            )
        return hit.geometry.iloc[0]

    def road_parts(self, names: list[str]) -> tuple[list[shapely.Geometry], list[str]]:
        """Metric geometries of the roads named ``names`` (any that exist) and the names found."""
        roads = self.layers.get("roads")
        if roads is None or roads.empty:
            return [], []
        hit = roads[roads.name_zh.isin(names)]
        found = [n for n in names if n in set(hit.name_zh)]
        return list(hit.geometry.dropna()), found

    def road_source(self, names: list[str]) -> str:
        """Where the named roads' geometry came from (the roads layer's ``source`` values)."""
        roads = self.layers.get("roads")
        if roads is None:
            return ""
        hit = roads[roads.name_zh.isin(names)]
        origins = sorted({str(s).split(" (", 1)[-1].rstrip(")") if " (" in str(s) else str(s)
                          for s in hit.source})
        return "; ".join(origins[:3])

    def clip_shape(self, clip: str | None) -> shapely.Geometry | None:
        if not clip:
            return None
        if clip not in self.layers:
            raise CatalogueError(f"clip layer {clip!r} is not built before this layer")
        return shapely.union_all(self.layers[clip].geometry.dropna().to_numpy())


@dataclass(frozen=True)
class Placed:
    """A recipe's result: metric geometry, a description of the source, a minimum accuracy."""

    geometry: shapely.Geometry | None
    source: str
    min_accuracy_m: float = 0.0
    #: geometry quality that replaces the declared one (road-drawn zones, OSM areas)
    quality: str | None = None
    #: accuracy that replaces the declared one (``None``: declared, at least ``min_accuracy_m``)
    accuracy_m: float | None = None
    #: how the geometry was drawn, replacing the feature's declared ``note``
    note: str | None = None
    #: keep the declared note after ``note`` (it gives the plan's reason, not the rule)
    keep_declared_note: bool = False


def _clip(geom: shapely.Geometry, ctx: RecipeContext, spec: dict[str, Any]) -> shapely.Geometry:
    shape = ctx.clip_shape(spec.get("clip"))
    out = geom if shape is None else shapely.intersection(geom, shape)
    return shapely.make_valid(out)


def _station_points(ctx: RecipeContext, refs: list[list[Any]]) -> list[shapely.Point]:
    pts = []
    for ref in refs:
        if not (isinstance(ref, list) and len(ref) == 2):
            raise CatalogueError(f"station reference {ref!r} must be [line, name]")
        row = ctx.station(int(ref[0]), str(ref[1]))
        pts.append(shapely.Point(row.x, row.y))
    return pts


def _line_points(ctx: RecipeContext, line: int, start: str, end: str) -> list[shapely.Point]:
    on_line = ctx.stations[ctx.stations.line_no == int(line)].sort_values("seq")
    a = int(ctx.station(line, start).seq)
    b = int(ctx.station(line, end).seq)
    lo, hi = min(a, b), max(a, b)
    part = on_line[(on_line.seq >= lo) & (on_line.seq <= hi)]
    return [shapely.Point(x, y) for x, y in zip(part.x, part.y, strict=True)]


def _extend(coords: np.ndarray, dist: float) -> np.ndarray:
    """Extend a polyline at both ends along its end bearings by ``dist``."""

    def ahead(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        v = p - q
        return p + v / np.hypot(*v) * dist

    return np.vstack([ahead(coords[0], coords[1]), coords, ahead(coords[-1], coords[-2])])


def place(spec: dict[str, Any], ctx: RecipeContext) -> Placed:
    """Run one geometry recipe; :class:`CatalogueError` names what is wrong with ``spec``."""
    op = spec.get("op")
    if op == "station":
        row = ctx.station(int(spec["line"]), str(spec["name"]))
        return Placed(
            shapely.Point(row.x, row.y),
            f"at OSM node {row.osm_id} (Line {int(spec['line'])} {spec['name']} station)",
        )
    if op == "zone_point":
        zone = ctx.feature(spec["layer"], spec["name"])
        pt = shapely.point_on_surface(zone)
        far = shapely.hausdorff_distance(pt, zone)
        return Placed(
            pt,
            f"at the representative point of {spec['layer']} '{spec['name']}' (schematic area)",
            float(math.ceil(far / 100.0) * 100.0),
        )
    if op == "stations_buffer":
        pts = _station_points(ctx, spec["stations"])
        geom = shapely.union_all([p.buffer(float(spec["radius_m"]), 32) for p in pts])
        return Placed(_clip(geom, ctx, spec), "schematic buffer around OSM metro stations")
    if op == "line_buffer":
        pts = _line_points(ctx, int(spec["line"]), str(spec["from"]), str(spec["to"]))
        line = shapely.LineString(pts)
        geom = line.buffer(float(spec["radius_m"]), 32)
        return Placed(_clip(geom, ctx, spec), "schematic corridor along OSM metro stations")
    if op == "west_of":
        pts = _station_points(ctx, spec["stations"])
        coords = _extend(np.array([(p.x, p.y) for p in pts]), float(spec.get("extend_m", 30000)))
        if coords[0, 1] > coords[-1, 1]:
            coords = coords[::-1]
        far_west = coords[:, 0].min() - 200_000.0
        ring = [(far_west, coords[0, 1]), *map(tuple, coords), (far_west, coords[-1, 1])]
        west = shapely.Polygon(ring)
        return Placed(_clip(west, ctx, spec), "west of a polyline through OSM metro stations")
    if op == "copy":
        return Placed(
            ctx.feature(spec["layer"], spec["name"]),
            f"same shape as {spec['layer']} '{spec['name']}'",
        )
    if op == "union":
        parts = [ctx.feature(layer, name) for layer, name in spec["parts"]]
        return Placed(
            shapely.union_all(parts),
            "union of " + ", ".join(f"{layer} '{name}'" for layer, name in spec["parts"]),
        )
    if op == "osm_area":
        return _osm_area(spec, ctx)
    if op in _road_ops.OPS:
        return _road_ops.OPS[op](spec, ctx)
    if op == "none":
        return Placed(None, "not located")
    raise CatalogueError(
        f"unknown geometry op {op!r}; valid ops: station, zone_point, stations_buffer, "
        "line_buffer, west_of, copy, union, osm_area, side_of_road, road_corridor, "
        "between_roads, none"
    )


def _osm_area(spec: dict[str, Any], ctx: RecipeContext) -> Placed:
    areas = ctx.layers.get("osm_areas")
    name = str(spec.get("name"))
    hit = None if areas is None else areas[areas.name_zh == name]
    if hit is None or hit.empty:
        fb = spec.get("fallback")
        if not isinstance(fb, dict):
            raise CatalogueError(f"osm_area: no area {name!r} in osm_areas and no 'fallback'")
        placed = place(fb, ctx)
        return Placed(placed.geometry, placed.source, placed.min_accuracy_m,
                      note=f"{name} is not in the OSM areas; placed by the fallback rule")
    row = hit.iloc[0]
    area = row.geometry
    # the point nearest to every part of the area: the centre of its smallest enclosing circle,
    # when that lies on the area (else a point that does)
    pt = shapely.centroid(shapely.minimum_bounding_circle(area))
    where = "at the centre of its smallest enclosing circle"
    if not area.contains(pt):
        pt, where = shapely.point_on_surface(area), "at a point inside it"
    far = float(math.ceil(shapely.hausdorff_distance(pt, area.boundary) / 50.0) * 50.0)
    src = str(row.source).split(" (", 1)[0].replace("OpenStreetMap ", "OSM ")
    return Placed(
        pt,
        f"on the {name} polygon ({src}, {settings.OSM_ATTRIBUTION})",
        far,
        quality="approximate",
        note=f"On the {name} polygon ({src}), {where}; ±{far:.0f} m reaches its farthest point",
        keep_declared_note=True,
    )
