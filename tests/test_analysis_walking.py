"""Walking coverage by default: the report's table from the GeoPackage's own street graph, its
agreement with straight-line reach, and `coverage --graph street`."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from baoshan_gis import read_layer, settings
from baoshan_gis.analysis import StreetGraph, graph_from_gpkg, walking_coverage
from baoshan_gis.analysis.coverage import euclidean_coverage
from baoshan_gis.analysis.walking import minutes_for
from baoshan_gis.cli import main
from baoshan_gis.osm_layers import street_bbox


@pytest.fixture(scope="module")
def report_dir(built_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from baoshan_gis.analysis import write_report

    gpkg = tmp_path_factory.mktemp("walk") / "plan.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    out = gpkg.parent / "report"
    write_report(gpkg, out)
    return gpkg, out


def test_grid_walk_is_exact() -> None:
    """A 100 m street grid: from one corner, 250 m walked reaches exactly the nodes within 250 m
    of Manhattan distance, and the covered share of a zone along one street is known."""
    n = 11
    xs, ys = np.meshgrid(np.arange(n) * 100.0, np.arange(n) * 100.0)
    x, y = xs.ravel(), ys.ravel()
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    g = StreetGraph.from_arrays(x=x + 300_000, y=y + 3_460_000, u=u, v=v,
                                length=np.full(len(u), 100.0), crs=settings.METRIC_CRS)
    fac = gpd.GeoDataFrame(geometry=[shapely.Point(300_000, 3_460_000)], crs=settings.METRIC_CRS)
    # a zone 1 m wide along the bottom street: 250 m (+ the 1 m street buffer) of its 1000 m
    # are within 250 m' walk
    zone = gpd.GeoDataFrame({"layer": ["t"], "name_zh": ["街"], "name_en": ["street"]},
                            geometry=[shapely.box(300_000, 3_460_000, 301_000, 3_460_001)],
                            crs=settings.METRIC_CRS)
    res = walking_coverage(zone, g, {"f": (fac, [250.0])}, edge_buffer=1.0)
    assert res.table["street_share"].iloc[0] == pytest.approx(1.0)
    assert res.table["share_f_250m"].iloc[0] == pytest.approx(0.251, abs=0.001)
    assert res.used["f"] == (1, 1)
    assert minutes_for(1200) == pytest.approx(15.0)


def test_report_has_the_walking_table(report_dir: tuple[Path, Path]) -> None:
    gpkg, out = report_dir
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "步行覆盖 Walking coverage" in md
    for d, minutes in ((500, "6.2"), (1000, "12.5"), (2000, "25.0")):
        assert f"carrier ≤{d} m walk ({minutes} min) %" in md
    assert "station ≤800 m walk (10.0 min) %" in md
    assert "© OpenStreetMap contributors" in md
    import pandas as pd

    tab = pd.read_csv(out / "walking.csv")
    core = tab[tab.name_zh == "环上大科技创新策源核"].iloc[0]
    assert 0.5 < core.street_share <= 1.0
    # only zones that touch the street data are listed
    assert "罗店（未来）科教集聚区" not in set(tab.name_zh)
    # the district's street share is the box's share of the district
    district = read_layer(gpkg, "district").to_crs(settings.METRIC_CRS).geometry.iloc[0]
    box = gpd.GeoSeries([shapely.box(*street_bbox(gpkg))], crs=4326).to_crs(
        settings.METRIC_CRS).iloc[0]
    row = tab[tab.layer == "district"].iloc[0]
    assert row.street_share == pytest.approx(district.intersection(box).area / district.area,
                                             rel=1e-6)
    from baoshan_gis.gpkg import read_meta

    meta = read_meta(gpkg)
    for name in ("analysis_walk_carriers_1000m", "analysis_walk_stations_800m",
                 "analysis_street_extent"):
        assert not read_layer(gpkg, name).empty
        assert settings.OSM_ATTRIBUTION in meta[name]["attribution"]  # ODbL: derived data


def test_walking_never_beats_the_straight_line(report_dir: tuple[Path, Path]) -> None:
    """A walked route is never shorter than the straight line: on the same part of each zone,
    the walking share at d is at most the straight-line share at d + the 50 m street buffer."""
    gpkg, out = report_dir
    import pandas as pd

    tab = pd.read_csv(out / "walking.csv")
    carriers = read_layer(gpkg, "carriers")
    graph = graph_from_gpkg(gpkg, "street")
    box = gpd.GeoSeries([shapely.box(*street_bbox(gpkg))], crs=4326).to_crs(graph.crs).iloc[0]
    zones = read_layer(gpkg, "belt_zones").to_crs(graph.crs)
    for row in zones.itertuples():
        part = row.geometry.intersection(box)
        if part.is_empty:
            continue
        z = gpd.GeoDataFrame({"name_zh": [row.name_zh]}, geometry=[part], crs=graph.crs)
        hit = tab[(tab.layer == "belt_zones") & (tab.name_zh == row.name_zh)]
        if hit.empty:  # zones that barely touch the street data are not listed
            assert part.area < 0.001 * row.geometry.area
            continue
        walked = hit.iloc[0]
        for d in (500, 1000, 2000):
            straight = euclidean_coverage(z, carriers, radius=d + 50.0)["covered_share"].iloc[0]
            assert walked[f"share_carriers_{d}m"] <= straight + 1e-6
            assert walked[f"share_carriers_{d}m"] > 0  # carriers sit on the campus, in the box


def test_coverage_uses_the_stored_graph_by_name(built_gpkg: Path) -> None:
    # the CLI turns the library's warning into a one-line note
    res = CliRunner().invoke(main, ["coverage", "--gpkg", str(built_gpkg), "--zones",
                                    "belt_zones", "--carriers", "metro_stations", "--graph",
                                    "street", "--distance", "800"])
    assert res.exit_code == 0, res.output
    assert any(line.startswith("note:") and "from the street graph and were left out" in line
               for line in res.output.splitlines())
    assert "环上大科技创新策源核" in res.output
    bad = CliRunner().invoke(main, ["coverage", "--gpkg", str(built_gpkg), "--graph", "stret",
                                    "--distance", "800"])
    assert bad.exit_code == 2
    assert "error:" in bad.output and "street" in bad.output and "drive" in bad.output


def test_drive_graph_is_directed(built_gpkg: Path) -> None:
    drive = graph_from_gpkg(built_gpkg, "drive")
    walk = graph_from_gpkg(built_gpkg, "street")
    assert drive.directed and not walk.directed
    edges = read_layer(built_gpkg, "drive_edges")
    assert edges.oneway.any()
