"""The street graph: arrays, their CSR matrix and KD-tree, and the loaders that make one.

A :class:`StreetGraph` holds the nodes (metric coordinates) and edges (lengths) of a street
network in array form, with its sparse matrix, node KD-tree and the compiled search's buffers
cached on first use. It comes from a GraphML file saved by osmnx (``baoshan-gis fetch-osm`` or
``osmnx.save_graphml``), a GeoPackage with an ``edges`` layer (``u``, ``v``, ``length``;
optionally a ``nodes`` layer with ``osmid``), the ``street_nodes``/``street_edges`` layers of a
built GeoPackage, a networkx graph with node ``x``/``y`` and edge ``length``, or arrays
(:meth:`StreetGraph.from_arrays`). The analyses on it are in ``network.py``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis._validate import metric_crs, to_metric

try:  # the compiled search (hatch_build.py builds it at install); scipy's gives the same results
    from baoshan_gis.analysis._dijkstra import SearchSpace as _CompiledSpace
    from baoshan_gis.analysis._dijkstra import bucket_width as _bucket_width
except ImportError:  # pragma: no cover - installed without a C compiler
    _CompiledSpace = None  # type: ignore[assignment,misc]


@dataclass
class StreetGraph:
    """A street graph in array form, coordinates in a metric CRS.

    Attributes
    ----------
    node_ids
        Node identifiers (e.g. OSM ids), length n.
    x, y
        Node coordinates in ``crs`` (metres).
    u, v
        Edge endpoints as positions into the node arrays.
    length
        Edge lengths, metres (> 0).
    crs
        The metric CRS.
    directed
        Whether edges may only be travelled from ``u`` to ``v`` (driving); walking graphs are
        undirected.
    geometry
        Optional edge geometries (LineStrings from u to v in ``crs``); straight lines if None.
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    crs: CRS
    directed: bool = False
    geometry: np.ndarray | None = None
    _csr: Any = None
    _tree: Any = None
    _space: Any = None
    _width: float = 0.0
    _space_lock: threading.Lock = field(default_factory=threading.Lock, repr=False,
                                        compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # the caches (and the lock) are rebuilt on use, not pickled
        return {k: v for k, v in self.__dict__.items()
                if k not in ("_csr", "_tree", "_space", "_width", "_space_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _csr=None, _tree=None, _space=None, _width=0.0,
                             _space_lock=threading.Lock())

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.u)

    @classmethod
    def from_arrays(cls, *, x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
                    length: np.ndarray | None, crs: Any, node_ids: np.ndarray | None = None,
                    directed: bool = False, geometry: np.ndarray | None = None) -> StreetGraph:
        """Build and validate a graph from arrays (``length`` is required, metres)."""
        target = metric_crs(crs)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        if length is None:
            raise AnalysisError(
                "the graph's edges have no 'length': add lengths in metres first (e.g. "
                "osmnx.distance.add_edge_lengths(G)) or give an edges layer with a 'length' column"
            )
        length = np.asarray(length, dtype=float)
        if len(u) != len(v) or len(u) != len(length):
            raise AnalysisError("edge arrays u, v and length must have the same length")
        if len(x) == 0 or len(u) == 0:
            raise AnalysisError("the graph has no nodes or no edges")
        if not np.isfinite(length).all() or (length < 0).any():
            bad = int((~np.isfinite(length) | (length < 0)).sum())
            raise AnalysisError(
                f"{bad} edges have a missing, negative or infinite 'length'; every edge needs a "
                "length in metres"
            )
        if u.min() < 0 or v.min() < 0 or max(u.max(), v.max()) >= len(x):
            raise AnalysisError("edge endpoints refer to nodes that do not exist")
        ids = np.arange(len(x)) if node_ids is None else np.asarray(node_ids)
        return cls(node_ids=ids, x=x, y=y, u=u, v=v, length=length, crs=target,
                   directed=directed, geometry=geometry)

    def csr(self) -> Any:
        """The sparse adjacency matrix, cached (symmetric for undirected graphs, so one search
        needs no conversion; shortest parallel edge kept; zero lengths made tiny).

        Built with it: the compiled search's node-sized buffers, kept on the graph between
        searches (each search resets only what it touched), and the width of its distance
        bands (the 1st-percentile edge length)."""
        if self._csr is None:
            from scipy.sparse import csr_matrix

            n = self.n_nodes
            w = np.maximum(self.length, 1e-9)  # csgraph would drop explicit zeros as non-edges
            vtype = np.int32 if n < 2**31 else np.int64  # node positions: half the memory
            u, v = self.u.astype(vtype), self.v.astype(vtype)
            if not self.directed:
                u, v, w = np.concatenate([u, v]), np.concatenate([v, u]), np.concatenate([w, w])
            # one int64 key per (row, column), sorted stably (numpy's radix sort: 0.8 ms for
            # the 176,000 entries of the benchmark graph, where a lexsort of (u, v, w) took 36)
            key = u.astype(np.int64) * n + v.astype(np.int64)
            order = np.argsort(key, kind="stable")
            key = key[order]
            dup = key[1:] == key[:-1]
            rows = u
            if dup.any():  # parallel edges: keep the shortest of each
                at = np.flatnonzero(np.concatenate([[True], ~dup]))
                data = np.minimum.reduceat(w[order], at)
                order = order[at]
                rows = u[order]
            else:
                data = w[order]
            cols = v[order]
            itype = np.int32 if max(n, len(cols)) < 2**31 else np.int64  # as scipy chooses
            indptr = np.zeros(n + 1, dtype=itype)
            np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
            self._csr = csr_matrix((data, cols.astype(itype, copy=False), indptr), shape=(n, n))
            if _CompiledSpace is not None:
                self._width = _bucket_width(self._csr.data)
                self._space = _CompiledSpace(n)
        return self._csr

    def reached_from(self, starts: np.ndarray, limit: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ONE bounded multi-source search from the sorted unique node positions ``starts``.

        Returns the positions of the nodes within ``limit`` (ascending), the distance of each to
        its nearest start and that start's position in ``starts``.
        """
        m = self.csr()  # already symmetric for undirected graphs: searched as directed
        if _CompiledSpace is None:
            from scipy.sparse.csgraph import dijkstra

            full, _pred, sources = dijkstra(m, directed=True, indices=starts, min_only=True,
                                            limit=limit, return_predecessors=True)
            reached = np.flatnonzero(np.isfinite(full))
            return reached, full[reached], np.searchsorted(starts, sources[reached])
        if self._space is not None and self._space_lock.acquire(blocking=False):
            try:
                return self._space.reached(m.indptr, m.indices, m.data, starts, limit,
                                           self._width)
            finally:
                self._space_lock.release()
        # another thread is searching this graph: a space of its own, not a wait
        return _CompiledSpace(self.n_nodes).reached(m.indptr, m.indices, m.data, starts, limit,
                                                    self._width)

    def kdtree(self) -> Any:
        """A cached ``scipy.spatial.cKDTree`` of the node coordinates.

        Split at the sliding midpoint (``balanced_tree=False``) rather than the median: half the
        build time (7 against 13 ms for the 50,176 nodes of ``benchmarks/bench_network.py``)
        and queries as fast (40 and 20,000 points, cold and warm)."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(np.column_stack([self.x, self.y]), balanced_tree=False)
        return self._tree


def _from_networkx(graph: Any, *, crs: Any = None, directed: bool | None = None) -> StreetGraph:
    if graph.number_of_nodes() == 0 or graph.number_of_edges() == 0:
        raise AnalysisError("the graph has no nodes or no edges")
    src_crs = graph.graph.get("crs", "EPSG:4326")
    nodes = list(graph.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    try:
        xs = np.array([graph.nodes[n]["x"] for n in nodes], dtype=float)
        ys = np.array([graph.nodes[n]["y"] for n in nodes], dtype=float)
    except KeyError:
        raise AnalysisError("graph nodes need 'x' and 'y' coordinates (as osmnx graphs have)"
                            ) from None
    us, vs, lens, geoms = [], [], [], []
    missing = 0
    has_geom = False
    edges = (graph.edges(keys=True, data=True) if graph.is_multigraph()
             else ((a, b, 0, d) for a, b, d in graph.edges(data=True)))
    for a, b, _k, d in edges:
        length = d.get("length")
        if length is None:
            missing += 1
            continue
        us.append(pos[a])
        vs.append(pos[b])
        lens.append(float(length))
        g = d.get("geometry")
        has_geom = has_geom or g is not None
        geoms.append(g)
    if missing:
        raise AnalysisError(
            f"{missing} of {graph.number_of_edges()} graph edges have no 'length' attribute; add "
            "lengths in metres first (osmnx.distance.add_edge_lengths(G))"
        )
    target = metric_crs(crs)
    from pyproj import Transformer

    tr = Transformer.from_crs(src_crs, target, always_xy=True)
    mx, my = tr.transform(xs, ys)
    geometry = None
    if has_geom:
        ux, uy, vx, vy = mx[us], my[us], mx[vs], my[vs]
        straight = shapely.linestrings(
            np.stack([np.stack([ux, vx], 1), np.stack([uy, vy], 1)], axis=2))
        arr = np.array(geoms, dtype=object)
        given = np.array([g is not None for g in geoms])
        if given.any():
            moved = shapely.transform(arr[given], lambda c: np.column_stack(
                tr.transform(c[:, 0], c[:, 1])))
            straight[given] = moved
        geometry = straight
    is_directed = bool(directed)  # default: walking, both directions
    return StreetGraph.from_arrays(x=mx, y=my, u=np.array(us), v=np.array(vs),
                                   length=np.array(lens), crs=target,
                                   node_ids=np.array(nodes), directed=is_directed,
                                   geometry=geometry)


def _from_gpkg(path: Path, *, crs: Any = None, directed: bool = False,
               nodes_layer: str = "nodes", edges_layer: str = "edges") -> StreetGraph:
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(path)]
    if edges_layer not in layers:
        raise AnalysisError(
            f"GeoPackage {path.name!r} has no {edges_layer!r} layer (layers: {', '.join(layers)}); "
            "save the street graph with osmnx.save_graph_geopackage, import an OSM extract "
            "('baoshan-gis osm import'), or give a GraphML file"
        )
    edges = pyogrio.read_dataframe(path, layer=edges_layer)
    if "length" not in edges.columns or edges["length"].isna().any():
        raise AnalysisError(
            f"the 'edges' layer of {path.name!r} has no complete 'length' column (metres): "
            "every edge needs a length"
        )
    em = to_metric(edges, "edges", crs)
    geoms = em.geometry.to_numpy()
    start = shapely.get_point(geoms, 0)
    end = shapely.get_point(geoms, -1)
    if nodes_layer in layers and {"u", "v"} <= set(edges.columns):
        nodes = pyogrio.read_dataframe(path, layer=nodes_layer)
        nm = to_metric(nodes, "nodes", em.crs)
        id_col = "osmid" if "osmid" in nm.columns else nm.columns[0]
        ids = nm[id_col].to_numpy()
        lookup = pd.Series(np.arange(len(ids)), index=ids)
        u = lookup.reindex(edges["u"].to_numpy()).to_numpy()
        v = lookup.reindex(edges["v"].to_numpy()).to_numpy()
        if np.isnan(u.astype(float)).any() or np.isnan(v.astype(float)).any():
            raise AnalysisError(f"edges of {path.name!r} refer to nodes missing from 'nodes'")
        return StreetGraph.from_arrays(x=nm.geometry.x.to_numpy(), y=nm.geometry.y.to_numpy(),
                                       u=u.astype(np.int64), v=v.astype(np.int64),
                                       length=edges["length"].to_numpy(), crs=em.crs,
                                       node_ids=ids, directed=directed, geometry=geoms)
    # no nodes layer: nodes are the edge end points (snapped to 1 cm)
    pts = np.vstack([shapely.get_coordinates(start), shapely.get_coordinates(end)])
    keys = np.round(pts, 2)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = len(geoms)
    return StreetGraph.from_arrays(x=uniq[:, 0], y=uniq[:, 1], u=inv[:n], v=inv[n:],
                                   length=edges["length"].to_numpy(), crs=em.crs,
                                   directed=directed, geometry=geoms)


#: Street graphs stored in a GeoPackage, by name: ``(nodes layer, edges layer, directed)``.
GPKG_GRAPHS: dict[str, tuple[str, str, bool]] = {
    "street": ("street_nodes", "street_edges", False),
    "walk": ("street_nodes", "street_edges", False),
    "drive": ("drive_nodes", "drive_edges", True),
}


def graph_from_gpkg(gpkg: str | os.PathLike[str], name: str = "street", *, crs: Any = None,
                    directed: bool | None = None) -> StreetGraph:
    """The street graph stored in a GeoPackage's layers, by name.

    ``name`` is ``street`` (or ``walk``: the ``street_nodes`` / ``street_edges`` layers),
    ``drive`` (``drive_nodes`` / ``drive_edges``, directed), or the prefix of any
    ``<name>_nodes`` / ``<name>_edges`` pair, or an edges layer's own name.
    """
    path = Path(gpkg)
    if not path.is_file():
        raise AnalysisError(f"GeoPackage {str(path)!r} does not exist")
    if name in GPKG_GRAPHS:
        nodes_layer, edges_layer, default_directed = GPKG_GRAPHS[name]
    elif name.endswith("_edges"):
        nodes_layer, edges_layer, default_directed = name[:-6] + "_nodes", name, False
    else:
        nodes_layer, edges_layer, default_directed = f"{name}_nodes", f"{name}_edges", False
    return _from_gpkg(path, crs=crs, nodes_layer=nodes_layer, edges_layer=edges_layer,
                      directed=default_directed if directed is None else bool(directed))


def resolve_graph(value: str | os.PathLike[str], gpkg: str | os.PathLike[str] | None, *,
                  directed: bool | None = None) -> StreetGraph:
    """A street graph named on the command line: a GraphML / GeoPackage file, or the name of a
    graph stored in ``gpkg`` (``street``, ``drive``, or an edges layer)."""
    path = Path(value)
    if path.is_file():
        return load_graph(path, directed=directed)
    name = str(value)
    if gpkg is not None and Path(gpkg).is_file():
        import pyogrio

        layers = {n for n, _ in pyogrio.list_layers(gpkg)}
        edges = GPKG_GRAPHS.get(name, (None, name if name.endswith("_edges") else
                                       f"{name}_edges", False))[1]
        if edges in layers:
            return graph_from_gpkg(gpkg, name, directed=directed)
        stored = sorted(k for k, (_n, e, _d) in GPKG_GRAPHS.items() if e in layers)
        raise AnalysisError(
            f"--graph {name!r} is neither a file nor a street graph in {Path(gpkg).name!r} "
            f"(graphs there: {', '.join(stored) or 'none; import one with baoshan-gis osm import'})"
        )
    raise AnalysisError(f"street graph file {name!r} does not exist")


def load_graph(source: Any, *, crs: Any = None, directed: bool | None = None) -> StreetGraph:
    """Load a street graph from GraphML, a GeoPackage of edges, or a networkx graph.

    Parameters
    ----------
    source
        Path of a ``.graphml`` or ``.gpkg`` file, a networkx graph, or a :class:`StreetGraph`.
    crs
        Metric CRS for the result (default UTM 51N).
    directed
        Travel edges only from ``u`` to ``v`` (driving, one-way streets). Default ``None``:
        undirected, as for walking.
    """
    if isinstance(source, StreetGraph):
        return source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise AnalysisError(f"street graph file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        if suffix == ".graphml":
            import osmnx as ox

            try:
                g = ox.io.load_graphml(path)
            except Exception as exc:
                raise AnalysisError(f"cannot read GraphML {path.name!r}: {exc}") from exc
            return _from_networkx(g, crs=crs, directed=directed)
        if suffix == ".gpkg":
            return _from_gpkg(path, crs=crs, directed=bool(directed))
        raise AnalysisError(
            f"street graph {path.name!r}: expected a .graphml (osmnx) or .gpkg (edges layer) file"
        )
    if hasattr(source, "nodes") and hasattr(source, "edges"):
        return _from_networkx(source, crs=crs, directed=directed)
    raise AnalysisError(f"cannot use {type(source).__name__} as a street graph")
