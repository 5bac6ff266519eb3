"""Site choice (maximal covering): exact = exhaustive search; greedy within its guarantee."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis import site_where_areas, solve_mclp, square_grid, suggest_sites

X0, Y0 = 340_000.0, 3_470_000.0


@pytest.mark.parametrize("seed", range(6))
def test_solver_equals_exhaustive_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cover = rng.random((80, 11)) < 0.2
    w = rng.random(80)

    def value(c: tuple[int, ...]) -> float:
        return float(w[cover[:, list(c)].any(axis=1)].sum())

    best = max(itertools.combinations(range(11), 3), key=value)
    chosen, obj = solve_mclp(w, cover, 3, method="exact")
    assert obj == pytest.approx(value(best), abs=1e-9)
    assert value(tuple(chosen)) == pytest.approx(obj)
    g_chosen, g_obj = solve_mclp(w, cover, 3, method="greedy")
    assert g_obj >= (1 - 1 / math.e) * obj - 1e-9
    assert len(set(g_chosen)) == 3


def test_suggest_sites_equals_exhaustive_search_over_candidates() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 3000, Y0 + 2000)], crs=32651)
    existing = gpd.GeoDataFrame(geometry=[Point(X0 + 300, Y0 + 300)], crs=32651)
    rng = np.random.default_rng(7)
    cand = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(X0 + rng.uniform(0, 3000, 9), Y0 + rng.uniform(0, 2000, 9)),
        crs=32651,
        index=[f"c{i}" for i in range(9)],
    ).to_crs(4326)
    r, cell = 600.0, 100.0
    res = suggest_sites(zone, existing, radius=r, n_sites=3, candidates=cand, demand_cell=cell)
    # independent brute force on the same demand cells
    grid = square_grid(zone, cell_size=cell, clip=True)
    cx, cy = grid.centroid.x.to_numpy(), grid.centroid.y.to_numpy()
    w = grid.area.to_numpy()
    left = np.hypot(cx - (X0 + 300), cy - (Y0 + 300)) > r
    cm = cand.to_crs(32651)
    px, py = cm.geometry.x.to_numpy(), cm.geometry.y.to_numpy()
    covers = np.hypot(cx[:, None] - px, cy[:, None] - py) <= r

    def value(c: tuple[int, ...]) -> float:
        return float(w[left & covers[:, list(c)].any(axis=1)].sum())

    best = max(itertools.combinations(range(9), 3), key=value)
    assert sorted(res["candidate"]) == sorted(f"c{i}" for i in best)
    # gains are measured on the exact circles (the coverage's geometry), not on the cells
    z = zone.geometry.iloc[0].difference(Point(X0 + 300, Y0 + 300).buffer(r, quad_segs=32))
    discs = shapely.union_all([Point(px[i], py[i]).buffer(r, quad_segs=32) for i in best])
    exact = discs.intersection(z).area
    assert res["cumulative_gain"].iloc[-1] == pytest.approx(exact, rel=1e-9)
    assert abs(exact - value(best)) > 1.0  # the cell count differs: a wrong measure would show
    # ranked: marginal gains non-increasing, adding up to the total
    gains = res["marginal_gain"].to_numpy()
    assert (np.diff(gains) <= 1e-6).all()
    assert gains.sum() == pytest.approx(res["cumulative_gain"].iloc[-1])
    assert res["cumulative_share"].iloc[-1] == pytest.approx(exact / z.area)
    assert res.crs.to_epsg() == 32651


def test_existing_carriers_are_held_fixed() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 4000, Y0 + 1000)], crs=32651)
    existing = gpd.GeoDataFrame(geometry=[Point(X0 + 500, Y0 + 500)], crs=32651)
    res = suggest_sites(zone, existing, radius=500, n_sites=1, candidate_spacing=250)
    site = res.geometry.iloc[0]
    # the new site must not sit on top of the existing one: the best site is far from it
    assert site.distance(existing.geometry.iloc[0]) >= 900
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    res0 = suggest_sites(zone, empty, radius=500, n_sites=2, candidate_spacing=250, method="greedy")
    assert len(res0) == 2 and res0.attrs["demand_uncovered_before"] == pytest.approx(4e6)


def test_bad_inputs() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)], crs=32651)
    pts = gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=32651)
    with pytest.raises(AnalysisError, match="n_sites"):
        suggest_sites(zone, pts, radius=300, n_sites=0)
    with pytest.raises(AnalysisError, match="greater than 0"):
        suggest_sites(zone, pts, radius=-1)
    with pytest.raises(AnalysisError, match="method"):
        suggest_sites(zone, pts, radius=300, method="magic")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="degrees"):
        suggest_sites(zone.to_crs(4326), pts.to_crs(4326), radius=0.005)


def test_gains_never_exceed_the_exact_circle_area() -> None:
    # 1 km candidates in an open zone: cell counts overshoot π r², exact circles cannot
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 12_000, Y0 + 9000)], crs=32651)
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    r = 1000.0
    res = suggest_sites(zone, empty, radius=r, n_sites=3, candidate_spacing=1000, demand_cell=230)
    assert (res["marginal_gain"] <= math.pi * r**2).all()
    # fully inside the zone: the gain is the area of the coverage's circle polygon
    circle = Point(0, 0).buffer(r, quad_segs=32).area
    assert res["marginal_gain"].iloc[0] == pytest.approx(circle, rel=1e-9)


def test_known_instance_with_a_unique_optimum() -> None:
    # a 2 km square and r = 1 km: only the centre covers the whole inscribed circle
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=32651)
    offsets = [(0, 0), (300, 0), (0, -300), (-300, 300), (600, 600)]
    cand = gpd.GeoDataFrame(
        geometry=[Point(X0 + 1000 + dx, Y0 + 1000 + dy) for dx, dy in offsets],
        crs=32651,
        index=[f"c{i}" for i in range(len(offsets))],
    )
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    res = suggest_sites(zone, empty, radius=1000, n_sites=1, candidates=cand, demand_cell=50)
    assert res["candidate"].tolist() == ["c0"]
    assert res.attrs["alternatives_within_1pct"] == 0
    where = site_where_areas(res)
    centre = Point(X0 + 1000, Y0 + 1000)
    assert where.geometry.iloc[0].contains(centre)
    # moving the site by 1/12 of r already loses > 1 %: the "where" is the centre's square
    assert res["where_km2"].iloc[0] == pytest.approx((1000 / 12) ** 2 / 1e6, rel=0.01)


def test_where_area_is_wide_in_open_space_and_alternatives_are_counted() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 8000, Y0 + 8000)], crs=32651)
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    res = suggest_sites(zone, empty, radius=1000, n_sites=1, candidate_spacing=500)
    where = site_where_areas(res).geometry.iloc[0]
    assert where.contains(res.geometry.iloc[0])
    assert res["where_km2"].iloc[0] > 2.0  # any interior position serves as well
    assert res.attrs["alternatives_within_1pct"] > 20


def _brute_alternatives(w: np.ndarray, cover: np.ndarray, chosen: list[int], tol: float) -> int:
    useful = [j for j in range(cover.shape[1]) if w[cover[:, j]].sum() > 0]

    def value(c: tuple[int, ...]) -> float:
        return float(w[cover[:, list(c)].any(axis=1)].sum())

    ref = value(tuple(chosen))
    return sum(1 for c in itertools.combinations(useful, len(chosen))
               if set(c) != set(chosen) and value(c) >= (1 - tol) * ref - 1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_alternatives_count_equals_exhaustive_enumeration(seed: int) -> None:
    from baoshan_gis.analysis.sites import count_alternatives

    rng = np.random.default_rng(100 + seed)
    n_cand = 12
    cover = rng.random((60, n_cand)) < 0.25
    w = rng.integers(1, 4, 60).astype(float)  # integer weights: ties happen
    k = 1 + seed % 3
    chosen, _ = solve_mclp(w, cover, k, method="exact")
    for tol in (0.01, 0.05):
        n, exact = count_alternatives(w, cover, chosen, tolerance=tol)
        assert exact is True
        assert n == _brute_alternatives(w, cover, chosen, tol)


def test_alternatives_are_distinct_sets_and_the_cap_makes_a_lower_bound() -> None:
    from baoshan_gis.analysis.sites import count_alternatives

    # 30 identical candidates, choose 2: C(30, 2) - 1 = 434 distinct alternatives
    cover = np.zeros((40, 30), dtype=bool)
    cover[:20, :] = True
    w = np.ones(40)
    chosen, _ = solve_mclp(w, cover, 2, method="exact")
    assert count_alternatives(w, cover, chosen) == (434, True)
    assert count_alternatives(w, cover, chosen, cap=100) == (100, False)
    assert count_alternatives(w, cover, chosen, max_nodes=3)[1] is False


def _square_of_four(n_sites: int) -> gpd.GeoDataFrame:
    # a 6 km square, 4 candidates at (±1.5 km, ±1.5 km) from its centre: 90° symmetric
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 6000, Y0 + 6000)], crs=32651)
    cand = gpd.GeoDataFrame(
        geometry=[Point(X0 + 3000 + dx, Y0 + 3000 + dy)
                  for dx in (-1500, 1500) for dy in (-1500, 1500)],
        crs=32651, index=["sw", "nw", "se", "ne"])
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    return suggest_sites(zone, empty, radius=700, n_sites=n_sites, candidates=cand,
                         demand_cell=100)


def test_symmetric_square_has_a_known_number_of_ties() -> None:
    one = _square_of_four(1)
    assert one.attrs["alternatives_within_1pct"] == 3
    assert one.attrs["alternatives_exact"] is True
    two = _square_of_four(2)  # disjoint circles: every pair covers the same
    assert two.attrs["alternatives_within_1pct"] == math.comb(4, 2) - 1
    assert two.attrs["alternatives_exact"] is True


def test_unique_optimum_has_no_alternative_exactly() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=32651)
    cand = gpd.GeoDataFrame(geometry=[Point(X0 + 1000, Y0 + 1000), Point(X0 + 1600, Y0 + 1000),
                                      Point(X0 + 300, Y0 + 300)], crs=32651)
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    res = suggest_sites(zone, empty, radius=1000, n_sites=1, candidates=cand, demand_cell=50)
    assert res.attrs["alternatives_within_1pct"] == 0
    assert res.attrs["alternatives_exact"] is True


def test_at_most_takes_the_candidates_that_add_cover_and_says_so() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(0, 0, 3_000, 1_000)], crs=32651)
    existing = gpd.GeoDataFrame(geometry=[Point(500, 500)], crs=32651)
    # the first two candidates stand where the existing carrier stands: only the third adds
    cand = gpd.GeoDataFrame(geometry=[Point(500, 500), Point(500, 500), Point(2_500, 500)],
                            crs=32651, index=["a", "b", "c"])
    with pytest.raises(AnalysisError, match="only 1 of the 3 candidate sites"):
        suggest_sites(zone, existing, radius=600, n_sites=3, candidates=cand)
    got = suggest_sites(zone, existing, radius=600, n_sites=3, candidates=cand, at_most=True)
    assert got["candidate"].tolist() == ["c"]
    assert got.attrs["n_sites_asked"] == 3 and got.attrs["n_useful_candidates"] == 1
    assert got["marginal_gain"].iloc[0] > 0
    every = gpd.GeoDataFrame(geometry=[Point(x, 500) for x in (500, 1_500, 2_500)], crs=32651)
    none = suggest_sites(zone, every, radius=1_200, n_sites=2, candidates=cand, at_most=True)
    assert len(none) == 0 and none.attrs["n_useful_candidates"] == 0
    assert none.attrs["demand_covered_by_sites"] == 0.0
