"""The compiled bounded multi-source Dijkstra must give scipy's distances, bit for bit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from baoshan_gis.analysis import StreetGraph, reachable_nodes, street_graph
from baoshan_gis.analysis._dijkstra import (
    MAX_BUCKETS,
    NOT_REACHED,
    SearchSpace,
    bounded_multi_source,
    bucket_width,
)


def test_the_compiled_kernel_is_what_network_reach_uses() -> None:
    # hatch_build.py compiles it at install; without a compiler the scipy fallback would be used
    # silently, and every speed figure in benchmarks/README.md would be wrong
    assert street_graph._CompiledSpace is SearchSpace
    g = StreetGraph.from_arrays(x=[0.0, 1.0], y=[0.0, 0.0], u=[0], v=[1], length=[1.0],
                                crs="EPSG:32651")
    g.csr()
    assert isinstance(g._space, SearchSpace) and g._space.n == 2


def _random_graph(rng: np.random.Generator, n: int, m: int, directed: bool) -> sp.csr_matrix:
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    u, v = u[keep], v[keep]
    w = rng.uniform(1.0, 100.0, len(u))
    if not directed:
        u, v, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
    a = sp.coo_matrix((w, (u, v)), shape=(n, n)).tocsr()
    a.sum_duplicates()  # parallel edges: csgraph would use the sum too, so both see one edge
    return a


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_equals_scipy_min_only_bit_for_bit(seed: int, directed: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 3000))
    a = _random_graph(rng, n, int(n * rng.uniform(1.0, 3.0)), directed)  # some nodes isolated
    starts = np.unique(rng.choice(n, int(rng.integers(1, 30)), replace=False)).astype(np.int64)
    for limit in (0.0, 35.0, 250.0, np.inf):
        want, _pred, src = dijkstra(a, directed=True, indices=starts, min_only=True, limit=limit,
                                    return_predecessors=True)
        for idx in (np.int32, np.int64):
            dist, origin = bounded_multi_source(a.indptr.astype(idx), a.indices.astype(idx),
                                                a.data, starts, limit)
            assert dist.tobytes() == want.tobytes()  # the same floats, inf where not reached
            reached = np.isfinite(dist)
            assert (origin[~reached] == NOT_REACHED).all()
            # random real lengths: no two start nodes tie, so the nearest one is unique
            assert np.array_equal(starts[origin[reached]], src[reached])
        assert reached.sum() >= len(starts)


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_bucket_search_equals_scipy_bit_for_bit_at_any_width(seed: int,
                                                                 directed: bool) -> None:
    # widths below every edge (each node scanned once), at the graph's own 1st percentile, and
    # far above most edges (nodes rescanned within a band): the same floats and sources each time
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(50, 3000))
    a = _random_graph(rng, n, int(n * rng.uniform(1.0, 3.0)), directed)
    starts = np.unique(rng.choice(n, int(rng.integers(1, 30)), replace=False)).astype(np.int64)
    for limit in (0.0, 35.0, 250.0):
        want, _pred, src = dijkstra(a, directed=True, indices=starts, min_only=True, limit=limit,
                                    return_predecessors=True)
        for width in (0.5, bucket_width(a.data), 30.0, 400.0):
            dist, origin = bounded_multi_source(a.indptr, a.indices, a.data, starts, limit, width)
            assert dist.tobytes() == want.tobytes(), width
            reached = np.isfinite(dist)
            assert (origin[~reached] == NOT_REACHED).all()
            assert np.array_equal(starts[origin[reached]], src[reached]), width


def test_the_bucket_width_is_the_low_end_of_the_edge_lengths() -> None:
    w = np.concatenate([np.full(5, 1e-9), np.linspace(40.0, 120.0, 995)])  # 5 merged-node edges
    width = bucket_width(w)
    assert 40.0 <= width <= 41.0  # not dragged down to 1e-9 by the few near-zero edges
    assert bucket_width(np.empty(0)) == 0.0
    g = StreetGraph.from_arrays(x=[0.0, 1.0, 2.0], y=[0.0, 0.0, 0.0], u=[0, 1], v=[1, 2],
                                length=[3.0, 4.0], crs="EPSG:32651")
    g.csr()
    assert g._width == 3.0  # the graph's searches use bands


def test_a_budget_of_more_bands_than_allowed_gives_the_heaps_result() -> None:
    # a chain of 1 m edges and budgets of 2x, 1x and 0.5x MAX_BUCKETS bands: the dispatcher
    # sends the widest to the heap, the others to the buckets; every one gives the heap's floats
    n = 3 * MAX_BUCKETS
    a = sp.csr_matrix((np.ones(n - 1), (np.arange(n - 1), np.arange(1, n))), shape=(n, n))
    starts = np.array([0], dtype=np.int64)
    limit = MAX_BUCKETS * 1.0
    heap, _ = bounded_multi_source(a.indptr, a.indices, a.data, starts, limit)
    for width in (0.5, 1.0, 2.0):
        dist, _ = bounded_multi_source(a.indptr, a.indices, a.data, starts, limit, width)
        assert dist.tobytes() == heap.tobytes()
    assert np.isfinite(heap).sum() == MAX_BUCKETS + 1


def test_a_band_holds_many_more_nodes_than_its_first_block() -> None:
    # a star of 20,000 leaves within one band: the band's entries grow past their first block
    k = 20_000
    w = np.linspace(1.0, 2.0, k)
    a = sp.csr_matrix((w, (np.zeros(k, dtype=int), np.arange(1, k + 1))), shape=(k + 1, k + 1))
    dist, origin = bounded_multi_source(a.indptr, a.indices, a.data,
                                        np.array([0], dtype=np.int64), 1.5, 10.0)
    assert dist[0] == 0.0 and np.array_equal(dist[1:][w <= 1.5], w[w <= 1.5])
    assert np.isinf(dist[1:][w > 1.5]).all()
    assert (origin[np.isfinite(dist)] == 0).all()


def test_a_repeated_start_node_keeps_its_first_position() -> None:
    a = sp.csr_matrix(([5.0, 5.0], ([0, 1], [1, 0])), shape=(3, 3))
    dist, origin = bounded_multi_source(a.indptr, a.indices, a.data,
                                        np.array([1, 1, 0], dtype=np.int64), 10.0)
    assert dist.tolist() == [0.0, 0.0, np.inf]
    assert origin.tolist() == [2, 0, NOT_REACHED]


def test_the_heap_grows_past_its_first_block() -> None:
    # a star of 20,000 leaves: every leaf is on the heap at once (the heap starts at 1,024)
    k = 20_000
    w = np.linspace(1.0, 2.0, k)
    a = sp.csr_matrix((w, (np.zeros(k, dtype=int), np.arange(1, k + 1))), shape=(k + 1, k + 1))
    dist, origin = bounded_multi_source(a.indptr, a.indices, a.data,
                                        np.array([0], dtype=np.int64), 1.5)
    assert dist[0] == 0.0 and np.array_equal(dist[1:][w <= 1.5], w[w <= 1.5])
    assert np.isinf(dist[1:][w > 1.5]).all()
    assert (origin[np.isfinite(dist)] == 0).all()


def test_bad_input_is_refused_with_a_reason() -> None:
    a = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 2))
    with pytest.raises(ValueError, match="outside the graph's 2 nodes"):
        bounded_multi_source(a.indptr, a.indices, a.data, np.array([2], dtype=np.int64), 1.0)
    with pytest.raises(ValueError, match="limit must be >= 0"):
        bounded_multi_source(a.indptr, a.indices, a.data, np.array([0], dtype=np.int64), -1.0)
    with pytest.raises(ValueError, match="as long as the last row pointer"):
        bounded_multi_source(a.indptr, a.indices, a.data[:0], np.array([0], dtype=np.int64), 1.0)
    for width in (-1.0, np.nan):
        with pytest.raises(ValueError, match="width must be >= 0"):
            bounded_multi_source(a.indptr, a.indices, a.data, np.array([0], dtype=np.int64), 1.0,
                                 width)


def _grid_graph(side: int, seed: int) -> tuple[StreetGraph, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side))
    x = 330_000 + ii.ravel() * 80.0 + rng.uniform(-15, 15, side * side)
    y = 3_465_000 + jj.ravel() * 80.0 + rng.uniform(-15, 15, side * side)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.15, len(u))
    return StreetGraph.from_arrays(x=x, y=y, u=u, v=v, length=length, crs="EPSG:32651"), x, y


def test_reachable_nodes_is_the_same_with_the_scipy_fallback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    g, x, y = _grid_graph(40, 3)
    pick = np.random.default_rng(4).choice(len(x), 6, replace=False)
    fac = gpd.GeoDataFrame({"name": [f"f{i}" for i in range(6)]},
                           geometry=gpd.points_from_xy(x[pick] + 3, y[pick] - 3), crs="EPSG:32651",
                           index=[10, 11, 12, 13, 14, 15])
    compiled = reachable_nodes(g, fac, distance=600)
    monkeypatch.setattr(street_graph, "_CompiledSpace", None)
    fallback = reachable_nodes(g, fac, distance=600)
    assert len(compiled) > 100
    assert compiled.index.equals(fallback.index)
    got, want = compiled["distance_m"].to_numpy(), fallback["distance_m"].to_numpy()
    assert got.tobytes() == want.tobytes()
    assert compiled["facility"].tolist() == fallback["facility"].tolist()
    assert set(compiled["facility"]) <= {10, 11, 12, 13, 14, 15}


@pytest.mark.parametrize("directed", [False, True])
def test_a_kept_search_space_gives_the_full_search_at_its_reached_nodes(directed: bool) -> None:
    # one space reused for many searches: a wrong reset would leak one search into the next
    rng = np.random.default_rng(11)
    n = 2_500
    a = _random_graph(rng, n, 6_000, directed)
    space = SearchSpace(n)
    for _ in range(25):
        starts = np.unique(rng.choice(n, int(rng.integers(1, 25)), replace=False)).astype(np.int64)
        limit = float(rng.choice([0.0, 40.0, 300.0, np.inf]))
        width = float(rng.choice([0.0, 5.0, 60.0]))  # the heap, narrow and wide bands
        dist, origin = bounded_multi_source(a.indptr, a.indices, a.data, starts, limit)
        nodes, d, o = space.reached(a.indptr, a.indices, a.data, starts, limit, width)
        want = np.flatnonzero(np.isfinite(dist))
        assert np.array_equal(nodes, want)  # ascending, exactly the reached nodes
        assert d.tobytes() == dist[want].tobytes()
        assert np.array_equal(o, origin[want])


def test_a_search_space_fits_one_graph_size() -> None:
    a = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 2))
    with pytest.raises(ValueError, match="for 3 nodes, the graph has 2"):
        SearchSpace(3).reached(a.indptr, a.indices, a.data, np.array([0], dtype=np.int64), 1.0)
    with pytest.raises(ValueError, match="outside the graph's 2 nodes"):
        SearchSpace(2).reached(a.indptr, a.indices, a.data, np.array([5], dtype=np.int64), 1.0)
    nodes, d, o = SearchSpace(2).reached(a.indptr, a.indices, a.data,
                                         np.array([1], dtype=np.int64), 1.0)
    assert nodes.tolist() == [1] and d.tolist() == [0.0] and o.tolist() == [0]


def test_threads_searching_one_graph_get_their_own_answers() -> None:
    # the service answers requests from a thread pool on one cached graph: a search that finds
    # the graph's space busy must not share it
    from concurrent.futures import ThreadPoolExecutor

    g, x, y = _grid_graph(60, 5)
    rng = np.random.default_rng(6)
    layers = []
    for _ in range(16):
        pick = rng.choice(len(x), int(rng.integers(1, 8)), replace=False)
        layers.append(gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[pick], y[pick]),
                                       crs="EPSG:32651"))
    alone = [reachable_nodes(g, f, distance=700) for f in layers]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(5):
            together = list(pool.map(lambda f: reachable_nodes(g, f, distance=700), layers))
            for got, want in zip(together, alone, strict=True):
                assert got.index.equals(want.index)
                assert got["distance_m"].to_numpy().tobytes() == \
                    want["distance_m"].to_numpy().tobytes()


def test_a_graph_pickles_without_its_caches() -> None:
    import pickle

    g, x, y = _grid_graph(20, 7)
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x[:3], y[:3]), crs="EPSG:32651")
    before = reachable_nodes(g, fac, distance=500)
    copy = pickle.loads(pickle.dumps(g))
    assert copy._space is None and copy._csr is None
    after = reachable_nodes(copy, fac, distance=500)
    assert after.equals(before)
