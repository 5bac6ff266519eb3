"""The planners' report (write_report) and the analysis CLI commands, on a synthetic plan
GeoPackage with the built file's layer names and fields, and on the real built GeoPackage."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from baoshan_gis import gpkg as G
from baoshan_gis.analysis import write_report
from baoshan_gis.analysis.report import report_step_count
from baoshan_gis.cli import main

X0, Y0 = 340_000.0, 3_470_000.0
TRUTH = {"plan_ref": "test", "status": "existing", "source": "synthetic test data"}


def _layer(rows: list[dict], geoms: list, **extra: object) -> gpd.GeoDataFrame:
    recs = [{**TRUTH, "geometry_quality": "schematic", "accuracy_m": 0.0, **extra, **r}
            for r in rows]
    return gpd.GeoDataFrame(recs, geometry=geoms, crs=32651).to_crs(4326)


def make_plan_gpkg(path: Path) -> Path:
    """A tiny plan GeoPackage: 10 km district, 2 km square belt zones, 3 carriers, 2 stations."""
    sq = lambda x, y, s: box(X0 + x, Y0 + y, X0 + x + s, Y0 + y + s)  # noqa: E731
    layers = {
        "district": _layer([{"name_zh": "宝山区", "name_en": "Baoshan", "category": "district"}],
                           [sq(0, 0, 10_000)]),
        "innovation_belt": _layer([{"name_zh": "科创集聚带", "name_en": "Belt",
                                    "category": "belt"}], [box(X0, Y0, X0 + 5000, Y0 + 10_000)]),
        "belt_zones": _layer([{"name_zh": "南区", "name_en": "South", "category": "zone",
                               "role": "south_cluster"},
                              {"name_zh": "北区", "name_en": "North", "category": "zone",
                               "role": "north_cluster"}], [sq(1000, 1000, 2000),
                                                           sq(1000, 6000, 2000)]),
        "wusong_structure": _layer([{"name_zh": "吴淞创新城", "name_en": "Wusong",
                                     "category": "area", "role": "area"}], [sq(6000, 1000, 3000)]),
        "zhangjiang_park": _layer([{"name_zh": "南研发", "name_en": "R&D", "category": "park",
                                    "role": "南研发"}], [sq(6000, 5000, 3000)]),
        "future_clusters": _layer([{"name_zh": "未来健康", "name_en": "Health",
                                    "category": "cluster", "members": "a"}],
                                  [sq(500, 500, 4000)]),
        "carriers": _layer(
            [{"name_zh": "甲孵化器", "name_en": "A", "category": "incubator",
              "geometry_quality": "approximate", "accuracy_m": 3000.0, "level": "", "area": "",
              "note": ""},
             {"name_zh": "乙实验室", "name_en": "B", "category": "lab",
              "geometry_quality": "surveyed", "accuracy_m": 20.0, "level": "", "area": "",
              "note": ""},
             {"name_zh": "丙园区", "name_en": "C", "category": "industrial_park",
              "geometry_quality": "approximate", "accuracy_m": 1500.0, "level": "", "area": "",
              "note": ""}],
            [Point(X0 + 2000, Y0 + 2000), Point(X0 + 7500, Y0 + 2500),
             Point(X0 + 7000, Y0 + 6000)]),
        "metro_stations": _layer(
            [{"name_zh": "一站", "name_en": "S1", "category": "metro_station", "osm_id": 1,
              "line_no": 7, "line": "7号线", "seq": 1},
             {"name_zh": "二站", "name_en": "S2", "category": "metro_station", "osm_id": 2,
              "line_no": 7, "line": "7号线", "seq": 2}],
            [Point(X0 + 2000, Y0 + 7000), Point(X0 + 8000, Y0 + 8000)],
            geometry_quality="surveyed"),
    }
    with G.atomic_path(path, copy_existing=False) as tmp:
        for name, frame in layers.items():
            G.write_frame(tmp, frame, name)
            G.write_meta(tmp, name, title_zh=name, title_en=name, kind="plan")
    return path


@pytest.fixture()
def plan(tmp_path: Path) -> Path:
    return make_plan_gpkg(tmp_path / "plan" / "plan.gpkg")


def test_report_numbers_files_and_layers(plan: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    steps: list[str] = []
    res = write_report(plan, out, progress=steps.append, n_sites=2, kde_cell=100)
    assert len(steps) == report_step_count()
    for name in ("report.md", "carrier_density.tif", "density.csv", "density.json",
                 "coverage.csv", "coverage.json", "gaps.csv", "sites.csv", "sites.json"):
        assert (out / name).is_file(), name
    cov = pd.read_csv(out / "coverage.csv")
    south = cov[cov["name_zh"] == "南区"].iloc[0]
    # carrier at the centre of a 2 km square: 500 m disc inside the square
    assert south["share_500m"] == pytest.approx(math.pi * 500**2 / 2000**2, rel=0.005)
    assert south["share_1000m"] == pytest.approx(math.pi * 1000**2 / 2000**2, rel=0.005)
    north = cov[cov["name_zh"] == "北区"].iloc[0]
    assert north["share_station_800m"] == pytest.approx(math.pi * 800**2 / 2000**2, rel=0.005)
    assert north["share_500m"] == 0
    # density counts equal a spatial join on the same layers
    dens = json.loads((out / "density.json").read_text(encoding="utf-8"))
    zones = pd.concat([G.read_layer(plan, n).assign(layer=n) for n in
                       ("innovation_belt", "belt_zones", "wusong_structure", "zhangjiang_park",
                        "future_clusters", "district")])
    carriers = G.read_layer(plan, "carriers")
    j = gpd.sjoin(carriers, gpd.GeoDataFrame(zones, crs=4326), predicate="intersects")
    expected = j.groupby("name_zh_right").size().to_dict()
    for rec in dens:
        assert rec["carriers"] == expected.get(rec["name_zh"], 0), rec["name_zh"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "holds only the 3 carriers" in md
    assert "2 of 3 carriers are not surveyed" in md and "largest 3,000 m" in md
    # layer titles, not ids, in the tables to paste; bilingual headers without snake_case
    south_rows = [ln for ln in md.splitlines() if ln.startswith("| 科创集聚带功能区 | 南区 |")]
    assert len(south_rows) == 2  # density table and coverage table
    # % within 500 / 1000 / 2000 m printed from the exact shares (a 500 m disc in a 2 km
    # square is π/16 = 19.63 %; a 1 km disc drawn with 32 segments a quarter is 78.51 %, just
    # under π/4), not from shares rounded first (which printed 19.60 and 78.50)
    assert "| 19.63 | 78.51 | 100.00 |" in south_rows[1]
    headers = [ln for ln in md.splitlines() if ln.startswith("| 图层<br>Layer |")]
    assert len(headers) == 2
    for head in headers:
        assert "_" not in head.replace("walk_", "")
    assert "距载体 500 米内（%）<br>% within 500 m of a carrier" in headers[1]
    # sites and gaps
    sites = pd.read_csv(out / "sites.csv")
    assert list(sites["rank"]) == [1, 2] and (sites["marginal_gain"] > 0).all()
    gaps = pd.read_csv(out / "gaps.csv")
    assert list(gaps["rank_area"]) == sorted(gaps["rank_area"]) and len(gaps) >= 1
    # GeoPackage layers with parameters, and the COG registered for the tile service
    names = G.layer_names(plan)
    for layer in ("analysis_coverage_500m", "analysis_coverage_1000m", "analysis_coverage_2000m",
                  "analysis_station_coverage_800m", "analysis_gaps", "analysis_sites",
                  "analysis_density_grid", "analysis_density_zones"):
        assert layer in names and layer in res.layers
    meta = G.read_meta(plan)
    assert meta["analysis_coverage_1000m"]["kind"] == "analysis"
    # the reach areas themselves are layers too: a 1 km disc per carrier, united
    reach = G.read_layer(plan, "analysis_reach_carriers_1000m").to_crs(32651)
    carriers = G.read_layer(plan, "carriers").to_crs(32651)
    expected = carriers.buffer(1000, quad_segs=32).union_all()
    assert reach.geometry.iloc[0].symmetric_difference(expected).area < 1.0
    assert meta["analysis_coverage_1000m"]["parameters"]["radius_m"] == 1000
    assert "carriers" in meta["analysis_coverage_1000m"]["inputs"]
    rasters = G.raster_layers(plan)
    # registered inside the GeoPackage's folder (the only place the service follows), as a
    # copy of the report's COG when the report is written elsewhere
    served = rasters["carrier_density"]
    assert served.parent == plan.resolve().parent
    assert served.read_bytes() == (out / "carrier_density.tif").read_bytes()
    assert not list(plan.parent.glob(".*tmp"))


def test_failed_write_leaves_geopackage_untouched(plan: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = plan.read_bytes()
    calls = {"n": 0}
    real = G.write_frame

    def flaky(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(G, "write_frame", flaky)
    with pytest.raises(OSError, match="simulated"):
        write_report(plan, tmp_path / "r", n_sites=1, kde_cell=200)
    assert plan.read_bytes() == before
    assert not list(plan.parent.glob(".*tmp"))


def test_report_with_empty_carrier_layer(plan: Path, tmp_path: Path) -> None:
    from baoshan_gis.analysis import EmptyLayerWarning

    carriers = G.read_layer(plan, "carriers").iloc[0:0]
    with G.atomic_path(plan) as tmp:
        G.write_frame(tmp, carriers, "carriers")
    with pytest.warns(EmptyLayerWarning):
        write_report(plan, tmp_path / "e", n_sites=1, kde_cell=200)
    cov = pd.read_csv(tmp_path / "e" / "coverage.csv")
    shares = cov[[c for c in cov.columns if c.startswith("share_") and "station" not in c]]
    assert (shares.to_numpy() == 0).all()
    dens = pd.read_csv(tmp_path / "e" / "density.csv")
    assert (dens["carriers"] == 0).all() and not dens["per_km2"].isna().any()
    assert "holds only the 0 carriers" in (tmp_path / "e" / "report.md").read_text("utf-8")


def test_cli_commands(plan: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["density", "--gpkg", str(plan), "--zones", "belt_zones"])
    assert r.exit_code == 0, r.output
    assert "南区" in r.output and "北区" in r.output
    r = runner.invoke(main, ["density", "--gpkg", str(plan), "--grid", "2000", "--kde",
                             str(tmp_path / "k.tif"), "--cell", "200"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "k.tif").is_file()
    csv = tmp_path / "c.csv"
    r = runner.invoke(main, ["coverage", "--gpkg", str(plan), "--zones", "belt_zones",
                             "--radius", "1000", "--csv", str(csv), "--write-layer",
                             "analysis_cov_test"])
    assert r.exit_code == 0, r.output
    share = pd.read_csv(csv).set_index("name_zh").loc["南区", "covered_share"]
    assert share == pytest.approx(math.pi / 4, rel=0.005)
    assert "analysis_cov_test" in G.layer_names(plan)
    r = runner.invoke(main, ["coverage", "--gpkg", str(plan), "--zones", "belt_zones",
                             "--carriers", "metro_stations"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["gaps", "--gpkg", str(plan), "--zones", "belt_zones"])
    assert r.exit_code == 0 and "北区" in r.output
    r = runner.invoke(main, ["sites", "--gpkg", str(plan), "--zones", "belt_zones", "-n", "2"])
    assert r.exit_code == 0, r.output
    assert "cumulative_share" in r.output
    r = runner.invoke(main, ["report", "--gpkg", str(plan), "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "report.md").is_file()


def test_cli_network_coverage_with_graphml(plan: Path, tmp_path: Path) -> None:
    import networkx as nx
    import osmnx as ox

    street = nx.MultiDiGraph(crs="EPSG:32651")
    step, n = 250.0, 41  # a 10 km street grid over the synthetic district
    for i in range(n):
        for j in range(n):
            street.add_node(i * n + j, x=X0 + i * step, y=Y0 + j * step)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = i * n + j, (i + di) * n + j + dj
                    street.add_edge(a, b, length=step)
                    street.add_edge(b, a, length=step)
    path = tmp_path / "walk.graphml"
    ox.io.save_graphml(street, path)
    csv = tmp_path / "net.csv"
    r = CliRunner().invoke(main, ["coverage", "--gpkg", str(plan), "--zones", "belt_zones",
                                  "--graph", str(path), "--minutes", "5", "--csv", str(csv)])
    assert r.exit_code == 0, r.output
    share = pd.read_csv(csv).set_index("name_zh")["covered_share"]
    # 5 min at 4.8 km/h = 400 m from a grid node: 4 arms of 400 m plus 8 side arms of 150 m
    # from the neighbouring nodes = 2,800 m of street in a 100 m wide corridor
    assert share["南区"] * 4e6 == pytest.approx(2800 * 100, rel=0.05)
    assert share["北区"] == 0
    # the report with the same graph: a walking column with the same number, and its layer
    r = CliRunner().invoke(main, ["report", "--gpkg", str(plan), "--out", str(tmp_path / "w"),
                                  "--graph", str(path), "--minutes", "5"])
    assert r.exit_code == 0, r.output
    cov = pd.read_csv(tmp_path / "w" / "coverage.csv").set_index("name_zh")
    assert cov.loc["南区", "share_walk_5min"] == pytest.approx(share["南区"], abs=1e-4)
    assert "analysis_network_coverage_5min" in G.layer_names(plan)
    assert "步行 5 分钟内（%）<br>% within walk_5min" in (tmp_path / "w" / "report.md").read_text(
        "utf-8")


def test_report_with_population(plan: Path, tmp_path: Path) -> None:
    import rasterio
    from affine import Affine

    tif = tmp_path / "pop.tif"
    n, cell = 100, 100.0
    with rasterio.open(tif, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs="EPSG:32651", transform=Affine(cell, 0, X0, 0, -cell, Y0 + n * cell)
                       ) as dst:
        dst.write(np.full((n, n), 10.0, dtype="float32"), 1)
    write_report(plan, tmp_path / "rp", population=tif, n_sites=1, kde_cell=200,
                 write_layers=False)
    cov = pd.read_csv(tmp_path / "rp" / "coverage.csv").set_index("name_zh")
    # 2 km square = 400 cells of 10 people; 1 km disc at its centre covers ~ pi/4 of them
    assert cov.loc["南区", "people_1000m"] == pytest.approx(10 * 400 * math.pi / 4, rel=0.03)
    sites = pd.read_csv(tmp_path / "rp" / "sites.csv")
    assert "marginal_gain_km2" not in sites and sites["marginal_gain"].iloc[0] > 0
    assert "analysis_sites" not in G.layer_names(plan)  # write_layers=False


@pytest.mark.parametrize("args, message", [
    (["coverage", "--zones", "belt_zones", "--radius", "0"], "greater than 0"),
    (["coverage", "--zones", "belt_zones", "--radius", "0.01deg"], "degrees"),
    (["coverage", "--zones", "no_such_layer", "--radius", "500"], "no layer named"),
    (["density", "--grid", "2"], "cells"),  # 2 m over a 10 km district: over the cap
    (["sites", "-n", "0"], "n_sites"),
])
def test_cli_bad_input_exit_2(plan: Path, args: list[str], message: str) -> None:
    r = CliRunner().invoke(main, [args[0], "--gpkg", str(plan), *args[1:]])
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and message in r.output


def test_report_on_built_geopackage(built_gpkg: Path, tmp_path: Path) -> None:
    copy = tmp_path / "built.gpkg"
    shutil.copyfile(built_gpkg, copy)
    out = tmp_path / "out"
    res = write_report(copy, out, kde_cell=100)
    md = res.report.read_text(encoding="utf-8")
    for layer in ("innovation_belt", "belt_zones", "wusong_structure", "zhangjiang_park",
                  "future_clusters", "district"):
        for name in G.read_layer(copy, layer)["name_zh"]:
            assert name in md, name
    # the density table equals a spatial join on the built layers
    dens = pd.read_csv(out / "density.csv")
    carriers = G.read_layer(copy, "carriers")
    belt = G.read_layer(copy, "belt_zones")
    j = gpd.sjoin(carriers, belt, predicate="intersects").groupby("name_zh_right").size()
    got = dens[dens["layer"] == "belt_zones"].set_index("name_zh")["carriers"]
    for name in belt["name_zh"]:
        assert got[name] == j.get(name, 0)
    district = dens[dens["layer"] == "district"]["carriers"].iloc[0]
    assert district == len(carriers)
    assert f"holds only the {len(carriers)} carriers" in md
    assert "carrier_density" in G.raster_layers(copy)


def test_report_states_the_district_area_with_its_caveat(built_gpkg: Path, tmp_path: Path
                                                         ) -> None:
    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    res = write_report(gpkg, tmp_path / "r", write_layers=False)
    md = res.report.read_text(encoding="utf-8")
    line = next(ln for ln in md.splitlines() if "District area" in ln)
    outline = G.read_layer(gpkg, "district").to_crs(32651).area.iloc[0] / 1e6
    assert f"{outline:,.1f} km²" in line
    assert "foreshore and water" in line and "271 km²" in line


def test_report_is_also_a_word_document(built_gpkg: Path, tmp_path: Path) -> None:
    """report.docx holds the same headings and tables as report.md, with CJK text in Noto Sans
    SC, and the maps when they are given."""
    import docx
    from PIL import Image

    from baoshan_gis.analysis.report_docx import CJK_FONT, write_docx

    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    res = write_report(gpkg, tmp_path / "r", write_layers=False)
    path = tmp_path / "r" / "report.docx"
    assert path in res.files
    md = res.report.read_text(encoding="utf-8")
    md_tables = [b for b in md.split("\n\n") if b.startswith("|")]
    doc = docx.Document(str(path))
    assert len(doc.tables) == len(md_tables)
    for table, block in zip(doc.tables, md_tables, strict=True):
        lines = block.strip().splitlines()
        assert len(table.rows) == len(lines) - 1  # the separator line is not a row
        first = [c.strip().replace("<br>", "\n") for c in lines[2].strip().strip("|").split("|")]
        assert [c.text for c in table.rows[1].cells][: len(first)] == first
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "2. 覆盖率 Coverage" in headings
    rfonts = doc.styles["Normal"].element.rPr.rFonts
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") \
        == CJK_FONT
    png = tmp_path / "map.png"
    Image.new("RGB", (40, 30), "white").save(png)
    with_maps = write_docx(res.report, tmp_path / "with_maps.docx", maps=[png])
    assert len(docx.Document(str(with_maps)).inline_shapes) == 1


def test_report_when_the_carriers_already_cover_every_zone(plan: Path, tmp_path: Path) -> None:
    # a city-scale carrier list (here a 1 km grid over the district): no site can add cover at
    # the 1,000 m site radius; the report says so instead of failing
    carriers = G.read_layer(plan, "carriers")
    xs, ys = np.meshgrid(np.arange(0, 10_001, 1_000.0), np.arange(0, 10_001, 1_000.0))
    grid = _layer([{"name_zh": f"点{i}", "name_en": f"p{i}", "category": "incubator",
                    "level": "", "area": "", "note": ""} for i in range(xs.size)],
                  [Point(X0 + x, Y0 + y) for x, y in zip(xs.ravel(), ys.ravel(), strict=True)])
    with G.atomic_path(plan) as tmp:
        G.write_frame(tmp, gpd.GeoDataFrame(pd.concat([carriers, grid], ignore_index=True),
                                            crs=carriers.crs), "carriers")
    write_report(plan, tmp_path / "c", n_sites=3, kde_cell=200)
    md = (tmp_path / "c" / "report.md").read_text("utf-8")
    assert "No site is suggested: the carriers already reach all of" in md
    assert "(3 asked for)" in md and "Up to 3 (here 0) sites" in md
    assert len(pd.read_csv(tmp_path / "c" / "sites.csv")) == 0
    assert len(G.read_layer(plan, "analysis_sites")) == 0
