# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""MVT command bytes of line features, with their Douglas-Peucker simplification, compiled.

A line tile clips each feature to the buffered tile, simplifies it by one tile unit
(``shapely.simplify(..., preserve_topology=False)``: GEOS's Douglas-Peucker) and snaps it to the
tile grid. :func:`line_streams` does the last two steps in one pass over the clipped parts'
coordinates and writes the command bytes:

* the simplification is GEOS's ``DouglasPeuckerLineSimplifier`` step for step: a section keeps
  only its end points when no vertex between them is farther than the tolerance from the
  segment joining them (the farthest one found first splits it otherwise), and the distance is
  GEOS's ``Distance::pointToSegment`` with the same floating-point operations, so the same
  vertices survive (tested against ``shapely.simplify`` on random, jittered, degenerate and
  closed lines);
* snapping and encoding follow ``_mvt_encode._scalar_streams``: ``rint((v - origin) * scale)``
  (half to even), repeated vertices dropped, parts of fewer than two vertices dropped, then
  MoveTo / LineTo with zig-zag varint deltas from a cursor that starts at 0 for each feature and
  runs on across its parts (tested byte for byte).

Why compiled: at z10-z12 a street layer's lines cross most tiles, so every tile clips, simplifies
and encodes long lines. GEOS's simplification (building a new geometry per part) and the numpy
encoder were 70 % of those tiles' time.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.math cimport fabs, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

from baoshan_gis.tiles._mvt_units cimport put_varint, snap_run, zigzag

#: A part with a coordinate this far from the tile (in tile units: 2**52, beyond which doubles
#: are no longer whole numbers apart) makes :func:`line_streams` return ``None``; the caller then
#: uses the Python paths, which have no limit. Deltas of such coordinates fit 64 bits.
cdef double LIMIT = 4503599627370496.0
MAX_UNITS = int(LIMIT)


cdef inline double point_distance(double px, double py, double ax, double ay) noexcept nogil:
    cdef double dx = px - ax
    cdef double dy = py - ay
    return sqrt(dx * dx + dy * dy)


cdef void douglas_peucker(const double[:, ::1] xy, Py_ssize_t a, Py_ssize_t k, double tol,
                          unsigned char *use, Py_ssize_t *stack) noexcept nogil:
    """Mark in ``use`` (all 1 on entry) the vertices of ``xy[a:a + k]`` that GEOS's
    Douglas-Peucker keeps. Sections wait on ``stack`` (room for ``2 * k`` entries: the pending
    sections never overlap, so there are fewer than ``k``).

    The distance is GEOS's ``Distance::pointToSegment(p, A, B)``, operation for operation:
    ``r = ((p - A) . (B - A)) / len2`` picks the nearest end (``r <= 0``: A, ``r >= 1``: B),
    else ``fabs(((A.y - p.y)(B.x - A.x) - (A.x - p.x)(B.y - A.y)) / len2) * sqrt(len2)``. Two
    shortcuts give the same doubles: ``sqrt(len2)`` is taken once per section, and ``r`` is not
    divided out where its numerator lies so far inside ``(0, len2)`` that the quotient cannot
    round to 0 or 1 (most vertices of a street).
    """
    cdef Py_ssize_t top = 2, i, j, m, far
    cdef double ax, ay, bx, by, dx, dy, len2 = 0, root = 0, lo = 0, hi = 0, px, py, num, r
    cdef double d, dmax
    cdef bint point
    stack[0] = 0
    stack[1] = k - 1
    while top:
        top -= 2
        i = stack[top]
        j = stack[top + 1]
        if i + 1 >= j:
            continue
        ax, ay = xy[a + i, 0], xy[a + i, 1]
        bx, by = xy[a + j, 0], xy[a + j, 1]
        dx = bx - ax
        dy = by - ay
        point = ax == bx and ay == by
        if not point:
            len2 = dx * dx + dy * dy
            root = sqrt(len2)
            lo = len2 * 1e-290
            hi = len2 * 0.9999
        dmax = -1.0
        far = i
        for m in range(i + 1, j):
            px = xy[a + m, 0]
            py = xy[a + m, 1]
            if point:
                d = point_distance(px, py, ax, ay)
            else:
                num = (px - ax) * dx + (py - ay) * dy
                r = 0.5 if lo < num < hi else num / len2
                if r <= 0.0:
                    d = point_distance(px, py, ax, ay)
                elif r >= 1.0:
                    d = point_distance(px, py, bx, by)
                else:
                    d = fabs(((ay - py) * dx - (ax - px) * dy) / len2) * root
            if d > dmax:
                dmax = d
                far = m
        if dmax <= tol:
            for m in range(i + 1, j):
                use[m] = 0
        else:
            stack[top] = i
            stack[top + 1] = far
            stack[top + 2] = far
            stack[top + 3] = j
            top += 4


def line_streams(const double[:, ::1] xy, const int64_t[::1] n, const int64_t[::1] feat,
                 Py_ssize_t nfeat, double ox, double oy, double scale, int64_t extent,
                 double tol):
    """Command bytes of each of ``nfeat`` line features (``None`` for one with no part left).

    Parameters
    ----------
    xy, n
        The parts' coordinates in order, ``n[i]`` for part ``i``.
    feat
        The feature (``0 <= feat[i] < nfeat``) of each part, non-decreasing.
    ox, oy, scale, extent
        Tile units are ``rint((x - ox) * scale)`` and ``extent - rint((y - oy) * scale)``.
    tol
        Douglas-Peucker tolerance in the units of ``xy`` (0: no simplification).

    Returns ``None`` instead of the list when a coordinate maps farther than ``MAX_UNITS`` tile
    units from the tile (or is not finite): the caller then uses the Python path.
    """
    cdef Py_ssize_t parts = n.shape[0], total = 0, longest = 0, i, j, a, k, kept, w, f
    cdef Py_ssize_t biggest = 0, run = 0
    if feat.shape[0] != parts:
        raise ValueError("feat must give one feature per part")
    if xy.shape[1] != 2:
        raise ValueError("xy must hold rows of (x, y)")
    for i in range(parts):
        if n[i] < 0:
            raise ValueError("part sizes must be >= 0")
        if feat[i] < 0 or feat[i] >= nfeat or (i and feat[i] < feat[i - 1]):
            raise ValueError("feat must be non-decreasing positions below nfeat")
        total += n[i]
        if n[i] > longest:
            longest = n[i]
        run = run + n[i] if i and feat[i] == feat[i - 1] else n[i]
        if run > biggest:
            biggest = run
    if total > xy.shape[0]:
        raise ValueError("xy must hold sum(n) rows")
    out = [None] * nfeat
    if parts == 0:
        return out
    # a feature's bytes: per part MoveTo, LineTo and 2 varints (<= 10 bytes) per vertex
    cdef Py_ssize_t cap = (2 * biggest + 2 * parts) * 10 + 16
    cdef int64_t *kx = <int64_t *> malloc((longest + 1) * sizeof(int64_t))
    cdef int64_t *ky = <int64_t *> malloc((longest + 1) * sizeof(int64_t))
    cdef unsigned char *use = <unsigned char *> malloc(longest + 1)
    cdef Py_ssize_t *stack = <Py_ssize_t *> malloc((2 * longest + 4) * sizeof(Py_ssize_t))
    cdef unsigned char *buf = <unsigned char *> malloc(cap)
    if kx == NULL or ky == NULL or use == NULL or stack == NULL or buf == NULL:
        free(kx)
        free(ky)
        free(use)
        free(stack)
        free(buf)
        raise MemoryError()
    cdef int64_t x, y, cx = 0, cy = 0
    cdef int overflow = 0
    try:
        with nogil:
            a = 0
            w = 0
            f = -1
            for i in range(parts):
                if feat[i] != f:
                    if w:
                        with gil:
                            out[f] = PyBytes_FromStringAndSize(<char *> buf, w)
                    f = feat[i]
                    w = 0
                    cx = cy = 0
                k = n[i]
                for j in range(k):
                    use[j] = 1
                if tol > 0 and k > 2:
                    douglas_peucker(xy, a, k, tol, use, stack)
                kept = snap_run(xy, a, k, use, ox, oy, scale, LIMIT, kx, ky)
                if kept < 0:
                    overflow = 1
                    break
                a += k
                if kept < 2:
                    continue
                buf[w] = 9  # MoveTo, count 1
                w += 1
                for j in range(kept):
                    x = kx[j]
                    y = extent - ky[j]
                    w += put_varint(buf + w, zigzag(x - cx))
                    w += put_varint(buf + w, zigzag(y - cy))
                    if j == 0:
                        w += put_varint(buf + w, ((<uint64_t> (kept - 1)) << 3) | 2)  # LineTo
                    cx = x
                    cy = y
            if not overflow and w:
                with gil:
                    out[f] = PyBytes_FromStringAndSize(<char *> buf, w)
    finally:
        free(kx)
        free(ky)
        free(use)
        free(stack)
        free(buf)
    if overflow:
        return None
    return out
