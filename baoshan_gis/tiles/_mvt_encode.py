"""A vectorised encoder of one MVT layer (Mapbox Vector Tile 2.1 protobuf).

Pure-Python encoders spend most of a tile's time in per-coordinate Python code. Here:

* :func:`encode_layer_fast` builds the command streams of all features of a tile with numpy in
  one pass (MoveTo / LineTo / ClosePath with zig-zag deltas; polygon rings oriented as the
  specification asks: exterior clockwise and holes anticlockwise on screen) and writes the
  varints of the whole stream at once;
* :func:`encode_layer_small` does the same in plain Python for tiles with few coordinates, where
  numpy's per-call overhead would dominate (byte-identical output);
* whole tiles of point and line layers are built on these in :mod:`baoshan_gis.tiles._mvt_tiles`
  (``encode_points_tile``, ``encode_paths_tile``), of polygon layers in
  :mod:`baoshan_gis.tiles._mvt_fill`;
* attribute keys, values and per-row tags come from an :class:`AttributeTable` built once per
  layer.

Every path decodes to the same features as ``mapbox_vector_tile.encode`` of the same clipped,
simplified geometry (tested on points, multipoints, lines, polygons with holes, multipolygons).
"""

from __future__ import annotations

import struct
from functools import cached_property
from itertools import pairwise
from operator import mul, sub
from typing import Any

import numpy as np
import shapely

try:  # compiled at install (hatch_build.py); assemble_tile's Python loop writes the same bytes
    from baoshan_gis.tiles._mvt_records import feature_records as _compiled_records
except ImportError:  # pragma: no cover - installed without a C compiler
    _compiled_records = None  # type: ignore[assignment]

_MOVE_TO, _LINE_TO, _CLOSE = 1, 2, 7
_CLOSE_CMD = (1 << 3) | _CLOSE
_POINT, _LINE, _POLYGON = 1, 2, 3


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field_bytes(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _uvarint(len(payload)) + payload


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of non-negative integers < 2**32, and the byte length of each."""
    v = values.astype(np.uint32, copy=False)
    nb = np.ones(len(v), dtype=np.int64)
    widest = 1
    for k in range(1, 5):
        big = v >= (1 << (7 * k))
        if not big.any():
            break
        nb += big
        widest = k + 1
    if widest == 1:
        return v.astype(np.uint8), nb
    mat = np.empty((len(v), widest), dtype=np.uint8)
    for k in range(widest):
        mat[:, k] = ((v >> (7 * k)) & 0x7F) | ((nb > k + 1).astype(np.uint8) << 7)
    return mat[np.arange(widest) < nb[:, None]], nb


def _ragged(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of ``values`` and the byte length of each group of ``counts`` integers."""
    data, nb = _varints(values)
    owner = np.repeat(np.arange(len(counts)), counts)
    return data, np.bincount(owner, weights=nb, minlength=len(counts)).astype(np.int64)


def _interleave(pieces: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Concatenate, record by record, ragged byte streams ``(data, length per record)``."""
    lens = np.stack([n for _, n in pieces])  # (k, records)
    total = lens.sum(axis=0)
    rec_off = np.cumsum(total) - total
    piece_off = np.cumsum(lens, axis=0) - lens
    out = np.empty(int(total.sum()), dtype=np.uint8)
    for k, (data, n) in enumerate(pieces):
        if not len(data):
            continue
        rec = np.repeat(np.arange(len(n)), n)
        local = np.arange(len(data)) - np.repeat(np.cumsum(n) - n, n)
        out[rec_off[rec] + piece_off[k][rec] + local] = data
    return out.tobytes()


def _const(byte: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.full(int(mask.sum()), byte, dtype=np.uint8), mask.astype(np.int64)


def _zigzag(d: np.ndarray) -> np.ndarray:
    d = d.astype(np.int64, copy=False)
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


class AttributeTable:
    """Keys, values and per-feature tags of a layer, built once and shared by every tile."""

    def __init__(self, properties: list[dict[str, Any]]) -> None:
        keys: dict[str, int] = {}
        values: dict[tuple[str, Any], int] = {}
        ptr = [0]
        tk: list[int] = []
        tv: list[int] = []
        for props in properties:
            for k, v in props.items():
                vk: tuple[str, Any]
                if v is None:
                    continue
                if isinstance(v, bool):
                    vk = ("b", v)
                elif isinstance(v, int):
                    vk = ("i", v)
                elif isinstance(v, float):
                    vk = ("d", v)
                else:
                    vk = ("s", str(v))
                tk.append(keys.setdefault(str(k), len(keys)))
                tv.append(values.setdefault(vk, len(values)))
            ptr.append(len(tk))
        #: Encoded ``keys`` / ``values`` entries of the layer message, by global id (as lists
        #: for the scalar path and object arrays for fancy indexing).
        self.key_list: list[bytes] = [_field_bytes(0x1A, k.encode("utf-8")) for k in keys]
        self.value_list: list[bytes] = [_field_bytes(0x22, self._value(t, v)) for t, v in values]
        self.key_msgs = np.empty(len(self.key_list), dtype=object)
        self.key_msgs[:] = self.key_list
        self.value_msgs = np.empty(len(self.value_list), dtype=object)
        self.value_msgs[:] = self.value_list
        self.ptr = np.asarray(ptr, dtype=np.int64)
        self.tag_key = np.asarray(tk, dtype=np.int64)
        self.tag_val = np.asarray(tv, dtype=np.int64)
        #: For the polygon path (:mod:`baoshan_gis.tiles._mvt_fill`): every key entry of the
        #: layer at once and each row's encoded feature id (its key and value ids: ``row_keys``,
        #: ``row_vals``, made on first use, like ``row_tags``: per-row containers that a
        #: layer's paths mostly do not need, and that cost the garbage collector).
        self.all_keys: bytes = b"".join(self.key_list)
        self.id_bytes: list[bytes] = [b"\x08" + _uvarint(r + 1) for r in range(len(properties))]
        #: Number of tag integers of each row, and its record head (id, then the tags field
        #: tag and length) for tiles whose key and value ids all take one byte.
        self.tag_ints: list[int] = [2 * (b - a) for a, b in pairwise(ptr)]
        self.tag_head: list[bytes] = [
            i + (b"\x12" + _uvarint(n) if n else b"")
            for i, n in zip(self.id_bytes, self.tag_ints, strict=True)]

    @cached_property
    def row_tags(self) -> list[list[tuple[int, int]]]:
        """``(key id, value id)`` pairs of each row, for the Python record loop."""
        tk, tv = self.tag_key.tolist(), self.tag_val.tolist()
        return [list(zip(tk[a:b], tv[a:b], strict=True)) for a, b in pairwise(self.ptr.tolist())]

    @cached_property
    def row_keys(self) -> list[tuple[int, ...]]:
        """Key ids of each row (polygon path)."""
        tk = self.tag_key.tolist()
        return [tuple(tk[a:b]) for a, b in pairwise(self.ptr.tolist())]

    @cached_property
    def row_vals(self) -> list[tuple[int, ...]]:
        """Value ids of each row (polygon path)."""
        tv = self.tag_val.tolist()
        return [tuple(tv[a:b]) for a, b in pairwise(self.ptr.tolist())]

    @staticmethod
    def _value(kind: str, v: Any) -> bytes:
        if kind == "s":
            return _field_bytes(0x0A, v.encode("utf-8"))
        if kind == "d":
            return b"\x19" + struct.pack("<d", v)
        if kind == "b":
            return b"\x38" + (b"\x01" if v else b"\x00")
        if v >= 0:
            return b"\x20" + _uvarint(v)  # int_value (non-negative)
        return b"\x30" + _uvarint((v << 1) ^ (v >> 63))  # sint_value

    def tags(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Packed tag bytes of the rows (data, bytes per row) and the used key / value ids."""
        lens = self.ptr[rows + 1] - self.ptr[rows]
        total = int(lens.sum())
        if total == 0:
            empty = np.empty(0, np.int64)
            return np.empty(0, np.uint8), np.zeros(len(rows), np.int64), empty, empty
        starts = np.repeat(self.ptr[rows] - np.cumsum(lens) + lens, lens)
        gather = starts + np.arange(total)
        k, v = self.tag_key[gather], self.tag_val[gather]
        uk, lk = np.unique(k, return_inverse=True)
        uv, lv = np.unique(v, return_inverse=True)
        stream = np.empty(2 * total, dtype=np.int64)
        stream[0::2], stream[1::2] = lk, lv
        data, nbytes = _ragged(stream, 2 * lens)
        return data, nbytes, uk, uv


def _to_grid(coords: np.ndarray, origin: tuple[float, float], scale: float) -> np.ndarray:
    return np.round((coords - np.asarray(origin)) * scale).astype(np.int64)


def _points(geoms: np.ndarray, extent: int, origin: tuple[float, float], scale: float
            ) -> tuple[np.ndarray, np.ndarray]:
    coords, feat = shapely.get_coordinates(geoms, return_index=True)
    c = _to_grid(coords, origin, scale)
    c[:, 1] = extent - c[:, 1]
    n = np.bincount(feat, minlength=len(geoms))
    d = np.diff(c, axis=0, prepend=np.zeros((1, 2), np.int64))
    first = np.ones(len(c), bool)
    first[1:] = feat[1:] != feat[:-1]
    d[first] = c[first]
    counts = np.where(n > 0, 1 + 2 * n, 0)
    out = np.empty(int(counts.sum()), dtype=np.uint64)
    off = np.cumsum(counts) - counts
    out[off[n > 0]] = (n[n > 0].astype(np.uint64) << np.uint64(3)) | np.uint64(_MOVE_TO)
    local = np.arange(len(c)) - (np.cumsum(n) - n)[feat]
    pos = off[feat] + 1 + 2 * local
    zz = _zigzag(d)
    out[pos], out[pos + 1] = zz[:, 0], zz[:, 1]
    return out, counts


def _paths(geoms: np.ndarray, extent: int, origin: tuple[float, float], scale: float, *,
           polygon: bool) -> tuple[np.ndarray, np.ndarray]:
    """Command stream of lines or polygons, and the number of integers per feature."""
    parts, part_feat = shapely.get_parts(geoms, return_index=True)
    want = 3 if polygon else 1
    sel = shapely.get_type_id(parts) == want
    parts, part_feat = parts[sel], part_feat[sel]
    if polygon:
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        is_ext = np.ones(len(rings), bool)
        is_ext[1:] = ring_part[1:] != ring_part[:-1]
        ring_feat = part_feat[ring_part]
    else:
        rings, ring_part = parts, np.arange(len(parts))
        is_ext = np.ones(len(rings), bool)
        ring_feat = part_feat
    coords, cr = shapely.get_coordinates(rings, return_index=True)
    c = _to_grid(coords, origin, scale)
    keep = np.ones(len(c), bool)
    keep[1:] = ~((c[1:] == c[:-1]).all(1) & (cr[1:] == cr[:-1]))
    if polygon:  # the closing point is implied by ClosePath
        n_raw = np.bincount(cr, minlength=len(rings))
        keep[(np.cumsum(n_raw) - 1)[n_raw > 0]] = False
    c, cr = c[keep], cr[keep]
    nr = len(rings)
    n = np.bincount(cr, minlength=nr)
    starts = np.cumsum(n) - n
    lasts = starts + n - 1
    if polygon:
        has = n >= 2
        eq = np.zeros(nr, bool)
        eq[has] = (c[starts[has]] == c[lasts[has]]).all(1)
        if eq.any():
            m = np.ones(len(c), bool)
            m[lasts[eq]] = False
            c, cr = c[m], cr[m]
            n = np.bincount(cr, minlength=nr)
            starts = np.cumsum(n) - n
            lasts = starts + n - 1
        idx = np.arange(len(c))
        nxt = idx + 1
        nz = n > 0
        nxt[lasts[nz]] = starts[nz]
        cross = (c[:, 0] * c[nxt, 1] - c[nxt, 0] * c[:, 1]).astype(np.float64)
        area2 = np.bincount(cr, weights=cross, minlength=nr)
        ok = (n >= 3) & (area2 != 0)
        part_ok = np.zeros(len(parts), bool)
        part_ok[ring_part[is_ext & ok]] = True
        ok &= part_ok[ring_part]
        # y is up here: exterior rings clockwise (negative area), holes anticlockwise
        rev = ok & ((is_ext & (area2 > 0)) | (~is_ext & (area2 < 0)))
        if rev.any():
            perm = idx.copy()
            r = cr
            flip = rev[r] & (idx != starts[r])
            perm[flip] = starts[r[flip]] + lasts[r[flip]] + 1 - idx[flip]
            c = c[perm]
    else:
        ok = n >= 2
    m = ok[cr]
    c, cr = c[m], cr[m]
    c[:, 1] = extent - c[:, 1]
    ring_ids = np.flatnonzero(ok)
    n_ok = n[ring_ids]
    feat_of_ring = ring_feat[ring_ids]
    cf = ring_feat[cr]
    d = np.diff(c, axis=0, prepend=np.zeros((1, 2), np.int64))
    first = np.ones(len(c), bool)
    first[1:] = cf[1:] != cf[:-1]
    d[first] = c[first]
    zz = _zigzag(d)
    per_ring = 2 * n_ok + (3 if polygon else 2)
    off = np.cumsum(per_ring) - per_ring
    out = np.empty(int(per_ring.sum()), dtype=np.uint64)
    out[off] = (1 << 3) | _MOVE_TO
    out[off + 3] = ((n_ok - 1).astype(np.uint64) << np.uint64(3)) | np.uint64(_LINE_TO)
    if polygon:
        out[off + 2 * n_ok + 2] = _CLOSE_CMD
    # position of each coordinate: ring offset + 1 + 2*i (+1 after the LineTo command)
    ring_local = np.repeat(np.arange(len(ring_ids)), n_ok)
    i = np.arange(len(c)) - np.repeat(np.cumsum(n_ok) - n_ok, n_ok)
    pos = off[ring_local] + 1 + 2 * i + (i >= 1)
    out[pos], out[pos + 1] = zz[:, 0], zz[:, 1]
    counts = np.bincount(feat_of_ring, weights=per_ring, minlength=len(geoms)).astype(np.int64)
    return out, counts


#: Up to this many features the feature records are assembled in Python, else with numpy.
_PY_ASSEMBLY_MAX: int = 256


def _uv(n: int) -> bytes:
    return _VARINT_TABLE[n] if n < 32768 else _uvarint(n)


def _assemble_py(rows: np.ndarray, gtype: int, geom_data: np.ndarray, geom_len: np.ndarray,
                 tag_data: np.ndarray, tag_len: np.ndarray) -> bytes:
    gbuf, tbuf = geom_data.tobytes(), tag_data.tobytes()
    gends, tends = np.cumsum(geom_len).tolist(), np.cumsum(tag_len).tolist()
    type_bytes = bytes([0x18, gtype])
    out = []
    g0 = t0 = 0
    for row, g1, t1 in zip(rows.tolist(), gends, tends, strict=True):
        g, t = gbuf[g0:g1], tbuf[t0:t1]
        g0, t0 = g1, t1
        body = b"".join((b"\x08", _uv(row + 1), b"\x12" + _uv(len(t)) + t if t else b"",
                         type_bytes, b"\x22", _uv(len(g)), g))
        out.append(b"\x12" + _uv(len(body)) + body)
    return b"".join(out)


def _assemble_np(rows: np.ndarray, gtype: int, geom_data: np.ndarray, geom_len: np.ndarray,
                 tag_data: np.ndarray, tag_len: np.ndarray) -> bytes:
    id_data, id_len = _varints((rows + 1).astype(np.uint64))
    has_tags = tag_len > 0
    tl_data, tl_len = _varints(tag_len[has_tags])
    tl_full = np.zeros(len(rows), np.int64)
    tl_full[has_tags] = tl_len
    gl_data, gl_len = _varints(geom_len)
    body_len = (1 + id_len + has_tags * (1 + tl_full) + tag_len + 2 + 1 + gl_len + geom_len)
    bl_data, bl_len = _varints(body_len)
    ones = np.ones(len(rows), bool)
    return _interleave([
        _const(0x12, ones), (bl_data, bl_len),
        _const(0x08, ones), (id_data, id_len),
        _const(0x12, has_tags), (tl_data, tl_full), (tag_data, tag_len),
        (np.tile(np.array([0x18, gtype], np.uint8), len(rows)), 2 * ones.astype(np.int64)),
        _const(0x22, ones), (gl_data, gl_len), (geom_data, geom_len),
    ])


def encode_layer_fast(
    name: str,
    geoms: np.ndarray,
    rows: np.ndarray,
    attributes: AttributeTable,
    kind: str,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    extent: int = 4096,
) -> bytes:
    """One-layer MVT of ``geoms`` for layer rows ``rows``.

    Tile units (y up) are ``round((xy - origin) * scale)``; the defaults take ``geoms`` as
    already in tile units.
    """
    if kind == "point":
        stream, counts = _points(geoms, extent, origin, scale)
        gtype = _POINT
    else:
        stream, counts = _paths(geoms, extent, origin, scale, polygon=kind == "fill")
        gtype = _POLYGON if kind == "fill" else _LINE
    keep = counts > 0
    if not keep.any():
        return b""
    counts = counts[keep]
    rows_kept = rows[keep]
    geom_data, geom_len = _ragged(stream, counts)
    tag_data, tag_len, used_keys, used_vals = attributes.tags(rows_kept)
    if len(rows_kept) <= _PY_ASSEMBLY_MAX:
        features = _assemble_py(rows_kept, gtype, geom_data, geom_len, tag_data, tag_len)
    else:
        features = _assemble_np(rows_kept, gtype, geom_data, geom_len, tag_data, tag_len)
    layer = b"".join([
        _field_bytes(0x0A, name.encode("utf-8")),
        bytes(features),
        b"".join(attributes.key_msgs[used_keys]),
        b"".join(attributes.value_msgs[used_vals]),
        b"\x28" + _uvarint(extent),
        b"\x78\x02",
    ])
    return _field_bytes(0x1A, layer)


#: Tiles with at most this many coordinates (points; lines and polygons) are encoded by the
#: scalar path: numpy's per-call overhead dominates small tiles (crossovers measured here).
SMALL_TILE_COORDS: dict[str, int] = {"point": 24, "line": 96, "fill": 96}


def _zz(v: int) -> int:
    return (v << 1) ^ (v >> 63)


#: Varint bytes of every integer below 2**15 (coordinates, tags and short commands).
_VARINT_TABLE: list[bytes] = [_uvarint(i) for i in range(1 << 15)]


def _packed(ints: list[int]) -> bytes:
    try:
        return b"".join([_VARINT_TABLE[i] for i in ints])
    except IndexError:
        return b"".join(_uvarint(i) for i in ints)


def _scalar_ring(xs: list[int], ys: list[int], *, polygon: bool, exterior: bool
                 ) -> tuple[list[int], list[int]] | None:
    """The ring's vertices as the vectorised path keeps them (``None`` when dropped)."""
    n = len(xs)
    keep = [0] + [i for i in range(1, n) if xs[i] != xs[i - 1] or ys[i] != ys[i - 1]]
    if polygon:
        if keep[-1] == n - 1:  # the closing vertex is implied by ClosePath
            keep.pop()
        kx, ky = [xs[i] for i in keep], [ys[i] for i in keep]
        if len(kx) >= 2 and kx[-1] == kx[0] and ky[-1] == ky[0]:
            kx.pop()
            ky.pop()
        if len(kx) < 3:
            return None
        area2 = (sum(map(mul, kx, ky[1:] + ky[:1])) - sum(map(mul, kx[1:] + kx[:1], ky)))
        if area2 == 0:
            return None
        if (exterior and area2 > 0) or (not exterior and area2 < 0):
            kx, ky = [kx[0], *kx[:0:-1]], [ky[0], *ky[:0:-1]]
        return kx, ky
    if len(keep) < 2:
        return None
    return [xs[i] for i in keep], [ys[i] for i in keep]


def _emit_run(ints: list[int], xs: list[int], ys: list[int], cx: int, cy: int, extent: int,
              *, close: bool) -> tuple[int, int]:
    """Append MoveTo / LineTo (/ ClosePath) of one ring or line; return the new cursor."""
    yd = [extent - y for y in ys]
    dx = [xs[0] - cx, *map(sub, xs[1:], xs[:-1])]
    dy = [yd[0] - cy, *map(sub, yd[1:], yd[:-1])]
    pairs = [0] * (2 * len(dx))
    pairs[0::2] = [(d << 1) ^ (d >> 63) for d in dx]
    pairs[1::2] = [(d << 1) ^ (d >> 63) for d in dy]
    ints.append((1 << 3) | _MOVE_TO)
    ints += pairs[:2]
    ints.append(((len(dx) - 1) << 3) | _LINE_TO)
    ints += pairs[2:]
    if close:
        ints.append(_CLOSE_CMD)
    return xs[-1], yd[-1]


def _wkb_walk(buf: bytes, off: int, out: list[tuple[int, list[tuple[float, ...]]]]) -> int:
    """Append ``(type, coordinate runs)`` of the simple parts of a 2-D WKB geometry."""
    fmt = "<" if buf[off] == 1 else ">"
    (gtype,) = struct.unpack_from(fmt + "I", buf, off + 1)
    off += 5
    if gtype == 1:
        out.append((1, [struct.unpack_from(fmt + "2d", buf, off)]))
        return off + 16
    (n,) = struct.unpack_from(fmt + "I", buf, off)
    off += 4
    if gtype == 2:
        out.append((2, [struct.unpack_from(f"{fmt}{2 * n}d", buf, off)]))
        return off + 16 * n
    if gtype == 3:
        rings = []
        for _ in range(n):
            (m,) = struct.unpack_from(fmt + "I", buf, off)
            rings.append(struct.unpack_from(f"{fmt}{2 * m}d", buf, off + 4))
            off += 4 + 16 * m
        out.append((3, rings))
        return off
    for _ in range(n):  # Multi* and GeometryCollection
        off = _wkb_walk(buf, off, out)
    return off


def _scalar_streams(geoms: np.ndarray, kind: str, extent: int, origin: tuple[float, float],
                    scale: float) -> list[list[int]]:
    """Command integers of each geometry, built in Python (for tiles with few coordinates)."""
    ox, oy = origin
    want = {"point": 1, "line": 2}.get(kind, 3)
    polygon = want == 3
    streams: list[list[int]] = []
    for wkb in shapely.to_wkb(geoms, output_dimension=2).tolist():
        items: list[tuple[int, list[tuple[float, ...]]]] = []
        _wkb_walk(wkb, 0, items)
        ints: list[int] = []
        streams.append(ints)
        if want == 1:
            pts = [(round((v[0] - ox) * scale), extent - round((v[1] - oy) * scale))
                   for t, (v,) in items if t == 1]
            if pts:
                ints.append((len(pts) << 3) | _MOVE_TO)
                cx = cy = 0
                for x, y in pts:
                    ints += (_zz(x - cx), _zz(y - cy))
                    cx, cy = x, y
            continue
        cx = cy = 0
        for t, runs in items:
            if t != want:
                continue
            for j, vals in enumerate(runs):
                ring = _scalar_ring([round((x - ox) * scale) for x in vals[0::2]],
                                    [round((y - oy) * scale) for y in vals[1::2]],
                                    polygon=polygon, exterior=j == 0)
                if ring is None:
                    if polygon and j == 0:
                        break  # no exterior: the whole polygon goes
                    continue
                cx, cy = _emit_run(ints, ring[0], ring[1], cx, cy, extent, close=polygon)
    return streams


def encode_layer_small(
    name: str,
    geoms: np.ndarray,
    rows: np.ndarray,
    attributes: AttributeTable,
    kind: str,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    extent: int = 4096,
) -> bytes:
    """The scalar twin of :func:`encode_layer_fast` for tiles with few coordinates."""
    gtype = {"point": _POINT, "line": _LINE}.get(kind, _POLYGON)
    streams = _scalar_streams(geoms, kind, extent, origin, scale)
    feats = [(row, _packed(ints)) for row, ints in zip(rows.tolist(), streams, strict=True)
             if ints]
    return assemble_tile(name, gtype, feats, attributes, extent)


def layer_from_records(name: str, made: tuple[bytes, np.ndarray, np.ndarray],
                       attributes: AttributeTable, extent: int) -> bytes:
    """The one-layer tile around ``(records, used key ids, used value ids)`` of the compiled
    record writer (``_mvt_records``)."""
    records, used_keys, used_vals = made
    key_list, value_list = attributes.key_list, attributes.value_list
    return _field_bytes(0x1A, b"".join([
        _field_bytes(0x0A, name.encode("utf-8")), records,
        b"".join([key_list[k] for k in used_keys.tolist()]),
        b"".join([value_list[v] for v in used_vals.tolist()]),
        b"\x28" + _uvarint(extent) + b"\x78\x02"]))


def assemble_tile(name: str, gtype: int, feats: list[tuple[int, bytes]],
                   attributes: AttributeTable, extent: int) -> bytes:
    """One-layer tile from ``(row, geometry command bytes)`` pairs, in the given order (records
    by the compiled writer where built, else by the Python loop below: the same bytes)."""
    if not feats:
        return b""
    if _compiled_records is not None:
        rows = np.fromiter([r for r, _ in feats], dtype=np.int64, count=len(feats))
        made = _compiled_records(rows, [g for _, g in feats], attributes.ptr,
                                 attributes.tag_key, attributes.tag_val, gtype)
        return layer_from_records(name, made, attributes, extent)
    row_tags = attributes.row_tags
    used_k = sorted({k for r, _ in feats for k, _ in row_tags[r]})
    used_v = sorted({v for r, _ in feats for _, v in row_tags[r]})
    lk = {k: i for i, k in enumerate(used_k)}
    lv = {v: i for i, v in enumerate(used_v)}
    type_bytes = bytes([0x18, gtype])
    parts = [_field_bytes(0x0A, name.encode("utf-8"))]
    for row, geom in feats:
        pairs = row_tags[row]
        tags = _packed([i for k, v in pairs for i in (lk[k], lv[v])]) if pairs else b""
        body = b"".join((b"\x08", _uv(row + 1), b"\x12" + _uv(len(tags)) + tags if tags else b"",
                         type_bytes, b"\x22", _uv(len(geom)), geom))
        parts.append(b"\x12" + _uv(len(body)) + body)
    key_msgs, value_msgs = attributes.key_list, attributes.value_list
    parts.append(b"".join([key_msgs[k] for k in used_k]))
    parts.append(b"".join([value_msgs[v] for v in used_v]))
    parts.append(b"\x28" + _uvarint(extent) + b"\x78\x02")
    return _field_bytes(0x1A, b"".join(parts))


def encode_layer_auto(
    name: str,
    geoms: np.ndarray,
    rows: np.ndarray,
    attributes: AttributeTable,
    kind: str,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    extent: int = 4096,
) -> bytes:
    """:func:`encode_layer_small` for small tiles, :func:`encode_layer_fast` otherwise."""
    small = int(shapely.get_num_coordinates(geoms).sum()) <= SMALL_TILE_COORDS.get(kind, 64)
    encode = encode_layer_small if small else encode_layer_fast
    return encode(name, geoms, rows, attributes, kind, origin=origin, scale=scale, extent=extent)
