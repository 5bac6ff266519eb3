"""The incubators layer: the plan's named incubators wait unplaced until imported; reach counts."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from baoshan_gis import gpkg
from baoshan_gis.analysis.incubators import (
    incubator_reach,
    incubator_section,
    placement,
)
from baoshan_gis.cli import main
from baoshan_gis.settings import TRUTH_FIELDS

NAMED = {"埃米三江新材料产业创新中心", "长江软件园", "半城加速器", "复旦大学国家大学科技园（宝山）"}


def test_build_keeps_the_named_incubators_unplaced(built_gpkg):
    assert len(gpkg.read_layer(built_gpkg, "incubators")) == 0
    table = gpkg.read_layer(built_gpkg, "incubators_unplaced")
    assert set(table.name_zh) == NAMED
    for col in (*TRUTH_FIELDS, "level", "operator", "address", "opened", "reason"):
        assert col in table.columns, col
    assert table.geometry_quality.isna().all() and table.accuracy_m.isna().all()
    assert set(table.category) <= {
        "makerspace",
        "incubator",
        "accelerator",
        "university_science_park",
    }
    levels = dict(zip(table.name_zh, table.level, strict=True))
    assert (
        levels["长江软件园"] == "national" and levels["埃米三江新材料产业创新中心"] == "municipal"
    )
    info = {i.name: i for i in gpkg.list_layers(built_gpkg)}
    assert info["incubators_unplaced"].data_type == "attributes"


def test_append_moves_located_rows_out_of_the_unplaced_table(built_gpkg, tmp_path):
    plan = tmp_path / "plan.gpkg"
    shutil.copyfile(built_gpkg, plan)
    src = tmp_path / "located.csv"
    src.write_text(
        "name_zh,lon,lat,geometry_quality,accuracy_m\n"
        "长江软件园,121.392,31.318,approximate,50\n"
        "测试众创空间,121.451,31.352,approximate,50\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    out = runner.invoke(
        main,
        ["layers", "import", str(src), "--gpkg", str(plan), "--name", "incubators", "--append"],
    )
    assert out.exit_code == 0, out.output
    assert "moved out of 'incubators_unplaced' now that they are placed: 长江软件园" in out.stderr
    layer = gpkg.read_layer(plan, "incubators")
    assert sorted(layer.name_zh) == ["测试众创空间", "长江软件园"]
    row = layer.set_index("name_zh").loc["长江软件园"]
    assert (row.category, row.level, row.plan_ref) == ("incubator", "national", "四(一)2(3)")
    assert set(gpkg.read_layer(plan, "incubators_unplaced").name_zh) == NAMED - {"长江软件园"}
    assert gpkg.read_meta(plan)["incubators"]["kind"] == "plan"  # keeps titles and style
    # a second append replaces the row of the same name and keeps the other
    src.write_text("name_zh,lon,lat\n长江软件园,121.40,31.32\n", encoding="utf-8")
    again = runner.invoke(
        main,
        ["layers", "import", str(src), "--gpkg", str(plan), "--name", "incubators", "--append"],
    )
    assert again.exit_code == 0, again.output
    layer = gpkg.read_layer(plan, "incubators").set_index("name_zh")
    assert len(layer) == 2 and layer.loc["长江软件园"].geometry.x == pytest.approx(121.40)
    counts = placement(layer.reset_index(), gpkg.read_layer(plan, "incubators_unplaced"))
    assert (counts.placed, counts.placed_municipal_or_above, counts.unplaced) == (2, 1, 3)
    zones = gpkg.read_layer(plan, "innovation_belt")
    section = "\n".join(incubator_section(plan, zones))
    assert (
        "1 of the plan's 36 incubation carriers at municipal level or above are placed" in section
    )
    assert "share_within_1000m" in section


def test_incubator_reach_counts_and_shares():
    zones = gpd.GeoDataFrame(
        {"name_zh": ["甲", "乙"]},
        geometry=[box(0, 0, 4000, 4000), box(10000, 0, 14000, 4000)],
        crs="EPSG:32651",
    )
    inc = gpd.GeoDataFrame(
        {"level": ["national", ""]},
        geometry=[Point(2000, 2000), Point(3000, 3000)],
        crs="EPSG:32651",
    )
    out = incubator_reach(zones, inc, radius=500)
    assert out.incubators_in_zone.tolist() == [2, 0]
    # two discs of r=500 m whose centres are 1414 m apart: no overlap
    assert out.within_reach_share.iloc[0] == pytest.approx(2 * math.pi * 500**2 / 4000**2, rel=1e-3)
    assert out.within_reach_share.iloc[1] == 0.0
    none = incubator_reach(zones, inc.iloc[0:0], radius=500)
    assert none.within_reach_share.tolist() == [0.0, 0.0] and none.attrs["placed"] == 0


def test_section_says_none_placed_on_the_default_build(built_gpkg):
    zones = gpkg.read_layer(built_gpkg, "innovation_belt")
    text = "\n".join(incubator_section(Path(built_gpkg), zones))
    assert "0 of the plan's 36 incubation carriers" in text
    assert "4 named but not located" in text
