"""Site choice (maximal covering): exact = exhaustive search; greedy within its guarantee."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis import solve_mclp, square_grid, suggest_sites

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
        crs=32651, index=[f"c{i}" for i in range(9)]).to_crs(4326)
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
    assert res["cumulative_gain"].iloc[-1] == pytest.approx(value(best), rel=1e-9)
    assert sorted(res["candidate"]) == sorted(f"c{i}" for i in best)
    # ranked: marginal gains non-increasing, adding up to the total
    gains = res["marginal_gain"].to_numpy()
    assert (np.diff(gains) <= 1e-6).all()
    assert gains.sum() == pytest.approx(res["cumulative_gain"].iloc[-1])
    assert res["cumulative_share"].iloc[-1] == pytest.approx(value(best) / w[left].sum())
    assert res.crs.to_epsg() == 32651


def test_existing_carriers_are_held_fixed() -> None:
    zone = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 4000, Y0 + 1000)], crs=32651)
    existing = gpd.GeoDataFrame(geometry=[Point(X0 + 500, Y0 + 500)], crs=32651)
    res = suggest_sites(zone, existing, radius=500, n_sites=1, candidate_spacing=250)
    site = res.geometry.iloc[0]
    # the new site must not sit on top of the existing one: the best site is far from it
    assert site.distance(existing.geometry.iloc[0]) >= 900
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    res0 = suggest_sites(zone, empty, radius=500, n_sites=2, candidate_spacing=250,
                         method="greedy")
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
