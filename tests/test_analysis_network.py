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
