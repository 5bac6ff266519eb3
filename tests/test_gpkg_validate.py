"""The built GeoPackage, with the report's analysis layers, passes the checks of PDOK's
geopackage-validator that apply (the validator itself needs GDAL's Python bindings, which do not
install from PyPI here): RQ24 no null geometries, RC20 counter-clockwise exterior rings, geometry
types as declared, every table registered, lower-case names; and QGIS finds the styles."""

from __future__ import annotations

import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
import shapely

from baoshan_gis import gpkg as g


@pytest.fixture(scope="module")
def full(built_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from baoshan_gis.analysis.report import write_report

    path = tmp_path_factory.mktemp("validate") / "plan.gpkg"
    shutil.copy(built_gpkg, path)
    write_report(path, path.parent / "report", n_sites=2, kde_cell=200)
    return path


def _features(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as con:
        return con.execute(
            "SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns"
        ).fetchall()


def test_rq24_no_null_or_empty_geometries(full: Path) -> None:
    tables = _features(full)
    assert len(tables) >= 15
    for table, _col, _gtype in tables:
        frame = pyogrio.read_dataframe(full, layer=table)
        geoms = frame.geometry.to_numpy()
        assert not shapely.is_missing(geoms).any(), table
        assert not shapely.is_empty(geoms).any(), table


def test_rc20_exterior_rings_counter_clockwise(full: Path) -> None:
    polygon_layers = 0
    for table, _col, gtype in _features(full):
        if "POLYGON" not in gtype.upper():
            continue
        polygon_layers += 1
        for geom in pyogrio.read_dataframe(full, layer=table).geometry:
            for part in getattr(geom, "geoms", [geom]):
                assert shapely.is_ccw(part.exterior), table
                assert all(not shapely.is_ccw(r) for r in part.interiors), table
    assert polygon_layers >= 13  # plan zones and the analysis outputs


def test_geometry_types_match_and_tables_registered(full: Path) -> None:
    with sqlite3.connect(full) as con:
        user_tables = {
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'gpkg_%' "
                "AND name NOT LIKE 'rtree_%' AND name NOT LIKE 'sqlite_%'"
            )
        }
        registered = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
    assert user_tables - registered == {g.META_TABLE}  # the project's bookkeeping table only
    for table, _col, gtype in _features(full):
        types = set(pyogrio.read_dataframe(full, layer=table).geometry.geom_type.str.upper())
        assert types <= {gtype.upper()}, (table, types, gtype)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", table)


def test_unplaced_features_kept_in_a_registered_attributes_table(full: Path) -> None:
    with sqlite3.connect(full) as con:
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents"))
        rows = con.execute(
            "SELECT name_zh, covered_share, covered_km2 FROM analysis_coverage_1000m_unplaced"
        ).fetchall()
    assert kinds["future_clusters_unplaced"] == "attributes"
    assert rows == [("新型功能材料集聚区", None, None)]  # not measured: NULL, never 0
    meta = g.read_meta(full)
    assert meta["future_clusters"]["parameters"]["unplaced"] == ["新型功能材料集聚区"]
    assert meta["analysis_coverage_1000m"]["parameters"]["unplaced"] == ["新型功能材料集聚区"]
    assert "layer_styles" not in g.layer_names(full)
    assert "新型功能材料集聚区" not in set(g.read_layer(full, "future_clusters").name_zh)
    back = g.read_layer(full, "future_clusters", with_unplaced=True)
    assert back.loc[back.name_zh == "新型功能材料集聚区"].geometry.isna().all()
    report = (full.parent / "report" / "report.md").read_text(encoding="utf-8")
    assert "新型功能材料集聚区（未定位）" in report
    assert "counted as 0" not in report


def test_layer_styles_readable_through_gdal(full: Path) -> None:
    styles = pyogrio.read_dataframe(full, layer="layer_styles")
    assert {
        "carriers",
        "future_clusters",
        "analysis_gaps",
        "analysis_coverage_1000m",
        "analysis_sites",
    } <= set(styles.f_table_name)
    assert str(styles.update_time.dtype).startswith("datetime64")  # GDAL parsed the ISO dates
    with sqlite3.connect(full) as con:
        raw = [r[0] for r in con.execute("SELECT update_time FROM layer_styles")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", t) for t in raw)
    assert "layer_styles" in pyogrio.list_layers(full)[:, 0]
    for row in styles.itertuples():
        ET.fromstring(row.styleQML.split("\n", 1)[1])
        sld = ET.fromstring(row.styleSLD.split("\n", 1)[1])
        assert sld.tag.endswith("StyledLayerDescriptor")
        assert "Noto Sans SC" in row.styleQML or "text-style" not in row.styleQML
    cov = styles.set_index("f_table_name").styleQML["analysis_coverage_1000m"]
    renderer = ET.fromstring(cov.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol" and renderer.get("attr") == "covered_share"


SCHEMATIC = [
    "metro_lines",
    "innovation_belt",
    "belt_zones",
    "wusong_structure",
    "zhangjiang_park",
    "future_clusters",
    "design_services_belt",
]


@pytest.mark.parametrize("layer", SCHEMATIC)
def test_schematic_layers_dashed_and_hatched(full: Path, layer: str) -> None:
    styles = pyogrio.read_dataframe(full, layer="layer_styles").set_index("f_table_name")
    root = ET.fromstring(styles.styleQML[layer].split("\n", 1)[1])
    symbols = list(root.iter("symbol"))
    assert symbols
    for sym in symbols:
        layers = sym.findall("layer")
        opts = [{o.get("name"): o.get("value") for o in lyr.iter("Option")} for lyr in layers]
        if sym.get("type") == "line":
            assert opts[0]["line_style"] == "dash" and opts[0]["use_custom_dash"] == "1"
        else:
            assert sym.get("type") == "fill"
            assert opts[0]["outline_style"] == "dash"
            assert any(o.get("style") == "f_diagonal" for o in opts[1:])
    font = root.find("labeling/settings/text-style").get("fontFamily")
    assert font == "Noto Sans SC"


def test_surveyed_layers_stay_solid(full: Path) -> None:
    styles = pyogrio.read_dataframe(full, layer="layer_styles").set_index("f_table_name")
    root = ET.fromstring(styles.styleQML["district"].split("\n", 1)[1])
    opts = {o.get("name"): o.get("value") for o in root.iter("Option")}
    assert opts["outline_style"] == "solid" and "f_diagonal" not in styles.styleQML["district"]


def _unplaced_rows(rows: list[list[str]], name: str) -> list[list[str]]:
    return [r for r in rows if any(c.startswith(name) for c in r)]


def test_unplaced_zone_reads_未定位_in_every_number_cell(full: Path) -> None:
    import docx

    name = "新型功能材料集聚区"
    md = (full.parent / "report" / "report.md").read_text(encoding="utf-8")
    md_rows = [[c.strip() for c in line.strip().strip("|").split("|")]
               for line in md.splitlines() if line.startswith("|")]
    doc = docx.Document(str(full.parent / "report" / "report.docx"))
    doc_rows = [[c.text.strip() for c in row.cells] for t in doc.tables for row in t.rows]
    for rows in (md_rows, doc_rows):
        hits = _unplaced_rows(rows, name)
        assert len(hits) >= 2, hits  # the density and the coverage tables
        for row in hits:
            named = [c for c in row if c.startswith(name)]
            assert named == [f"{name}（未定位）"], row
            numbers = row[row.index(named[0]) + 1:]
            assert numbers and all(c == "未定位" for c in numbers), row
            assert not {"0", "–", "-", "0.00", ""} & set(row), row


def test_every_analysis_feature_says_how_it_was_placed(full: Path) -> None:
    """Derived features carry truth fields too: source, geometry quality and accuracy radius,
    no better than what they were computed from (carriers are all approximate)."""
    carriers = g.read_layer(full, "carriers")
    worst_carrier = float(carriers["accuracy_m"].max())
    order = ("surveyed", "approximate", "schematic")
    seen = 0
    for table, _col, _gtype in _features(full):
        if not table.startswith("analysis_"):
            continue
        seen += 1
        frame = pyogrio.read_dataframe(full, layer=table)
        for col in ("source", "geometry_quality", "accuracy_m"):
            assert col in frame.columns and frame[col].notna().all(), (table, col)
        assert set(frame["geometry_quality"]) <= set(order), table
    assert seen >= 8
    reach = g.read_layer(full, "analysis_reach_carriers_1000m")
    assert set(reach["geometry_quality"]) == {"approximate"}
    assert (reach["accuracy_m"] == worst_carrier).all()
    assert reach["source"].str.contains("carriers").all()
    gaps = g.read_layer(full, "analysis_gaps")  # the belt is drawn by a schematic rule
    belt_quality = set(g.read_layer(full, "innovation_belt")["geometry_quality"])
    want = max(belt_quality | {"approximate"}, key=order.index)
    assert set(gaps["geometry_quality"]) == {want}
    assert (gaps["accuracy_m"] >= worst_carrier).all()
