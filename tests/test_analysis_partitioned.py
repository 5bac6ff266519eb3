"""Density and coverage counts on partitioned GeoParquet with a two-worker local Dask cluster.

The fixture: 5,000 generated points (seeded) over a 10 km square in UTM 51N, written as four
GeoParquet parts in EPSG:4326; results must equal the in-memory functions exactly.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from baoshan_gis._errors import ClusterUnavailable, CRSError, DataImportError
from baoshan_gis.analysis import carrier_density, grid_density, h3_density
from baoshan_gis.analysis.coverage import point_coverage
from baoshan_gis.analysis.partitioned import (
    coverage_counts_partitioned,
    dask_client,
    density_partitioned,
    point_coverage_partitioned,
)

X0, Y0 = 350_000.0, 3_470_000.0  # UTM 51N, near Baoshan


@pytest.fixture(scope="module")
def points() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(11)
    n = 5_000
    x = X0 + rng.uniform(-500, 10_500, n)
    y = Y0 + rng.uniform(-500, 10_500, n)
    x[:10] = X0 + 5_000  # on the shared edge of two zones: counted in both
    cats = rng.choice(np.array(["lab", "incubator", "park"], dtype=object), n)
    cats[20] = None  # counted as "unknown"
    x[20], y[20] = X0 + 100, Y0 + 100
    frame = gpd.GeoDataFrame({"category": cats}, geometry=shapely.points(x, y), crs=32651)
    return frame.to_crs(4326)


@pytest.fixture(scope="module")
def parts(points: gpd.GeoDataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pts") / "points.parquet"
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(points)), 4)):
        points.iloc[chunk].to_parquet(folder / f"part.{i}.parquet")
    return folder


@pytest.fixture(scope="module")
def zones() -> gpd.GeoDataFrame:
    boxes = [
        shapely.box(X0, Y0, X0 + 5_000, Y0 + 10_000),
        shapely.box(X0 + 5_000, Y0, X0 + 10_000, Y0 + 5_000),
        shapely.box(X0 + 5_000, Y0 + 5_000, X0 + 10_000, Y0 + 10_000),
    ]
    return gpd.GeoDataFrame({"name_zh": ["西", "东南", "东北"]}, geometry=boxes, crs=32651)


@pytest.fixture(scope="module")
def client():
    with dask_client(n_workers=2, threads_per_worker=1, processes=False) as c:
        yield c


def _same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry"))
    )
    assert int(got["count"].sum()) > 0


def test_two_workers(client) -> None:
    assert len(client.scheduler_info()["workers"]) == 2


def test_zone_counts_equal_in_memory(parts, points, zones, client) -> None:
    got = density_partitioned(parts, zones, client=client)
    want = carrier_density(zones, points)
    _same(got, want)


def test_single_file_and_grid_equal_in_memory(tmp_path, points, zones, client) -> None:
    one = tmp_path / "all.parquet"
    points.to_parquet(one)
    _same(
        density_partitioned(one, zones, grid=1000, client=client),
        grid_density(points, area=zones, cell_size=1000),
    )


def test_h3_equal_in_memory(parts, points, zones, client) -> None:
    got = density_partitioned(parts, zones, h3=8, client=client)
    _same(got, h3_density(points, area=zones, resolution=8))


def test_coverage_counts_equal_buffered_density(parts, points, zones, client) -> None:
    got = coverage_counts_partitioned(parts, zones, 300, client=client)
    buffered = zones.copy()
    buffered["geometry"] = zones.geometry.buffer(300)
    want = carrier_density(buffered, points)
    assert got["count"].tolist() == want["count"].tolist()
    assert (got["count"] > carrier_density(zones, points)["count"]).all()
    assert got["count_lab"].tolist() == want["count_lab"].tolist()


@pytest.fixture(scope="module")
def facilities() -> gpd.GeoDataFrame:
    xy = [(X0 + 2_000, Y0 + 2_000), (X0 + 7_500, Y0 + 7_500), (X0 + 5_000, Y0 + 5_100)]
    return gpd.GeoDataFrame({"name_zh": ["甲", "乙", "丙"]},
                            geometry=[shapely.Point(p) for p in xy], crs=32651)


def _brute_force(points, zones, facilities, r):
    pts = points.to_crs(32651)
    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    fx, fy = facilities.geometry.x.to_numpy(), facilities.geometry.y.to_numpy()
    near = (np.hypot(x[:, None] - fx[None, :], y[:, None] - fy[None, :]) <= r).any(axis=1)
    totals, covered = [], []
    for g in zones.geometry:
        inside = shapely.intersects_xy(g, x, y)
        totals.append(int(inside.sum()))
        covered.append(int((inside & near).sum()))
    return totals, covered


def test_point_coverage_counts_points_near_facilities(points, zones, facilities) -> None:
    got = point_coverage(zones, points, facilities, radius=1500)
    totals, covered = _brute_force(points, zones, facilities, 1500)
    assert got["points"].tolist() == totals
    assert got["covered_points"].tolist() == covered
    assert 0 < sum(covered) < sum(totals)
    share = np.array(covered) / np.array(totals)
    assert np.allclose(got["covered_points_share"], share)


def test_point_coverage_partitioned_equals_in_memory(parts, points, zones, facilities,
                                                     client) -> None:
    got = point_coverage_partitioned(parts, zones, facilities, 1500, client=client)
    want = point_coverage(zones, points, facilities, radius=1500)
    for col in ("points", "covered_points", "covered_points_share", "radius_m"):
        assert got[col].tolist() == want[col].tolist()


def test_plain_parquet_refused(tmp_path) -> None:
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"lon": [121.4], "lat": [31.4]}).to_parquet(path)
    with pytest.raises(DataImportError, match=r"not GeoParquet.*columns: lon, lat"):
        density_partitioned(path, gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326))


def test_null_crs_refused(tmp_path) -> None:
    path = tmp_path / "nocrs.parquet"
    gpd.GeoDataFrame(geometry=[shapely.Point(121.4, 31.4)]).to_parquet(path)
    with pytest.raises(CRSError, match=r'"crs": null'):
        density_partitioned(path, gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_scheduler_fails_fast() -> None:
    start = time.monotonic()
    with (
        pytest.raises(ClusterUnavailable, match="cannot reach the Dask scheduler"),
        dask_client(f"tcp://127.0.0.1:{_free_port()}", timeout=2),
    ):
        pass
    assert time.monotonic() - start < 8


@pytest.fixture(scope="module")
def tiny_gpkg(zones: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
              tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("g") / "z.gpkg"
    zones.to_file(path, layer="belt_zones", driver="GPKG")
    facilities.assign(category="lab").to_file(path, layer="carriers", driver="GPKG")
    return path


def test_cli_coverage_points(parts, points, tiny_gpkg) -> None:
    from baoshan_gis.cli import main
    from baoshan_gis.gpkg import read_layer

    res = CliRunner().invoke(main, ["coverage", "--points", str(parts), "--radius", "1500",
                                    "--gpkg", str(tiny_gpkg), "--write-layer",
                                    "analysis_points_covered"])
    assert res.exit_code == 0, res.output
    z, f = read_layer(tiny_gpkg, "belt_zones"), read_layer(tiny_gpkg, "carriers")
    totals, covered = _brute_force(points, z.to_crs(32651), f.to_crs(32651), 1500)
    for name, t, c in zip(z["name_zh"], totals, covered, strict=True):
        line = next(ln for ln in res.output.splitlines() if ln.strip().startswith(name))
        assert line.split()[1:4] == [str(t), str(c), f"{100 * c / t:.2f}"], res.output
    stored = read_layer(tiny_gpkg, "analysis_points_covered")
    assert stored["covered_points"].tolist() == covered
    bad = CliRunner().invoke(main, ["coverage", "--points", str(parts), "--radius", "lab=500",
                                    "--gpkg", str(tiny_gpkg)])
    assert bad.exit_code == 2 and "one --radius in metres" in bad.output


def test_cli_density_points(parts, points, zones, tiny_gpkg) -> None:
    from baoshan_gis.cli import main

    res = CliRunner().invoke(
        main, ["density", "--points", str(parts), "--zones", "belt_zones", "--gpkg", str(tiny_gpkg)]
    )
    assert res.exit_code == 0, res.output
    from baoshan_gis.gpkg import read_layer

    stored = read_layer(tiny_gpkg, "belt_zones")  # as the CLI reads it
    want = carrier_density(stored, points)["count"].tolist()
    for name, count in zip(stored["name_zh"], want, strict=True):
        assert any(name in line and f"{count:,}" in line for line in res.output.splitlines()), (
            res.output
        )


def test_cli_errors(tmp_path, tiny_gpkg) -> None:
    from baoshan_gis.cli import main

    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(plain)
    res = CliRunner().invoke(main, ["density", "--points", str(plain), "--gpkg", str(tiny_gpkg)])
    assert res.exit_code == 2
    assert "error:" in res.output and "not GeoParquet" in res.output
    start = time.monotonic()
    good = tmp_path / "g.parquet"
    gpd.GeoDataFrame(geometry=[shapely.Point(121.4, 31.4)], crs=4326).to_parquet(good)
    res = CliRunner().invoke(
        main,
        [
            "density",
            "--points",
            str(good),
            "--gpkg",
            str(tiny_gpkg),
            "--scheduler",
            f"tcp://127.0.0.1:{_free_port()}",
            "--connect-timeout",
            "2",
        ],
    )
    assert res.exit_code == 2
    assert "error: cannot reach the Dask scheduler" in res.output
    assert time.monotonic() - start < 8
