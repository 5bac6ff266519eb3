"""Importing planners' files: every format, every bad-input case, atomicity, and the CLI."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, Polygon, box

from baoshan_gis import coords, gpkg
from baoshan_gis._errors import (
    CRSError,
    DataImportError,
    EncodingProblem,
    InvalidInput,
    LayerExists,
)
from baoshan_gis.cli import main
from baoshan_gis.importer import import_layer
from baoshan_gis.settings import TRUTH_FIELDS

# Test data only: two labels and two arbitrary points inside the district (not real positions)
NAMES = ["测试孵化器甲", "测试孵化器乙"]
LONLAT = [(121.392, 31.318), (121.451, 31.352)]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    """A small GeoPackage standing in for the built one: a district box and one carrier."""
    path = tmp_path / "plan.gpkg"
    district = gpd.GeoDataFrame(
        {"name_zh": ["宝山区"]}, geometry=[box(121.2954, 31.2671, 121.5211, 31.5139)],
        crs="EPSG:4326",
    )
    carriers = gpd.GeoDataFrame(
        {"name_zh": ["吴淞创新城"]}, geometry=[Point(121.49, 31.38)], crs="EPSG:4326"
    )
    with gpkg.atomic_path(path, copy_existing=False) as tmp:
        gpkg.write_frame(tmp, district, "district")
        gpkg.write_meta(tmp, "district", title_zh="宝山区", title_en="Baoshan District",
                        kind="plan")
        gpkg.write_frame(tmp, carriers, "carriers")
        gpkg.write_style(tmp, "carriers", "<qgis/>")
    return path


def _points(crs: str | None = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"名称": NAMES, "level": ["national", "municipal"]},
        geometry=[Point(xy) for xy in LONLAT], crs=crs,
    )


def _write_gbk_shapefile(folder: Path) -> Path:
    """A real GBK-encoded shapefile whose encoding is declared nowhere (no .cpg, LDID 0)."""
    shp = folder / "incubators.shp"
    _points().to_file(shp, encoding="gbk")
    shp.with_suffix(".cpg").unlink()
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0  # no language driver id either
    dbf.write_bytes(bytes(data))
    assert NAMES[0].encode("gbk") in data  # really GBK bytes ...
    with pytest.raises(UnicodeDecodeError):
        NAMES[0].encode("gbk").decode("utf-8")  # ... which are not UTF-8
    return shp


# ---------------------------------------------------------------------------------------------
# bad input: one test per case, each checks the message AND that the GeoPackage is unchanged


def test_no_crs_names_crs_option(target, tmp_path):
    shp = tmp_path / "nocrs.shp"
    _points().to_file(shp, encoding="utf-8")
    shp.with_suffix(".prj").unlink()
    before = _digest(target)
    with pytest.raises(CRSError, match=r"no coordinate reference system.*--crs"):
        import_layer(target, shp, name="incubators")
    assert _digest(target) == before
    # and the option named in the message fixes it
    report = import_layer(target, shp, name="incubators", crs="EPSG:4326")
    assert report.count == 2


def test_undecodable_gbk_shapefile_names_encoding_option(target, tmp_path):
    shp = _write_gbk_shapefile(tmp_path)
    before = _digest(target)
    with pytest.raises(EncodingProblem, match=r"not valid utf-8.*--encoding gbk"):
        import_layer(target, shp, name="incubators")
    assert _digest(target) == before
    assert "incubators" not in gpkg.layer_names(target)
    # with --encoding the Chinese text arrives intact (never garbled)
    import_layer(target, shp, name="incubators", encoding="gbk")
    back = gpkg.read_layer(target, "incubators")
    assert list(back["名称"]) == NAMES
    assert list(back["name_zh"]) == NAMES


def test_undecodable_geojson_names_encoding_option(target, tmp_path):
    src = tmp_path / "gbk.geojson"
    _points().to_file(src)
    src.write_bytes(src.read_text(encoding="utf-8").encode("gbk"))  # not UTF-8 any more
    before = _digest(target)
    with pytest.raises(EncodingProblem, match=r"not valid UTF-8.*--encoding"):
        import_layer(target, src, name="gbk_json")
    assert _digest(target) == before
    import_layer(target, src, name="gbk_json", encoding="gbk")
    assert gpkg.read_layer(target, "gbk_json")["名称"].tolist() == NAMES


def test_wrong_encoding_given_is_refused(target, tmp_path):
    shp = _write_gbk_shapefile(tmp_path)
    shp.with_suffix(".cpg").write_text("UTF-8")  # a .cpg that lies
    before = _digest(target)
    with pytest.raises(EncodingProblem, match=r"not valid utf-8 \(its \.cpg file\).*--encoding"):
        import_layer(target, shp, name="incubators")
    assert _digest(target) == before


def test_invalid_geometries_repaired_and_counted(target, tmp_path):
    bowtie = Polygon([(121.40, 31.30), (121.42, 31.32), (121.42, 31.30), (121.40, 31.32)])
    ok = box(121.43, 31.33, 121.44, 31.34)
    src = tmp_path / "zones.geojson"
    gpd.GeoDataFrame({"name_zh": ["自交区", "正常区"]}, geometry=[bowtie, ok],
                     crs="EPSG:4326").to_file(src)
    assert not bowtie.is_valid
    before = gpkg.read_layer(target, "carriers")
    report = import_layer(target, src, name="zones")
    assert report.repaired == 1
    assert any("1 invalid geometry repaired" in w for w in report.warnings)
    back = gpkg.read_layer(target, "zones")
    assert back.geometry.is_valid.all()
    # the bow-tie becomes its two triangles (0.02 x 0.01 / 2 square degrees each), not nothing
    assert back.geometry.iloc[0].area == pytest.approx(2 * 0.02 * 0.01 / 2, rel=1e-6)
    assert back.geometry.iloc[0].geom_type in ("Polygon", "MultiPolygon")
    pd.testing.assert_frame_equal(gpkg.read_layer(target, "carriers"), before)


def test_empty_file_is_refused(target, tmp_path):
    src = tmp_path / "empty.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    before = _digest(target)
    with pytest.raises(DataImportError, match="has no features"):
        import_layer(target, src, name="empty")
    assert _digest(target) == before
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"")
    with pytest.raises(DataImportError, match="is empty"):
        import_layer(target, blank, name="empty")
    assert _digest(target) == before


def test_header_only_csv_is_refused(target, tmp_path):
    src = tmp_path / "header.csv"
    src.write_text("name,lon,lat\n", encoding="utf-8")
    before = _digest(target)
    with pytest.raises(DataImportError, match="header but no data rows"):
        import_layer(target, src, name="header_only")
    assert _digest(target) == before


def test_far_from_district_is_warned(target, tmp_path):
    src = tmp_path / "far.csv"
    # one row in Baoshan, one in Beijing, one in Guangzhou
    src.write_text("name,lng,lat\n宝山,121.45,31.40\n北京,116.40,39.91\n广州,113.26,23.13\n",
                   encoding="utf-8")
    before = gpkg.read_layer(target, "district")
    report = import_layer(target, src, name="far")
    far = [w for w in report.warnings if "more than 20 km from Baoshan" in w]
    assert len(far) == 1 and far[0].startswith("2 of 3 feature(s)")
    assert "feature 2 at 116.40000, 39.91000" in far[0]
    assert len(gpkg.read_layer(target, "far")) == 3  # warned, not dropped
    pd.testing.assert_frame_equal(gpkg.read_layer(target, "district"), before)
    near = tmp_path / "near.csv"
    near.write_text("name,lng,lat\n宝山,121.45,31.40\n", encoding="utf-8")
    assert not any("km from Baoshan" in w for w in import_layer(
        target, near, name="near").warnings)


def test_swapped_lon_lat_is_refused_with_hint(target, tmp_path):
    src = tmp_path / "swapped.csv"
    src.write_text("name,lon,lat\n宝山,121.45,31.40\n颠倒,31.40,121.45\n", encoding="utf-8")
    before = _digest(target)
    with pytest.raises(CRSError, match=r"not lon/lat degrees \(e.g. 31.4, 121.45\); longitude "
                       r"and latitude look swapped"):
        import_layer(target, src, name="swapped")
    src.write_text("name,x,y\n投影,360000,3475000\n", encoding="utf-8")
    with pytest.raises(CRSError, match=r"not lon/lat degrees.*--crs EPSG:4549"):
        import_layer(target, src, name="swapped")
    assert _digest(target) == before
    import_layer(target, src, name="swapped", crs="EPSG:32651")
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32651, 4326, always_xy=True).transform(360000, 3475000)
    back = gpkg.read_layer(target, "swapped").geometry.iloc[0]
    assert (back.x, back.y) == (pytest.approx(lon, abs=1e-9), pytest.approx(lat, abs=1e-9))


def test_existing_layer_refused_without_replace(target, tmp_path):
    src = tmp_path / "c.geojson"
    _points().to_file(src)
    before = _digest(target)
    with pytest.raises(LayerExists, match=r"'carriers' already exists.*--replace"):
        import_layer(target, src, name="carriers")
    assert _digest(target) == before
    report = import_layer(target, src, name="carriers", replace=True)
    assert report.count == 2
    assert len(gpkg.read_layer(target, "carriers")) == 2
    assert gpkg.read_meta(target)["carriers"]["kind"] == "import"
    # the replaced layer's old QGIS style is gone
    import sqlite3

    con = sqlite3.connect(target)
    assert con.execute("SELECT COUNT(*) FROM layer_styles WHERE f_table_name='carriers'"
                       ).fetchone()[0] == 0
    con.close()


@pytest.mark.parametrize("bad", ["Incubators", "1st", "gpkg_contents", "a-b", "x; DROP TABLE"])
def test_unsafe_layer_name_refused(target, tmp_path, bad):
    src = tmp_path / "c.geojson"
    _points().to_file(src)
    before = _digest(target)
    with pytest.raises(InvalidInput, match=f"layer name {bad!r}"):
        import_layer(target, src, name=bad)
    assert _digest(target) == before


def test_failure_midway_leaves_gpkg_byte_identical(target, tmp_path, monkeypatch):
    src = tmp_path / "c.geojson"
    _points().to_file(src)
    before = _digest(target)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    # the layer is already written to the temporary copy when the metadata write fails
    monkeypatch.setattr(gpkg, "write_meta", boom)
    with pytest.raises(OSError, match="disk full"):
        import_layer(target, src, name="incubators")
    assert _digest(target) == before
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == []


def test_csv_without_recognisable_columns_names_options(target, tmp_path):
    src = tmp_path / "cols.csv"
    src.write_text("名称,东,北\n宝山,121.45,31.40\n", encoding="utf-8")
    before = _digest(target)
    with pytest.raises(DataImportError, match="--lon-col and --lat-col"):
        import_layer(target, src, name="cols")
    with pytest.raises(DataImportError, match="--lon-col 'e' is not a column"):
        import_layer(target, src, name="cols", lon_col="e", lat_col="北")
    assert _digest(target) == before
    assert import_layer(target, src, name="cols", lon_col="东", lat_col="北").count == 1


def test_gbk_csv_names_encoding(target, tmp_path):
    src = tmp_path / "gbk.csv"
    src.write_bytes("名称,经度,纬度\n测试孵化器丙,121.451,31.352\n".encode("gbk"))
    before = _digest(target)
    with pytest.raises(EncodingProblem, match="--encoding gbk"):
        import_layer(target, src, name="gbk_csv")
    assert _digest(target) == before
    import_layer(target, src, name="gbk_csv", encoding="gbk")
    assert gpkg.read_layer(target, "gbk_csv")["名称"].tolist() == ["测试孵化器丙"]


def test_multi_layer_gpkg_requires_layer_choice(target, tmp_path):
    src = tmp_path / "two.gpkg"
    _points().to_file(src, layer="incubators")
    _points().to_file(src, layer="parks")
    before = _digest(target)
    with pytest.raises(DataImportError, match=r"2 layers \(incubators, parks\).*--layer"):
        import_layer(target, src, name="x")
    assert _digest(target) == before
    assert import_layer(target, src, name="x", layer="parks").count == 2


def test_missing_target_or_input_and_unsupported_format(tmp_path, target):
    src = tmp_path / "c.geojson"
    _points().to_file(src)
    with pytest.raises(InvalidInput, match="does not exist; build it first"):
        import_layer(tmp_path / "nope.gpkg", src, name="x")
    with pytest.raises(DataImportError, match="does not exist"):
        import_layer(target, tmp_path / "missing.csv", name="x")
    xls = tmp_path / "list.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataImportError, match=r"unsupported file type '\.xls'.*save it as \.xlsx"):
        import_layer(target, xls, name="x")
    broken = tmp_path / "list.xlsx"
    broken.write_bytes(b"PK")
    with pytest.raises(DataImportError, match=r"cannot read 'list.xlsx' as an Excel workbook"):
        import_layer(target, broken, name="x")
    with pytest.raises(CRSError, match="unknown --source-crs 'mars'"):
        import_layer(target, src, name="x", source_crs="mars")


# ---------------------------------------------------------------------------------------------
# good imports


def _check_points(target: Path, name: str) -> gpd.GeoDataFrame:
    back = gpkg.read_layer(target, name)
    assert back.crs.to_epsg() == 4326
    assert len(back) == 2
    for fld in TRUTH_FIELDS:
        assert fld in back.columns
    np.testing.assert_allclose(back.geometry.x, [xy[0] for xy in LONLAT], atol=1e-9)
    np.testing.assert_allclose(back.geometry.y, [xy[1] for xy in LONLAT], atol=1e-9)
    assert list(back["name_zh"]) == NAMES
    meta = gpkg.read_meta(target)[name]
    assert meta["kind"] == "import"
    return back


def test_import_geojson_and_gpkg(target, tmp_path):
    src = tmp_path / "inc.geojson"
    _points().to_file(src)
    report = import_layer(target, src, name="from_geojson")
    assert report.count == 2 and report.repaired == 0 and report.converted_from is None
    back = _check_points(target, "from_geojson")
    assert list(back["source"]) == ["inc.geojson"] * 2
    assert back["geometry_quality"].isna().all()  # unknown stays unknown, not guessed
    assert any("left empty" in w and "geometry_quality" in w for w in report.warnings)
    src2 = tmp_path / "inc.gpkg"
    _points().to_file(src2, layer="only")
    import_layer(target, src2, name="from_gpkg")
    _check_points(target, "from_gpkg")
    assert gpkg.read_meta(target)["from_gpkg"]["source"] == "inc.gpkg"


def test_import_shapefile_reprojects_to_wgs84(target, tmp_path):
    shp = tmp_path / "inc.shp"
    _points().to_crs("EPSG:4549").to_file(shp, encoding="utf-8")  # CGCS2000 Gauss-Kruger
    import_layer(target, shp, name="from_shp")
    back = gpkg.read_layer(target, "from_shp")
    np.testing.assert_allclose(back.geometry.x, [xy[0] for xy in LONLAT], atol=1e-6)
    assert list(back["名称"]) == NAMES


def test_import_zipped_gbk_shapefile_with_cpg(target, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    shp = folder / "incubators.shp"
    _points().to_file(shp, encoding="gbk")  # GDAL writes a .cpg saying so
    archive = tmp_path / "incubators.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, f"data/{part.name}")
        zf.writestr("data/readme.txt", "exported from the 2026 list")
    report = import_layer(target, archive, name="from_zip")
    assert report.count == 2
    back = _check_points(target, "from_zip")
    assert list(back["level"]) == ["national", "municipal"]


def test_import_csv_autodetects_chinese_columns(target, tmp_path):
    src = tmp_path / "inc.csv"
    rows = "\n".join(f"{n},{x},{y}" for n, (x, y) in zip(NAMES, LONLAT, strict=True))
    src.write_text("名称,经度,纬度\n" + rows + "\n无坐标,,\n", encoding="utf-8-sig")
    report = import_layer(target, src, name="from_csv")
    assert report.count == 2
    assert any("1 row(s) without numeric coordinates skipped (file lines 4)" in w
               for w in report.warnings)
    assert any("taken as WGS84" in w and "--source-crs" in w for w in report.warnings)
    back = _check_points(target, "from_csv")
    assert "经度" not in back.columns  # the geometry holds them


def test_gcj02_csv_converted_and_originals_kept(target, tmp_path):
    gx, gy = coords.wgs84_to_gcj02(np.array(LONLAT)[:, 0], np.array(LONLAT)[:, 1])
    src = tmp_path / "amap.csv"
    rows = [f"{n},{float(x)!r},{float(y)!r}" for n, x, y in zip(NAMES, gx, gy, strict=True)]
    src.write_text("name,lng,lat\n" + "\n".join(rows), encoding="utf-8")
    report = import_layer(target, src, name="from_amap", source_crs="gcj02")
    assert report.converted_from == "gcj02"
    back = _check_points(target, "from_amap")  # back at the true WGS84 positions
    np.testing.assert_allclose(back["orig_lon"], gx, atol=1e-12)
    np.testing.assert_allclose(back["orig_lat"], gy, atol=1e-12)
    assert gpkg.read_meta(target)["from_amap"]["parameters"]["source_crs"] == "gcj02"


def test_bd09_polygons_keep_original_wkt(target, tmp_path):
    ring = [(121.40, 31.30), (121.42, 31.30), (121.42, 31.32), (121.40, 31.32)]
    bx, by = coords.wgs84_to_bd09(np.array(ring)[:, 0], np.array(ring)[:, 1])
    baidu = Polygon(list(zip(bx, by, strict=True)))
    src = tmp_path / "baidu.geojson"
    gpd.GeoDataFrame({"name_zh": ["园区"]}, geometry=[baidu], crs="EPSG:4326").to_file(src)
    import_layer(target, src, name="from_baidu", source_crs="bd09")
    back = gpkg.read_layer(target, "from_baidu")
    got = np.asarray(back.geometry.iloc[0].exterior.coords)[:4]
    np.testing.assert_allclose(got, np.array(ring), atol=1e-8)
    from shapely import wkt

    assert wkt.loads(back["orig_wkt"].iloc[0]).equals_exact(baidu, 1e-9)


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_import_ok_and_errors(target, tmp_path):
    src = tmp_path / "amap.csv"
    src.write_text("name,lng,lat\n测试孵化器丁,121.397,31.316\n", encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(main, ["layers", "import", str(src), "--gpkg", str(target),
                              "--name", "amap", "--source-crs", "gcj02"])
    assert ok.exit_code == 0, ok.output
    assert "imported 1 feature (Point) from 'amap.csv' into layer 'amap'" in ok.stdout
    assert "converted from GCJ02 to WGS84" in ok.stdout
    assert "warning: truth field(s) not in the file left empty" in ok.stderr
    before = _digest(target)
    again = runner.invoke(main, ["layers", "import", str(src), "--gpkg", str(target),
                                 "--name", "amap"])
    assert again.exit_code == 2
    assert again.stderr.startswith("error: layer 'amap' already exists")
    assert "--replace" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    bad = runner.invoke(main, ["layers", "import", str(src), "--gpkg", str(target),
                               "--name", "Bad Name"])
    assert bad.exit_code == 2 and "not a safe identifier" in bad.stderr
    assert _digest(target) == before
    replaced = runner.invoke(main, ["layers", "import", str(src), "--gpkg", str(target),
                                    "--name", "amap", "--replace"])
    assert replaced.exit_code == 0
    assert gpkg.read_layer(target, "amap").geometry.x.iloc[0] == pytest.approx(121.397)
