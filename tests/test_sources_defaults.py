"""Deriving the embedded station table and outline from Overpass-style inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import shapely

from baoshan_gis._errors import DataImportError
from baoshan_gis.sources.defaults import refresh_defaults, stations_near

SQUARE = shapely.box(121.30, 31.30, 121.40, 31.40)
LINE_STATIONS = {
    "0701": {"line": "7号线", "name": "甲站", "lat": 31.35, "lng": 121.35},  # inside
    "0702": {"line": "7号线", "name": "乙站", "lat": 31.35, "lng": 121.41},  # ~950 m outside
    "0703": {"line": "7号线", "name": "丙站", "lat": 31.35, "lng": 121.50},  # far outside
    "1501": {"line": "15号线", "name": "甲站", "lat": 31.35, "lng": 121.35},  # interchange
}
NODES = [
    {"type": "node", "id": 1, "lat": 31.3501, "lon": 121.3501,
     "tags": {"name": "甲站", "name:en": "Jia", "railway": "station"}},
    {"type": "node", "id": 2, "lat": 31.3500, "lon": 121.3500,
     "tags": {"name": "甲站", "railway": "stop"}},
    {"type": "node", "id": 3, "lat": 31.3500, "lon": 121.4101,
     "tags": {"name": "乙站", "name:en": "Yi", "railway": "stop"}},
    {"type": "node", "id": 4, "lat": 31.3800, "lon": 121.4100,  # same name, too far away
     "tags": {"name": "乙站", "railway": "station"}},
]


def test_stations_near_keeps_nearby_and_matches_osm_nodes() -> None:
    out = stations_near(LINE_STATIONS, NODES, SQUARE)
    assert out[["line_no", "seq", "name_zh"]].values.tolist() == [
        [7, 1, "甲站"], [7, 2, "乙站"], [15, 1, "甲站"],
    ]
    assert out.osm_id.tolist() == [1, 3, 1]  # station node preferred; stop as fallback
    assert out.name_en.tolist() == ["Jia", "Yi", "Jia"]


def test_refresh_defaults_writes_both_files(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "district").mkdir(parents=True)
    (shared / "metro-osm").mkdir()
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(SQUARE))}]}
    (shared / "district" / "baoshan_district_wgs84.geojson").write_text(json.dumps(fc))
    (shared / "metro-osm" / "station_coords.json").write_text(json.dumps(LINE_STATIONS))
    (shared / "metro-osm" / "osm_subway_nodes.json").write_text(json.dumps(NODES))
    out = tmp_path / "layers"
    written = refresh_defaults(shared, out)
    assert [p.name for p in written] == ["district.geojson", "metro_stations.csv"]
    df = pd.read_csv(out / "data" / "metro_stations.csv")
    assert len(df) == 3
    geo = json.loads((out / "data" / "district.geojson").read_text())
    assert shapely.geometry.shape(geo["features"][0]["geometry"]).equals(SQUARE)


def test_refresh_defaults_names_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(DataImportError, match="--shared-data"):
        refresh_defaults(tmp_path, tmp_path / "layers")
