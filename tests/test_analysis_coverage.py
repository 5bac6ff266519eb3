"""Euclidean coverage, station catchments, population-weighted shares and gaps."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis import (
    EmptyLayerWarning,
    coverage_gaps,
    euclidean_coverage,
    reach_areas,
    station_coverage,
    zonal_sum,
)

X0, Y0 = 340_000.0, 3_470_000.0
SIDE = 4000.0


def _zone(crs: str = "EPSG:32651") -> gpd.GeoDataFrame:
    z = gpd.GeoDataFrame({"name_zh": ["方形区"], "name_en": ["square"]},
                         geometry=[box(X0, Y0, X0 + SIDE, Y0 + SIDE)], crs=32651)
    return z.to_crs(crs)


def _centre(category: str = "incubator", crs: str = "EPSG:32651") -> gpd.GeoDataFrame:
    c = gpd.GeoDataFrame({"category": [category]},
                         geometry=[Point(X0 + SIDE / 2, Y0 + SIDE / 2)], crs=32651)
    return c.to_crs(crs)


@pytest.mark.parametrize("r", [300.0, 1000.0, 1900.0])
def test_one_carrier_at_centre_covers_pi_r2(r: float) -> None:
    res = euclidean_coverage(_zone(), _centre(), radius=r)
    expected = math.pi * r * r / SIDE**2
    assert res["covered_share"].iloc[0] == pytest.approx(expected, rel=0.005)
    assert res["covered_m2"].iloc[0] == pytest.approx(math.pi * r * r, rel=0.005)
    assert res["area_km2"].iloc[0] == pytest.approx(SIDE**2 / 1e6, rel=1e-6)


def test_crs_mismatch_is_reprojected() -> None:
    # zones in WGS84, carriers in UTM: the same answer, never an empty result
    res = euclidean_coverage(_zone("EPSG:4326"), _centre(), radius=1000)
    assert res["covered_share"].iloc[0] == pytest.approx(math.pi / 16, rel=0.005)
    assert res.crs.to_epsg() == 4326


def test_radius_per_category_and_station_default() -> None:
    pts = gpd.GeoDataFrame({"category": ["lab", "incubator"]},
                           geometry=[Point(X0 + 1000, Y0 + 1000), Point(X0 + 3000, Y0 + 3000)],
                           crs=32651)
    res = euclidean_coverage(_zone(), pts, radius={"lab": 500, "incubator": 800})
    assert res["covered_m2"].iloc[0] == pytest.approx(math.pi * (500**2 + 800**2), rel=0.005)
    only_lab = euclidean_coverage(_zone(), pts, radius=500, categories=["lab"])
    assert only_lab["covered_m2"].iloc[0] == pytest.approx(math.pi * 500**2, rel=0.005)
    st = station_coverage(_zone(), _centre("metro_station"))
    assert st["covered_m2"].iloc[0] == pytest.approx(math.pi * 800**2, rel=0.005)
    reach = reach_areas(pts, radius={"lab": 500, "incubator": 800})
    assert list(reach["category"]) == ["lab", "incubator"]


def test_empty_carriers_give_zeros_with_warning() -> None:
    empty = gpd.GeoDataFrame({"category": []}, geometry=[], crs=32651)
    with pytest.warns(EmptyLayerWarning):
        res = euclidean_coverage(_zone(), empty, radius=1000)
    assert res["covered_share"].iloc[0] == 0.0
    assert not res.drop(columns="geometry").isna().any().any()


def test_bad_radius() -> None:
    with pytest.raises(AnalysisError, match="greater than 0"):
        euclidean_coverage(_zone(), _centre(), radius=0)
    with pytest.raises(AnalysisError, match="greater than 0"):
        euclidean_coverage(_zone(), _centre(), radius={"incubator": -1})
    with pytest.raises(AnalysisError, match="degrees"):
        euclidean_coverage(_zone("EPSG:4326"), _centre(crs="EPSG:4326"), radius=0.009)


def _raster(path: Path, *, x0: float, y0: float, n: int, cell: float, value: float) -> Path:
    import rasterio
    from affine import Affine

    data = np.full((n, n), value, dtype="float32")
    data[0, 0] = -1  # a nodata cell must not count
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs="EPSG:32651", nodata=-1,
                       transform=Affine(cell, 0, x0, 0, -cell, y0 + n * cell)) as dst:
        dst.write(data, 1)
    return path


def test_population_weighted_share(tmp_path: Path) -> None:
    cell = 100.0
    tif = _raster(tmp_path / "pop.tif", x0=X0 - 1000, y0=Y0 - 1000, n=60, cell=cell, value=7.0)
    r = 1000.0
    res = euclidean_coverage(_zone(), _centre(), radius=r, population=tif)
    # cell-centre rule, computed independently
    cx = X0 - 1000 + (np.arange(60) + 0.5) * cell
    cy = Y0 - 1000 + (np.arange(60) + 0.5) * cell
    gx, gy = np.meshgrid(cx, cy)
    in_zone = (gx > X0) & (gx < X0 + SIDE) & (gy > Y0) & (gy < Y0 + SIDE)
    near = np.hypot(gx - (X0 + SIDE / 2), gy - (Y0 + SIDE / 2)) < r
    assert res["population"].iloc[0] == pytest.approx(7.0 * in_zone.sum())
    assert res["covered_population"].iloc[0] == pytest.approx(7.0 * (in_zone & near).sum(),
                                                              rel=0.01)
    assert res["covered_population_share"].iloc[0] == pytest.approx(math.pi / 16, rel=0.02)


def test_population_raster_that_does_not_overlap(tmp_path: Path) -> None:
    tif = _raster(tmp_path / "far.tif", x0=X0 + 90_000, y0=Y0, n=10, cell=100, value=1)
    with pytest.raises(AnalysisError, match="does not overlap"):
        euclidean_coverage(_zone(), _centre(), radius=500, population=tif)
    with pytest.raises(AnalysisError, match="cannot open"):
        zonal_sum(_zone(), tmp_path / "missing.tif")


def test_gaps_are_the_uncovered_parts_ranked_by_area(tmp_path: Path) -> None:
    # a vertical band of coverage splits the square into two rectangles of known area
    band = gpd.GeoDataFrame(geometry=[box(X0 + 1000, Y0 - 10, X0 + 1500, Y0 + SIDE + 10)],
                            crs=32651)
    gaps = coverage_gaps(_zone(), band, min_area=1.0)
    assert list(gaps["rank_area"]) == [1, 2]
    np.testing.assert_allclose(gaps["area_m2"], [2500 * SIDE, 1000 * SIDE], rtol=1e-9)
    assert list(gaps["zone"]) == ["方形区", "方形区"]
    # min_area drops the small piece
    assert len(coverage_gaps(_zone(), band, min_area=1000 * SIDE + 1)) == 1
    # with a circle: the gap is the square minus the disc
    reach = reach_areas(_centre(), radius=1000)
    g = coverage_gaps(_zone(), reach)
    assert g["area_m2"].sum() == pytest.approx(SIDE**2 - math.pi * 1e6, rel=0.005)
    # population ranking: people only in the small piece
    small_pop = tmp_path / "q.tif"
    _raster(small_pop, x0=X0, y0=Y0, n=10, cell=100, value=5.0)
    gp = coverage_gaps(_zone(), band, min_area=1.0, population=small_pop)
    assert gp.loc[gp["rank_area"] == 2, "rank_population"].iloc[0] == 1
    assert gp["population"].max() > 0


@pytest.mark.parametrize("radius", [200.0, 400.0])
def test_the_union_of_many_discs_equals_the_plain_union(radius: float) -> None:
    # dense points hide most discs; the union leaves those out and unites grid cells instead:
    # it must be the same set, holes and lone points included
    from baoshan_gis.analysis._union import (
        HIDDEN_MIN_SHARE,
        PARALLEL_UNION_MIN,
        _inner_discs,
        buffered_union,
    )

    rng = np.random.default_rng(int(radius))
    ang, rad = rng.uniform(0, 2 * np.pi, 10_000), np.sqrt(rng.uniform(1_500**2, 4_500**2, 10_000))
    ring = np.column_stack([rad * np.cos(ang), rad * np.sin(ang)])  # a hole in the middle
    dense = rng.normal(0, 300, (3_000, 2)) + np.array([9_000.0, 0.0])
    dupes = np.repeat([[6_000.0, 5_000.0]], 5, axis=0)  # one spot five times
    lone = rng.uniform(-8_000, -6_000, (40, 2))  # far apart: nothing hides them
    xy = np.concatenate([ring, dense, dupes, lone])
    pts = shapely.points(xy)
    assert len(pts) >= PARALLEL_UNION_MIN
    hidden, _cells = _inner_discs(xy[:, 0], xy[:, 1], radius, 32)
    assert hidden.mean() >= HIDDEN_MIN_SHARE  # the cells stand in for the hidden discs here
    got = buffered_union(pts, radius, quad_segs=32)
    want = shapely.union_all(shapely.buffer(pts, radius, quad_segs=32))
    assert got.is_valid
    assert got.area == pytest.approx(want.area, rel=1e-12)
    assert got.symmetric_difference(want).area < 1e-6
    holes = [int(shapely.get_num_interior_rings(shapely.get_parts(g)).sum()) for g in (got, want)]
    assert holes[0] == holes[1] >= 1  # the ring's hole is kept
