"""GeoPackage access: names, reading, listing, atomic updates."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from baoshan_gis import gpkg
from baoshan_gis._errors import InvalidInput, LayerNotFound


@pytest.mark.parametrize("name", ["incubators_2026", "a", "x" * 63])
def test_safe_layer_names_pass(name: str) -> None:
    assert gpkg.check_layer_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1abc", "Incubators", "a-b", "a b", "../x", "x" * 64, "gpkg_contents",
             "rtree_x", "layer_styles", "baoshan_layer_meta", "孵化器", "a\x00b"],
)
def test_unsafe_layer_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        gpkg.check_layer_name(name)


def test_read_unknown_layer_lists_layers(built_gpkg: Path) -> None:
    with pytest.raises(LayerNotFound, match=r"no layer named 'nope'.*district.*carriers"):
        gpkg.read_layer(built_gpkg, "nope")


def test_missing_file_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="baoshan-gis build"):
        gpkg.list_layers(tmp_path / "none.gpkg")


def test_bbox_filter(built_gpkg: Path) -> None:
    all_st = gpkg.read_layer(built_gpkg, "metro_stations")
    box = (121.37, 31.31, 121.40, 31.33)
    some = gpkg.read_layer(built_gpkg, "metro_stations", bbox=box)
    inside = all_st[all_st.within(shapely.box(*box))]
    assert 0 < len(some) < len(all_st)
    assert set(some.name_zh) == set(inside.name_zh)


def test_atomic_update_rolls_back(tmp_path: Path) -> None:
    target = tmp_path / "t.gpkg"
    frame = gpd.GeoDataFrame({"name_zh": ["甲"]}, geometry=[shapely.Point(121.4, 31.3)], crs=4326)
    with gpkg.atomic_path(target) as tmp:
        gpkg.write_frame(tmp, frame, "first")
    before = target.read_bytes()
    with pytest.raises(RuntimeError), gpkg.atomic_path(target) as tmp:
        gpkg.write_frame(tmp, frame, "second")
        raise RuntimeError("fails midway")
    assert target.read_bytes() == before
    assert gpkg.layer_names(target) == ["first"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.gpkg"]


def test_write_frame_reprojects_to_wgs84(tmp_path: Path) -> None:
    target = tmp_path / "t.gpkg"
    metric = gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(350000, 3470000)], crs=32651)
    with gpkg.atomic_path(target) as tmp:
        gpkg.write_frame(tmp, metric, "pts")
    back = gpkg.read_layer(target, "pts")
    assert back.crs.to_epsg() == 4326
    assert back.to_crs(32651).geometry.iloc[0].distance(metric.geometry.iloc[0]) < 0.01


def test_list_layers_reports_counts_bounds_and_meta(built_gpkg: Path) -> None:
    infos = {i.name: i for i in gpkg.list_layers(built_gpkg)}
    d = infos["district"]
    assert d.kind == "plan" and d.count == 1 and d.geometry_type == "MULTIPOLYGON"
    minx, _, _, maxy = d.bounds
    assert 121.29 < minx < 121.30 and 31.51 < maxy < 31.52
    assert infos["indicators"].data_type == "attributes" and infos["indicators"].bounds is None
    assert "cnmaps" in d.attribution
