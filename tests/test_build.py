"""The plan GeoPackage: every layer, the truth fields, placement, determinism, atomicity."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from baoshan_gis import read_layer, settings
from baoshan_gis._errors import BuildError
from baoshan_gis.build import build_geopackage, build_layers
from baoshan_gis.catalogue import load_catalogue
from baoshan_gis.gpkg import layer_names, list_layers, read_meta

SPATIAL_MODEL = {
    "district", "innovation_belt", "belt_zones", "wusong_structure", "zhangjiang_park",
    "future_clusters", "design_services_belt", "carriers", "metro_stations", "metro_lines",
    "indicators", "incubators", "incubators_unplaced", "future_clusters_unplaced",
    # OpenStreetMap base data from the embedded extract of the 环上大 / 大场 / 南大 area
    "roads", "osm_areas", "street_nodes", "street_edges", "drive_nodes", "drive_edges",
}


def test_every_layer_of_the_spatial_model_is_built(built_gpkg: Path) -> None:
    assert set(layer_names(built_gpkg)) == SPATIAL_MODEL
    counts = {i.name: i.count for i in list_layers(built_gpkg)}
    assert counts["district"] == 1
    assert counts["innovation_belt"] == 1
    assert counts["indicators"] == 11  # 表1 has 11 rows
    assert counts["carriers"] >= 15
    assert counts["metro_stations"] >= 40


UNPLACED_TABLES = {"incubators_unplaced", "future_clusters_unplaced"}  # attribute tables


@pytest.mark.parametrize("name", sorted(SPATIAL_MODEL - {"indicators", *UNPLACED_TABLES}))
def test_truth_fields_on_every_feature(built_gpkg: Path, name: str) -> None:
    gdf = read_layer(built_gpkg, name)
    assert gdf.crs.to_epsg() == 4326
    for col in settings.TRUTH_FIELDS:
        assert col in gdf.columns, col
    for col in ("name_zh", "name_en", "category", "plan_ref", "source"):
        assert gdf[col].map(lambda v: isinstance(v, str) and v.strip() != "").all(), col
    assert gdf.status.isin(settings.STATUSES).all()
    assert gdf.geometry_quality.isin(settings.GEOMETRY_QUALITIES).all()
    assert (gdf.accuracy_m >= 0).all()


def test_carriers_lie_in_or_next_to_the_district(built_gpkg: Path) -> None:
    district = read_layer(built_gpkg, "district").to_crs(settings.METRIC_CRS).geometry.iloc[0]
    carriers = read_layer(built_gpkg, "carriers").to_crs(settings.METRIC_CRS)
    dist = carriers.distance(district)
    assert (dist <= 1000).all(), carriers.loc[dist > 1000, "name_zh"].tolist()


def test_schematic_and_approximate_features_carry_honest_accuracy(built_gpkg: Path) -> None:
    carriers = read_layer(built_gpkg, "carriers")
    # Nothing in the carriers layer is claimed as surveyed: the plan gives no coordinates.
    assert (carriers.geometry_quality != "surveyed").all()
    assert (carriers.accuracy_m >= 1000).all()
    for name in ("innovation_belt", "belt_zones", "wusong_structure", "metro_lines"):
        assert (read_layer(built_gpkg, name).geometry_quality == "schematic").all(), name


def test_zone_point_accuracy_covers_the_whole_zone(built_gpkg: Path) -> None:
    zones = read_layer(built_gpkg, "wusong_structure").to_crs(settings.METRIC_CRS)
    area = zones[zones.name_zh == "吴淞创新城"].geometry.iloc[0]
    carriers = read_layer(built_gpkg, "carriers").to_crs(settings.METRIC_CRS)
    lab = carriers[carriers.name_zh == "上海吴淞材料实验室"].iloc[0]
    assert area.contains(lab.geometry)
    # every point of the zone lies within the stated radius of the placed point
    assert shapely.hausdorff_distance(lab.geometry, area) <= lab.accuracy_m


def test_stations_keep_osm_ids_and_attribution(built_gpkg: Path) -> None:
    st = read_layer(built_gpkg, "metro_stations")
    assert st.osm_id.notna().all()
    assert st.source.str.startswith("OpenStreetMap node ").all()
    shu = st[(st.name_zh == "上海大学") & (st.line_no == 7)]
    assert len(shu) == 1
    assert shu.geometry.iloc[0].distance(shapely.Point(121.383948, 31.322355)) < 1e-6
    assert set(st[st.in_district].line_no) == {1, 3, 7, 15, 18}
    meta = read_meta(built_gpkg)
    assert meta["metro_stations"]["attribution"] == "© OpenStreetMap contributors"
    assert meta["metro_lines"]["attribution"] == "© OpenStreetMap contributors"


def test_metro_lines_connect_consecutive_stations_only(built_gpkg: Path) -> None:
    lines = read_layer(built_gpkg, "metro_lines")
    stations = read_layer(built_gpkg, "metro_stations")
    line7 = lines[lines.line_no == 7].geometry.iloc[0]
    on7 = stations[stations.line_no == 7].sort_values("seq")
    assert len(line7.coords) == len(on7)
    assert shapely.Point(line7.coords[0]).distance(on7.geometry.iloc[0]) < 1e-9
    # Line 11 has stations 14, 16, 18, 19 near the district: only 18-19 are consecutive.
    assert len(lines[lines.line_no == 11]) == 1
    assert len(lines[lines.line_no == 11].geometry.iloc[0].coords) == 2


def test_innovation_belt_is_west_of_yunchuan_road(built_gpkg: Path) -> None:
    belt = read_layer(built_gpkg, "innovation_belt").geometry.iloc[0]
    district = read_layer(built_gpkg, "district").geometry.iloc[0]
    stations = read_layer(built_gpkg, "metro_stations")

    def at(line: int, name: str) -> shapely.Point:
        row = stations[(stations.line_no == line) & (stations.name_zh == name)]
        return row.geometry.iloc[0]

    assert belt.contains(at(7, "上海大学"))  # west, south end
    assert belt.contains(at(7, "美兰湖"))  # west, north
    assert not belt.contains(at(3, "淞滨路"))  # Wusong is east of 蕰川公路
    # clipped in the metric CRS: slivers from reprojecting cut edges stay below 1e-5 of the area
    assert belt.difference(district).area < 1e-5 * belt.area
    assert 0.3 < belt.area / district.area < 0.8


def test_indicator_table_matches_table_1(built_gpkg: Path) -> None:
    ind = read_layer(built_gpkg, "indicators")
    assert isinstance(ind, pd.DataFrame) and not isinstance(ind, gpd.GeoDataFrame)
    assert ind.seq.tolist() == list(range(1, 12))
    row = ind[ind.seq == 5].iloc[0]
    assert row.name_zh == "列入市高新技术成果转化项目" and row.target_2030 == "累计260个"


def test_layer_styles_and_descriptions_are_stored(built_gpkg: Path) -> None:
    import sqlite3

    con = sqlite3.connect(built_gpkg)
    styled = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles")}
    desc = dict(con.execute("SELECT table_name, description FROM gpkg_contents"))
    con.close()
    assert styled == SPATIAL_MODEL - {"indicators", *UNPLACED_TABLES}
    assert desc["innovation_belt"].startswith("科创集聚带 Innovation belt.")


def _content_digest(path: Path) -> str:
    h = hashlib.sha256()
    for name in sorted(layer_names(path)):
        frame = read_layer(path, name)
        if isinstance(frame, gpd.GeoDataFrame):
            frame = pd.DataFrame(frame).assign(geometry=frame.geometry.to_wkb(hex=True))
        h.update(name.encode())
        h.update(frame.to_csv(index=False).encode())
    return h.hexdigest()


def test_build_is_deterministic(built_gpkg: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.gpkg"
    build_geopackage(again)
    assert _content_digest(again) == _content_digest(built_gpkg)


def test_failed_build_leaves_the_target_untouched(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"previous content")
    layers = tmp_path / "layers"
    shutil.copytree(settings.layers_dir(), layers)
    text = (layers / "carriers.toml").read_text(encoding="utf-8")
    (layers / "carriers.toml").write_text(
        text.replace('name = "上海大学" } }', 'name = "不存在站" } }', 1).replace(
            'op = "osm_area", name = "上海大学（宝山校区）"', 'op = "osm_area", name = "无此区"', 1
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("BAOSHAN_LAYERS_DIR", str(layers))
    with pytest.raises(BuildError, match="no station '不存在站' on line 7"):
        build_geopackage(target)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers", "plan.gpkg"]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    shutil.copytree(settings.layers_dir(), layers)
    for fname, old, new in [
        ("carriers.toml", 'status = "existing"', 'status = "finished"'),
        ("belt_zones.toml", 'geometry_quality = "schematic"', 'geometry_quality = "guessed"'),
    ]:
        p = layers / fname
        p.write_text(p.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(BuildError) as err:
        build_layers(load_catalogue(layers))
    msg = str(err.value)
    assert "status 'finished'" in msg and "geometry_quality 'guessed'" in msg


def test_interrupted_write_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    from baoshan_gis import gpkg

    calls = {"n": 0}
    real = gpkg.write_frame

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(gpkg, "write_frame", failing)
    target = tmp_path / "x.gpkg"
    with pytest.raises(BuildError, match="disk full"):
        build_geopackage(target)
    assert list(tmp_path.iterdir()) == []


def test_output_must_be_a_gpkg(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"must end in \.gpkg"):
        build_geopackage(tmp_path / "x.sqlite")
