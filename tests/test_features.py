"""baoshan_gis.features: CRS by reference, bbox, paging and filters of OGC API - Features."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from baoshan_gis import features as ft
from baoshan_gis._errors import CRSError, InvalidBBox, InvalidInput


@pytest.fixture
def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name_zh": ["甲", "乙", "丙", "丁"],
            "category": ["lab", "park", "lab", "lab"],
            "accuracy_m": [25.0, 500.0, 500.0, 25.0],
            "level": [1, 2, 2, 1],
        },
        geometry=[Point(121.40, 31.35), Point(121.45, 31.40), Point(121.30, 31.30), None],
        crs=4326,
    )


@pytest.mark.parametrize(
    "text, uri",
    [
        (None, ft.CRS84),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", ft.CRS84),
        ("https://www.opengis.net/def/crs/EPSG/0/4490", ft.CGCS2000),
        ("EPSG:4326", ft.EPSG4326),
        ("[EPSG:4490]", ft.CGCS2000),
    ],
)
def test_parse_crs(text: str | None, uri: str) -> None:
    assert ft.parse_crs(text) == uri


@pytest.mark.parametrize(
    "text", ["EPSG:3857", "http://www.opengis.net/def/crs/EPSG/0/4549", "", "4490"]
)
def test_parse_crs_rejects_the_unsupported(text: str) -> None:
    with pytest.raises(CRSError, match="use one of"):
        ft.parse_crs(text)


def test_parse_bbox_axis_order_six_numbers_and_antimeridian() -> None:
    assert ft.parse_bbox("121.3,31.2,121.5,31.5") == [(121.3, 31.2, 121.5, 31.5)]
    assert ft.parse_bbox("31.2,121.3,31.5,121.5", ft.EPSG4326) == [(121.3, 31.2, 121.5, 31.5)]
    cg = ft.parse_bbox("31.2,121.3,31.5,121.5", ft.CGCS2000)[0]
    assert cg == pytest.approx((121.3, 31.2, 121.5, 31.5), abs=1e-6)
    assert ft.parse_bbox("121.3,31.2,0,121.5,31.5,100") == [(121.3, 31.2, 121.5, 31.5)]
    assert ft.parse_bbox("170,-10,-170,10") == [(170, -10, 180, 10), (-180, -10, -170, 10)]


@pytest.mark.parametrize(
    "text, crs",
    [
        ("1,2,3", ft.CRS84),
        ("1,2,3,4,5", ft.CRS84),
        ("a,b,c,d", ft.CRS84),
        ("nan,1,2,3", ft.CRS84),
        ("0,50,1,40", ft.CRS84),
        ("121,31,122,95", ft.CRS84),
        ("121.3,31.2,121.5,31.5", ft.EPSG4326),  # lon/lat given where lat/lon is due: lat > 90
    ],
)
def test_parse_bbox_rejects(text: str, crs: str) -> None:
    with pytest.raises(InvalidBBox):
        ft.parse_bbox(text, crs)


def test_parse_int() -> None:
    assert ft.parse_int(None, "limit", default=10, minimum=1, maximum=100) == 10
    assert ft.parse_int("100000", "limit", default=10, minimum=1, maximum=100) == 100
    assert ft.parse_int("0", "offset", default=0, minimum=0) == 0
    for bad in ("0", "1e9", "1.5", "-3", " ", "１０"):
        with pytest.raises(InvalidInput, match="limit"):
            ft.parse_int(bad, "limit", default=10, minimum=1, maximum=100)


def test_select_bbox_filters_and_paging(frame: gpd.GeoDataFrame) -> None:
    before = frame.copy()
    tree = shapely.STRtree(np.asarray(frame.geometry.values, dtype=object))
    sel = ft.select(frame, tree, filters={"category": "lab"}, limit=10)
    assert sel.rows.tolist() == [0, 2, 3] and sel.matched == 3
    sel = ft.select(frame, tree, filters={"category": "lab", "accuracy_m": "25"}, limit=10)
    assert sel.rows.tolist() == [0, 3]
    sel = ft.select(frame, tree, filters={"level": "2"}, limit=10)
    assert sel.rows.tolist() == [1, 2]
    sel = ft.select(frame, tree, boxes=[(121.35, 31.3, 121.5, 31.45)], limit=10)
    assert sel.rows.tolist() == [0, 1]  # the feature without geometry never meets a box
    page = ft.select(frame, tree, offset=1, limit=2)
    assert page.rows.tolist() == [1, 2] and page.matched == 4
    assert ft.select(frame, tree, filters={"accuracy_m": "x"}).matched == 0
    assert frame.equals(before)


def test_property_filters_reject_unknown_parameters() -> None:
    cols = ["name_zh", "category"]
    assert ft.property_filters({"category": "lab", "limit": "5", "bbox-crs": "x"}, cols) == {
        "category": "lab"
    }
    with pytest.raises(InvalidInput, match=r"'colour'.*category"):
        ft.property_filters({"colour": "red"}, cols)


def test_geojson_features_in_cgcs2000_are_latitude_first(frame: gpd.GeoDataFrame) -> None:
    fids = np.array([10, 11, 12, 13])
    feats = ft.geojson_features(
        frame, np.array([0, 3]), fids, crs=ft.CGCS2000, attribution="© test"
    )
    assert [f["id"] for f in feats] == [10, 13]
    want = Transformer.from_crs("OGC:CRS84", "EPSG:4490").transform(121.40, 31.35)
    assert feats[0]["geometry"]["coordinates"] == pytest.approx(list(want))
    assert feats[0]["geometry"]["coordinates"][0] == pytest.approx(31.35, abs=1e-5)
    assert feats[1]["geometry"] is None
    assert feats[0]["attribution"] == "© test" and feats[0]["properties"]["name_zh"] == "甲"
    assert ft.row_of_fid(fids, "12") == 2
    assert ft.row_of_fid(fids, "99") is None and ft.row_of_fid(fids, "1; DROP") is None


def test_json_schema_types_and_64_bit_ids(frame: gpd.GeoDataFrame) -> None:
    f = frame.assign(osm_id=np.array([1, 2, 12254782518, 3], dtype="int64"))
    props = ft.json_schema(f)["properties"]["properties"]["properties"]
    assert props["name_zh"] == {"type": "string"}
    assert props["accuracy_m"] == {"type": "number"}
    assert props["level"] == {"type": "integer"}
    assert props["osm_id"]["type"] == "number"  # GDAL would read "integer" as 32 bits
    assert "geometry" not in props
