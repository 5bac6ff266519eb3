# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Bounded multi-source Dijkstra on a CSR street graph, compiled.

The one search behind network reach: every node's distance to its nearest start node, up to a
budget, and which start node it was reached from. It returns what
``scipy.sparse.csgraph.dijkstra(csr, indices=starts, min_only=True, limit=limit,
return_predecessors=True)`` returns as distances and sources: the distances bit for bit (each is
the minimum of ``dist[u] + w`` over the neighbours settled before it, the same floating-point
additions), the sources (given as positions into ``starts``) equal except where two start nodes
are at exactly the same distance (then either is a nearest one).

Why our own: scipy's search keeps its frontier in a Fibonacci heap. On a street graph (about
three edges per node) a 4-ary heap with lazy deletion does the same work in about half the time:
0.9 ms against 1.9 ms for the 13,700 nodes within 1,200 m of 40 facilities on the 50,000-node
graph of ``benchmarks/bench_network.py`` (best of 7 x 20 calls, 2 cores). A binary heap was no
faster than scipy (1.7 ms), an 8-ary one was slower than the 4-ary (1.0 ms), and packing each
edge's target and length together was slower too. The search is bound by memory on a graph not
yet in the CPU caches (the first query after a build): prefetching the row of the next node to
settle, and the row pointer of each node pushed, took the first search in a fresh process from
1.77 to 1.41 ms and later ones from 1.07 to 0.85 ms (medians of 8 processes).

Edge weights must be positive (the caller's CSR has zero lengths made tiny, as csgraph needs)
and column indices within the graph: scipy's ``csr_matrix`` guarantees the latter, and they are
not checked again on every search.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc, realloc


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define BSG_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define BSG_PREFETCH(p) ((void)0)
    #endif
    """
    void BSG_PREFETCH(const void *p) nogil

ctypedef fused index_t:
    int32_t
    int64_t

#: The "not reached" marker of the origin array.
NOT_REACHED = -1


cdef struct Entry:
    double key
    int64_t node

cdef struct Heap:
    Entry *e
    Py_ssize_t size
    Py_ssize_t cap


cdef int heap_grow(Heap *h) noexcept nogil:
    cdef Py_ssize_t cap = h.cap * 2
    cdef Entry *e = <Entry *> realloc(h.e, cap * sizeof(Entry))
    if e == NULL:
        return -1
    h.e = e
    h.cap = cap
    return 0


cdef inline int heap_push(Heap *h, double key, int64_t node) noexcept nogil:
    cdef Py_ssize_t i, parent
    if h.size == h.cap and heap_grow(h) != 0:
        return -1
    i = h.size
    h.size += 1
    while i > 0:  # sift up
        parent = (i - 1) >> 2
        if h.e[parent].key <= key:
            break
        h.e[i] = h.e[parent]
        i = parent
    h.e[i].key = key
    h.e[i].node = node
    return 0


cdef inline void heap_pop(Heap *h, double *key, int64_t *node) noexcept nogil:
    cdef Py_ssize_t i = 0, child, n, c, best, end
    cdef Entry last
    cdef double bk
    key[0] = h.e[0].key
    node[0] = h.e[0].node
    h.size -= 1
    n = h.size
    if n == 0:
        return
    last = h.e[n]
    while True:  # sift the last entry down from the root (4 children per entry)
        child = 4 * i + 1
        if child >= n:
            break
        end = child + 4
        if end > n:
            end = n
        best = child
        bk = h.e[child].key
        for c in range(child + 1, end):
            if h.e[c].key < bk:
                bk = h.e[c].key
                best = c
        if bk >= last.key:
            break
        h.e[i] = h.e[best]
        i = best
    h.e[i] = last


def bounded_multi_source(const index_t[::1] indptr, const index_t[::1] indices,
                         const double[::1] data, const int64_t[::1] starts, double limit):
    """Distances to the nearest start node within ``limit``, and which start node that is.

    Parameters
    ----------
    indptr, indices, data
        The graph as CSR arrays (``n + 1`` row pointers, column indices, positive weights).
    starts
        Start node positions (any order; a repeated node keeps its first position).
    limit
        The budget: nodes farther than this from every start are not reached.

    Returns
    -------
    (dist, origin)
        ``dist``: float64, length n, ``inf`` where not reached. ``origin``: int32, the position in
        ``starts`` of each reached node's nearest start node, ``-1`` where not reached.
    """
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef Py_ssize_t k = starts.shape[0]
    if n < 0:
        raise ValueError("indptr must hold n + 1 row pointers")
    if indices.shape[0] != data.shape[0] or indptr[n] > indices.shape[0]:
        raise ValueError("indices and data must be as long as the last row pointer says")
    if n > 2147483647 or k > 2147483647:
        raise ValueError("graphs of more than 2**31 - 1 nodes are not supported")
    if not limit >= 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    dist_arr = np.full(n, np.inf)
    src_arr = np.full(n, NOT_REACHED, dtype=np.int32)
    cdef double[::1] dist = dist_arr
    cdef int32_t[::1] src = src_arr
    cdef Py_ssize_t i, e, e_end
    cdef int64_t s, u, v
    cdef double d, nd
    cdef int failed = 0
    cdef Heap h
    for i in range(k):
        s = starts[i]
        if s < 0 or s >= n:
            raise ValueError(f"start node {s} is outside the graph's {n} nodes")
    h.cap = 1024
    h.size = 0
    h.e = <Entry *> malloc(h.cap * sizeof(Entry))
    if h.e == NULL:
        raise MemoryError()
    with nogil:
        for i in range(k):
            s = starts[i]
            if dist[s] != 0.0:
                dist[s] = 0.0
                src[s] = <int32_t> i
                if heap_push(&h, 0.0, s) != 0:
                    failed = 1
                    break
        while h.size > 0 and not failed:
            heap_pop(&h, &d, &u)
            if d > dist[u]:  # a stale entry: u was settled nearer already
                continue
            if h.size > 0:  # the next node to settle: fetch its row while this one is scanned
                BSG_PREFETCH(&indices[indptr[h.e[0].node]])
                BSG_PREFETCH(&data[indptr[h.e[0].node]])
            e_end = indptr[u + 1]
            for e in range(indptr[u], e_end):
                v = indices[e]
                nd = d + data[e]
                if nd < dist[v] and nd <= limit:
                    dist[v] = nd
                    src[v] = src[u]
                    BSG_PREFETCH(&indptr[v])  # read when v is settled
                    if heap_push(&h, nd, v) != 0:
                        failed = 1
                        break
    free(h.e)
    if failed:
        raise MemoryError("out of memory growing the search heap")
    return dist_arr, src_arr
