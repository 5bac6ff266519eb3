"""Network reach: one multi-source search must equal brute-force per-facility Dijkstra."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis import (
    EmptyLayerWarning,
    StreetGraph,
    load_graph,
    network_coverage,
    network_reach,
    reachable_nodes,
)

X0, Y0 = 340_000.0, 3_470_000.0
N, SP = 25, 100.0


def _grid(seed: int = 0) -> tuple[StreetGraph, nx.Graph]:
    """A jittered N x N street grid with some streets removed and wiggly lengths."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(N), np.arange(N))
    x = X0 + ii.ravel() * SP + rng.uniform(-15, 15, N * N)
    y = Y0 + jj.ravel() * SP + rng.uniform(-15, 15, N * N)
    u, v = [], []
    for j in range(N):
        for i in range(N):
            if i + 1 < N:
                u.append(j * N + i)
                v.append(j * N + i + 1)
            if j + 1 < N:
                u.append(j * N + i)
                v.append((j + 1) * N + i)
    ua, va = np.array(u), np.array(v)
    keep = rng.random(len(ua)) > 0.15
    ua, va = ua[keep], va[keep]
    length = np.hypot(x[ua] - x[va], y[ua] - y[va]) * rng.uniform(1.0, 1.4, len(ua))
    g = StreetGraph.from_arrays(x=x, y=y, u=ua, v=va, length=length, crs="EPSG:32651")
    G = nx.Graph()
    G.add_nodes_from(range(N * N))
    for a, b, ln in zip(ua, va, length, strict=True):
        G.add_edge(int(a), int(b), length=float(ln))
    return g, G


def _facilities(g: StreetGraph, nodes: list[int]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [f"f{n}" for n in nodes]},
                            geometry=gpd.points_from_xy(g.x[nodes] + 2, g.y[nodes] - 2),
                            crs=32651, index=[f"f{n}" for n in nodes])


@pytest.mark.parametrize("limit", [250.0, 600.0, 1500.0])
def test_multi_source_equals_brute_force_dijkstra(limit: float) -> None:
    g, G = _grid()
    nodes = [0, 312, 624, 140, 401]
    fac = _facilities(g, nodes)
    got = reachable_nodes(g, fac.to_crs(4326), distance=limit)
    best: dict[int, float] = {}
    owner: dict[int, str] = {}
    for n in nodes:  # brute force: one search per facility, then the minimum
        for k, d in nx.single_source_dijkstra_path_length(G, n, cutoff=limit,
                                                          weight="length").items():
            if d < best.get(k, math.inf):
                best[k], owner[k] = d, f"f{n}"
    assert set(got.index) == set(best)
    np.testing.assert_allclose(got.loc[sorted(best), "distance_m"],
                               [best[k] for k in sorted(best)], atol=1e-6)
    assert all(got.loc[k, "facility"] == owner[k] for k in best)  # random lengths: no ties


def test_reach_polygon_follows_the_reached_streets() -> None:
    g, _ = _grid(1)
    fac = _facilities(g, [312])
    limit, buf = 500.0, 30.0
    reach = network_reach(g, fac, distance=limit, edge_buffer=buf)
    poly = reach.geometry.iloc[0]
    nodes = reachable_nodes(g, fac, distance=limit)
    reached = shapely.points(g.x[nodes.index], g.y[nodes.index])
    assert shapely.contains(poly.buffer(1e-6), reached).all()
    far = np.setdiff1d(np.arange(g.n_nodes), nodes.index)
    # unreached nodes lie outside, unless within buffer distance of a reached street piece
    out = shapely.points(g.x[far], g.y[far])
    assert (~shapely.contains(poly.buffer(-1e-6), out)).mean() > 0.9
    assert reach["n_nodes"].iloc[0] == len(nodes)
    assert reach["length_m"].iloc[0] > 0
    # per facility catchments: one row per facility
    two = network_reach(g, _facilities(g, [0, 624]), distance=300, by_facility=True)
    assert sorted(two["facility"]) == ["f0", "f624"]


def test_partial_edge_is_cut_at_the_budget() -> None:
    # a single straight 1000 m street; facility at one end; 400 m budget -> 400 m of street
    g = StreetGraph.from_arrays(x=[X0, X0 + 1000], y=[Y0, Y0], u=[0], v=[1], length=[1000.0],
                                crs=32651)
    fac = gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=32651)
    reach = network_reach(g, fac, distance=400, edge_buffer=10)
    assert reach["length_m"].iloc[0] == pytest.approx(400)
    minx, _, maxx, _ = reach.total_bounds
    assert maxx == pytest.approx(X0 + 410, abs=0.5) and minx == pytest.approx(X0 - 10, abs=0.5)
    # minutes at walking speed: 5 min at 4.8 km/h = 400 m
    assert network_reach(g, fac, minutes=5, edge_buffer=10)["length_m"].iloc[0] == \
        pytest.approx(400)


def test_graphml_and_gpkg_round_trip(tmp_path: Path) -> None:
    import osmnx as ox

    g, _ = _grid(2)
    G = nx.MultiDiGraph(crs="EPSG:32651")
    for i in range(g.n_nodes):
        G.add_node(int(i) + 1000, x=float(g.x[i]), y=float(g.y[i]))
    for a, b, ln in zip(g.u, g.v, g.length, strict=True):
        G.add_edge(int(a) + 1000, int(b) + 1000, length=float(ln))
        G.add_edge(int(b) + 1000, int(a) + 1000, length=float(ln))
    path = tmp_path / "walk.graphml"
    ox.io.save_graphml(G, path)
    fac = _facilities(g, [100, 500])
    ref = reachable_nodes(g, fac, distance=700)
    via_graphml = reachable_nodes(path, fac, distance=700)
    assert sorted(via_graphml["node_id"]) == sorted(ref.index + 1000)
    # GeoPackage of edges only (nodes recovered from the end points)
    lines = [LineString([(g.x[a], g.y[a]), (g.x[b], g.y[b])]) for a, b in zip(g.u, g.v,
                                                                            strict=True)]
    edges = gpd.GeoDataFrame({"length": g.length}, geometry=lines, crs=32651).to_crs(4326)
    gpkg = tmp_path / "edges.gpkg"
    edges.to_file(gpkg, layer="edges", driver="GPKG")
    loaded = load_graph(gpkg)
    assert loaded.n_nodes == g.n_nodes
    via_gpkg = reachable_nodes(loaded, fac, distance=700)
    assert len(via_gpkg) == len(ref)
    np.testing.assert_allclose(np.sort(via_gpkg["distance_m"]), np.sort(ref["distance_m"]))


def test_graph_without_lengths_and_other_bad_input(tmp_path: Path) -> None:
    G = nx.MultiDiGraph(crs="EPSG:32651")
    G.add_node(1, x=X0, y=Y0)
    G.add_node(2, x=X0 + 100, y=Y0)
    G.add_edge(1, 2)
    with pytest.raises(AnalysisError, match="length"):
        load_graph(G)
    edges = gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 10, Y0)])], crs=32651)
    edges.to_file(tmp_path / "e.gpkg", layer="edges", driver="GPKG")
    with pytest.raises(AnalysisError, match="length"):
        load_graph(tmp_path / "e.gpkg")
    g, _ = _grid()
    fac = _facilities(g, [0])
    with pytest.raises(AnalysisError, match="greater than 0"):
        network_reach(g, fac, distance=0)
    with pytest.raises(AnalysisError, match="exactly one"):
        network_reach(g, fac)
    far = gpd.GeoDataFrame(geometry=[Point(X0 + 50_000, Y0)], crs=32651)
    with pytest.raises(AnalysisError, match="within"), pytest.warns(UserWarning):
        network_reach(g, far, distance=500)


def test_network_coverage_of_a_zone() -> None:
    g, _ = _grid(3)
    zone = gpd.GeoDataFrame({"name_zh": ["网格区"]},
                            geometry=[box(X0, Y0, X0 + (N - 1) * SP, Y0 + (N - 1) * SP)],
                            crs=32651)
    fac = _facilities(g, [312])
    small = network_coverage(zone, g, fac, distance=300)["covered_share"].iloc[0]
    big = network_coverage(zone, g, fac, distance=1200)["covered_share"].iloc[0]
    assert 0 < small < big <= 1
    # network reach is never more than the Euclidean disc of the same radius plus the buffer
    assert big * zone.area.iloc[0] <= math.pi * (1200 + 50) ** 2


def _brute(G: nx.Graph, starts: dict[str, int], limit: float) -> tuple[dict[int, float],
                                                                       dict[int, set[str]]]:
    """Per-facility Dijkstra, then the minimum; every facility at the minimum (for ties)."""
    best: dict[int, float] = {}
    owners: dict[int, set[str]] = {}
    for name, n in starts.items():
        for k, d in nx.single_source_dijkstra_path_length(G, n, cutoff=limit,
                                                          weight="length").items():
            if d < best.get(k, math.inf):
                best[k], owners[k] = d, {name}
            elif d == best[k]:
                owners[k].add(name)
    return best, owners


def test_facilities_on_one_node_unreachable_and_far_ones() -> None:
    g, G = _grid(4)
    # a second component far east: two nodes joined by one 50 m street, one facility on it
    x = np.concatenate([g.x, [X0 + 10_000, X0 + 10_050]])
    y = np.concatenate([g.y, [Y0, Y0]])
    n = g.n_nodes
    two = StreetGraph.from_arrays(x=x, y=y, u=np.append(g.u, n), v=np.append(g.v, n + 1),
                                  length=np.append(g.length, 50.0), crs=32651)
    G.add_edge(n, n + 1, length=50.0)
    pts = [(x[312] + 2, y[312]), (x[312] - 3, y[312] + 1),  # "b" and "a" share node 312
           (x[n] + 1, y[n]), (x[100], y[100]), (X0 + 50_000, Y0)]  # last: 50 km away
    fac = gpd.GeoDataFrame(geometry=[Point(p) for p in pts], crs=32651,
                           index=["b", "a", "east", "c", "far"])
    with pytest.warns(UserWarning, match="1 facilities are more than"):
        got = reachable_nodes(two, fac, distance=400)
    best, owners = _brute(G, {"b": 312, "east": n, "c": 100}, 400)
    assert list(got.index) == sorted(best)  # sorted by node position, as before
    np.testing.assert_allclose(got["distance_m"], [best[k] for k in sorted(best)], rtol=0,
                               atol=1e-9)
    assert got.loc[312, "facility"] == "b"  # first of the facilities on one node
    assert got.loc[[n, n + 1], "facility"].tolist() == ["east", "east"]
    assert got.loc[n + 1, "distance_m"] == 50.0
    assert all(got.loc[k, "facility"] in owners[k] for k in best)
    assert got["node_id"].dtype == two.node_ids.dtype
    # the polygons use the same search: the far facility is not a catchment
    with pytest.warns(UserWarning):
        reach = network_reach(two, fac, distance=400, by_facility=True)
    assert sorted(reach["facility"]) == ["b", "c", "east"]
    assert dict(zip(reach["facility"], reach["n_nodes"], strict=True)) == {
        k: int((got["facility"] == k).sum()) for k in ("b", "c", "east")}


def test_budget_boundary_is_inclusive() -> None:
    # a straight street of 100 m blocks: 0-1-2-3-4-5; a node exactly at the budget is reached
    g = StreetGraph.from_arrays(x=X0 + 100.0 * np.arange(6), y=np.full(6, Y0), u=np.arange(5),
                                v=np.arange(1, 6), length=np.full(5, 100.0), crs=32651)
    fac = gpd.GeoDataFrame(geometry=[Point(X0, Y0), Point(X0 + 500, Y0)], crs=32651)
    at = reachable_nodes(g, fac, distance=200)
    assert at.index.tolist() == [0, 1, 2, 3, 4, 5]
    assert at["distance_m"].tolist() == [0.0, 100.0, 200.0, 200.0, 100.0, 0.0]
    assert at["facility"].tolist() == [0, 0, 0, 1, 1, 1]  # 2 and 3 are each 200 m from one
    below = reachable_nodes(g, fac, distance=199.999)
    assert below.index.tolist() == [0, 1, 4, 5]


def test_empty_and_odd_facility_layers() -> None:
    from baoshan_gis.analysis._validate import EmptyLayerWarning, points_xy_in
    from baoshan_gis.analysis.network import _facility_xy

    g, _ = _grid(5)
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    with pytest.warns(EmptyLayerWarning):
        got = reachable_nodes(g, empty, distance=500)
    assert got.empty and list(got.columns) == ["node_id", "distance_m", "facility"]
    with pytest.warns(EmptyLayerWarning):
        reach = network_reach(g, empty, distance=500)
    assert reach["n_nodes"].tolist() == [0]
    # a missing geometry, an empty point, a polygon (its point on surface), in lon/lat
    odd = gpd.GeoDataFrame(geometry=[None, Point(), box(g.x[50] - 5, g.y[50] - 5, g.x[50] + 5,
                                                        g.y[50] + 5), Point(g.x[0], g.y[0])],
                           crs=32651).to_crs(4326)
    x, y, keep = _facility_xy(odd, g.crs)
    ex, ey, ekeep = points_xy_in(odd, g.crs, "facilities")  # the reference reader
    np.testing.assert_array_equal(keep, ekeep)
    np.testing.assert_allclose(np.column_stack([x, y]), np.column_stack([ex, ey]), rtol=0,
                               atol=1e-9)
    got = reachable_nodes(g, odd, distance=300)
    assert set(got["facility"]) == {2, 3}
    with pytest.raises(Exception, match="no CRS"):
        reachable_nodes(g, gpd.GeoDataFrame(geometry=[Point(X0, Y0)]), distance=300)


@pytest.mark.parametrize("index", [None, [10, 20, 30], ["a", "b", "c"], [1.5, 2.5, 3.5]])
def test_the_facility_column_holds_the_layers_own_labels(index: list | None) -> None:
    # the labels in the dtype of the layer's index (integers stay integers, strings pandas'
    # strings), as ``facilities.index[...]`` gives them; an empty layer gives the same dtype
    g, _ = _grid(2)
    nodes = [0, 312, 624]
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(g.x[nodes], g.y[nodes]), crs=32651,
                           index=index)
    got = reachable_nodes(g, fac, distance=400)
    ref = reachable_nodes(g, fac.reset_index(drop=True), distance=400)
    np.testing.assert_array_equal(got.index, ref.index)
    want = fac.index[ref["facility"].to_numpy(dtype=np.int64)]
    assert got["facility"].tolist() == want.tolist()
    assert got["facility"].dtype == fac.index.dtype
    assert set(got["facility"]) == set(fac.index)
    with pytest.warns(EmptyLayerWarning):
        empty = reachable_nodes(g, fac.iloc[:0], distance=400)
    assert empty["facility"].dtype == fac.index.dtype


def _reference_csr(u: np.ndarray, v: np.ndarray, length: np.ndarray, n: int,
                   directed: bool) -> np.ndarray:
    """The adjacency the search must see, entry by entry: the shortest of any parallel edges
    (both ways for an undirected graph), a zero length made 1e-9; inf where there is no edge."""
    m = np.full((n, n), np.inf)
    for a, b, w in zip(u.tolist(), v.tolist(), np.maximum(length, 1e-9).tolist(), strict=True):
        m[a, b] = min(m[a, b], w)
        if not directed:
            m[b, a] = min(m[b, a], w)
    return m


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_sparse_matrix_keeps_the_shortest_of_parallel_edges(seed: int, directed: bool
                                                                ) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 12)), int(rng.integers(1, 60))  # small: many parallel edges
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    length = rng.choice([0.0, 1.0, 2.5, 7.0, 40.0], m) if seed % 2 else rng.random(m) * 90
    g = StreetGraph.from_arrays(x=rng.random(n), y=rng.random(n), u=u, v=v, length=length,
                                crs="EPSG:32651", directed=directed)
    csr = g.csr()
    assert csr.has_canonical_format  # rows sorted, one entry per (row, column)
    assert csr.indices.dtype == csr.indptr.dtype == np.int32
    dense = np.full((n, n), np.inf)
    rows = np.repeat(np.arange(n), np.diff(csr.indptr))
    dense[rows, csr.indices] = csr.data
    np.testing.assert_array_equal(dense, _reference_csr(u, v, length, n, directed))


def test_a_search_takes_the_shorter_of_two_parallel_streets() -> None:
    # two streets between the same nodes (a main road and a lane): the walk takes the shorter,
    # whichever order they come in
    x, y = np.array([X0, X0 + 100, X0 + 200]), np.array([Y0, Y0, Y0])
    for u, v, length in (([0, 0, 1], [1, 1, 2], [100.0, 130.0, 100.0]),
                         ([1, 0, 1, 0], [2, 1, 0, 1], [100.0, 130.0, 100.0, 160.0])):
        g = StreetGraph.from_arrays(x=x, y=y, u=np.array(u), v=np.array(v),
                                    length=np.array(length), crs="EPSG:32651")
        fac = gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=32651)
        got = reachable_nodes(g, fac, distance=250)
        assert got["distance_m"].tolist() == [0.0, 100.0, 200.0]


@pytest.mark.parametrize("by_facility", [False, True])
def test_every_reached_node_lies_inside_its_reach_polygon(by_facility: bool) -> None:
    # the union leaves out the discs that a piece's round end already draws: every reached
    # node must still be inside its polygon with (nearly) the whole corridor half-width around
    # it, including a facility on a node with no street at all
    g, _G = _grid(5)
    n = g.n_nodes
    # node n: no street; node n + 1: 3 m from node 7, joined to it by a street of length 0,
    # with a facility of its own ("twin"; both it and "r" on node 7 are 0 from the street, which
    # is drawn as r's)
    lone = StreetGraph.from_arrays(x=np.append(g.x, [X0 + 5_000, g.x[7]]),
                                   y=np.append(g.y, [Y0, g.y[7] + 3]), u=np.append(g.u, 7),
                                   v=np.append(g.v, n + 1), length=np.append(g.length, 0.0),
                                   crs=32651)
    fac = gpd.GeoDataFrame(geometry=[Point(lone.x[k], lone.y[k] + 1)
                                     for k in (40, 333, n, 7, n + 1)],
                           crs=32651, index=["p", "q", "alone", "r", "twin"])
    nodes = reachable_nodes(lone, fac, distance=700)
    reach = network_reach(lone, fac, distance=700, edge_buffer=50, by_facility=by_facility)
    polys = dict(zip(reach["facility"], reach.geometry, strict=True))
    assert n in nodes.index and nodes.loc[n, "facility"] == "alone"
    assert nodes.loc[n + 1, "facility"] == "twin"
    # 49 m: the corridor's 50 m less the most a 16-sided disc's chord cuts off (0.96 m)
    for node, who in nodes["facility"].items():
        disc = Point(lone.x[node], lone.y[node]).buffer(49.0)
        assert polys[who if by_facility else "all"].contains(disc), (node, who)
    assert reach["n_nodes"].sum() == len(nodes)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_the_union_in_strips_equals_one_union(cores: int, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    from baoshan_gis.analysis import _union

    rng = np.random.default_rng(cores)
    origin = np.array([X0, Y0])
    start = rng.uniform(0, 3_000, (2_500, 2)) + origin
    end = start + rng.normal(0, 60, (2_500, 2))
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    geoms = np.concatenate([lines, shapely.points(rng.uniform(0, 3_000, (300, 2)) + origin)])
    assert len(geoms) >= _union.PARALLEL_UNION_MIN
    monkeypatch.setattr(_union, "_cores", lambda: cores)
    got = _union.buffered_union(geoms, 50.0, quad_segs=4)
    want = shapely.union_all(shapely.buffer(geoms, 50.0, quad_segs=4))
    assert got.is_valid and got.geom_type in ("Polygon", "MultiPolygon")
    assert got.area == pytest.approx(want.area, rel=1e-9)
    assert got.symmetric_difference(want).area < 1e-6 * want.area


def test_substrings_equal_shapelys_substring_one_at_a_time() -> None:
    from shapely.ops import substring

    from baoshan_gis.analysis.network import substrings

    rng = np.random.default_rng(11)
    lines, lo, hi = [], [], []
    for k in range(300):
        m = int(rng.integers(2, 9))
        pts = np.cumsum(rng.normal(0, 40, (m, 2)), axis=0) + np.array([X0, Y0])
        if k % 7 == 0:
            pts[1] = pts[0]  # a repeated vertex
        lines.append(LineString(pts))
        a, b = sorted(rng.uniform(0, 1, 2))
        lo.append(0.0 if k % 3 == 0 else a)
        hi.append(1.0 if k % 3 == 1 else b)
    got = substrings(np.array(lines, dtype=object), np.array(lo), np.array(hi))
    assert len(got) == len(lines)
    for line, a, b, piece in zip(lines, lo, hi, got, strict=True):
        want = substring(line, a, b, normalized=True)
        assert piece.length == pytest.approx(want.length, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(shapely.get_coordinates(piece),
                                   shapely.get_coordinates(want), rtol=0, atol=1e-9)
