"""Kernel density: mass, agreement with the exact sum of Gaussians, COG output, bad inputs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis import kernel_density, write_cog
from baoshan_gis.analysis.kde import NODATA

X0, Y0 = 340_000.0, 3_470_000.0


def _cluster(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(X0 + rng.normal(10_000, 1500, n),
                                    Y0 + rng.normal(10_000, 1500, n)), crs=32651)


def _square(size: float = 20_000.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + size, Y0 + size)], crs=32651)


def test_surface_integrates_to_point_count() -> None:
    pts = _cluster(400)
    s = kernel_density(pts, bandwidth=500, cell_size=50, area=_square())
    assert s.values.shape == (400, 400)
    assert s.total() == pytest.approx(400, rel=0.01)
    # per km², not per m² or per cell: 400 points in ~ 30 km² peak well above 1 / km²
    assert 1 < float(s.values.max()) < 100


def test_matches_exact_gaussian_sum() -> None:
    pts = _cluster(60, seed=3)
    h, cs = 600.0, 100.0
    s = kernel_density(pts.to_crs(4326), bandwidth=h, cell_size=cs, area=_square())
    x0, top = s.transform.c, s.transform.f
    ny, nx = s.values.shape
    cx = x0 + (np.arange(nx) + 0.5) * cs
    cy = top - (np.arange(ny) + 0.5) * cs
    gx, gy = np.meshgrid(cx, cy)
    px, py = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    d2 = (gx[..., None] - px) ** 2 + (gy[..., None] - py) ** 2
    exact = np.exp(-d2 / (2 * h * h)).sum(-1) / (2 * np.pi * h * h) * 1e6
    err = np.abs(s.values - exact).max() / exact.max()
    assert err < 0.01


def test_nodata_outside_area_and_cog(tmp_path: Path) -> None:
    import rasterio

    disc = gpd.GeoDataFrame(geometry=[Point(X0 + 10_000, Y0 + 10_000).buffer(8000)], crs=32651)
    s = kernel_density(_cluster(200), bandwidth=800, cell_size=100, area=disc)
    corner, centre = s.values[0, 0], s.values[s.values.shape[0] // 2, s.values.shape[1] // 2]
    assert corner == NODATA and centre > 0
    path = write_cog(s, tmp_path / "d.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32651
        assert src.nodata == NODATA
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.profile["tiled"]
        np.testing.assert_allclose(src.read(1), s.values)
    assert not list(tmp_path.glob(".*tmp*"))


def test_empty_points_with_area_give_zero_surface() -> None:
    empty = gpd.GeoDataFrame(geometry=[], crs=32651)
    with pytest.warns(UserWarning, match="empty"):
        s = kernel_density(empty, bandwidth=500, cell_size=100, area=_square(5000))
    assert s.total() == 0 and not np.isnan(s.values).any()


def test_bad_inputs() -> None:
    pts = _cluster(10)
    with pytest.raises(AnalysisError, match="greater than 0"):
        kernel_density(pts, bandwidth=-5, cell_size=50)
    with pytest.raises(AnalysisError, match="degrees"):
        kernel_density(pts.to_crs(4326), bandwidth=0.005, cell_size=50)
    with pytest.raises(AnalysisError, match="cells"):
        kernel_density(pts, bandwidth=500, cell_size=1, area=_square(200_000))
    with pytest.raises(AnalysisError, match="larger than the bandwidth"):
        kernel_density(pts, bandwidth=100, cell_size=500)
