"""Excel workbooks and CGCS2000 inputs (geographic and the Gauss–Krüger zones over Shanghai)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from baoshan_gis import gpkg
from baoshan_gis._errors import CRSError, DataImportError
from baoshan_gis.cli import main
from baoshan_gis.importer import import_layer

# test points (not real places): one west of 121.5E (zone 40), one east of it (zone 41)
WEST = (121.392, 31.318)
EAST = (121.512, 31.402)


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    path = tmp_path / "plan.gpkg"
    district = gpd.GeoDataFrame(
        {"name_zh": ["宝山区"]},
        geometry=[box(121.2954, 31.2671, 121.5211, 31.5139)],
        crs="EPSG:4326",
    )
    with gpkg.atomic_path(path, copy_existing=False) as tmp:
        gpkg.write_frame(tmp, district, "district")
    return path


def _workbook(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    first = book.active
    first.title = "孵化器"
    first.append(["名称", "经度", "纬度", "级别"])
    first.append(["测试甲", WEST[0], WEST[1], "国家级"])
    first.append(["测试乙", None, None, "市级"])
    first.append([None, None, None, None])  # blank row: ignored
    first.append(["测试丙", EAST[0], EAST[1], 3])
    second = book.create_sheet("众创空间")
    second.append(["name", "lng", "lat"])
    second.append(["测试丁", WEST[0], WEST[1]])
    book.save(path)
    return path


def test_xlsx_first_sheet_and_named_sheet(target, tmp_path):
    src = _workbook(tmp_path / "list.xlsx")
    report = import_layer(target, src, name="incubators")
    layer = gpkg.read_layer(target, "incubators")
    assert layer.name_zh.tolist() == ["测试甲", "测试丙"]
    assert layer.geometry.x.tolist() == pytest.approx([WEST[0], EAST[0]])
    assert layer["级别"].tolist() == ["国家级", "3"]  # mixed column kept as text
    assert any(
        "1 row(s) without numeric coordinates skipped (rows 3)" in w for w in report.warnings
    )
    import_layer(target, src, name="makerspaces", sheet="众创空间")
    assert gpkg.read_layer(target, "makerspaces").name_zh.tolist() == ["测试丁"]
    with pytest.raises(DataImportError, match=r"no sheet 'x' in 'list\.xlsx'; sheets: 孵化器"):
        import_layer(target, src, name="other", sheet="x")


def test_xlsx_that_unpacks_too_large_is_refused(target, tmp_path, monkeypatch):
    """A workbook is a zip: its declared sheet size is bounded like any archive's, before
    openpyxl reads it, and the GeoPackage is untouched."""
    from baoshan_gis import settings

    src = _workbook(tmp_path / "big.xlsx")
    import zipfile

    with zipfile.ZipFile(src) as zf:
        declared = sum(i.file_size for i in zf.infolist())
    monkeypatch.setattr(settings, "ARCHIVE_MAX_BYTES", declared - 1)
    before = target.read_bytes()
    with pytest.raises(DataImportError, match=r"'big\.xlsx' would unpack to .*ARCHIVE_MAX_BYTES"):
        import_layer(target, src, name="incubators")
    assert target.read_bytes() == before
    monkeypatch.setattr(settings, "ARCHIVE_MAX_BYTES", declared)
    assert import_layer(target, src, name="incubators").count == 2


def test_xlsx_cli_sheet_and_gcj02(target, tmp_path):
    src = _workbook(tmp_path / "list.xlsx")
    out = CliRunner().invoke(
        main,
        [
            "layers",
            "import",
            str(src),
            "--gpkg",
            str(target),
            "--name",
            "amap",
            "--sheet",
            "众创空间",
            "--source-crs",
            "gcj02",
        ],
    )
    assert out.exit_code == 0, out.output
    layer = gpkg.read_layer(target, "amap")
    assert layer.orig_lon.iloc[0] == pytest.approx(WEST[0])
    assert abs(layer.geometry.x.iloc[0] - WEST[0]) > 1e-3  # converted from GCJ-02


def test_header_only_sheet_is_refused(target, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["名称", "经度", "纬度"])
    book.save(tmp_path / "empty.xlsx")
    with pytest.raises(DataImportError, match="has a header but no data rows"):
        import_layer(target, tmp_path / "empty.xlsx", name="e")


@pytest.mark.parametrize(
    ("epsg", "place"),
    [(4490, WEST), (4549, WEST), (4528, WEST), (4550, EAST), (4529, EAST)],
)
def test_cgcs2000_shapefiles(target, tmp_path, epsg, place):
    pts = gpd.GeoDataFrame({"name": ["测试"]}, geometry=[Point(place)], crs="EPSG:4326")
    shp = tmp_path / f"p{epsg}.shp"
    pts.to_crs(epsg).to_file(shp, encoding="utf-8")
    import_layer(target, shp, name=f"p{epsg}")
    back = gpkg.read_layer(target, f"p{epsg}").geometry.iloc[0]
    assert (back.x, back.y) == pytest.approx(place, abs=1e-7)
    # the same without .prj, CRS given with --crs
    shp.with_suffix(".prj").unlink()
    import_layer(target, shp, name=f"q{epsg}", crs=f"EPSG:{epsg}")
    back = gpkg.read_layer(target, f"q{epsg}").geometry.iloc[0]
    assert (back.x, back.y) == pytest.approx(place, abs=1e-7)


@pytest.mark.parametrize(
    ("written", "declared", "hint"), [(4528, 4549, "EPSG:4528"), (4549, 4528, "EPSG:4549")]
)
def test_gauss_kruger_zone_prefix_mismatch_names_the_right_code(
    target, tmp_path, written, declared, hint
):
    pts = gpd.GeoDataFrame({"name": ["测试"]}, geometry=[Point(WEST)], crs="EPSG:4326")
    shp = tmp_path / "gk.shp"
    pts.to_crs(written).to_file(shp, encoding="utf-8")
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match=f"use --crs {hint}"):
        import_layer(target, shp, name="gk", crs=f"EPSG:{declared}")
