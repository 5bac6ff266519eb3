# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""MVT command bytes of one-ring polygons, compiled.

The same rules and bytes as ``_mvt_fill._simple_ring_general`` (and so as the general encoder of
``_mvt_encode``): coordinates to tile units as ``rint((v - origin) * scale)`` (half to even, as
Python's ``round`` and ``np.rint``), repeated vertices dropped, the closing vertex implied by
ClosePath, rings of fewer than three vertices or zero area dropped (``None``), the exterior made
clockwise on screen (y down) by reversing all vertices but the first, then MoveTo, LineTo and
ClosePath with zig-zag varint deltas from a cursor at 0. Tested byte for byte against the Python
paths. Why compiled: at z13-z14 the rings of a tile are a few short ones, and the Python
encoders' per-vertex and per-call costs were the largest part of a cold tile's time.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

from baoshan_gis.tiles._mvt_units cimport put_varint, snap_run, zigzag

cdef enum:
    LIMIT = 1 << 20
    LONGEST = 1 << 21

#: Rings with a coordinate this far from the tile (in tile units), or with more coordinates than
#: ``MAX_RING``, are left to the Python paths (exact integers, no limit); within both, the area
#: sums cannot overflow 64 bits.
MAX_UNITS = LIMIT
MAX_RING = LONGEST


def ring_streams(const double[:, ::1] xy, const int64_t[::1] n, double ox, double oy,
                 double scale, int64_t extent):
    """Command bytes of each ring (``n[i]`` closed coordinates each, in order), or ``None``.

    Raises ``OverflowError`` if a coordinate maps farther than ``MAX_UNITS`` tile units from the
    tile's origin or a ring is longer than ``MAX_RING`` (the caller then uses the Python path).
    """
    cdef Py_ssize_t count = n.shape[0], total = 0, i, j, a, k, kept, w
    cdef Py_ssize_t longest = 0
    for i in range(count):
        if n[i] < 0:
            raise ValueError("ring sizes must be >= 0")
        total += n[i]
        if n[i] > longest:
            longest = n[i]
    if total > xy.shape[0] or xy.shape[1] != 2:
        raise ValueError("xy must hold sum(n) rows of (x, y)")
    if longest > LONGEST:
        raise OverflowError(f"a ring of {longest} coordinates is longer than {LONGEST}")
    cdef int64_t *kx = <int64_t *> malloc((longest + 1) * sizeof(int64_t))
    cdef int64_t *ky = <int64_t *> malloc((longest + 1) * sizeof(int64_t))
    # at most 10 varint bytes per integer: MoveTo, 2 per vertex, LineTo count, ClosePath
    cdef unsigned char *buf = <unsigned char *> malloc((2 * longest + 3) * 10 + 16)
    if kx == NULL or ky == NULL or buf == NULL:
        free(kx)
        free(ky)
        free(buf)
        raise MemoryError()
    cdef int64_t x, y, cx, cy, dx, dy, area2, t
    out = [None] * count
    try:
        a = 0
        for i in range(count):
            k = n[i]
            with nogil:
                kept = snap_run(xy, a, k, NULL, ox, oy, scale, LIMIT, kx, ky)
            if kept < 0:
                raise OverflowError("ring coordinates too far outside the tile")
            a += k
            if kept >= 2 and kx[kept - 1] == kx[0] and ky[kept - 1] == ky[0]:
                kept -= 1  # ClosePath implies the closing vertex
            if kept < 3:
                continue
            area2 = 0
            for j in range(kept):
                t = j + 1 if j + 1 < kept else 0
                area2 += kx[j] * ky[t] - kx[t] * ky[j]
            if area2 == 0:
                continue
            if area2 > 0:  # anticlockwise with y up: reverse all but the first vertex
                j, t = 1, kept - 1
                while j < t:
                    kx[j], kx[t] = kx[t], kx[j]
                    ky[j], ky[t] = ky[t], ky[j]
                    j += 1
                    t -= 1
            w = 0
            buf[w] = 9  # MoveTo, count 1
            w += 1
            cx = cy = 0
            for j in range(kept):
                x, y = kx[j], extent - ky[j]
                dx, dy = x - cx, y - cy
                w += put_varint(buf + w, zigzag(dx))
                w += put_varint(buf + w, zigzag(dy))
                if j == 0:
                    w += put_varint(buf + w, ((<uint64_t> (kept - 1)) << 3) | 2)  # LineTo
                cx, cy = x, y
            buf[w] = 15  # ClosePath
            w += 1
            out[i] = PyBytes_FromStringAndSize(<char *> buf, w)
    finally:
        free(kx)
        free(ky)
        free(buf)
    return out
