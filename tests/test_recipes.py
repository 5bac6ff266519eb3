"""Geometry recipes on a tiny synthetic station table."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from baoshan_gis._errors import CatalogueError
from baoshan_gis.recipes import RecipeContext, place


@pytest.fixture
def ctx() -> RecipeContext:
    stations = pd.DataFrame({
        "line_no": [1, 1, 1], "name_zh": ["甲", "乙", "丙"], "seq": [1, 2, 3],
        "osm_id": [11, 12, 13], "x": [0.0, 0.0, 0.0], "y": [0.0, 1000.0, 2000.0],
    })
    square = gpd.GeoDataFrame({"name_zh": ["方"]}, geometry=[shapely.box(-5000, -5000, 5000, 5000)],
                              crs=32651)
    return RecipeContext(stations=stations, layers={"zone": square})


def test_station_point(ctx: RecipeContext) -> None:
    p = place({"op": "station", "line": 1, "name": "乙"}, ctx)
    assert p.geometry.equals(shapely.Point(0, 1000)) and "OSM node 12" in p.source


def test_stations_buffer_area_and_clip(ctx: RecipeContext) -> None:
    p = place({"op": "stations_buffer", "stations": [[1, "甲"]], "radius_m": 100}, ctx)
    assert p.geometry.area == pytest.approx(math.pi * 100**2, rel=0.01)
    clipped = place({"op": "stations_buffer", "stations": [[1, "甲"]], "radius_m": 8000,
                     "clip": "zone"}, ctx)
    assert clipped.geometry.area == pytest.approx(10000 * 10000, rel=1e-6)


def test_line_buffer_follows_stations(ctx: RecipeContext) -> None:
    p = place({"op": "line_buffer", "line": 1, "from": "甲", "to": "丙", "radius_m": 10}, ctx)
    assert p.geometry.area == pytest.approx(2000 * 20 + math.pi * 100, rel=0.01)


def test_west_of_splits_the_zone(ctx: RecipeContext) -> None:
    p = place({"op": "west_of", "stations": [[1, "甲"], [1, "丙"]], "extend_m": 10000,
               "clip": "zone"}, ctx)
    assert p.geometry.area == pytest.approx(5000 * 10000, rel=1e-6)
    assert p.geometry.bounds[2] == pytest.approx(0.0, abs=1e-6)


def test_zone_point_accuracy_is_the_farthest_distance(ctx: RecipeContext) -> None:
    p = place({"op": "zone_point", "layer": "zone", "name": "方"}, ctx)
    assert shapely.box(-5000, -5000, 5000, 5000).contains(p.geometry)
    far = shapely.hausdorff_distance(p.geometry, shapely.box(-5000, -5000, 5000, 5000))
    assert far <= p.min_accuracy_m < far + 100


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"op": "teleport"}, "unknown geometry op 'teleport'"),
        ({"op": "station", "line": 1, "name": "丁"}, "no station '丁' on line 1.*甲, 乙, 丙"),
        ({"op": "copy", "layer": "later", "name": "x"}, "layer 'later', which is not built"),
        ({"op": "copy", "layer": "zone", "name": "圆"}, "'圆' in layer 'zone', which has: 方"),
        ({"op": "stations_buffer", "stations": ["甲"], "radius_m": 1}, r"must be \[line, name\]"),
    ],
)
def test_bad_recipes_say_what_is_wrong(ctx: RecipeContext, spec: dict, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        place(spec, ctx)
