"""layers export to GeoParquet, FlatGeobuf, GeoJSON and Shapefile, and back in by layers import."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from baoshan_gis import gpkg
from baoshan_gis._errors import CRSError, DataImportError, InvalidInput
from baoshan_gis.cli import main
from baoshan_gis.importer import import_layer
from baoshan_gis.layer_export import export_layer
from baoshan_gis.settings import TRUTH_FIELDS

TRUTH = {
    "name_zh": ["测试路甲", "测试园乙"],
    "name_en": ["Test A", "Test B"],
    "category": ["road", "park"],
    "plan_ref": ["四(一)", "四(二)"],
    "status": ["existing", "planned"],
    "source": ["OpenStreetMap way 1", "test"],
    "geometry_quality": ["surveyed", "approximate"],
    "accuracy_m": [5.0, 250.0],
}


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    path = tmp_path / "plan.gpkg"
    frame = gpd.GeoDataFrame(
        {**TRUTH, "lanes": [2, 4]},
        geometry=[Point(121.392, 31.318), Point(121.451, 31.352)],
        crs="EPSG:4326",
    )
    district = gpd.GeoDataFrame(
        {"name_zh": ["宝山区"]},
        geometry=[box(121.2954, 31.2671, 121.5211, 31.5139)],
        crs="EPSG:4326",
    )
    with gpkg.atomic_path(path, copy_existing=False) as tmp:
        gpkg.write_frame(tmp, district, "district")
        gpkg.write_frame(tmp, frame, "roads")
        gpkg.write_meta(
            tmp,
            "roads",
            title_zh="道路",
            title_en="Roads",
            kind="plan",
            licence="ODbL 1.0",
            attribution="© OpenStreetMap contributors",
            source="OpenStreetMap extract",
        )
        gpkg.write_frame(tmp, pd.DataFrame({"seq": [1]}), "indicators")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".fgb", ".geojson", ".shp"])
def test_round_trip_keeps_attributes_crs_truth_fields(source, tmp_path, suffix):
    out = tmp_path / "exp" / f"roads{suffix}"
    report = export_layer(source, "roads", out, encoding="gbk" if suffix == ".shp" else "utf-8")
    assert report.count == 2
    sidecar = out.with_name(out.name + ".attribution.txt")
    assert "© OpenStreetMap contributors" in sidecar.read_text(encoding="utf-8")
    assert "ODbL" in sidecar.read_text(encoding="utf-8")
    if suffix == ".shp":
        assert out.with_suffix(".cpg").read_text() == "GBK"
        assert "测试路甲".encode("gbk") in out.with_suffix(".dbf").read_bytes()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(out).metadata
        assert json.loads(meta[b"geo"])["columns"]["geometry"]["crs"]["id"]["code"] == 4326
        assert "OpenStreetMap" in json.loads(meta[b"baoshan"])["attribution"]
    else:
        assert pyogrio.read_info(out)["crs"] == "EPSG:4326"
    import_layer(source, out, name="back")
    # FlatGeobuf's spatial index may reorder features: compare in the original order
    back = gpkg.read_layer(source, "back").set_index("name_zh").loc[TRUTH["name_zh"]]
    back = back.reset_index()
    for field in TRUTH_FIELDS:
        assert back[field].tolist() == TRUTH[field], field
    assert back["lanes"].tolist() == [2, 4]
    assert back.geometry.x.tolist() == pytest.approx([121.392, 121.451])


def test_export_errors(source, tmp_path):
    with pytest.raises(InvalidInput, match=r"cannot export to 'x\.kml': use one of"):
        export_layer(source, "roads", tmp_path / "x.kml")
    with pytest.raises(InvalidInput, match="table without geometry"):
        export_layer(source, "indicators", tmp_path / "x.parquet")
    out = CliRunner().invoke(
        main, ["layers", "export", "nope", "--gpkg", str(source), "--to", str(tmp_path / "x.fgb")]
    )
    assert out.exit_code == 2 and out.stderr.startswith("error: no layer named 'nope'")
    ok = CliRunner().invoke(
        main,
        ["layers", "export", "roads", "--gpkg", str(source), "--to", str(tmp_path / "r.geojson")],
    )
    assert ok.exit_code == 0 and "exported 2 feature(s) of 'roads'" in ok.stdout


def test_parquet_that_is_not_geoparquet_or_has_no_crs(source, tmp_path):
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"name": ["a"], "lon": [121.4], "lat": [31.3]}).to_parquet(plain)
    with pytest.raises(DataImportError, match=r"not GeoParquet: .*columns: name, lon, lat"):
        import_layer(source, plain, name="p")
    nocrs = tmp_path / "nocrs.parquet"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(121.4, 31.3)]).to_parquet(nocrs)
    with pytest.raises(CRSError, match=r'"crs": null .* name it with --crs'):
        import_layer(source, nocrs, name="p")
    import_layer(source, nocrs, name="p", crs="EPSG:4326")
    assert gpkg.read_layer(source, "p").geometry.x.iloc[0] == pytest.approx(121.4)
    garbage = tmp_path / "bad.parquet"
    garbage.write_bytes(b"not parquet at all")
    with pytest.raises(DataImportError, match=r"cannot read 'bad\.parquet' as Parquet"):
        import_layer(source, garbage, name="g")
