"""In-memory tile sources: a vector layer projected to Web Mercator once, with its spatial index.

A :class:`VectorSource` is built once per layer (at service start-up or at the start of an export)
and is read-only afterwards, so one instance can be shared by every thread: no GeoPackage, SQLite
or GDAL handle is kept open. Geometries are held in EPSG:3857 (the tile grid's CRS) next to an
``STRtree``; attributes are plain Python values that every encoder accepts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from baoshan_gis.settings import WEB_MERCATOR, WGS84

#: Latitude limit of Web Mercator: geometry beyond it is clamped before projecting.
_MAX_LAT = 85.0511287798066


def _plain(value: Any) -> Any:
    """A JSON/MVT-friendly Python scalar, or ``None`` for missing values."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def frame_properties(frame: Any) -> list[dict[str, Any]]:
    """Attribute rows of a (Geo)DataFrame as dicts of plain values (``None`` for missing)."""
    cols = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
    records = frame[cols].to_dict(orient="records")
    return [{k: _plain(v) for k, v in row.items()} for row in records]


def to_web_mercator(geoms: np.ndarray) -> np.ndarray:
    """Project an array of WGS84 shapely geometries to Web Mercator (latitudes clamped)."""
    tr = Transformer.from_crs(WGS84, WEB_MERCATOR, always_xy=True)

    def _fwd(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], np.clip(xy[:, 1], -_MAX_LAT, _MAX_LAT))
        return np.column_stack([x, y])

    return shapely.transform(geoms, _fwd)


@dataclass
class VectorSource:
    """One vector layer ready for tiling.

    Attributes
    ----------
    name
        Layer name (also the MVT layer name).
    geoms
        Geometries in EPSG:3857 (object array of shapely geometries, no missing values).
    properties
        One dict of plain attribute values per geometry.
    bounds
        ``(west, south, east, north)`` in WGS84 degrees, or ``None`` for an empty layer.
    kind
        ``"point"``, ``"line"`` or ``"fill"``.
    """

    name: str
    geoms: np.ndarray
    properties: list[dict[str, Any]]
    bounds: tuple[float, float, float, float] | None
    kind: str
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)
        self.tree.query(shapely.box(0, 0, 0, 0))  # build the index now, before threads share it
        #: Web Mercator bounds of each feature (NaN for rows without geometry).
        self.bounds3857 = shapely.bounds(self.geoms)
        self.bounds_list: list[tuple[float, float, float, float]] = [
            tuple(b) for b in self.bounds3857.tolist()]
        #: For layers of single points: their Web Mercator x, y (NaN where missing), else None.
        self.point_xy: np.ndarray | None = None
        types = shapely.get_type_id(self.geoms)
        if len(types) and ((types == 0) | (types == -1)).all():
            self.point_xy = self.bounds3857[:, :2].copy()
        #: Per-zoom whole-feature encodings, filled on demand by the MVT encoder (entries are
        #: only ever added, each complete, so threads may share it).
        self.zoom_cache: dict[tuple[int, int], dict[int, Any]] = {}
        from baoshan_gis.tiles._mvt_encode import AttributeTable

        self.attributes = AttributeTable(self.properties)
        #: For polygon layers: what a tile needs to take a feature whole, unclipped and
        #: unsimplified, where both would leave it as it is (per feature, zoom-independent).
        self.whole_rings: list[Any] = []
        if self.kind == "fill":
            from baoshan_gis.tiles._mvt_whole import whole_rings

            self.whole_rings = whole_rings(self.geoms)
        self.schematic = np.array(
            [p.get("geometry_quality") == "schematic" for p in self.properties], dtype=bool
        )

    @cached_property
    def point_list(self) -> list[tuple[float, float]]:
        """The points' x, y as Python tuples, for the Python point path (made on first use)."""
        return [] if self.point_xy is None else [tuple(p) for p in self.point_xy.tolist()]

    @classmethod
    def from_frame(cls, name: str, frame: Any) -> VectorSource:
        """Build from a GeoDataFrame in any CRS (reprojected to WGS84 first when needed)."""
        if frame.crs is not None and frame.crs.to_epsg() != 4326:
            frame = frame.to_crs(4326)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        # rows without geometry stay (never found by the index) so that row numbers, and so
        # feature ids, are the layer's own
        present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        bounds = None
        if len(present):
            b = shapely.total_bounds(present)
            bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        types = set(shapely.get_type_id(present).tolist()) if len(present) else {3}
        if types <= {0, 4}:
            kind = "point"
        elif types <= {1, 2, 5}:
            kind = "line"
        else:
            kind = "fill"
        return cls(
            name=name,
            geoms=to_web_mercator(geoms),
            properties=frame_properties(frame),
            bounds=bounds,
            kind=kind,
        )

    def query(self, box: tuple[float, float, float, float]) -> np.ndarray:
        """Indices (sorted) of the features whose envelope meets ``box`` (EPSG:3857)."""
        idx = self.tree.query(shapely.box(*box))
        idx.sort()
        return idx

    def intersects_bounds(self, wgs84_box: tuple[float, float, float, float]) -> bool:
        """Whether ``wgs84_box`` overlaps the layer's bounds at all."""
        if self.bounds is None:
            return False
        w, s, e, n = wgs84_box
        bw, bs, be, bn = self.bounds
        return not (e < bw or w > be or n < bs or s > bn)
