"""Whole MVT tiles of line and point layers, straight from a ``VectorSource``.

:func:`encode_paths_tile` (lines; whole features encoded once per zoom by :func:`zoom_streams`
and kept on the source) and :func:`encode_points_tile` (points, vectorised) build on the
encoders of :mod:`baoshan_gis.tiles._mvt_encode`; polygons have their own path in
:mod:`baoshan_gis.tiles._mvt_fill`. Lines are simplified and encoded by the compiled
``_mvt_lines.line_streams`` where it was built (:func:`compiled_line_bytes`), else by GEOS and
the Python encoders: the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from baoshan_gis.tiles._mvt_encode import (
    _LINE,
    _MOVE_TO,
    _POINT,
    _POLYGON,
    _PY_ASSEMBLY_MAX,
    SMALL_TILE_COORDS,
    _assemble_np,
    _field_bytes,
    _packed,
    _paths,
    _ragged,
    _scalar_streams,
    _uv,
    _uvarint,
    _zigzag,
    _zz,
    assemble_tile,
    layer_from_records,
)

try:  # compiled at install (hatch_build.py); the GEOS + Python paths below give the same bytes
    from baoshan_gis.tiles._mvt_lines import line_streams as _compiled_lines
    from baoshan_gis.tiles._mvt_records import point_records as _compiled_points
except ImportError:  # pragma: no cover - installed without a C compiler
    _compiled_lines = None  # type: ignore[assignment]
    _compiled_points = None  # type: ignore[assignment]


def _unzz(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        if b < 0x80:
            return value, pos
        shift += 7


def compiled_line_bytes(geoms: np.ndarray, origin: tuple[float, float], scale: float,
                        extent: int, tolerance: float) -> list[bytes | None] | None:
    """Command bytes of each line feature, simplified by ``tolerance`` first, from the compiled
    encoder: the bytes of ``shapely.simplify(geoms, tolerance, preserve_topology=False)`` then
    :func:`_scalar_streams` (tested). ``None`` when it cannot take them (not built, a part that
    is a LinearRing or itself a collection, coordinates too far from the tile): use those then.
    """
    if _compiled_lines is None:
        return None
    parts, feat = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    if ((types != 1) & (types != 0)).any():
        return None
    if (types == 0).any():  # points left by a clip are not part of a line feature
        parts, feat = parts[types == 1], feat[types == 1]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    n = np.bincount(part, minlength=len(parts))
    return _compiled_lines(coords, n, feat, len(geoms), origin[0], origin[1], scale, extent,
                           tolerance)


def zoom_streams(source: Any, z: int, rows: list[int], *, extent: int) -> dict[int, Any]:
    """Whole-feature geometry of ``rows`` at zoom ``z``, encoded once and kept on ``source``.

    Each entry is ``(gx, gy, tail)``: the first vertex in global tile units of the zoom (x from
    the west, y from the south) and the varint bytes of every command after the first MoveTo,
    which do not depend on the tile; ``None`` for a feature that vanishes at this zoom. A tile
    that contains a feature whole then only encodes that first vertex.
    """
    from baoshan_gis.tiles.grid import ORIGIN_SHIFT

    cache: dict[int, Any] = source.zoom_cache.setdefault((z, extent), {})
    missing = [r for r in rows if r not in cache]
    if not missing:
        return cache
    size = 2 * ORIGIN_SHIFT / (1 << z)
    origin = (-ORIGIN_SHIFT, -ORIGIN_SHIFT)
    done = (compiled_line_bytes(source.geoms[missing], origin, extent / size, 0, size / extent)
            if source.kind == "line" else None)
    if done is not None:
        for r, geom in zip(missing, done, strict=True):
            if geom is None:
                cache[r] = None
                continue
            zx, pos = _read_uvarint(geom, 1)  # after the MoveTo command
            zy, pos = _read_uvarint(geom, pos)
            cache[r] = (_unzz(zx), -_unzz(zy), geom[pos:])
        return cache
    geoms = shapely.simplify(source.geoms[missing], size / extent,
                             preserve_topology=source.kind == "fill")
    streams = _scalar_streams(geoms, source.kind, 0, origin, extent / size)
    for r, ints in zip(missing, streams, strict=True):
        cache[r] = (_unzz(ints[1]), -_unzz(ints[2]), _packed(ints[3:])) if ints else None
    return cache


def encode_paths_tile(source: Any, tile: Any, *, extent: int, buffer: int, feature_cap: int
                      ) -> bytes:
    """The MVT of a line or polygon layer's ``tile`` using :func:`zoom_streams`.

    Features that lie whole inside the buffered tile reuse their per-zoom encoding; the others
    are clipped to the buffered tile, simplified and encoded as in :func:`encode_layer_small`.
    The result decodes to the same features as the reference encoder (tested).
    """
    from baoshan_gis.tiles.grid import buffered_tile_box

    box, (minx, miny), size = buffered_tile_box(tile, extent, buffer)
    idx = source.query(box)
    if not len(idx):
        return b""
    rows = idx[:feature_cap].tolist()
    bounds = source.bounds_list
    bx0, by0, bx1, by1 = box
    rows_in: list[int] = []
    rows_cross: list[int] = []
    for r in rows:
        x0, y0, x1, y1 = bounds[r]
        (rows_in if x0 >= bx0 and y0 >= by0 and x1 <= bx1 and y1 <= by1 else rows_cross).append(r)
    geoms_by_row: dict[int, bytes] = {}
    if rows_in:
        cache = zoom_streams(source, tile.z, rows_in, extent=extent)
        ox = tile.x * extent
        oy = ((1 << tile.z) - 1 - tile.y) * extent
        for r in rows_in:
            entry = cache[r]
            if entry is not None:
                gx, gy, tail = entry
                geoms_by_row[r] = (b"\x09" + _uv(_zz(gx - ox)) + _uv(_zz(extent - (gy - oy)))
                                   + tail)
    if rows_cross:
        rows_x = np.asarray(rows_cross)
        clipped = shapely.clip_by_rect(source.geoms[rows_x], *box)
        origin, scale = (minx, miny), extent / size
        done = (compiled_line_bytes(clipped, origin, scale, extent, size / extent)
                if source.kind == "line" else None)
        if done is not None:
            for r, geom in zip(rows_x.tolist(), done, strict=True):
                if geom is not None:
                    geoms_by_row[r] = geom
            rows_cross = []
    if rows_cross:
        clipped = shapely.simplify(clipped, size / extent,
                                   preserve_topology=source.kind == "fill")
        if int(shapely.get_num_coordinates(clipped).sum()) > SMALL_TILE_COORDS[source.kind]:
            stream, counts = _paths(clipped, extent, origin, scale,
                                    polygon=source.kind == "fill")
            data, nbytes = _ragged(stream, counts)
            buf, ends = data.tobytes(), np.cumsum(nbytes).tolist()
            start = 0
            for r, n, end in zip(rows_x.tolist(), counts.tolist(), ends, strict=True):
                if n:
                    geoms_by_row[r] = buf[start:end]
                start = end
        else:
            streams = _scalar_streams(clipped, source.kind, extent, origin, scale)
            for r, ints in zip(rows_x.tolist(), streams, strict=True):
                if ints:
                    geoms_by_row[r] = _packed(ints)
    gtype = _POLYGON if source.kind == "fill" else _LINE
    feats = [(r, geoms_by_row[r]) for r in rows if r in geoms_by_row]
    return assemble_tile(source.name, gtype, feats, source.attributes, extent)


def encode_points_tile(source: Any, tile: Any, *, extent: int, buffer: int, feature_cap: int
                       ) -> bytes:
    """The MVT of a layer of single points: no clipping, coordinates straight from an array.

    Gives the same bytes as :func:`encode_layer_fast` / :func:`encode_layer_small` would for the
    same tile, with less overhead per tile.
    """
    from baoshan_gis.tiles.grid import buffered_tile_box

    box, (minx, miny), size = buffered_tile_box(tile, extent, buffer)
    idx = source.query(box)
    if not len(idx):
        return b""
    idx = idx[:feature_cap]
    scale = extent / size
    if _compiled_points is not None:
        attrs = source.attributes
        made = _compiled_points(np.asarray(idx, dtype=np.int64), source.point_xy, minx, miny,
                                scale, extent, attrs.ptr, attrs.tag_key, attrs.tag_val)
        if made is not None:
            return layer_from_records(source.name, made, attrs, extent)
    if len(idx) <= _PY_ASSEMBLY_MAX:
        xy = source.point_list
        feats = []
        for r in idx.tolist():
            x, y = xy[r]
            dx = round((x - minx) * scale)
            dy = extent - round((y - miny) * scale)
            feats.append((r, b"\x09" + _uv((dx << 1) ^ (dx >> 63)) + _uv((dy << 1) ^ (dy >> 63))))
        return assemble_tile(source.name, _POINT, feats, source.attributes, extent)
    c = source.point_xy[idx]
    gx = np.round((c[:, 0] - minx) * scale).astype(np.int64)
    gy = extent - np.round((c[:, 1] - miny) * scale).astype(np.int64)
    stream = np.empty(3 * len(idx), dtype=np.uint64)
    stream[0::3] = (1 << 3) | _MOVE_TO
    stream[1::3] = _zigzag(gx)
    stream[2::3] = _zigzag(gy)
    geom_data, geom_len = _ragged(stream, np.full(len(idx), 3))
    tag_data, tag_len, used_keys, used_vals = source.attributes.tags(idx)
    features = _assemble_np(idx, _POINT, geom_data, geom_len, tag_data, tag_len)
    layer = b"".join([
        _field_bytes(0x0A, source.name.encode("utf-8")),
        features,
        b"".join(source.attributes.key_msgs[used_keys]),
        b"".join(source.attributes.value_msgs[used_vals]),
        b"\x28" + _uvarint(extent),
        b"\x78\x02",
    ])
    return _field_bytes(0x1A, layer)
