"""Network reach: what lies within a walking or driving distance of any facility on a street graph.

The graph is a :class:`~baoshan_gis.analysis.street_graph.StreetGraph` or anything
:func:`~baoshan_gis.analysis.street_graph.load_graph` reads (GraphML saved by osmnx, a GeoPackage
of edges, the street layers of a built GeoPackage, a networkx graph); see ``street_graph.py``.

All facilities are handled in ONE bounded multi-source shortest-path search (the compiled
kernel in ``_dijkstra.pyx``; ``scipy.sparse.csgraph.dijkstra(indices=sources, min_only=True,
limit=distance)`` where it was not built, with the same distances), which gives
every node's distance to its nearest facility — the same node set and distances as one search per
facility followed by a minimum, at a fraction of the cost. The reachable area is then made of the
reachable edges (whole edges, plus the reachable part of frontier edges, cut by their geometry)
buffered by ``edge_buffer`` metres.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from baoshan_gis._errors import AnalysisError, CRSError
from baoshan_gis.analysis._union import buffered_union
from baoshan_gis.analysis._validate import (
    EmptyLayerWarning,
    parse_distance,
    points_xy_in,
    warn_if_empty,
)
from baoshan_gis.analysis.street_graph import StreetGraph, load_graph

#: Default walking speed, km/h (15 minutes = 1,200 m).
WALK_SPEED_KMH: float = 4.8


def _budget(distance: float | str | None, minutes: float | None, speed_kmh: float) -> float:
    if (distance is None) == (minutes is None):
        raise AnalysisError("give exactly one of distance= (metres) or minutes=")
    if distance is not None:
        return parse_distance(distance, "distance")
    if not (minutes is not None and minutes > 0 and np.isfinite(minutes)):
        raise AnalysisError(f"minutes must be greater than 0, got {minutes!r}")
    if not speed_kmh > 0:
        raise AnalysisError(f"speed_kmh must be greater than 0, got {speed_kmh!r}")
    return float(minutes) * speed_kmh * 1000.0 / 60.0


def _facility_xy(facilities: gpd.GeoDataFrame, crs: CRS
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`points_xy_in` for a query, reading the geometry column once; None when the layer
    has no non-empty geometry (the caller warns, as :func:`warn_if_empty` would)."""
    array = facilities.geometry.array  # one column access; the CRS comes with it
    geoms = np.asarray(array, dtype=object)
    if len(geoms) == 0:
        return None
    xy = shapely.get_coordinates(geoms)
    if len(xy) == len(geoms) and bool((shapely.get_type_id(geoms) == 0).all()):
        # the usual layer: all points, none empty (an empty point has no coordinate), none missing
        keep = np.ones(len(geoms), dtype=bool)
        x, y = xy[:, 0], xy[:, 1]
    else:
        if bool(shapely.is_empty(geoms).all()):
            return None
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        pts = geoms if keep.all() else geoms[keep]
        if len(pts) and not (shapely.get_type_id(pts) == 0).all():
            pts = shapely.point_on_surface(pts)
        x, y = shapely.get_x(pts), shapely.get_y(pts)
    if array.crs is None:
        raise CRSError("facilities have no CRS; set one first (e.g. frame.set_crs('EPSG:4326'))")
    if not (array.crs is crs or CRS.from_user_input(array.crs).equals(crs)):
        from pyproj import Transformer

        x, y = Transformer.from_crs(array.crs, crs, always_xy=True).transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), keep


def _snap(graph: StreetGraph, x: np.ndarray, y: np.ndarray, keep: np.ndarray, max_snap: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest node positions, snap distances and row positions of the facilities within
    ``max_snap`` of the graph (one vectorised query of the graph's cached KD-tree)."""
    if len(x):
        d, i = graph.kdtree().query(np.column_stack([x, y]))
    else:
        d, i = np.empty(0), np.empty(0, dtype=np.int64)
    far = d > max_snap
    if far.any():
        warnings.warn(f"{int(far.sum())} facilities are more than {max_snap:g} m from the street "
                      "graph and were left out", UserWarning, stacklevel=4)
    near = ~far
    return np.asarray(i, dtype=np.int64)[near], d[near], np.flatnonzero(keep)[near]


def snap_facilities(graph: StreetGraph, facilities: gpd.GeoDataFrame, *,
                    max_snap: float = 500.0) -> pd.DataFrame:
    """Nearest graph node of each facility: columns ``node`` (position), ``snap_m``.

    Facilities farther than ``max_snap`` metres from every node are dropped with a warning.
    """
    x, y, keep = points_xy_in(facilities, graph.crs, "facilities")
    node, snap_m, rows = _snap(graph, x, y, keep, max_snap)
    return pd.DataFrame({"node": node, "snap_m": snap_m}, index=facilities.index[rows])


def reachable_nodes(
    graph: Any,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float | str | None = None,
    minutes: float | None = None,
    speed_kmh: float = WALK_SPEED_KMH,
    max_snap: float = 500.0,
) -> pd.DataFrame:
    """Nodes within the budget of the nearest facility, from one multi-source search.

    Returns
    -------
    pandas.DataFrame
        Indexed by node position; ``node_id``, ``distance_m`` and ``facility`` (index label of the
        nearest facility, in the dtype of the layer's index), sorted by node position.
    """
    g = load_graph(graph)
    limit = _budget(distance, minutes, speed_kmh)
    found = _search(g, facilities, limit, max_snap)
    if found is None:
        empty = np.empty(0, dtype=np.int64)
        return pd.DataFrame({"node_id": g.node_ids[empty], "distance_m": np.empty(0),
                             "facility": facilities.index[:0].array}, index=empty)
    reached, dist, origin, start_labels = found
    # fresh arrays: no copy needed; the labels keep the dtype of the layer's index
    return pd.DataFrame({"node_id": g.node_ids[reached], "distance_m": dist,
                         "facility": start_labels[origin]},
                        index=pd.Index(reached, copy=False), copy=False)


def _search(g: StreetGraph, facilities: gpd.GeoDataFrame, limit: float, max_snap: float
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """ONE bounded multi-source Dijkstra from the facilities' nodes.

    Returns ``(reached, dist, origin, start_labels)``: the positions of the nodes within
    ``limit`` of a facility (ascending), the distance of each to its nearest facility, the
    position of the start node it was reached from in the sorted unique start nodes, and the
    index labels of the first facility on each start node (an array of the index's values);
    None for an empty facility layer.
    """
    points = _facility_xy(facilities, g.crs)
    if points is None:
        warn_if_empty(facilities, "facility layer")
        return None
    nodes, _snap_m, rows = _snap(g, *points, max_snap)
    if len(nodes) == 0:
        raise AnalysisError(
            f"no facility lies within {max_snap:g} m of the street graph: check that the graph "
            "covers the facilities (and that both have the right CRS)"
        )
    starts, first = np.unique(nodes, return_index=True)
    reached, dist, origin = g.reached_from(starts, limit)
    return reached, dist, origin, facilities.index.to_numpy()[rows[first]]


def substrings(lines: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``shapely.ops.substring(line, lo, hi, normalized=True)`` of each line, vectorised (for
    ``0 <= lo < hi <= 1``): the points at ``lo`` and ``hi`` of the line's length, with the
    vertices strictly between them. 3,000 frontier edges of the benchmark graph took 0.18 s one
    ``substring`` at a time."""
    lines = np.asarray(lines, dtype=object)
    n = len(lines)
    if n == 0:
        return np.empty(0, dtype=object)
    total = shapely.length(lines)
    a, b = np.asarray(lo, dtype=float) * total, np.asarray(hi, dtype=float) * total
    xy, line = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    step[line[1:] != line[:-1]] = 0.0  # no step from one line's last vertex to the next line
    along = np.concatenate([[0.0], np.cumsum(step)])
    along -= along[np.searchsorted(line, np.arange(n))][line]  # distance along its own line
    tol = 1e-9 * total[line]  # a vertex at a cut (the line's last one, summed in another order)
    inner = (along > a[line] + tol) & (along < b[line] - tol)
    ends = [shapely.get_coordinates(shapely.line_interpolate_point(lines, d)) for d in (a, b)]
    rank = np.concatenate([np.full(n, -1), np.flatnonzero(inner), np.full(n, len(xy))])
    owner = np.concatenate([np.arange(n), line[inner], np.arange(n)])
    order = np.lexsort((rank, owner))
    coords = np.concatenate([ends[0], xy[inner], ends[1]])[order]
    return shapely.linestrings(coords, indices=owner[order])


def _node_labels(g: StreetGraph,
                 found: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Every node's distance (inf where not reached) and nearest facility label (None)."""
    dist = np.full(g.n_nodes, np.inf)
    labels = np.full(g.n_nodes, None, dtype=object)
    if found is not None:
        reached, d, origin, start_labels = found
        dist[reached] = d
        labels[reached] = start_labels.astype(object)[origin]
    return dist, labels


def network_reach(
    graph: Any,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float | str | None = None,
    minutes: float | None = None,
    speed_kmh: float = WALK_SPEED_KMH,
    edge_buffer: float = 50.0,
    by_facility: bool = False,
    max_snap: float = 500.0,
) -> gpd.GeoDataFrame:
    """Area within a network distance (or minutes at ``speed_kmh``) of any facility.

    Parameters
    ----------
    graph
        A :class:`StreetGraph`, networkx graph, or path of a GraphML / GeoPackage file.
    facilities
        Point layer (any CRS); each facility starts at its nearest node.
    distance, minutes
        The budget: metres, or minutes at ``speed_kmh`` (default 4.8 km/h walking).
    edge_buffer
        Half-width of the reachable corridor along streets, metres.
    by_facility
        One polygon per facility (its nearest-facility catchment) instead of one union.
    max_snap
        Facilities farther than this from the graph are left out (with a warning).

    Returns
    -------
    geopandas.GeoDataFrame
        In the graph's metric CRS: ``facility`` (``"all"`` for the union), ``distance_m``,
        ``n_nodes``, ``length_m`` (reachable street length), geometry.
    """
    g = load_graph(graph)
    limit = _budget(distance, minutes, speed_kmh)
    buf = parse_distance(edge_buffer, "edge_buffer")
    dist, labels = _node_labels(g, _search(g, facilities, limit, max_snap))
    du, dv, ln = dist[g.u], dist[g.v], g.length
    # portion of each edge reachable from the u end and from the v end, in length units
    from_u = np.where(np.isfinite(du), np.clip(limit - du, 0, None), 0.0)
    from_v = np.where(np.isfinite(dv), np.clip(limit - dv, 0, None), 0.0)
    if g.directed:
        from_v = np.zeros_like(from_v)
    whole = from_u + from_v >= ln
    part_u = ~whole & (from_u > 0)
    part_v = ~whole & (from_v > 0)
    lines = g.geometry
    if lines is None:
        lines = shapely.linestrings(np.stack([np.stack([g.x[g.u], g.x[g.v]], 1),
                                              np.stack([g.y[g.u], g.y[g.v]], 1)], axis=2))
    lab_u, lab_v = labels[g.u], labels[g.v]
    whole_idx = np.flatnonzero(whole)
    nearer_u = np.isfinite(du) & ((du <= dv) | ~np.isfinite(dv))
    # frontier edges (only a thin ring of the reached network): cut at the budget
    eu, ev = np.flatnonzero(part_u), np.flatnonzero(part_v)
    fu = np.minimum(from_u[eu] / ln[eu], 1.0)  # part edges have ln > from_u > 0
    fv = np.minimum(from_v[ev] / ln[ev], 1.0)
    cuts = substrings(lines[np.concatenate([eu, ev])],
                      np.concatenate([np.zeros(len(eu)), 1.0 - fv]),
                      np.concatenate([fu, np.ones(len(ev))]))
    whole_owner = np.where(nearer_u, lab_u, lab_v)[whole_idx]  # a whole edge: its nearer end's
    pieces = np.concatenate([lines[whole_idx], cuts])
    owner = np.concatenate([whole_owner, lab_u[eu], lab_v[ev]])
    seg_len = np.concatenate([ln[whole_idx], from_u[eu], from_v[ev]])
    reached = np.isfinite(dist)
    # a reached node that no piece of its own facility ends at (a facility on a node without
    # streets) gets its disc; any other node's disc is drawn by the round end of the piece it
    # was reached by, so it is left out of the union (13,223 of 38,000 buffers on the benchmark
    # graph; the area changes by 0.001 %, where a 16-sided disc's vertices stick out of a cap)
    own = np.zeros(g.n_nodes, dtype=bool)
    own[g.u[part_u]] = own[g.v[part_v]] = True
    wu, wv = g.u[whole_idx], g.v[whole_idx]
    own[wu[whole_owner == lab_u[whole_idx]]] = True
    own[wv[whole_owner == lab_v[whole_idx]]] = True
    alone = reached & ~own
    node_pts = shapely.points(g.x[alone], g.y[alone])
    node_owner = labels[alone]
    reached_owner = labels[reached]
    rows = []
    piece_arr = np.asarray(pieces, dtype=object)
    owner_arr = np.asarray(owner, dtype=object)
    len_arr = np.asarray(seg_len, dtype=float)
    groups = [("all", np.ones(len(piece_arr), bool), np.ones(len(node_pts), bool),
               int(reached.sum()))]
    if by_facility:
        keys = pd.unique(pd.Series(np.concatenate([owner_arr, reached_owner]), dtype=object))
        groups = [(k, owner_arr == k, node_owner == k, int((reached_owner == k).sum()))
                  for k in keys if k is not None]
    for key, psel, nsel, n_reached in groups:
        geoms = np.concatenate([piece_arr[psel], node_pts[nsel]])
        # union of per-piece buffers: faster in GEOS than buffering one multi-line (1.3 against
        # 11.8 s for the 24,775 pieces of the benchmark graph)
        poly = buffered_union(geoms, buf, quad_segs=4) if len(geoms) else shapely.Polygon()
        rows.append({"facility": key, "distance_m": limit, "n_nodes": n_reached,
                     "length_m": float(len_arr[psel].sum()), "geometry": poly})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=g.crs)


def network_coverage(
    zones: gpd.GeoDataFrame,
    graph: Any,
    facilities: gpd.GeoDataFrame,
    *,
    distance: float | str | None = None,
    minutes: float | None = None,
    speed_kmh: float = WALK_SPEED_KMH,
    edge_buffer: float = 50.0,
    population: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """:func:`baoshan_gis.analysis.coverage` of ``zones`` by :func:`network_reach`."""
    from baoshan_gis.analysis.coverage import coverage

    if len(facilities) == 0:
        warnings.warn("facility layer is empty: every result is zero", EmptyLayerWarning,
                      stacklevel=2)
        return coverage(zones, gpd.GeoDataFrame(geometry=[], crs=zones.crs),
                        population=population)
    reach = network_reach(graph, facilities, distance=distance, minutes=minutes,
                          speed_kmh=speed_kmh, edge_buffer=edge_buffer)
    return coverage(zones, reach, population=population)
