# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""The feature records of an MVT layer, compiled.

:func:`feature_records` writes what ``_mvt_encode.assemble_tile`` writes between the layer name
and the key table, byte for byte (tested): per feature, in the given order, ``Feature { id = row
+ 1, tags, type, geometry }`` as a length-delimited field 2 of the layer, the tags being the
row's (key, value) pairs renumbered to the tile's own tables (the used key and value ids in
ascending order, their positions the tile's ids). Why compiled: for point tiles at z12-z13 (tens
to hundreds of features) the Python record loop was two thirds of a tile's time.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.math cimport nearbyint
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy

import numpy as np

from baoshan_gis.tiles._mvt_units cimport put_varint, zigzag

#: Points mapping this many tile units away or more are left to the Python path (2**52).
cdef double LIMIT = 4503599627370496.0


cdef inline Py_ssize_t varint_size(uint64_t v) noexcept nogil:
    cdef Py_ssize_t k = 1
    while v >= 0x80:
        v >>= 7
        k += 1
    return k


cdef int cmp_int64(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const int64_t *> a)[0]
    cdef int64_t y = (<const int64_t *> b)[0]
    return (x > y) - (x < y)


cdef Py_ssize_t sorted_unique(int64_t *v, Py_ssize_t n) noexcept nogil:
    """Sort ``v[:n]`` and keep each value once; the number kept."""
    cdef Py_ssize_t i, m = 0
    if n == 0:
        return 0
    qsort(v, n, sizeof(int64_t), cmp_int64)
    for i in range(1, n):
        if v[i] != v[m]:
            m += 1
            v[m] = v[i]
    return m + 1


cdef inline Py_ssize_t rank(const int64_t *u, Py_ssize_t n, int64_t x) noexcept nogil:
    """Position of ``x`` in the ascending ``u[:n]`` (it is there)."""
    cdef Py_ssize_t lo = 0, hi = n - 1, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if u[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef bytes write_records(const int64_t[::1] rows, const unsigned char **gptr,
                         const Py_ssize_t *glens, const int64_t[::1] ptr,
                         const int64_t[::1] tag_key, const int64_t[::1] tag_val, int gtype,
                         int64_t *uk, int64_t *uv, Py_ssize_t *nk, Py_ssize_t *nv):
    """The records of the features (``rows`` already checked), and in ``uk[:nk]``/``uv[:nv]``
    the used key and value ids (room for every tag of the rows)."""
    cdef Py_ssize_t n = rows.shape[0], i, t, m = 0, cap = 0, w = 0, tlen, blen, glen
    cdef int64_t r
    cdef uint64_t a, b
    for i in range(n):
        r = rows[i]
        # record head, id, tags head, type, geometry head: at most 5 varints and 4 bytes
        cap += 2 * 10 * (ptr[r + 1] - ptr[r]) + glens[i] + 60
        for t in range(ptr[r], ptr[r + 1]):
            uk[m] = tag_key[t]
            uv[m] = tag_val[t]
            m += 1
    nk[0] = sorted_unique(uk, m)
    nv[0] = sorted_unique(uv, m)
    cdef unsigned char *buf = <unsigned char *> malloc(cap + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            r = rows[i]
            glen = glens[i]
            tlen = 0
            for t in range(ptr[r], ptr[r + 1]):
                tlen += varint_size(rank(uk, nk[0], tag_key[t]))
                tlen += varint_size(rank(uv, nv[0], tag_val[t]))
            blen = 1 + varint_size(r + 1) + 2 + 1 + varint_size(glen) + glen
            if tlen:
                blen += 1 + varint_size(tlen) + tlen
            buf[w] = 0x12
            w += 1
            w += put_varint(buf + w, blen)
            buf[w] = 0x08
            w += 1
            w += put_varint(buf + w, r + 1)
            if tlen:
                buf[w] = 0x12
                w += 1
                w += put_varint(buf + w, tlen)
                for t in range(ptr[r], ptr[r + 1]):
                    a = rank(uk, nk[0], tag_key[t])
                    b = rank(uv, nv[0], tag_val[t])
                    w += put_varint(buf + w, a)
                    w += put_varint(buf + w, b)
            buf[w] = 0x18
            buf[w + 1] = <unsigned char> gtype
            buf[w + 2] = 0x22
            w += 3
            w += put_varint(buf + w, glen)
            memcpy(buf + w, gptr[i], glen)
            w += glen
        return PyBytes_FromStringAndSize(<char *> buf, w)
    finally:
        free(buf)


cdef Py_ssize_t check_rows(const int64_t[::1] rows, const int64_t[::1] ptr,
                           const int64_t[::1] tag_key, const int64_t[::1] tag_val) except -1:
    """The number of tags of the rows, after checking rows and tags."""
    cdef Py_ssize_t n_rows = ptr.shape[0] - 1, i, total = 0
    cdef int64_t r
    if n_rows < 0 or ptr[n_rows] > tag_key.shape[0] or tag_key.shape[0] != tag_val.shape[0]:
        raise ValueError("tag_key and tag_val must hold ptr[-1] entries each")
    for i in range(rows.shape[0]):
        r = rows[i]
        if r < 0 or r >= n_rows:
            raise ValueError(f"row {r} is outside the layer's {n_rows} rows")
        total += ptr[r + 1] - ptr[r]
    return total


def feature_records(const int64_t[::1] rows, list geoms, const int64_t[::1] ptr,
                    const int64_t[::1] tag_key, const int64_t[::1] tag_val, int gtype):
    """``(records, used_keys, used_values)`` of a tile's features.

    Parameters
    ----------
    rows
        Layer rows of the features, in tile order (the feature id is ``row + 1``).
    geoms
        Geometry command bytes of each feature.
    ptr, tag_key, tag_val
        The layer's tags: row ``r`` has the pairs ``(tag_key[t], tag_val[t])`` for
        ``ptr[r] <= t < ptr[r + 1]``.
    gtype
        MVT geometry type (1 point, 2 line, 3 polygon).

    Returns the records' bytes and the used global key and value ids (int64, ascending).
    """
    cdef Py_ssize_t n = rows.shape[0], i
    if len(geoms) != n:
        raise ValueError("one geometry per row is needed")
    if not 0 < gtype < 4:
        raise ValueError(f"gtype must be 1, 2 or 3, got {gtype}")
    for i in range(n):
        if not isinstance(geoms[i], bytes):
            raise TypeError("geometries must be bytes")
    cdef Py_ssize_t total = check_rows(rows, ptr, tag_key, tag_val)
    cdef const unsigned char **gptr = <const unsigned char **> malloc(
        (n + 1) * sizeof(unsigned char *))
    cdef Py_ssize_t *glens = <Py_ssize_t *> malloc((n + 1) * sizeof(Py_ssize_t))
    if gptr == NULL or glens == NULL:
        free(gptr)
        free(glens)
        raise MemoryError()
    for i in range(n):
        gptr[i] = <const unsigned char *> PyBytes_AS_STRING(geoms[i])
        glens[i] = PyBytes_GET_SIZE(geoms[i])
    return _records(rows, gptr, glens, ptr, tag_key, tag_val, gtype, total, NULL)


def point_records(const int64_t[::1] rows, const double[:, ::1] xy, double minx, double miny,
                  double scale, int64_t extent, const int64_t[::1] ptr,
                  const int64_t[::1] tag_key, const int64_t[::1] tag_val):
    """:func:`feature_records` of single points ``xy[rows]``, their geometry written here:
    ``MoveTo(rint((x - minx) * scale), extent - rint((y - miny) * scale))`` (half to even), as
    the point tile's Python path writes it. ``None`` if a point maps 2**52 tile units or more
    away (or is not finite): use that path then."""
    cdef Py_ssize_t n = rows.shape[0], i
    cdef double fx, fy
    cdef int64_t x, y
    if xy.shape[1] != 2 or xy.shape[0] < ptr.shape[0] - 1:
        raise ValueError("xy must hold one (x, y) row per layer row")
    cdef Py_ssize_t total = check_rows(rows, ptr, tag_key, tag_val)
    cdef unsigned char *scratch = <unsigned char *> malloc(21 * n + 1)
    cdef const unsigned char **gptr = <const unsigned char **> malloc(
        (n + 1) * sizeof(unsigned char *))
    cdef Py_ssize_t *glens = <Py_ssize_t *> malloc((n + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t w
    if scratch == NULL or gptr == NULL or glens == NULL:
        free(scratch)
        free(gptr)
        free(glens)
        raise MemoryError()
    for i in range(n):
        fx = nearbyint((xy[rows[i], 0] - minx) * scale)
        fy = nearbyint((xy[rows[i], 1] - miny) * scale)
        if not (-LIMIT < fx < LIMIT and -LIMIT < fy < LIMIT):
            free(scratch)
            free(gptr)
            free(glens)
            return None
        x = <int64_t> fx
        y = extent - <int64_t> fy
        w = 21 * i
        scratch[w] = 9  # MoveTo, count 1
        glens[i] = 1 + put_varint(scratch + w + 1, zigzag(x))
        glens[i] += put_varint(scratch + w + glens[i], zigzag(y))
        gptr[i] = scratch + w
    return _records(rows, gptr, glens, ptr, tag_key, tag_val, 1, total, scratch)


cdef tuple _records(const int64_t[::1] rows, const unsigned char **gptr, Py_ssize_t *glens,
                    const int64_t[::1] ptr, const int64_t[::1] tag_key,
                    const int64_t[::1] tag_val, int gtype, Py_ssize_t total,
                    unsigned char *scratch):
    """Write the records and free ``gptr``, ``glens`` and ``scratch`` (all malloc'ed)."""
    cdef int64_t *uk = <int64_t *> malloc((total + 1) * sizeof(int64_t))
    cdef int64_t *uv = <int64_t *> malloc((total + 1) * sizeof(int64_t))
    cdef Py_ssize_t nk = 0, nv = 0, i
    cdef int64_t[::1] kview, vview
    try:
        if uk == NULL or uv == NULL:
            raise MemoryError()
        out = write_records(rows, gptr, glens, ptr, tag_key, tag_val, gtype, uk, uv, &nk, &nv)
        keys = np.empty(nk, dtype=np.int64)
        vals = np.empty(nv, dtype=np.int64)
        kview = keys
        vview = vals
        for i in range(nk):
            kview[i] = uk[i]
        for i in range(nv):
            vview[i] = uv[i]
    finally:
        free(uk)
        free(uv)
        free(gptr)
        free(glens)
        free(scratch)
    return out, keys, vals
