"""Network reach of 40 facilities (15-minute walk = 1,200 m at 4.8 km/h) on a generated
street-like graph of about 50,000 nodes.

Compared in the same run, on the same graph and facilities:

- baoshan_gis: ONE multi-source Dijkstra (``reachable_nodes``), and the reachable-area polygons
  (``network_reach``: reachable edges cut at the budget and buffered) timed separately;
- the osmnx recipe: ``networkx.ego_graph(G, node, radius=1200, distance="length")`` per facility
  (what osmnx's isochrone example does), union of the node sets;
- pandana 0.8 (if installed: ``pip install pandana``; not a project dependency): contraction
  hierarchy built with ``precompute(1200)``, then ``nearest_pois`` for every node.

All three must return the same node set; the script checks it and prints times and ratios.
The graph: a jittered square grid (spacing ~80 m) with 12% of the streets removed and lengths
1.0-1.15x the straight line, undirected (walking).

Run: ``python benchmarks/bench_network.py [--side 224] [--facilities 40] [--minutes 15]``.
"""

from __future__ import annotations

import argparse
import os
import time

import geopandas as gpd
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.spatial

from baoshan_gis.analysis import StreetGraph, network_reach, reachable_nodes


def street_graph(side: int, spacing: float, seed: int) -> StreetGraph:
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side))
    x = 330_000 + ii.ravel() * spacing + rng.uniform(-0.2, 0.2, side * side) * spacing
    y = 3_465_000 + jj.ravel() * spacing + rng.uniform(-0.2, 0.2, side * side) * spacing
    idx = np.arange(side * side).reshape(side, side)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(len(u)) > 0.12
    u, v = u[keep], v[keep]
    length = np.hypot(x[u] - x[v], y[u] - y[v]) * rng.uniform(1.0, 1.15, len(u))
    return StreetGraph.from_arrays(x=x, y=y, u=u, v=v, length=length, crs="EPSG:32651")


def timed(func, repeat: int = 1):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=224, help="grid side (224 -> 50,176 nodes)")
    ap.add_argument("--spacing", type=float, default=80.0)
    ap.add_argument("--facilities", type=int, default=40)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--speed", type=float, default=4.8)
    args = ap.parse_args()
    limit = args.minutes * args.speed * 1000 / 60
    g = street_graph(args.side, args.spacing, seed=1)
    rng = np.random.default_rng(2)
    fnodes = rng.choice(g.n_nodes, args.facilities, replace=False)
    fac = gpd.GeoDataFrame(geometry=gpd.points_from_xy(g.x[fnodes], g.y[fnodes]), crs=g.crs)
    print(f"nproc={os.cpu_count()}; load={os.getloadavg()[0]:.2f}; graph {g.n_nodes:,} nodes, "
          f"{g.n_edges:,} edges; {args.facilities} facilities; budget {limit:g} m")

    assert scipy.sparse and scipy.sparse.csgraph and scipy.spatial  # imported before timing
    t0 = time.perf_counter()
    g.csr()  # sparse matrix and node KD-tree: built once per graph, cached on it
    g.kdtree()
    t_prep = time.perf_counter() - t0
    t_ours, nodes = timed(lambda: reachable_nodes(g, fac, distance=limit), repeat=5)
    ours_set = set(nodes.index.tolist())
    t_poly, reach = timed(lambda: network_reach(g, fac, distance=limit), repeat=1)
    print(f"baoshan_gis graph preparation (CSR matrix + KD-tree, once): {t_prep * 1e3:8.1f} ms")
    print(f"baoshan_gis multi-source search: {t_ours * 1e3:8.1f} ms  ({len(ours_set):,} nodes)")
    print(f"baoshan_gis reach polygons:      {t_poly * 1e3:8.1f} ms  "
          f"({reach.geometry.iloc[0].area / 1e6:.1f} km²)")

    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(g.n_nodes))
    G.add_weighted_edges_from(zip(g.u.tolist(), g.v.tolist(), g.length.tolist(), strict=True),
                              weight="length")

    def osmnx_recipe() -> set[int]:
        out: set[int] = set()
        for n in fnodes:
            out |= set(nx.ego_graph(G, int(n), radius=limit, distance="length").nodes)
        return out

    t_ego, ego_set = timed(osmnx_recipe, repeat=3)
    print(f"osmnx recipe (ego_graph x {args.facilities}):  {t_ego * 1e3:8.1f} ms  "
          f"same nodes: {ego_set == ours_set}  -> baoshan_gis {t_ego / t_ours:,.0f}x faster "
          f"({t_ego / (t_ours + t_prep):,.1f}x counting the one-off preparation)")

    try:
        import pandana
    except ImportError:
        print("pandana: not installed (pip install pandana) - skipped")
        return
    import pandas as pd

    nodes_df = pd.DataFrame({"x": g.x, "y": g.y})
    edges_df = pd.DataFrame({"from": g.u, "to": g.v, "length": g.length})
    t0 = time.perf_counter()
    net = pandana.Network(nodes_df["x"], nodes_df["y"], edges_df["from"], edges_df["to"],
                          edges_df[["length"]], twoway=True)
    net.precompute(limit)
    t_build = time.perf_counter() - t0

    def pandana_query() -> set[int]:
        net.set_pois("fac", limit, 1, pd.Series(g.x[fnodes]), pd.Series(g.y[fnodes]))
        d = net.nearest_pois(limit, "fac", num_pois=1)
        return set(d.index[d[1] < limit].tolist())

    t_pan, pan_set = timed(pandana_query, repeat=3)
    print(f"pandana build (contraction hierarchy + precompute): {t_build:6.2f} s")
    print(f"pandana query (set_pois + nearest_pois): {t_pan * 1e3:8.1f} ms  same nodes: "
          f"{pan_set == ours_set} ({len(pan_set):,})  -> baoshan_gis {t_pan / t_ours:,.1f}x "
          f"faster on the query, {(t_build + t_pan) / t_ours:,.0f}x including the build")


if __name__ == "__main__":
    main()
