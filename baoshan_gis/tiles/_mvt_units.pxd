# cython: language_level=3
"""Tile units, protobuf varints and zig-zag codes, shared by the compiled MVT encoders."""

from libc.math cimport nearbyint
from libc.stdint cimport int64_t, uint64_t


cdef inline Py_ssize_t put_varint(unsigned char *out, uint64_t v) noexcept nogil:
    cdef Py_ssize_t k = 0
    while v >= 0x80:
        out[k] = <unsigned char> ((v & 0x7F) | 0x80)
        v >>= 7
        k += 1
    out[k] = <unsigned char> v
    return k + 1


cdef inline uint64_t zigzag(int64_t d) noexcept nogil:
    return (<uint64_t> d << 1) ^ <uint64_t> (d >> 63)


cdef inline Py_ssize_t snap_run(const double[:, ::1] xy, Py_ssize_t a, Py_ssize_t k,
                                const unsigned char *use, double ox, double oy, double scale,
                                double limit, int64_t *kx, int64_t *ky) noexcept nogil:
    """Tile units ``rint((v - origin) * scale)`` (half to even) of ``xy[a:a + k]`` (only where
    ``use`` is set, if given) into ``kx``/``ky``, a vertex equal to the one before dropped.
    Returns how many were kept, or -1 if one maps as far as ``limit`` or is not finite."""
    cdef Py_ssize_t j, kept = 0
    cdef double fx, fy
    cdef int64_t x, y
    for j in range(k):
        if use != NULL and not use[j]:
            continue
        fx = nearbyint((xy[a + j, 0] - ox) * scale)
        fy = nearbyint((xy[a + j, 1] - oy) * scale)
        if not (-limit < fx < limit and -limit < fy < limit):
            return -1
        x = <int64_t> fx
        y = <int64_t> fy
        if kept == 0 or x != kx[kept - 1] or y != ky[kept - 1]:
            kx[kept] = x
            ky[kept] = y
            kept += 1
    return kept
