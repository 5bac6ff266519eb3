"""MVT tiles of polygon layers, fast on the first request (cold).

A polygon tile is cut, simplified and encoded from the layer's geometry on every request: no
per-zoom preparation is kept between requests, so the first request at a zoom costs what every
later one costs. The steps are

* the features whose envelope meets the buffered tile (the layer's ``STRtree``);
* ``shapely.clip_by_rect`` and ``shapely.simplify`` (one tile unit, topology preserved) on all of
  them at once — GEOS, vectorised — except for the features that both would return unchanged
  (small one-ring polygons strictly inside the buffered tile whose vertices all lie farther than
  the tolerance from every chord: :mod:`baoshan_gis.tiles._mvt_whole`), taken as they are;
* the command streams: polygons of one ring (most features of a tile) take their coordinates
  from one ``shapely.get_coordinates`` call and are encoded by the compiled encoder
  (``_mvt_rings.pyx``) or, where it was not built, with numpy for large tiles
  (:func:`_simple_rings_np`) or in plain Python for small ones (:func:`_simple_ring`), where
  numpy's per-call overhead would dominate; multipolygons, polygons with holes and collections
  take the general scalar path of :mod:`baoshan_gis.tiles._mvt_encode`.

Every path writes the same bytes as :func:`~baoshan_gis.tiles._mvt_encode.encode_layer_small` on
the same clipped geometry, which decodes to what ``mapbox_vector_tile.encode`` writes (tested).
"""

from __future__ import annotations

from itertools import chain
from operator import mul, sub
from typing import Any

import numpy as np
import shapely

from baoshan_gis.tiles._mvt_encode import (
    _POLYGON,
    _PY_ASSEMBLY_MAX,
    _VARINT_TABLE,
    _assemble_np,
    _field_bytes,
    _packed,
    _ragged,
    _scalar_streams,
    _uv,
    _uvarint,
)
from baoshan_gis.tiles._mvt_whole import pick_whole
from baoshan_gis.tiles.grid import buffered_tile_box

try:  # compiled at install (hatch_build.py); the Python encoders below write the same bytes
    from baoshan_gis.tiles._mvt_rings import ring_streams as _compiled_rings
except ImportError:  # pragma: no cover - installed without a C compiler
    _compiled_rings = None  # type: ignore[assignment]

#: From this many one-ring polygons in a tile :func:`_simple_rings_split` is used, from
#: ``NUMPY_MIN_RINGS`` :func:`_simple_rings_np`, below both :func:`_simple_ring` per ring
#: (crossovers measured on the benchmark's tiles of 1 km cells, z10-16).
SPLIT_MIN_RINGS: int = 10
NUMPY_MIN_RINGS: int = 120


#: Varint bytes of the zig-zag code of every delta a tile clipped to its buffer can hold
#: (|delta| <= 4096 + 2 * 64; larger ones take the general path).
_ZZ_BYTES: dict[int, bytes] = dict(zip(range(-4224, 4225), [
    _VARINT_TABLE[(d << 1) ^ (d >> 63)] for d in range(-4224, 4225)], strict=True))


def _simple_ring(xs: list[int], ys: list[int], extent: int) -> bytes | None:
    """:func:`_simple_ring_general` with a fast path for the rings GEOS's clip writes.

    Those have no repeated vertex and are already clockwise on screen; their deltas are looked
    up whole in ``_ZZ_BYTES``. Same bytes.
    """
    n = len(xs) - 1
    if n >= 3 and len(set(zip(xs, ys, strict=True))) == n:
        kx, ky = xs[:n], ys[:n]
        if sum(map(mul, kx, ys[1:])) - sum(map(mul, xs[1:], ky)) < 0:
            zz = _ZZ_BYTES
            try:
                pairs: list[bytes] = [b""] * (2 * n - 2)
                pairs[0::2] = map(zz.__getitem__, map(sub, xs[1:n], xs[:n - 1]))
                pairs[1::2] = map(zz.__getitem__, map(sub, ys[:n - 1], ys[1:n]))
                return b"".join((b"\x09", zz[xs[0]], zz[extent - ys[0]],
                                 _VARINT_TABLE[((n - 1) << 3) | 2], *pairs, b"\x0f"))
            except KeyError:
                pass
    return _simple_ring_general(xs, ys, extent)


def _simple_ring_general(xs: list[int], ys: list[int], extent: int) -> bytes | None:
    """Command bytes of a one-ring polygon (closed ring in tile units, y up); ``None`` if gone.

    Same rules as ``_scalar_ring`` + ``_emit_run``: repeated vertices dropped, the closing vertex
    implied by ClosePath, fewer than three vertices or zero area dropped, exterior clockwise on
    screen (y down).
    """
    px, py = xs[0], ys[0]
    kx, ky = [px], [py]
    for x, y in zip(xs, ys, strict=True):
        if x != px or y != py:
            kx.append(x)
            ky.append(y)
            px, py = x, y
    if len(kx) >= 2 and px == kx[0] and py == ky[0]:
        kx.pop()
        ky.pop()
    n = len(kx)
    if n < 3:
        return None
    area2 = sum(map(mul, kx, ky[1:] + ky[:1])) - sum(map(mul, kx[1:] + kx[:1], ky))
    if area2 == 0:
        return None
    if area2 > 0:
        kx[1:] = kx[:0:-1]
        ky[1:] = ky[:0:-1]
    ints = [9]
    cx = cy = 0
    for i in range(n):
        x, y = kx[i], extent - ky[i]
        dx, dy = x - cx, y - cy
        ints.append((dx << 1) ^ (dx >> 63))
        ints.append((dy << 1) ^ (dy >> 63))
        if i == 0:
            ints.append(((n - 1) << 3) | 2)
        cx, cy = x, y
    ints.append(15)
    return _packed(ints)


def _simple_rings_np(c: np.ndarray, n: np.ndarray, extent: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_simple_ring` for many rings at once.

    ``c`` holds the rings' closed coordinates in tile units (y up, int64), ``n`` the number of
    coordinates of each. Returns the varint bytes of the kept rings' commands, their byte
    length, and which rings are kept.
    """
    count = len(n)
    ring = np.repeat(np.arange(count), n)
    keep = np.empty(len(c), bool)
    keep[0] = True
    keep[1:] = (c[1:, 0] != c[:-1, 0]) | (c[1:, 1] != c[:-1, 1]) | (ring[1:] != ring[:-1])
    kept = np.flatnonzero(keep)
    kr = ring[kept]
    # the last kept vertex of a closed ring equals its first: ClosePath implies it
    last = np.empty(len(kept), bool)
    last[-1] = True
    last[:-1] = kr[1:] != kr[:-1]
    kept, kr = kept[~last], kr[~last]
    nk = np.bincount(kr, minlength=count)
    start = np.cumsum(nk) - nk
    end = start + nk - 1
    x, y = c[kept, 0], c[kept, 1]
    nxt = np.arange(1, len(kept) + 1)
    has = nk > 0
    nxt[end[has]] = start[has]
    area2 = np.bincount(kr, weights=(x * y[nxt] - x[nxt] * y).astype(np.float64),
                        minlength=count)
    ok = (nk >= 3) & (area2 != 0)
    rev = ok & (area2 > 0)
    if rev.any():
        i = np.arange(len(kept))
        st = start[kr]
        flip = rev[kr] & (i != st)
        perm = i.copy()
        perm[flip] = st[flip] + end[kr[flip]] + 1 - i[flip]
        x, y = x[perm], y[perm]
    m = ok[kr]
    x, y = x[m], extent - y[m]
    nko = nk[ok]
    if not len(nko):
        return np.empty(0, np.uint8), np.empty(0, np.int64), ok
    rs = np.cumsum(nko) - nko
    dx = np.empty(len(x), np.int64)
    dy = np.empty(len(x), np.int64)
    dx[1:], dy[1:] = x[1:] - x[:-1], y[1:] - y[:-1]
    dx[rs], dy[rs] = x[rs], y[rs]  # each feature's cursor starts at 0
    per = 2 * nko + 3
    off = np.cumsum(per) - per
    out = np.empty(int(per.sum()), np.int64)
    out[off] = 9
    out[off + 3] = ((nko - 1) << 3) | 2
    out[off + per - 1] = 15
    j = np.arange(len(x)) - np.repeat(rs, nko)
    pos = np.repeat(off, nko) + 1 + 2 * j + (j >= 1)
    out[pos] = (dx << 1) ^ (dx >> 63)
    out[pos + 1] = (dy << 1) ^ (dy >> 63)
    data, nbytes = _ragged(out, per)
    return data, nbytes, ok


def _simple_rings_split(c: np.ndarray, n: np.ndarray, extent: int) -> list[bytes | None]:
    """:func:`_simple_ring` of many rings: numpy arithmetic, Python slicing of varint bytes.

    The rings that GEOS's clip leaves as they are (no repeated vertex, exterior already
    clockwise on screen, non-zero area: nearly all) are cut from one list of varint bytes of the
    tile's zig-zag deltas; the others go through :func:`_simple_ring`. Same bytes.
    """
    x, y = c[:, 0], c[:, 1]
    starts = np.cumsum(n) - n
    dx = np.empty(len(c), np.int64)
    dy = np.empty(len(c), np.int64)
    dx[1:], dy[1:] = x[1:] - x[:-1], y[:-1] - y[1:]  # y down on screen
    dx[starts], dy[starts] = x[starts], extent - y[starts]  # each feature's cursor starts at 0
    repeated = (dx == 0) & (dy == 0)
    repeated[starts] = False
    cross = np.zeros(len(c))
    cross[:-1] = x[:-1] * y[1:] - x[1:] * y[:-1]
    cross[starts[1:] - 1] = 0.0  # no term across two rings
    area2 = np.add.reduceat(cross, starts)
    fast = (area2 < 0) & (n >= 4) & (np.add.reduceat(repeated, starts) == 0)
    zz = np.empty(2 * len(c), np.int64)
    zz[0::2] = (dx << 1) ^ (dx >> 63)
    zz[1::2] = (dy << 1) ^ (dy >> 63)
    table = _VARINT_TABLE
    try:
        var = list(map(table.__getitem__, zz.tolist()))
    except IndexError:  # coordinates far outside the tile: the general path
        fast[:] = False
        var = []
    out: list[bytes | None] = []
    xs: list[int] = []
    ys: list[int] = []
    for s, k, f in zip(starts.tolist(), n.tolist(), fast.tolist(), strict=True):
        if f:
            a = 2 * s
            out.append(b"".join((b"\x09", var[a], var[a + 1], table[((k - 2) << 3) | 2],
                                 *var[a + 2:a + 2 * k - 2], b"\x0f")))
        else:
            if not xs:
                xs, ys = x.tolist(), y.tolist()
            out.append(_simple_ring(xs[s:s + k], ys[s:s + k], extent))
    return out


def assemble(name: str, feats: list[tuple[int, bytes]], attributes: Any, extent: int) -> bytes:
    """One-layer polygon tile from ``(row, geometry command bytes)`` pairs, in the given order.

    Keys are the layer's (all of them), values the ones the tile's features use, in order of
    first use. Above ``_PY_ASSEMBLY_MAX`` features the records are built with numpy
    (``_assemble_np``, sorted values as the other encoders write them).
    """
    if not feats:
        return b""
    head = _field_bytes(0x0A, name.encode("utf-8"))
    tail = b"\x28" + _uvarint(extent) + b"\x78\x02"
    if len(feats) > _PY_ASSEMBLY_MAX:
        row_ids = np.fromiter((r for r, _ in feats), np.int64, len(feats))
        geoms = [g for _, g in feats]
        geom_data = np.frombuffer(b"".join(geoms), np.uint8)
        geom_len = np.fromiter(map(len, geoms), np.int64, len(geoms))
        tag_data, tag_len, used_k, used_v = attributes.tags(row_ids)
        body = _assemble_np(row_ids, _POLYGON, geom_data, geom_len, tag_data, tag_len)
        return _field_bytes(0x1A, b"".join([
            head, body, b"".join(attributes.key_msgs[used_k]),
            b"".join(attributes.value_msgs[used_v]), tail]))
    row_keys, row_vals = attributes.row_keys, attributes.row_vals
    rows = [r for r, _ in feats]
    flat_v = list(chain.from_iterable(map(row_vals.__getitem__, rows)))
    first_use = dict.fromkeys(flat_v)
    values = attributes.value_list
    local = dict(zip(first_use, range(len(first_use)), strict=True))
    ints = [0] * (2 * len(flat_v))
    ints[0::2] = chain.from_iterable(map(row_keys.__getitem__, rows))
    ints[1::2] = map(local.__getitem__, flat_v)
    parts = [head]
    a = 0
    if len(local) <= 128 and len(attributes.key_list) <= 128:
        # every key and value id is one varint byte: the tags of all features are one bytes
        # object, sliced per feature, and each row's record head is built once per layer
        tag_bytes = bytes(ints)
        heads, counts = attributes.tag_head, attributes.tag_ints
        for row, geom in feats:
            b = a + counts[row]
            body = b"".join((heads[row], tag_bytes[a:b], b"\x18\x03\x22", _uv(len(geom)), geom))
            parts.append(b"\x12" + _uv(len(body)) + body)
            a = b
    else:
        # wider ids: varint bytes of every tag integer, joined per feature
        try:
            varints = list(map(_VARINT_TABLE.__getitem__, ints))
        except IndexError:
            varints = [_uvarint(i) for i in ints]
        id_bytes, counts = attributes.id_bytes, attributes.tag_ints
        for row, geom in feats:
            b = a + counts[row]
            tags = b"".join(varints[a:b])
            tag_field = b"\x12" + _uv(len(tags)) + tags if tags else b""
            body = b"".join((id_bytes[row], tag_field, b"\x18\x03\x22", _uv(len(geom)), geom))
            parts.append(b"\x12" + _uv(len(body)) + body)
            a = b
    parts.append(attributes.all_keys)
    parts.append(b"".join([values[v] for v in first_use]))
    parts.append(tail)
    return _field_bytes(0x1A, b"".join(parts))


def _one_ring_streams(xy: np.ndarray, n: np.ndarray, extent: int, origin: tuple[float, float],
                      scale: float) -> list[bytes | None]:
    """Command bytes of one-ring polygons from their coordinates ``xy`` (``n`` per ring)."""
    if _compiled_rings is not None:
        try:
            return _compiled_rings(np.ascontiguousarray(xy, dtype=np.float64),
                                   np.ascontiguousarray(n, dtype=np.int64),
                                   float(origin[0]), float(origin[1]), float(scale), extent)
        except OverflowError:  # coordinates far outside the tile: the exact Python paths
            pass
    return _one_ring_streams_py(xy, n, extent, origin, scale)


def _one_ring_streams_py(xy: np.ndarray, n: np.ndarray, extent: int,
                         origin: tuple[float, float], scale: float) -> list[bytes | None]:
    """:func:`_one_ring_streams` in Python and numpy (the compiled encoder's reference)."""
    count = len(n)
    if count < SPLIT_MIN_RINGS:
        # few rings: Python's round (half to even, as np.rint) beats numpy's call overhead
        ox, oy = origin
        xs = [round((v - ox) * scale) for v in xy[:, 0].tolist()]
        ys = [round((v - oy) * scale) for v in xy[:, 1].tolist()]
        out: list[bytes | None] = []
        a = 0
        for k in n.tolist():
            out.append(_simple_ring(xs[a:a + k], ys[a:a + k], extent))
            a += k
        return out
    c = np.rint((xy - np.asarray(origin)) * scale).astype(np.int64)
    if count < NUMPY_MIN_RINGS:
        return _simple_rings_split(c, n, extent)
    data, nbytes, ok = _simple_rings_np(c, n, extent)
    buf, ends = data.tobytes(), np.cumsum(nbytes).tolist()
    out = [None] * count
    a = 0
    for i, e in zip(np.flatnonzero(ok).tolist(), ends, strict=True):
        out[i] = buf[a:e]
        a = e
    return out


def fill_streams(geoms: np.ndarray, extent: int, origin: tuple[float, float], scale: float
                 ) -> list[bytes]:
    """Geometry command bytes of each polygon feature; ``b""`` for one that vanishes.

    Tile units are ``round((xy - origin) * scale)``, y up.
    """
    n_all = shapely.get_num_coordinates(geoms)
    simple = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    simple &= n_all >= 4
    out = [b""] * len(geoms)
    n_simple = int(np.count_nonzero(simple))
    if n_simple:
        everyone = n_simple == len(geoms)
        sg = geoms if everyone else geoms[simple]
        where = range(len(geoms)) if everyone else np.flatnonzero(simple).tolist()
        n = n_all if everyone else n_all[simple]
        for i, cmd in zip(where, _one_ring_streams(shapely.get_coordinates(sg), n, extent,
                                                   origin, scale), strict=True):
            if cmd is not None:
                out[i] = cmd
    if n_simple < len(geoms):
        rest = np.flatnonzero(~simple)
        for i, ints in zip(rest.tolist(), _scalar_streams(geoms[rest], "fill", extent, origin,
                                                          scale), strict=True):
            if ints:
                out[i] = _packed(ints)
    return out


def encode_fill_tile(source: Any, tile: Any, *, extent: int, buffer: int, feature_cap: int
                     ) -> bytes:
    """The MVT of a polygon layer's ``tile``; ``b""`` when no feature is left in it."""
    box, (minx, miny), size = buffered_tile_box(tile, extent, buffer)
    idx = source.query(box)
    if not len(idx):
        return b""
    idx = idx[:feature_cap]
    rows = idx.tolist()
    tolerance = size / extent
    geoms = source.geoms[idx]
    whole = pick_whole(source.whole_rings, rows, box, tolerance)
    if not whole:
        geoms = _clip_simplify(geoms, box, tolerance)
    elif len(whole) < len(rows):
        # the features that clip and simplification leave as they are are taken as they are
        rest = np.ones(len(rows), bool)
        rest[whole] = False
        geoms[rest] = _clip_simplify(geoms[rest], box, tolerance)
    streams = fill_streams(geoms, extent, (minx, miny), extent / size)
    feats = [(r, s) for r, s in zip(rows, streams, strict=True) if s]
    return assemble(source.name, feats, source.attributes, extent)


def _clip_simplify(geoms: np.ndarray, box: tuple[float, float, float, float], tolerance: float
                   ) -> np.ndarray:
    return shapely.simplify(shapely.clip_by_rect(geoms, *box), tolerance, preserve_topology=True)
