"""Network reach of 40 facilities (15-minute walk = 1,200 m at 4.8 km/h) on a generated
street-like graph of about 50,000 nodes.

Compared on the same graph, the same facilities and the same budget; every method must return
the same node set (checked: count and a hash of the sorted node positions):

- baoshan_gis: the query a planner calls, ``reachable_nodes(graph, facility_layer, distance=)``:
  facility snapping (KD-tree), ONE bounded multi-source search (the compiled search of
  ``baoshan_gis/analysis/_dijkstra.pyx``) and the labelled result frame;
- baoshan_gis_nodes: the same search at the level of networkx's call, node ids in and distances
  out: ``StreetGraph.reached_from(nodes, 1200)`` (public), given the facilities' node positions
  as networkx is given its source nodes (both prepared before timing); it also says which
  source reached each node, which networkx's call does not;
- networkx's own multi-source search, the fair anchor:
  ``nx.multi_source_dijkstra_path_length(G, facilities, cutoff=1200, weight="length")``;
- nx_planner: the same multi-source search in the recipe a planner would write with networkx to
  get what ``reachable_nodes`` gives: the same facility layer snapped to its nearest nodes on a
  scipy KD-tree (what ``osmnx.distance.nearest_nodes`` does for a projected graph; the tree is
  built once, before timing, where osmnx builds it on every call), ONE
  ``nx.multi_source_dijkstra(G, nodes, cutoff=1200, weight="length")`` whose paths say which
  facility reached each node (``p[0]``, as networkx's own ``voronoi_cells`` does), and the same
  frame (``node_id``, ``distance_m``, ``facility`` by node; checked equal to baoshan_gis's);
- the osmnx recipe (secondary): ``networkx.ego_graph(G, node, radius=1200, distance="length")``
  per facility (what osmnx's isochrone example does), union of the node sets;
- pandana 0.8 (secondary, if installed: ``pip install pandana``; not a project dependency):
  contraction hierarchy built with ``precompute(1200)``, then ``nearest_pois`` for every node;
- the floors (not anchors, ``--floors``): the bare scipy call the compiled search replaced (still
  the fallback without a C compiler), and the same scipy search from one virtual super-source,
  each on the pre-built CSR and pre-snapped nodes.

Three ratios to networkx, all printed: ``baoshan_gis_nodes`` does the same work as networkx's
call; ``baoshan_gis`` does the same work as ``nx_planner``; and ``baoshan_gis`` against
networkx's bare call, where ours does more (snapping a facility layer and building a labelled
frame, which networkx's call leaves to its user), is the conservative figure.

Method (issue 11, item 6): every measurement is a FRESH Python process (cold: imports done
before timing, then the library's graph object is built from the same arrays, then the first
query, then warm repeats); the methods' processes are interleaved (the order rotates each
round); three rounds by default. Printed per method: median and spread (min-max) of the build,
the first (cold) query, build + first query, and the warm query (median of 5 repeats inside a
process), and the anchor / baoshan_gis ratios. The graph: a jittered square grid (spacing ~80 m)
with 12% of the streets removed and lengths 1.0-1.15x the straight line, undirected (walking).

Run: ``python benchmarks/bench_network.py [--side 224] [--facilities 40] [--minutes 15]
[--rounds 3] [--no-pandana] [--polygons] [--floors] [--methods baoshan_gis,nx_multi_source]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

METHODS = (
    "baoshan_gis",
    "baoshan_gis_nodes",
    "nx_multi_source",
    "nx_planner",
    "osmnx_ego_graph",
    "pandana",
)
#: The project's own methods; the others are anchors.
OURS = ("baoshan_gis", "baoshan_gis_nodes")
#: Not anchors: the bare scipy searches, timed the same way, to show the floor.
#: ``scipy_min_only``: ``dijkstra(csr, indices=starts, min_only=True, limit=...,
#: return_predecessors=True)`` on the pre-built CSR and the pre-snapped start nodes;
#: ``scipy_super_source``: one extra CSR row (a virtual source with near-zero edges to the start
#: nodes) appended per query, then ONE single-source ``dijkstra(indices=n, limit=...)``.
FLOORS = ("scipy_min_only", "scipy_super_source")
WARM_REPEATS = 5


def street_arrays(side: int, spacing: float, seed: int) -> dict[str, np.ndarray]:
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
    return {"x": x, "y": y, "u": u, "v": v, "length": length}


def frame_hash(frame: Any) -> str:
    """Digest of a result frame's index and columns (the two frame-returning methods)."""
    parts = [np.asarray(frame.index, dtype=np.int64)]
    parts += [
        np.asarray(frame[c], dtype=t)
        for c, t in (("node_id", np.int64), ("distance_m", np.float64), ("facility", np.int64))
    ]
    return hashlib.sha256(b"".join(p.tobytes() for p in parts)).hexdigest()[:16]


def node_hash(nodes: Any) -> tuple[int, str]:
    arr = np.sort(np.fromiter((int(n) for n in nodes), dtype=np.int64))
    return len(arr), hashlib.sha256(arr.tobytes()).hexdigest()[:16]


def _setup(
    method: str, a: dict[str, np.ndarray], fnodes: np.ndarray, limit: float
) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(build, query) for one method; ``query`` returns the reached node positions."""
    if method == "baoshan_gis":
        import geopandas as gpd
        import scipy.sparse.csgraph  # the library imports these lazily: import before timing
        import scipy.spatial

        from baoshan_gis.analysis import StreetGraph, reachable_nodes

        assert scipy.sparse.csgraph and scipy.spatial

        fac = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(a["x"][fnodes], a["y"][fnodes]), crs="EPSG:32651"
        )
        state: dict[str, Any] = {}

        def build() -> None:
            g = StreetGraph.from_arrays(
                x=a["x"], y=a["y"], u=a["u"], v=a["v"], length=a["length"], crs="EPSG:32651"
            )
            g.csr()  # sparse matrix and node KD-tree, cached on the graph
            g.kdtree()
            state["g"] = g

        def query() -> Any:
            return reachable_nodes(state["g"], fac, distance=limit)

        return build, query
    if method == "baoshan_gis_nodes":
        import scipy.sparse  # imported lazily by the library: import before timing

        from baoshan_gis.analysis import StreetGraph

        assert scipy.sparse

        state = {}
        starts = np.unique(fnodes).astype(np.int64)  # node positions, as networkx gets node ids

        def build() -> None:
            g = StreetGraph.from_arrays(
                x=a["x"], y=a["y"], u=a["u"], v=a["v"], length=a["length"], crs="EPSG:32651"
            )
            g.csr()  # the search's sparse matrix and buffers, cached on the graph
            state["g"] = g

        def query() -> Any:
            nodes, _dist, _origin = state["g"].reached_from(starts, limit)
            return nodes

        return build, query
    if method in FLOORS:
        import scipy.sparse as sp
        from scipy.sparse.csgraph import dijkstra

        from baoshan_gis.analysis import StreetGraph

        state = {}

        def build() -> None:
            g = StreetGraph.from_arrays(
                x=a["x"], y=a["y"], u=a["u"], v=a["v"], length=a["length"], crs="EPSG:32651"
            )
            state["csr"] = g.csr()
            state["starts"] = np.unique(fnodes).astype(np.int32)

        if method == "scipy_min_only":

            def query() -> Any:
                dist, _pred, _src = dijkstra(
                    state["csr"],
                    directed=True,
                    indices=state["starts"],
                    min_only=True,
                    limit=limit,
                    return_predecessors=True,
                )
                return np.flatnonzero(np.isfinite(dist))
        else:

            def query() -> Any:
                m, starts = state["csr"], state["starts"]
                n, k = m.shape[0], len(starts)
                # csgraph drops explicit zeros: the virtual edges get the smallest length
                s = sp.csr_matrix(
                    (
                        np.concatenate([m.data, np.full(k, 5e-324)]),
                        np.concatenate([m.indices, starts]),
                        np.concatenate([m.indptr, [m.indptr[-1] + k]]),
                    ),
                    shape=(n + 1, n + 1),
                )
                dist = dijkstra(s, directed=True, indices=n, limit=limit)
                return np.flatnonzero(np.isfinite(dist[:n]))

        return build, query
    if method in ("nx_multi_source", "nx_planner", "osmnx_ego_graph"):
        import networkx as nx
        import scipy.spatial

        state = {}
        sources = [int(n) for n in fnodes]

        def build() -> None:
            G = nx.Graph()
            G.add_nodes_from(range(len(a["x"])))
            G.add_weighted_edges_from(
                zip(a["u"].tolist(), a["v"].tolist(), a["length"].tolist(), strict=True),
                weight="length",
            )
            state["G"] = G
            if method == "nx_planner":  # osmnx's nearest_nodes builds this tree on every call
                state["tree"] = scipy.spatial.cKDTree(np.column_stack([a["x"], a["y"]]))

        if method == "nx_planner":
            import geopandas as gpd
            import pandas as pd
            import shapely

            fac = gpd.GeoDataFrame(
                geometry=gpd.points_from_xy(a["x"][fnodes], a["y"][fnodes]), crs="EPSG:32651"
            )

            def query() -> Any:
                # reachable_nodes' work with networkx: snap the layer (as osmnx.nearest_nodes
                # does, on the tree built above), one multi-source search whose paths say which
                # source reached each node (networkx's own voronoi_cells does this), and the same
                # frame: node_id, distance_m and the label of the nearest facility, by node
                _d, pos = state["tree"].query(shapely.get_coordinates(fac.geometry.array))
                label: dict[int, Any] = {}
                for lab, n in zip(fac.index, pos.tolist(), strict=True):
                    label.setdefault(n, lab)  # the first facility on a node
                dist, paths = nx.multi_source_dijkstra(
                    state["G"], set(label), cutoff=limit, weight="length"
                )
                nodes = np.fromiter(sorted(dist), dtype=np.int64, count=len(dist))
                frame = pd.DataFrame(
                    {
                        "node_id": nodes,
                        "distance_m": [dist[n] for n in nodes.tolist()],
                        "facility": [label[paths[n][0]] for n in nodes.tolist()],
                    },
                    index=nodes,
                )
                return frame
        elif method == "nx_multi_source":

            def query() -> Any:
                return nx.multi_source_dijkstra_path_length(
                    state["G"], sources, cutoff=limit, weight="length"
                ).keys()
        else:

            def query() -> Any:
                out: set[int] = set()
                for n in sources:
                    out |= set(nx.ego_graph(state["G"], n, radius=limit, distance="length").nodes)
                return out

        return build, query
    if method == "pandana":
        import pandana
        import pandas as pd

        state = {}

        def build() -> None:
            net = pandana.Network(
                pd.Series(a["x"]),
                pd.Series(a["y"]),
                pd.Series(a["u"]),
                pd.Series(a["v"]),
                pd.DataFrame({"length": a["length"]}),
                twoway=True,
            )
            net.precompute(limit)
            state["net"] = net

        def query() -> Any:
            net = state["net"]
            net.set_pois("fac", limit, 1, pd.Series(a["x"][fnodes]), pd.Series(a["y"][fnodes]))
            d = net.nearest_pois(limit, "fac", num_pois=1)
            return d.index[d[1] < limit]

        return build, query
    raise ValueError(method)


def child(args: argparse.Namespace) -> None:
    """One cold measurement of one method in this fresh process; prints one JSON line."""
    limit = args.minutes * args.speed * 1000 / 60
    a = street_arrays(args.side, args.spacing, seed=1)
    fnodes = np.random.default_rng(2).choice(len(a["x"]), args.facilities, replace=False)
    build, query = _setup(args.child, a, fnodes, limit)  # imports happen here, untimed
    # as timeit does, no cyclic garbage collection while timed: a pass over networkx's millions
    # of dicts could otherwise land in one method's query and not another's (it only ever
    # slowed the networkx methods: collecting is theirs to pay, and this is in their favour)
    gc.disable()
    t0 = time.perf_counter()
    build()
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    nodes = query()
    t_first = time.perf_counter() - t0
    warm = []
    for _ in range(WARM_REPEATS):
        t0 = time.perf_counter()
        query()
        warm.append(time.perf_counter() - t0)
    gc.enable()
    frame = None
    if hasattr(nodes, "columns"):  # a result frame: its index holds the nodes
        frame, nodes = frame_hash(nodes), nodes.index
    count, digest = node_hash(nodes)
    out = {
        "method": args.child,
        "build": t_build,
        "first": t_first,
        "warm": statistics.median(warm),
        "count": count,
        "hash": digest,
        "frame": frame,
        "load": os.getloadavg()[0],
    }
    if args.polygons and args.child == "baoshan_gis":
        from baoshan_gis.analysis import network_reach

        g = _setup_graph_only(a)
        import geopandas as gpd

        fac = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(a["x"][fnodes], a["y"][fnodes]), crs="EPSG:32651"
        )
        t0 = time.perf_counter()
        reach = network_reach(g, fac, distance=limit)
        out["polygons"] = time.perf_counter() - t0
        out["area_km2"] = float(reach.geometry.iloc[0].area / 1e6)
    print("RESULT " + json.dumps(out))


def _setup_graph_only(a: dict[str, np.ndarray]) -> Any:
    from baoshan_gis.analysis import StreetGraph

    return StreetGraph.from_arrays(
        x=a["x"], y=a["y"], u=a["u"], v=a["v"], length=a["length"], crs="EPSG:32651"
    )


def fmt(values: list[float], scale: float = 1e3, digits: int = 1) -> str:
    med = statistics.median(values)
    return (
        f"{med * scale:,.{digits}f} ({min(values) * scale:,.{digits}f}-"
        f"{max(values) * scale:,.{digits}f})"
    )


def ratio_text(anchor: list[float], ours: list[float]) -> str:
    """Ratio of the medians, and the spread of the per-round ratios."""
    per = [a / o for a, o in zip(anchor, ours, strict=True)]
    return (
        f"{statistics.median(anchor) / statistics.median(ours):,.1f}x "
        f"(rounds {min(per):,.1f}-{max(per):,.1f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=224, help="grid side (224 -> 50,176 nodes)")
    ap.add_argument("--spacing", type=float, default=80.0)
    ap.add_argument("--facilities", type=int, default=40)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--speed", type=float, default=4.8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-pandana", action="store_true", help="skip pandana even if installed")
    ap.add_argument(
        "--polygons",
        action="store_true",
        help="also time network_reach (reach polygons) in each baoshan_gis process",
    )
    ap.add_argument(
        "--floors",
        action="store_true",
        help="also time the bare searches (the floor of baoshan_gis's query; not anchors)",
    )
    ap.add_argument("--methods", help="comma-separated subset of the methods (baoshan_gis first)")
    ap.add_argument("--child", choices=METHODS + FLOORS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    methods = list(METHODS)
    try:
        import pandana  # noqa: F401
    except ImportError:
        print("pandana: not installed (pip install pandana) - skipped")
        methods.remove("pandana")
    if args.no_pandana and "pandana" in methods:
        methods.remove("pandana")
    if args.methods:
        wanted = args.methods.split(",")
        methods = [m for m in methods if m in wanted or m in OURS]
    floors = list(FLOORS) if args.floors else []
    limit = args.minutes * args.speed * 1000 / 60
    a = street_arrays(args.side, args.spacing, seed=1)
    n_edges = len(a["u"])
    print(
        f"nproc={os.cpu_count()}; load at start {os.getloadavg()[0]:.2f}; graph "
        f"{len(a['x']):,} nodes, {n_edges:,} edges; {args.facilities} facilities; budget "
        f"{limit:g} m; {args.rounds} rounds, fresh process per method per round"
    )
    base = [
        sys.executable,
        os.path.abspath(__file__),
        "--side",
        str(args.side),
        "--spacing",
        str(args.spacing),
        "--facilities",
        str(args.facilities),
        "--minutes",
        str(args.minutes),
        "--speed",
        str(args.speed),
    ] + (["--polygons"] if args.polygons else [])
    timed = methods + floors
    res: dict[str, list[dict[str, Any]]] = {m: [] for m in timed}
    for r in range(args.rounds):
        order = timed[r % len(timed) :] + timed[: r % len(timed)]
        for m in order:
            p = subprocess.run([*base, "--child", m], capture_output=True, text=True, check=True)
            row = json.loads(p.stdout.rsplit("RESULT ", 1)[1].splitlines()[0])  # pandana prints too
            res[m].append(row)
            print(
                f"  round {r + 1} {m:16s} build {row['build'] * 1e3:9.1f} ms  first "
                f"{row['first'] * 1e3:8.1f} ms  warm {row['warm'] * 1e3:8.1f} ms  "
                f"{row['count']:,} nodes  load {row['load']:.2f}",
                flush=True,
            )
    ref = res["baoshan_gis"][0]
    loads = [row["load"] for rows in res.values() for row in rows]
    print(f"\nload average during the runs: {min(loads):.2f}-{max(loads):.2f}")
    print("median (min-max) over rounds, ms; every method cold in a fresh process:")
    for m in timed:
        rows = res[m]
        same = all(row["count"] == ref["count"] and row["hash"] == ref["hash"] for row in rows)
        print(
            f"{m:16s} build {fmt([x['build'] for x in rows])}  first query "
            f"{fmt([x['first'] for x in rows])}  build+first "
            f"{fmt([x['build'] + x['first'] for x in rows])}  warm "
            f"{fmt([x['warm'] for x in rows], digits=2)}  same nodes as baoshan_gis: {same} "
            f"({rows[0]['count']:,})"
            + (
                f"; same frame: {all(x['frame'] == ref['frame'] for x in rows)}"
                if rows[0].get("frame") and m != "baoshan_gis"
                else ""
            )
        )
    ours = res["baoshan_gis"]
    o_first = [x["first"] for x in ours]
    o_total = [x["build"] + x["first"] for x in ours]
    o_warm = [x["warm"] for x in ours]
    print(
        "\nanchor / baoshan_gis (ratio of medians; spread of the per-round ratios; nx_planner "
        "does the same work as baoshan_gis, nx_multi_source less):"
    )
    for m in methods:
        if m in OURS:
            continue
        rows = res[m]
        print(
            f"{m:16s} cold first query {ratio_text([x['first'] for x in rows], o_first)}; "
            f"cold build+first {ratio_text([x['build'] + x['first'] for x in rows], o_total)};"
            f" warm {ratio_text([x['warm'] for x in rows], o_warm)}"
        )
    nx_rows = res.get("nx_multi_source", [])
    if nx_rows:
        nodes = res["baoshan_gis_nodes"]
        cold = ratio_text([x["first"] for x in nx_rows], [x["first"] for x in nodes])
        total = ratio_text(
            [x["build"] + x["first"] for x in nx_rows], [x["build"] + x["first"] for x in nodes]
        )
        warm = ratio_text([x["warm"] for x in nx_rows], [x["warm"] for x in nodes])
        print(
            "networkx multi-source / baoshan_gis_nodes (the same work: node ids in, distances "
            f"out): cold first query {cold}; cold build+first {total}; warm {warm}"
        )
    for m in floors if nx_rows else []:
        rows = res[m]
        cold = ratio_text([x["first"] for x in nx_rows], [x["first"] for x in rows])
        warm = ratio_text([x["warm"] for x in nx_rows], [x["warm"] for x in rows])
        print(
            f"floor {m}: networkx multi-source / this bare call: cold first query {cold}; "
            f"warm {warm} (the most a query built on this call could reach)"
        )
    if args.polygons:
        print(
            f"baoshan_gis reach polygons (network_reach): "
            f"{fmt([x['polygons'] for x in ours], scale=1.0, digits=2)} s, "
            f"{ours[0]['area_km2']:.1f} km²"
        )


if __name__ == "__main__":
    main()
