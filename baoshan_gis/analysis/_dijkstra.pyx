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

The heap is now the fallback: a bounded walk has a budget of a few hundred edge lengths, so the
frontier fits a bucket queue of distance bands (Dial's idea with bands wider than one unit).
Each band is a plain array scanned in order, first in, first out; a node improved while its own
band is being scanned is appended to that band and scanned again, so the order inside a band
does not matter for the result. No sifting, and the queue is read in order: on the benchmark
graph (13,223 nodes reached) the first search in a fresh process went from 1.10-1.20 to
0.70-0.80 ms and later ones from 0.92-1.04 to 0.54-0.64 ms (medians of two runs of 8 and 6
interleaved fresh processes; the same distances and sources). The band width is the graph's
1st-percentile edge length (:func:`bucket_width`, 57 m there): with bands narrower than nearly
every edge almost every node is scanned once, as in Dijkstra. With the median length as the
width (87 m, some nodes rescanned) the first search took 0.91 ms; bands of a metre (most of
them empty) and lists linked through one pool instead of an array per band were slower too.
A budget of more than ``MAX_BUCKETS`` bands, or none, goes to the heap.

Why the distances stay bit for bit those of Dijkstra: floating-point addition is monotone and
``fl(d + w) >= d`` for ``w > 0``, so Dijkstra's distance of a node is the least, over the paths
to it, of the path's lengths summed from the start in order (and a path within the budget has
every prefix within it). The bucket search gives every node the summed length of some path, and
it does not stop while any edge would still improve its end: every improved node is queued
again, in its band or, where rounding at a band edge puts it below the band being scanned, in
that band. Along a shortest path that bounds each node by the path's prefix sum, so the two
agree. The tests check both searches against scipy's at band widths from half the shortest edge
to a third of the budget.

Two ways to run it: :func:`bounded_multi_source` gives node-sized arrays, fresh each call;
:class:`SearchSpace` keeps those arrays between searches of one graph and gives only the
reached nodes, resetting just the entries a search touched (a bitmap of one bit per node says
which), so a search's cost follows what it reaches rather than the graph's size. That took the
first search after a build from 1.47 to 1.34 ms (medians of 6 fresh processes); warm it is the
same.

Edge weights must be positive (the caller's CSR has zero lengths made tiny, as csgraph needs)
and column indices within the graph: scipy's ``csr_matrix`` guarantees the latter, and they are
not checked again on every search.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free, malloc, realloc


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define BSG_PREFETCH(p) __builtin_prefetch(p)
    #else
    #define BSG_PREFETCH(p) ((void)0)
    #endif
    """
    void BSG_PREFETCH(const void *p) nogil

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define BSG_CTZ64(w) __builtin_ctzll(w)
    #else
    static int BSG_CTZ64(unsigned long long w) { int i = 0; while (!(w & 1ULL)) { w >>= 1; ++i; } return i; }
    #endif
    """
    int BSG_CTZ64(uint64_t w) nogil

ctypedef fused index_t:
    int32_t
    int64_t

#: The "not reached" marker of the origin array.
NOT_REACHED = -1
cdef enum:
    NOT_REACHED_C = -1


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


cdef inline void label(double *dist, int32_t *src, uint64_t *marks, const void *row, int64_t v,
                       double nd, int32_t origin) noexcept nogil:
    """Give ``v`` distance ``nd`` from start ``origin`` (a start node: 0 from itself), mark it
    touched, and fetch its row pointer (read when ``v`` is scanned)."""
    dist[v] = nd
    src[v] = origin
    if marks != NULL:
        marks[v >> 6] |= (<uint64_t> 1) << (v & 63)
    BSG_PREFETCH(row)


cdef int search_heap(const index_t[::1] indptr, const index_t[::1] indices, const double[::1] data,
                const int64_t[::1] starts, double limit, double[::1] dist, int32_t[::1] src,
                uint64_t *marks) noexcept nogil:
    """Dijkstra with a 4-ary heap: for any budget, including an infinite one."""
    cdef Py_ssize_t i, e, e_end
    cdef Py_ssize_t k = starts.shape[0]
    cdef int64_t s, u, v
    cdef double d, nd
    cdef Heap h
    h.cap = 1024
    h.size = 0
    h.e = <Entry *> malloc(h.cap * sizeof(Entry))
    if h.e == NULL:
        return -1
    for i in range(k):
        s = starts[i]
        if dist[s] != 0.0:
            label(&dist[0], &src[0], marks, &indptr[s], s, 0.0, <int32_t> i)
            if heap_push(&h, 0.0, s) != 0:
                free(h.e)
                return -1
    while h.size > 0:
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
                label(&dist[0], &src[0], marks, &indptr[v], v, nd, src[u])
                if heap_push(&h, nd, v) != 0:
                    free(h.e)
                    return -1
    free(h.e)
    return 0


#: At most this many buckets of the bucket search per search; a budget wider than that many
#: bucket widths (or an infinite one) is searched with the heap instead.
MAX_BUCKETS = 4096
cdef enum:
    MAX_BUCKETS_C = 4096


cdef enum:
    # how far ahead in a band the search fetches a node's row: the first search after a build
    # (graph not in the caches) took 0.87 ms with 3 entries ahead against 0.99 ms with the next
    # one (medians of 8 interleaved fresh processes); 4, 7 and 11 were no better than 3
    PF_AHEAD = 2

cdef struct Bucket:
    Entry *e
    Py_ssize_t size
    Py_ssize_t cap


cdef inline int bucket_push(Bucket *b, double key, int64_t node) noexcept nogil:
    cdef Py_ssize_t cap
    cdef Entry *e
    if b.size == b.cap:
        cap = b.cap * 2 if b.cap else 64
        e = <Entry *> realloc(b.e, cap * sizeof(Entry))
        if e == NULL:
            return -1
        b.e = e
        b.cap = cap
    b.e[b.size].key = key
    b.e[b.size].node = node
    b.size += 1
    return 0


cdef int search_buckets(const index_t[::1] indptr, const index_t[::1] indices,
                        const double[::1] data, const int64_t[::1] starts, double limit,
                        double width, double[::1] dist, int32_t[::1] src,
                        uint64_t *marks) noexcept nogil:
    """A bucket queue of distance bands ``width`` wide, each band scanned first in, first out
    and rescanned until nothing in it improves (label-correcting within a band, in band order
    across them). Where no edge is shorter than ``width`` every node is scanned once, at its
    final distance, as in Dijkstra; a shorter edge can only make a node of the current band be
    scanned again. Either way the distances are the same floats as Dijkstra's (the module
    docstring says why). The caller ensures ``0 < width`` and ``limit / width <= MAX_BUCKETS``."""
    cdef Py_ssize_t i, j, e, e_end, bi, t
    cdef Py_ssize_t k = starts.shape[0]
    cdef Py_ssize_t nb = <Py_ssize_t> (limit / width) + 2
    cdef double inv = 1.0 / width
    cdef int64_t s, u, v
    cdef double d, nd
    cdef int failed = 0
    cdef Bucket *cur
    cdef Bucket *bk = <Bucket *> calloc(nb, sizeof(Bucket))
    if bk == NULL:
        return -1
    for i in range(k):
        s = starts[i]
        if dist[s] != 0.0:
            label(&dist[0], &src[0], marks, &indptr[s], s, 0.0, <int32_t> i)
            if bucket_push(&bk[0], 0.0, s) != 0:
                failed = 1
                break
    bi = 0
    while not failed and bi < nb:
        cur = &bk[bi]
        j = 0
        while j < cur.size:  # entries appended to this band while it is scanned are scanned too
            d = cur.e[j].key
            u = cur.e[j].node
            j += 1
            if d != dist[u]:  # stale: u was improved after this entry was made
                continue
            if j + PF_AHEAD < cur.size:  # a node further on in this band: fetch its row now
                BSG_PREFETCH(&indices[indptr[cur.e[j + PF_AHEAD].node]])
                BSG_PREFETCH(&data[indptr[cur.e[j + PF_AHEAD].node]])
            elif j < cur.size:
                BSG_PREFETCH(&indices[indptr[cur.e[j].node]])
                BSG_PREFETCH(&data[indptr[cur.e[j].node]])
            e_end = indptr[u + 1]
            for e in range(indptr[u], e_end):
                v = indices[e]
                nd = d + data[e]
                if nd < dist[v] and nd <= limit:
                    label(&dist[0], &src[0], marks, &indptr[v], v, nd, src[u])
                    t = <Py_ssize_t> (nd * inv)
                    if t < bi:  # rounding at a band edge: never a band already done
                        t = bi
                    elif t >= nb:
                        t = nb - 1
                    if bucket_push(&bk[t], nd, v) != 0:
                        failed = 1
                        break
            if failed:
                break
        free(cur.e)  # done with this band: give its memory back to the next ones
        cur.e = NULL
        cur.size = 0
        cur.cap = 0
        bi += 1
    for i in range(nb):
        free(bk[i].e)
    free(bk)
    return -1 if failed else 0


cdef inline bint use_buckets(double limit, double width) noexcept nogil:
    return width > 0.0 and limit <= width * MAX_BUCKETS_C  # False for an infinite limit


cdef int search(const index_t[::1] indptr, const index_t[::1] indices, const double[::1] data,
                const int64_t[::1] starts, double limit, double width, double[::1] dist,
                int32_t[::1] src, uint64_t *marks) noexcept nogil:
    """The search itself, on the caller's buffers: ``dist`` all inf and ``src`` all -1 on entry
    (start positions already checked). Every node it labels gets its bit set in ``marks`` when
    ``marks`` is not NULL. Returns -1 if the queue could not grow (the buffers then hold a partial
    search, and ``marks`` says which entries were touched). The bucket queue where the budget
    spans at most ``MAX_BUCKETS`` widths, else the heap."""
    if use_buckets(limit, width):
        return search_buckets(indptr, indices, data, starts, limit, width, dist, src, marks)
    return search_heap(indptr, indices, data, starts, limit, dist, src, marks)


def bucket_width(data):
    """The bucket width for a graph's edge weights: its 1st-percentile edge length.

    Bands narrower than all but 1% of the edges: almost every node is scanned once (as by
    Dijkstra), while a graph with a few near-zero edges (merged nodes, 1e-9 for zero lengths)
    still gets bands of a useful width. 0 for a graph without edges (the heap is used)."""
    w = np.asarray(data, dtype=float)
    if len(w) == 0:
        return 0.0
    k = len(w) // 100
    return float(np.partition(w, k)[k])


cdef Py_ssize_t check(const index_t[::1] indptr, const index_t[::1] indices,
                      const double[::1] data, const int64_t[::1] starts, double limit,
                      double width) except -1:
    """The graph's node count, after checking what the search does not check itself."""
    cdef Py_ssize_t n = indptr.shape[0] - 1
    cdef Py_ssize_t i
    cdef int64_t s
    if n < 0:
        raise ValueError("indptr must hold n + 1 row pointers")
    if indices.shape[0] != data.shape[0] or indptr[n] > indices.shape[0]:
        raise ValueError("indices and data must be as long as the last row pointer says")
    if n > 2147483647 or starts.shape[0] > 2147483647:
        raise ValueError("graphs of more than 2**31 - 1 nodes are not supported")
    if not limit >= 0:
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    if not width >= 0:
        raise ValueError(f"width must be >= 0 (0: no buckets), got {width!r}")
    for i in range(starts.shape[0]):
        s = starts[i]
        if s < 0 or s >= n:
            raise ValueError(f"start node {s} is outside the graph's {n} nodes")
    return n


def bounded_multi_source(const index_t[::1] indptr, const index_t[::1] indices,
                         const double[::1] data, const int64_t[::1] starts, double limit,
                         double width=0.0):
    """Distances to the nearest start node within ``limit``, and which start node that is.

    Parameters
    ----------
    indptr, indices, data
        The graph as CSR arrays (``n + 1`` row pointers, column indices, positive weights).
    starts
        Start node positions (any order; a repeated node keeps its first position).
    limit
        The budget: nodes farther than this from every start are not reached.
    width
        The bucket width of the bucket search (see :func:`bucket_width`); results do not depend
        on it, only the speed does. 0 (the default), or a budget of more than ``MAX_BUCKETS``
        widths, searches with the heap.

    Returns
    -------
    (dist, origin)
        ``dist``: float64, length n, ``inf`` where not reached. ``origin``: int32, the position in
        ``starts`` of each reached node's nearest start node, ``-1`` where not reached.
    """
    cdef Py_ssize_t n = check(indptr, indices, data, starts, limit, width)
    dist_arr = np.full(n, np.inf)
    src_arr = np.full(n, NOT_REACHED, dtype=np.int32)
    cdef double[::1] dist = dist_arr
    cdef int32_t[::1] src = src_arr
    cdef int failed
    with nogil:
        failed = search(indptr, indices, data, starts, limit, width, dist, src, NULL)
    if failed:
        raise MemoryError("out of memory growing the search queue")
    return dist_arr, src_arr


cdef class SearchSpace:
    """The n-sized buffers of the search, kept between searches of one graph.

    :meth:`reached` returns only the nodes a search reached and then resets just the entries it
    touched, so a search costs what it reaches, not the size of the graph: no n-sized arrays are
    filled, scanned or freed per search. One search at a time: the caller serialises use (the
    graph holds a lock; a busy space is not waited for, a fresh one is used instead).
    """

    cdef double[::1] dist
    cdef int32_t[::1] src
    cdef uint64_t[::1] marks
    cdef readonly Py_ssize_t n

    def __init__(self, Py_ssize_t n):
        if n < 0:
            raise ValueError(f"a search space needs n >= 0 nodes, got {n}")
        self.n = n
        self.dist = np.full(n, np.inf)
        self.src = np.full(n, NOT_REACHED, dtype=np.int32)
        self.marks = np.zeros((n + 63) // 64, dtype=np.uint64)

    def reached(self, const index_t[::1] indptr, const index_t[::1] indices,
                const double[::1] data, const int64_t[::1] starts, double limit,
                double width=0.0):
        """The search of :func:`bounded_multi_source`, giving only the reached nodes.

        Returns
        -------
        (nodes, dist, origin)
            ``nodes``: int64 positions of the reached nodes, ascending; ``dist`` (float64) and
            ``origin`` (int32, position in ``starts``) of each, as :func:`bounded_multi_source`
            gives them at those positions.
        """
        cdef Py_ssize_t n = check(indptr, indices, data, starts, limit, width)
        if n != self.n:
            raise ValueError(f"this search space is for {self.n} nodes, the graph has {n}")
        cdef double[::1] dist = self.dist
        cdef int32_t[::1] src = self.src
        cdef uint64_t *marks = &self.marks[0] if self.marks.shape[0] else NULL
        cdef Py_ssize_t words = self.marks.shape[0]
        cdef Py_ssize_t w, count = 0, j = 0
        cdef uint64_t bits
        cdef int64_t v
        cdef int failed
        if n == 0:
            return (np.empty(0, dtype=np.int64), np.empty(0), np.empty(0, dtype=np.int32))
        with nogil:
            failed = search(indptr, indices, data, starts, limit, width, dist, src, marks)
            for w in range(words):
                bits = marks[w]
                while bits:
                    count += 1
                    bits &= bits - 1
        nodes_arr = np.empty(count, dtype=np.int64)
        dist_out = np.empty(count)
        src_out = np.empty(count, dtype=np.int32)
        cdef int64_t[::1] nodes = nodes_arr
        cdef double[::1] d_out = dist_out
        cdef int32_t[::1] s_out = src_out
        with nogil:  # ascending node order; every touched entry is put back as it was
            for w in range(words):
                bits = marks[w]
                while bits:
                    v = (<int64_t> w << 6) + BSG_CTZ64(bits)
                    bits &= bits - 1
                    if j == count:  # only if misused from two threads at once: never overrun
                        break
                    nodes[j] = v
                    d_out[j] = dist[v]
                    s_out[j] = src[v]
                    dist[v] = INFINITY
                    src[v] = NOT_REACHED_C
                    j += 1
                marks[w] = 0
        if failed:
            raise MemoryError("out of memory growing the search queue")
        return nodes_arr, dist_out, src_out
