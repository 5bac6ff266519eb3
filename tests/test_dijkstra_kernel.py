"""The compiled bounded multi-source Dijkstra must give scipy's distances, bit for bit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from baoshan_gis.analysis import StreetGraph, network, reachable_nodes
from baoshan_gis.analysis._dijkstra import NOT_REACHED, bounded_multi_source


def test_the_compiled_kernel_is_what_network_reach_uses() -> None:
    # hatch_build.py compiles it at install; without a compiler the scipy fallback would be used
    # silently, and every speed figure in benchmarks/README.md would be wrong
    assert network._compiled_search is bounded_multi_source


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


def test_reachable_nodes_is_the_same_with_the_scipy_fallback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    side = 40
    ii, jj = np.meshgrid(np.arange(side), np.arange(side))
    x = 330_000 + ii.ravel() * 80.0 + rng.uniform(-15, 15, side * side)
    y = 3_465_000 + jj.ravel() * 80.0 + rng.uniform(-15, 15, side * side)
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.15, len(u))
    g = StreetGraph.from_arrays(x=x, y=y, u=u, v=v, length=length, crs="EPSG:32651")
    pick = rng.choice(side * side, 6, replace=False)
    fac = gpd.GeoDataFrame({"name": [f"f{i}" for i in range(6)]},
                           geometry=gpd.points_from_xy(x[pick] + 3, y[pick] - 3), crs="EPSG:32651",
                           index=[10, 11, 12, 13, 14, 15])
    compiled = reachable_nodes(g, fac, distance=600)
    monkeypatch.setattr(network, "_compiled_search", None)
    fallback = reachable_nodes(g, fac, distance=600)
    assert len(compiled) > 100
    assert compiled.index.equals(fallback.index)
    got, want = compiled["distance_m"].to_numpy(), fallback["distance_m"].to_numpy()
    assert got.tobytes() == want.tobytes()
    assert compiled["facility"].tolist() == fallback["facility"].tolist()
    assert set(compiled["facility"]) <= {10, 11, 12, 13, 14, 15}
