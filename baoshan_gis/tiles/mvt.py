"""Mapbox Vector Tiles (MVT 2.1) of a vector layer.

Geometry is cut to the tile plus a buffer, simplified to the tile's resolution (one tile unit,
``tile size / extent``) and snapped to the integer grid of the tile; every attribute is kept
(missing values are left out, as MVT has no null). A tile holds at most ``feature_cap`` features
(the first ones in layer order) so that one request cannot produce an unbounded tile.

:func:`render_mvt` writes the protobuf with the project's own encoder
(:mod:`baoshan_gis.tiles._mvt_encode`, several times faster); ``vectorised=False`` uses
``mapbox_vector_tile.encode`` on :func:`tile_geometries` instead — the reference the fast encoder
is tested against (same decoded features).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from baoshan_gis.tiles._mvt_encode import encode_layer_auto
from baoshan_gis.tiles._mvt_fill import encode_fill_tile
from baoshan_gis.tiles._mvt_tiles import encode_paths_tile, encode_points_tile
from baoshan_gis.tiles.grid import Tile, buffered_tile_box
from baoshan_gis.tiles.source import VectorSource

#: Tile extent (integer grid size) of every MVT written here.
EXTENT: int = 4096
#: Buffer around the tile, in tile units, kept so that strokes join across tile edges.
BUFFER: int = 64
#: Default largest number of features per tile.
DEFAULT_FEATURE_CAP: int = 5000


def clip_tile(
    source: VectorSource,
    tile: Tile,
    *,
    extent: int = EXTENT,
    buffer: int = BUFFER,
    feature_cap: int = DEFAULT_FEATURE_CAP,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float], float]:
    """Features of ``source`` near ``tile``, cut to the buffered tile and simplified.

    Returns ``(indices, geometries in EPSG:3857, origin, scale)``: tile units are
    ``round((xy - origin) * scale)`` (y up). At most ``feature_cap`` features (the first ones in
    layer order) are kept; simplification uses one tile unit as tolerance.
    """
    box, (minx, miny), size = buffered_tile_box(tile, extent, buffer)
    idx = source.query(box)
    if not len(idx):
        return idx, np.empty(0, dtype=object), (minx, miny), extent / size
    idx = idx[:feature_cap]
    geoms = source.geoms[idx]
    if source.kind != "point":
        geoms = shapely.clip_by_rect(geoms, *box)
        geoms = shapely.simplify(geoms, size / extent, preserve_topology=source.kind == "fill")
    return idx, geoms, (minx, miny), extent / size


def tile_geometries(
    source: VectorSource,
    tile: Tile,
    *,
    extent: int = EXTENT,
    buffer: int = BUFFER,
    feature_cap: int = DEFAULT_FEATURE_CAP,
) -> tuple[np.ndarray, np.ndarray]:
    """Features of ``source`` in ``tile``: ``(indices, geometries in tile units, y up)``.

    :func:`clip_tile`, then snapped to the integer grid of the tile; features that vanish are
    dropped.
    """
    idx, geoms, (ox, oy), scale = clip_tile(source, tile, extent=extent, buffer=buffer,
                                            feature_cap=feature_cap)
    if not len(idx):
        return idx, geoms
    origin = np.array([ox, oy])
    geoms = shapely.transform(geoms, lambda c: np.round((c - origin) * scale))
    keep = ~shapely.is_empty(geoms)
    if source.kind == "fill":
        keep &= shapely.area(geoms) > 0
    return idx[keep], geoms[keep]


def encode_layer(
    name: str,
    geoms: np.ndarray,
    properties: list[dict[str, Any]],
    ids: np.ndarray,
    *,
    extent: int = EXTENT,
) -> bytes:
    """Encode features already in tile units (y up) as one MVT layer named ``name``."""
    import mapbox_vector_tile

    features = []
    for geom, fid in zip(geoms, ids, strict=True):
        props = {k: v for k, v in properties[int(fid)].items() if v is not None}
        features.append({"geometry": geom, "properties": props, "id": int(fid) + 1})
    return bytes(
        mapbox_vector_tile.encode(
            [{"name": name, "features": features}],
            default_options={"extents": extent, "y_coord_down": False},
        )
    )


def render_mvt(
    source: VectorSource,
    tile: Tile,
    *,
    extent: int = EXTENT,
    buffer: int = BUFFER,
    feature_cap: int = DEFAULT_FEATURE_CAP,
    vectorised: bool = True,
) -> bytes:
    """The MVT bytes of ``tile`` for one layer; ``b""`` when the tile holds no feature.

    Parameters
    ----------
    source
        The layer, projected and indexed (:class:`~baoshan_gis.tiles.source.VectorSource`).
    tile
        Validated tile coordinates (:func:`~baoshan_gis.tiles.grid.parse_tile`).
    extent, buffer
        Tile grid size and buffer in tile units (4096 and 64 by default).
    feature_cap
        Largest number of features written in one tile.
    vectorised
        Encode with the numpy encoder of :mod:`baoshan_gis.tiles._mvt_encode` (default) or,
        when false, with ``mapbox_vector_tile.encode`` (the reference; same decoded features).

    Returns
    -------
    bytes
        An uncompressed vector tile with one layer named after the source, feature ids
        ``row + 1`` of the layer; empty bytes when nothing falls in the tile.
    """
    if not vectorised:
        idx, geoms = tile_geometries(source, tile, extent=extent, buffer=buffer,
                                     feature_cap=feature_cap)
        if not len(idx):
            return b""
        return encode_layer(source.name, geoms, source.properties, idx, extent=extent)
    if source.point_xy is not None:
        return encode_points_tile(source, tile, extent=extent, buffer=buffer,
                                  feature_cap=feature_cap)
    if source.kind == "fill":
        return encode_fill_tile(source, tile, extent=extent, buffer=buffer,
                                feature_cap=feature_cap)
    if source.kind == "line":
        return encode_paths_tile(source, tile, extent=extent, buffer=buffer,
                                 feature_cap=feature_cap)
    idx, geoms, origin, scale = clip_tile(source, tile, extent=extent, buffer=buffer,
                                          feature_cap=feature_cap)
    if not len(idx):
        return b""
    return encode_layer_auto(source.name, geoms, idx, source.attributes, source.kind,
                             origin=origin, scale=scale, extent=extent)
