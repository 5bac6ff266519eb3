"""Carrier density per zone / square grid / H3: counts must equal a plain spatial join."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from baoshan_gis._errors import AnalysisError, CRSError
from baoshan_gis.analysis import (
    EmptyLayerWarning,
    carrier_density,
    grid_density,
    h3_density,
    h3_grid,
    point_zone_pairs,
    square_grid,
)

X0, Y0 = 340_000.0, 3_470_000.0  # inside UTM 51N near Baoshan
CATS = ["incubator", "lab", "industrial_park"]


def _points(n: int, seed: int = 0, extent: float = 10_000.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        {"category": rng.choice(CATS, n)},
        geometry=gpd.points_from_xy(X0 + rng.uniform(0, extent, n), Y0 + rng.uniform(0, extent, n)),
        crs="EPSG:32651",
    )


def _random_zones(n: int, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    cx, cy = X0 + rng.uniform(0, 10_000, n), Y0 + rng.uniform(0, 10_000, n)
    radii = rng.uniform(300, 2500, n) if n <= 200 else rng.uniform(50, 300, n)
    polys = shapely.buffer(shapely.points(cx, cy), radii, quad_segs=6)
    return gpd.GeoDataFrame({"name_zh": [f"区{i}" for i in range(n)]}, geometry=polys,
                            crs="EPSG:32651")


def _sjoin_counts(zones: gpd.GeoDataFrame, pts: gpd.GeoDataFrame) -> tuple[np.ndarray, dict]:
    j = gpd.sjoin(pts.to_crs(zones.crs), zones, predicate="intersects")
    total = j.groupby("index_right").size().reindex(zones.index, fill_value=0).to_numpy()
    by = {c: j[j["category"] == c].groupby("index_right").size()
          .reindex(zones.index, fill_value=0).to_numpy() for c in CATS}
    return total, by


@pytest.mark.parametrize("n_zones", [5, 150, 6000])  # the three counting paths
def test_counts_equal_sjoin(n_zones: int) -> None:
    zones = _random_zones(n_zones)
    pts = _points(3000).to_crs(4326)  # a different CRS: must be reprojected, not compared raw
    before = pts.copy()
    res = carrier_density(zones, pts)
    total, by = _sjoin_counts(zones, pts)
    assert total.sum() > 0
    np.testing.assert_array_equal(res["count"].to_numpy(), total)
    for c in CATS:
        np.testing.assert_array_equal(res[f"count_{c}"].to_numpy(), by[c])
    area_km2 = zones.area.to_numpy() / 1e6
    np.testing.assert_allclose(res["per_km2"].to_numpy(), total / area_km2, rtol=1e-9)
    assert list(res.index) == list(zones.index) and res.crs == zones.crs
    pm = pts.to_crs(zones.crs)
    pi, zi = point_zone_pairs(zones.geometry.to_numpy(), pm.geometry.x, pm.geometry.y)
    j = gpd.sjoin(pm, zones, predicate="intersects")
    assert sorted(zip(pi.tolist(), zi.tolist(), strict=True)) == sorted(
        zip(j.index.tolist(), j["index_right"].tolist(), strict=True))
    assert "count" not in zones.columns  # inputs untouched
    assert before.equals(pts)


def test_grid_density_equals_sjoin_and_grid_is_aligned() -> None:
    area = gpd.GeoDataFrame(geometry=[Point(X0 + 5000, Y0 + 5000).buffer(4000)], crs=32651)
    pts = _points(2000)
    grid = square_grid(area, cell_size=1000)
    assert np.allclose(grid.geometry.bounds["minx"] % 1000, 0)
    assert np.allclose(grid.area, 1e6)
    assert grid.intersects(area.geometry.iloc[0]).all()
    res = grid_density(pts, area=area, cell_size="1 km")
    total, _ = _sjoin_counts(grid, pts)
    np.testing.assert_array_equal(res["count"].to_numpy(), total)


def test_h3_density_counts_each_point_in_its_cell() -> None:
    import h3

    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 10_000, Y0 + 10_000)], crs=32651)
    pts = _points(500)
    res = h3_density(pts, area=area, resolution=8)
    ll = pts.to_crs(4326)
    expected = Counter(h3.latlng_to_cell(p.y, p.x, 8) for p in ll.geometry)
    got = dict(zip(res["h3"], res["count"], strict=True))
    assert {k: v for k, v in got.items() if v} == dict(expected)
    # the hexagons cover the area completely
    cover = shapely.union_all(h3_grid(area, resolution=8).to_crs(32651).geometry.to_numpy())
    assert cover.buffer(1).contains(area.geometry.iloc[0])


def test_empty_carriers_give_zeros_with_warning() -> None:
    zones = _random_zones(3)
    empty = gpd.GeoDataFrame({"category": []}, geometry=[], crs="EPSG:4326")
    with pytest.warns(EmptyLayerWarning):
        res = carrier_density(zones, empty, categories=CATS)
    assert (res["count"] == 0).all() and (res["count_lab"] == 0).all()
    assert not res.drop(columns="geometry").isna().any().any()


def test_bad_inputs() -> None:
    area = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 50_000, Y0 + 50_000)], crs=32651)
    with pytest.raises(AnalysisError, match="cells"):
        square_grid(area, cell_size=1)  # 2.5e9 cells: capped
    with pytest.raises(AnalysisError, match="greater than 0"):
        square_grid(area, cell_size=0)
    with pytest.raises(AnalysisError, match="degrees"):
        square_grid(area.to_crs(4326), cell_size=0.01)
    with pytest.raises(AnalysisError, match="degrees"):
        square_grid(area, cell_size="0.01 deg")
    with pytest.raises(AnalysisError, match="resolution"):
        h3_grid(area, resolution=16)
    no_crs = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)])
    with pytest.raises(CRSError):
        carrier_density(no_crs, _points(3))


def test_docstring_examples() -> None:
    import doctest
    import importlib

    for name in ("density", "coverage"):
        result = doctest.testmod(importlib.import_module(f"baoshan_gis.analysis.{name}"))
        assert result.attempted > 0 and result.failed == 0
