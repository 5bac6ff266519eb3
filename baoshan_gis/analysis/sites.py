"""Where to add carriers: the maximal covering location problem (MCLP) with existing carriers fixed.

Demand is the zones' area (or people, with a population raster), discretised into square cells of
``demand_cell`` metres; a cell counts as covered when its centre lies within ``radius`` metres of a
carrier. Cells already covered by the existing carriers are removed first (the existing carriers
are held fixed). Candidate sites are the centres of a grid of ``candidate_spacing`` metres inside
the zones, or a candidate layer the user gives.

Two solvers:

``method="exact"`` (default)
    the MCLP as an integer programme (Church & ReVelle 1974), the formulation spopt's ``MCLP``
    uses, solved to optimality with HiGHS (``scipy.optimize.milp``, no external solver binary);
    the result maximises covered demand over all sets of ``n_sites`` candidates.
``method="greedy"``
    picks, ``n_sites`` times, the candidate that adds the most uncovered demand. Coverage is a
    monotone submodular function, so greedy is guaranteed to reach at least 1 - 1/e ≈ 63% of the
    optimum (Nemhauser, Wolsey & Fisher 1978); in practice it is usually within a few per cent.

Either way the chosen sites are returned ranked in greedy order among themselves, with the
marginal gain of each given the existing carriers and the sites ranked above it.

How firm the answer is: each site's "where" area (moving it there, the others fixed, changes the
covered total by < 1 %), and :func:`count_alternatives`, the number of other sets of ``n_sites``
candidates whose covered demand (on the demand cells the solver uses) is within 1 % of the
chosen one, counted exactly by branch and bound, or as a lower bound once it reaches 1,000.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis._union import buffered_union
from baoshan_gis.analysis._validate import (
    check_cell_count,
    is_geographic,
    parse_distance,
    point_xy,
    require_polygons,
    to_metric,
    warn_if_empty,
)

Method = Literal["exact", "greedy"]


def solve_mclp(weights: np.ndarray, cover: Any, n_sites: int, *, method: Method = "exact",
               time_limit: float = 60.0) -> tuple[list[int], float]:
    """Choose ``n_sites`` columns of ``cover`` maximising the covered weight.

    Parameters
    ----------
    weights
        Demand weight per row (>= 0).
    cover
        Boolean (sparse or dense) matrix, demand rows x candidate columns: ``cover[i, j]`` if
        candidate ``j`` covers demand ``i``.
    n_sites
        Number of candidates to choose (at most the number of candidates).
    method
        ``"exact"`` (integer programme, HiGHS) or ``"greedy"`` (1 - 1/e guarantee).

    Returns
    -------
    (list of column indices in greedy rank order, covered weight)
    """
    from scipy.sparse import csc_matrix

    a = csc_matrix(cover, dtype=np.float64)
    a.data[:] = 1.0
    w = np.asarray(weights, dtype=float)
    n_dem, n_cand = a.shape
    if len(w) != n_dem:
        raise AnalysisError("weights and cover rows differ in length")
    k = min(int(n_sites), n_cand)
    if k <= 0:
        return [], 0.0
    if method == "greedy":
        chosen = _greedy(w, a, k, allowed=None)
    elif method == "exact":
        chosen_set = _exact(w, a, k, time_limit)
        if len(chosen_set) < k:  # nothing (more) to cover: complete with the greedy order
            chosen_set += [j for j in _greedy(w, a, n_cand, None) if j not in chosen_set]
            chosen_set = chosen_set[:k]
        chosen = _greedy(w, a, len(chosen_set), allowed=chosen_set)
    else:
        raise AnalysisError(f"method must be 'exact' or 'greedy', got {method!r}")
    covered = np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0 if chosen else np.zeros(n_dem, bool)
    return chosen, float(w[covered].sum())


def _greedy(w: np.ndarray, a: Any, k: int, allowed: list[int] | None) -> list[int]:
    at = a.T.tocsr()
    uncovered = np.ones(a.shape[0], dtype=bool)
    pool = np.zeros(a.shape[1], dtype=bool)
    pool[allowed if allowed is not None else slice(None)] = True
    chosen: list[int] = []
    for _ in range(k):
        gains = at @ (w * uncovered)
        gains[~pool] = -1.0
        j = int(np.argmax(gains))  # ties: lowest index
        if gains[j] < 0:
            break
        chosen.append(j)
        pool[j] = False
        uncovered[at[j].indices] = False
    return chosen


def _exact(w: np.ndarray, a: Any, k: int, time_limit: float) -> list[int]:
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, hstack, identity

    a = a.tocsr()
    a.sort_indices()
    rows = np.flatnonzero((np.diff(a.indptr) > 0) & (w > 0))
    n_cand = a.shape[1]
    if not len(rows):
        return []
    # merge demand rows covered by exactly the same candidates (same optimum, smaller problem)
    keys: dict[bytes, int] = {}
    group = np.empty(len(rows), dtype=np.int64)
    for n, i in enumerate(rows):
        key = a.indices[a.indptr[i]:a.indptr[i + 1]].tobytes()
        group[n] = keys.setdefault(key, len(keys))
    first = np.unique(group, return_index=True)[1]
    sub = a[rows[first]]
    wg = np.bincount(group, weights=w[rows])
    n_y = len(first)
    # variables: x_0..x_{n_cand-1} (binary, site chosen), y_0..y_{n_y-1} (demand covered)
    c = np.concatenate([np.zeros(n_cand), -wg])
    link = hstack([-sub, identity(n_y, format="csr")], format="csr")  # y_i - sum x_j <= 0
    count = csr_matrix(np.concatenate([np.ones(n_cand), np.zeros(n_y)])[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0.0), LinearConstraint(count, k, k)]
    integrality = np.concatenate([np.ones(n_cand), np.zeros(n_y)])
    res = milp(c, constraints=constraints, integrality=integrality,
               bounds=Bounds(np.zeros(n_cand + n_y), np.ones(n_cand + n_y)),
               options={"time_limit": time_limit})
    if res.x is None:
        raise AnalysisError(f"the MCLP solver failed: {res.message}")
    if res.status != 0:
        warnings.warn(f"the MCLP solver stopped early ({res.message}); using its best solution",
                      UserWarning, stacklevel=3)
    chosen = [int(j) for j in np.flatnonzero(res.x[:n_cand] > 0.5)]
    return chosen[:k]


#: Stop counting alternative solutions here (the count is then a lower bound).
ALTERNATIVES_CAP = 1000


def count_alternatives(weights: np.ndarray, cover: Any, chosen: list[int], *,
                       tolerance: float = 0.01, cap: int = ALTERNATIVES_CAP,
                       max_nodes: int = 50_000) -> tuple[int, bool]:
    """How many other sets of ``len(chosen)`` candidates cover within ``tolerance`` of
    ``chosen``'s covered weight: ``(count, exact)``.

    Sets are drawn from the candidates that cover some demand (a site covering nothing is no
    alternative); each set is counted once. Depth-first branch and bound over candidates sorted
    by their single gain: a branch is cut when its covered weight plus the largest gains still
    available (an upper bound, coverage being submodular) cannot reach the threshold. The count
    stops at ``cap`` solutions or after ``max_nodes`` search nodes; ``exact`` is then ``False``
    and the count is a lower bound.
    """
    from scipy.sparse import csc_matrix

    a = csc_matrix(cover, dtype=np.float64)
    a.data[:] = 1.0
    w = np.asarray(weights, dtype=float)
    k = len(chosen)
    if k == 0:
        return 0, True
    single = np.asarray(a.T @ w).ravel()
    useful = np.flatnonzero(single > 0)
    order = useful[np.argsort(-single[useful], kind="stable")]
    n = len(order)
    if n < k:
        return 0, True
    at = a[:, order].T.tocsr()
    sw = single[order]
    ref = float(w[np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0].sum())
    thr = (1.0 - tolerance) * ref - 1e-9 * max(ref, 1.0)
    target = frozenset(int(j) for j in chosen)
    found = 0
    nodes = 0
    stopped = False

    def visit(start: int, left: np.ndarray, value: float, picked: tuple[int, ...]) -> None:
        nonlocal found, nodes, stopped
        nodes += 1
        if nodes > max_nodes:
            stopped = True
            return
        m = k - len(picked)
        g = at[start:] @ left  # gain of each remaining candidate
        if m == 1:
            hits = np.flatnonzero(value + g >= thr)
            found += len(hits)
            rest = target.difference(int(order[p]) for p in picked)
            if len(rest) == 1:  # the chosen solution itself is no alternative
                (last,) = rest
                pos = np.flatnonzero(order[start:] == last)
                if len(pos) and value + g[pos[0]] >= thr:
                    found -= 1
            if found >= cap:
                stopped = True
            return
        span = len(g) - m + 1  # children: positions leaving room for m - 1 more picks
        # bound: this gain plus the m - 1 largest single gains after it (sorted: the next ones)
        csum = np.concatenate([[0.0], np.cumsum(sw[start:])])
        idx = np.arange(span)
        nxt = csum[idx + m] - csum[idx + 1]
        suffix_max = np.maximum.accumulate(g[::-1])[::-1]
        best_rest = np.minimum(nxt, (m - 1) * np.append(suffix_max[1:], 0.0)[:span])
        ok = np.flatnonzero(value + g[:span] + best_rest >= thr)
        for i in ok:
            if stopped:
                return
            j = start + int(i)
            child = left.copy()
            child[at.indices[at.indptr[j]:at.indptr[j + 1]]] = 0.0
            visit(j + 1, child, value + float(g[i]), (*picked, j))

    visit(0, w.copy(), 0.0, ())
    return min(found, cap), not stopped


def alternatives_sentence(attrs: dict[str, Any], n_sites: int) -> str:
    """The one bilingual sentence on near-optimal alternatives (the CLI and the report print
    this same line), from :func:`suggest_sites`' ``attrs``."""
    n = int(attrs.get("alternatives_within_1pct", 0))
    if attrs.get("alternatives_exact", False):
        zh, en = f"{n:,} 个（精确计数）", f"{n:,} (exact count)"
    else:
        zh = f"≥ {n:,} 个（下限：计数在 {n:,} 处停止）"
        en = f"≥ {n:,} (a lower bound: counting stopped at {n:,})"
    return (f"覆盖总量与本方案相差不到 1 % 的其他方案（{n_sites} 个选址的组合）：{zh}。"
            f" Other solutions (sets of {n_sites} candidate sites) covering within 1 % of "
            f"this one: {en}.")


#: A site's "where": moving it anywhere inside changes the covered total by less than this share.
ROBUST_TOLERANCE = 0.01


def _where(i: int, sx: np.ndarray, sy: np.ndarray, pieces: np.ndarray, uncovered: Any, r: float,
           total: float, measure: Any, steps: int = 12) -> Any:
    """The area around site ``i`` within which moving it (the others fixed) changes the covered
    total by less than :data:`ROBUST_TOLERANCE`: squares of ``r / steps`` around the positions
    that pass, the connected part containing the site."""
    from baoshan_gis.analysis.coverage import _QUAD_SEGS

    others = shapely.union_all(np.delete(pieces, i)) if len(pieces) > 1 else shapely.Polygon()
    base = float(measure(np.array([others]))[0])
    step = r / steps
    off = np.arange(-steps, steps + 1) * step
    ox, oy = (a.ravel() for a in np.meshgrid(off, off))
    keep = np.hypot(ox, oy) <= r + 1e-9
    px, py = sx[i] + ox[keep], sy[i] + oy[keep]
    discs = shapely.buffer(shapely.points(px, py), r, quad_segs=_QUAD_SEGS)
    moved = base + measure(shapely.difference(shapely.intersection(discs, uncovered), others))
    ok = np.abs(moved - total) < ROBUST_TOLERANCE * max(total, 1e-12)
    ok |= (ox[keep] == 0) & (oy[keep] == 0)  # the site itself
    half = step / 2 + 1e-3  # 1 mm overlap: neighbouring squares merge despite rounding
    cells = shapely.box(px[ok] - half, py[ok] - half, px[ok] + half, py[ok] + half)
    region = shapely.union_all(cells)
    site = shapely.Point(sx[i], sy[i])
    parts = getattr(region, "geoms", [region])
    return next((p for p in parts if p.intersects(site)), region)


def site_where_areas(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The "where" polygons of :func:`suggest_sites` (one per site, in the sites' CRS).

    Each polygon is where the site may move (others fixed) while the covered total changes by
    less than 1 %: draw it instead of a pin. ``name_zh`` / ``name_en`` ("建议选址 1",
    "Suggested site 1") label it with its rank.
    """
    metric = gpd.GeoSeries.from_wkt(sites["where_wkt"], crs=sites.attrs.get("metric_crs")
                                    or "EPSG:32651")
    keep = [c for c in ("rank", "candidate", "marginal_gain", "marginal_gain_km2",
                        "cumulative_share", "where_km2", "radius_m", "method") if c in sites]
    table = sites[keep].reset_index(drop=True)
    ranks = np.asarray(sites["rank"]) if "rank" in sites else np.arange(1, len(sites) + 1)
    table.insert(0, "name_zh", [f"建议选址 {int(r)}" for r in ranks])
    table.insert(1, "name_en", [f"Suggested site {int(r)}" for r in ranks])
    out = gpd.GeoDataFrame(table, geometry=metric.to_numpy(), crs=metric.crs)
    return out.to_crs(sites.crs) if sites.crs is not None else out


def _demand(zm: gpd.GeoDataFrame, cell: float, population: Any, max_cells: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from baoshan_gis.analysis.density import square_grid

    grid = square_grid(zm, cell_size=cell, crs=zm.crs, clip=True, max_cells=max_cells)
    grid = grid[~grid.geometry.is_empty & (grid.geometry.area > 0)]
    cx = grid.geometry.centroid.x.to_numpy()
    cy = grid.geometry.centroid.y.to_numpy()
    if population is not None:
        from baoshan_gis.analysis.coverage import zonal_sum

        w = zonal_sum(grid.geometry, population)
    else:
        w = grid.geometry.area.to_numpy()
    return cx, cy, w


def suggest_sites(
    zones: gpd.GeoDataFrame,
    existing: gpd.GeoDataFrame,
    *,
    radius: float | str,
    n_sites: int = 3,
    candidates: gpd.GeoDataFrame | None = None,
    candidate_spacing: float | str | None = None,
    demand_cell: float | str | None = None,
    population: Any = None,
    method: Method = "exact",
    crs: Any = None,
    max_cells: int = 200_000,
    time_limit: float = 60.0,
    at_most: bool = False,
) -> gpd.GeoDataFrame:
    """Choose ``n_sites`` new carrier sites that cover the most still-uncovered demand.

    Parameters
    ----------
    zones
        Polygons to serve (e.g. the innovation belt).
    existing
        Existing carriers, held fixed (may be empty).
    radius
        Service radius of a carrier, metres.
    n_sites
        Number of sites to choose.
    candidates
        Candidate points; default: centres of a ``candidate_spacing`` grid inside the zones.
    candidate_spacing
        Spacing of the default candidate grid, metres (default ``radius / 2``).
    demand_cell
        Size of the demand cells, metres (default ``radius / 5``).
    population
        Optional population GeoTIFF: demand in people instead of m².
    method
        ``"exact"`` (optimal, integer programme) or ``"greedy"`` (≥ 1 - 1/e of optimal).
    crs
        Metric CRS (default UTM 51N).
    max_cells
        Cap on demand cells and on candidates.
    at_most
        Take ``n_sites`` as an upper bound: where fewer candidates would cover any demand the
        existing carriers leave, choose those (none when nothing is left to cover) instead of
        refusing. ``attrs`` then say how many were asked for and how many could add cover.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per chosen site, in the zones' CRS, ranked: ``rank``, ``candidate``,
        ``marginal_gain`` (m² or people newly covered by this site given the ones above it),
        ``marginal_gain_km2`` (area demand), ``cumulative_gain``, ``cumulative_share`` (of the
        demand left uncovered by the existing carriers), ``method``, geometry. The frame's
        ``attrs`` hold the totals and ``alternatives_within_1pct`` / ``alternatives_exact``
        (:func:`count_alternatives`; :func:`alternatives_sentence` words them).
    """
    geographic = is_geographic(zones, existing, candidates)
    r = parse_distance(radius, "radius", geographic_input=geographic)
    if not isinstance(n_sites, int | np.integer) or n_sites < 1:
        raise AnalysisError(f"n_sites must be a positive integer, got {n_sites!r}")
    cell = parse_distance(demand_cell if demand_cell is not None else r / 5, "demand_cell",
                          geographic_input=geographic)
    zm = require_polygons(to_metric(zones, "zones", crs), "zones")
    if warn_if_empty(zm, "zone layer"):
        raise AnalysisError("the zone layer is empty: there is no demand to cover")
    from scipy.spatial import cKDTree

    dx, dy, dw = _demand(zm, cell, population, max_cells)
    left = np.ones(len(dx), dtype=bool)
    if len(existing):  # an empty layer of existing carriers is fine: nothing is held fixed
        em = to_metric(existing, "existing carriers", zm.crs)
        ex, ey = point_xy(em)
        if len(ex):
            d, _ = cKDTree(np.column_stack([ex, ey])).query(np.column_stack([dx, dy]))
            left = d > r
    total_left = float(dw[left].sum())
    if candidates is None:
        spacing = parse_distance(candidate_spacing if candidate_spacing is not None else r / 2,
                                 "candidate_spacing", geographic_input=geographic)
        from baoshan_gis.analysis.density import square_grid

        g = square_grid(zm, cell_size=spacing, crs=zm.crs, max_cells=max_cells)
        cpts = g.geometry.centroid
        union = shapely.union_all(zm.geometry.to_numpy())
        shapely.prepare(union)
        inside = shapely.contains_xy(union, cpts.x.to_numpy(), cpts.y.to_numpy())
        cx, cy = cpts.x.to_numpy()[inside], cpts.y.to_numpy()[inside]
        cand_ids = g["cell_id"].to_numpy()[inside]
    else:
        cm = to_metric(candidates, "candidates", zm.crs)
        cm = cm[~(cm.geometry.is_empty | cm.geometry.isna()).to_numpy()]
        cx, cy = point_xy(cm)
        cand_ids = cm.index.to_numpy()
    check_cell_count(len(cx), "the candidate set", max_cells=max_cells)
    if len(cx) == 0:
        raise AnalysisError("no candidate sites lie inside the zones; use a smaller spacing")
    dem_idx = np.flatnonzero(left)
    from scipy.sparse import coo_matrix

    if len(dem_idx):
        lists = cKDTree(np.column_stack([cx, cy])).query_ball_point(
            np.column_stack([dx[dem_idx], dy[dem_idx]]), r)
        lens = np.fromiter((len(lst) for lst in lists), dtype=np.int64, count=len(lists))
        rows = np.repeat(np.arange(len(dem_idx)), lens)
        cols = np.concatenate([np.asarray(lst, dtype=np.int64) for lst in lists]) if lens.sum() \
            else np.empty(0, dtype=np.int64)
    else:
        rows = cols = np.empty(0, dtype=np.int64)
    cover = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(dem_idx), len(cx)))
    if n_sites > len(cx):
        raise AnalysisError(
            f"n_sites={n_sites} is more than the {len(cx)} candidate sites; ask for at most "
            f"{len(cx)} (or give more candidates: a smaller spacing or a candidate layer)"
        )
    n_useful = int(np.unique(cols).size)
    if n_sites > n_useful and not at_most:
        raise AnalysisError(
            f"n_sites={n_sites}, but only {n_useful} of the {len(cx)} candidate sites would cover "
            f"any demand the existing carriers leave uncovered; ask for at most {n_useful}"
            + (" (there is nothing left to cover)" if n_useful == 0 else "")
        )
    k = min(int(n_sites), n_useful)
    chosen = (solve_mclp(dw[dem_idx], cover, k, method=method, time_limit=time_limit)[0]
              if k else [])
    # gains on the exact geometry the coverage uses (circles of the same polygon), not cells
    from baoshan_gis.analysis.coverage import _QUAD_SEGS

    area_demand = population is None

    def measure(geoms: np.ndarray) -> np.ndarray:
        if area_demand:
            return np.asarray(shapely.area(geoms), dtype=float)
        from baoshan_gis.analysis.coverage import zonal_sum

        return np.asarray(zonal_sum(gpd.GeoSeries(geoms, crs=zm.crs), population), dtype=float)

    zone_union = shapely.union_all(zm.geometry.to_numpy())
    uncovered = zone_union
    if len(existing):
        em = to_metric(existing, "existing carriers", zm.crs)
        ex, ey = point_xy(em)
        if len(ex):
            reach = buffered_union(shapely.points(ex, ey), r, quad_segs=_QUAD_SEGS)
            uncovered = shapely.difference(zone_union, reach)
    shapely.prepare(uncovered)
    discs = shapely.buffer(shapely.points(cx[chosen], cy[chosen]), r, quad_segs=_QUAD_SEGS)
    pieces = shapely.intersection(discs, uncovered)
    gains = []
    so_far = shapely.Polygon()
    for piece in pieces:
        new = shapely.difference(piece, so_far)
        gains.append(float(measure(np.array([new]))[0]))
        so_far = shapely.union(so_far, new)
    gains_arr = np.array(gains, dtype=float)
    cum = np.cumsum(gains_arr)
    total_left = float(measure(np.array([uncovered]))[0])
    total = float(cum[-1]) if len(cum) else 0.0
    where = [_where(i, cx[chosen], cy[chosen], pieces, uncovered, r, total, measure)
             for i in range(len(chosen))]
    n_alt, alt_exact = count_alternatives(dw[dem_idx], cover, chosen, tolerance=ROBUST_TOLERANCE)
    out = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(chosen) + 1, dtype=np.int64),
            "candidate": [str(cand_ids[j]) for j in chosen],
            "marginal_gain": gains_arr,
            "marginal_gain_km2": gains_arr / 1e6 if area_demand else np.full(len(chosen), np.nan),
            "cumulative_gain": cum,
            "cumulative_share": cum / total_left if total_left > 0 else np.zeros(len(chosen)),
            "where_km2": [w.area / 1e6 for w in where],
            "where_wkt": [shapely.to_wkt(w, rounding_precision=1) for w in where],
            "radius_m": r,
            "method": method,
        },
        geometry=gpd.points_from_xy(cx[chosen], cy[chosen]), crs=zm.crs,
    )
    if not area_demand:
        out = out.drop(columns="marginal_gain_km2")
    out = out.to_crs(zones.crs)
    out.attrs.update({
        "demand_units": "m²" if area_demand else "people",
        "demand_total": float(measure(np.array([zone_union]))[0]),
        "demand_uncovered_before": total_left,
        "demand_covered_by_sites": total,
        "n_candidates": len(cx), "demand_cell_m": cell,
        "n_sites_asked": int(n_sites), "n_useful_candidates": n_useful,
        "alternatives_within_1pct": n_alt, "alternatives_exact": alt_exact,
        "metric_crs": zm.crs.to_string(),
    })
    return out
