"""Plan rules over real roads: the belt cut by 蕰川公路, corridors along roads, carriers on the
campus, and the station rule kept (labelled schematic) where the road is absent."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from baoshan_gis import read_layer, settings
from baoshan_gis._errors import CatalogueError
from baoshan_gis._road_ops import extend_axis, road_axis
from baoshan_gis.build import build_layers, recipe_roads
from baoshan_gis.cli import main
from baoshan_gis.recipes import RecipeContext, place, to_metric

#: A test road for 蕰川公路: north along Line 1 to 富锦路, then north-west toward 罗泾, as the
#: real road turns (coordinates made up for the test, lon/lat).
YUNCHUAN = [(121.437, 31.333), (121.426, 31.371), (121.419, 31.394), (121.39, 31.43),
            (121.35, 31.48)]
#: East of the road's north-western stretch but west of Line 1's straight extension.
EAST_OF_TURN = (121.395, 31.45)
WEST_OF_ROAD = (121.33, 31.44)


def _roads_file(tmp_path: Path, coords=YUNCHUAN, name: str = "蕰川公路", **props) -> Path:
    fc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": name, **props},
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]}}]}
    path = tmp_path / "roads.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def _belt(gpkg: Path) -> gpd.GeoDataFrame:
    return read_layer(gpkg, "innovation_belt")


def test_default_belt_keeps_the_station_rule_labelled(built_gpkg: Path) -> None:
    belt = _belt(built_gpkg).iloc[0]
    assert belt.geometry_quality == "schematic"
    assert "蕰川公路 not in the roads data" in belt.note
    geom = belt.geometry
    assert geom.contains(shapely.Point(EAST_OF_TURN))  # Line 1's straight extension


def test_a_yunchuan_road_file_redraws_the_belt(tmp_path: Path) -> None:
    out = tmp_path / "plan.gpkg"
    res = CliRunner().invoke(main, ["build", "--out", str(out), "--roads",
                                    str(_roads_file(tmp_path))])
    assert res.exit_code == 0, res.output
    belt = _belt(out).iloc[0]
    assert belt.geometry_quality == "approximate"
    assert "蕰川公路" in belt.note and "roads data" in belt.note
    assert "roads file roads.geojson" in belt.source
    geom = belt.geometry
    assert not geom.contains(shapely.Point(EAST_OF_TURN))
    assert geom.contains(shapely.Point(WEST_OF_ROAD))
    # the cut follows the road: every vertex of the test road lies on the belt's edge (±1 m)
    edge = to_metric(geom.boundary)
    for lon, lat in YUNCHUAN[1:-1]:
        assert edge.distance(to_metric(shapely.Point(lon, lat))) < 1.0
    # the road ends before the district does: the extension is stated and the accuracy stays
    assert "continued straight" in belt.note
    assert belt.accuracy_m == 800.0
    roads = read_layer(out, "roads")
    assert "蕰川公路" in set(roads.name_zh) and "沪太路" in set(roads.name_zh)
    # the zones clipped to the belt follow it
    zones = read_layer(out, "belt_zones")
    assert shapely.union_all(zones.geometry.to_numpy()).difference(geom).area < 1e-9


def test_a_road_spanning_the_district_gives_the_outline_accuracy(tmp_path: Path) -> None:
    line = [(121.445, 31.25), (121.437, 31.333), (121.426, 31.371), (121.419, 31.394),
            (121.39, 31.43), (121.30, 31.55)]
    out = tmp_path / "plan.gpkg"
    res = CliRunner().invoke(main, ["build", "--out", str(out), "--roads",
                                    str(_roads_file(tmp_path, line))])
    assert res.exit_code == 0, res.output
    belt = _belt(out).iloc[0]
    assert belt.accuracy_m == 100.0 and "continued straight" not in belt.note


def _ctx(roads: gpd.GeoDataFrame | None = None) -> RecipeContext:
    built = build_layers()
    st = built["metro_stations"].to_crs(settings.METRIC_CRS)
    layers = {name: frame.to_crs(settings.METRIC_CRS) for name, frame in built.items()
              if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None
              and name in ("district", "innovation_belt", "roads", "osm_areas")}
    if roads is not None:
        layers["roads"] = roads.to_crs(settings.METRIC_CRS)
    stations = pd.DataFrame({"line_no": st.line_no, "name_zh": st.name_zh, "seq": st.seq,
                             "osm_id": st.osm_id, "x": st.geometry.x, "y": st.geometry.y})
    return RecipeContext(stations=stations, layers=layers)


FALLBACK = {"op": "stations_buffer", "stations": [[7, "上大路"]], "radius_m": 500}


def test_corridor_along_the_embedded_hutai_road() -> None:
    ctx = _ctx()
    spec = {"op": "road_corridor", "roads": ["沪太路"], "radius_m": 500,
            "between": [[7, "场中路"], [7, "上大路"]], "fallback": FALLBACK}
    placed = place(spec, ctx)
    assert placed.quality == "approximate" and placed.accuracy_m == 500
    assert "沪太路" in placed.note
    hutai = ctx.layers["roads"]
    hutai = shapely.union_all(hutai[hutai.name_zh == "沪太路"].geometry.to_numpy())
    a, b = (ctx.station(7, n) for n in ("场中路", "上大路"))
    stretch = hutai.intersection(shapely.box(min(a.x, b.x) - 50, min(a.y, b.y),
                                             max(a.x, b.x) + 50, max(a.y, b.y)))
    assert stretch.length > 500
    # the real road between the two stations lies inside the corridor
    assert placed.geometry.buffer(1).contains(stretch)
    # ... and it is a sausage along the stretch (2 r L + π r²), not the fallback's circle
    expected = 2 * 500 * math.hypot(a.x - b.x, a.y - b.y) + math.pi * 500**2
    assert placed.geometry.area == pytest.approx(expected, rel=0.1)


def test_corridor_falls_back_where_the_road_does_not_reach(built_gpkg: Path) -> None:
    zones = read_layer(built_gpkg, "belt_zones")
    north = zones[zones.name_zh.str.startswith("北向创新群落")].iloc[0]
    assert north.geometry_quality == "schematic"
    assert "沪太路 in the roads data does not reach" in north.note
    ctx = _ctx()
    spec = {"op": "road_corridor", "roads": ["逸仙路"], "radius_m": 600, "fallback": FALLBACK}
    placed = place(spec, ctx)
    assert placed.quality is None and "逸仙路 not in the roads data" in placed.note
    no_fb = {k: v for k, v in spec.items() if k != "fallback"}
    with pytest.raises(CatalogueError, match="no 'fallback'"):
        place(no_fb, ctx)


def test_between_roads_and_east_side() -> None:
    a = [(121.38, 31.30), (121.38, 31.34)]
    b = [(121.40, 31.30), (121.40, 31.34)]
    roads = gpd.GeoDataFrame({"name_zh": ["甲路", "乙路"], "source": ["t", "t"]},
                             geometry=[shapely.LineString(a), shapely.LineString(b)], crs=4326)
    ctx = _ctx(roads)
    placed = place({"op": "between_roads", "roads": [["甲路"], ["乙路"]], "fallback": FALLBACK},
                   ctx)
    expected = to_metric(shapely.box(121.38, 31.30, 121.40, 31.34))
    assert placed.geometry.symmetric_difference(expected).area < 1e-3 * expected.area
    east = place({"op": "side_of_road", "road": "乙路", "side": "east", "clip": "district",
                  "fallback": FALLBACK}, ctx)
    assert east.geometry.contains(to_metric(shapely.Point(121.47, 31.40)))
    assert not east.geometry.contains(to_metric(shapely.Point(121.39, 31.32)))


def test_road_axis_joins_dual_carriageways_and_gaps() -> None:
    # two carriageways 30 m apart, one of them broken: one axis from the south end to the north
    west = [shapely.LineString([(0, 0), (0, 400)]), shapely.LineString([(0, 500), (0, 1000)])]
    east = [shapely.LineString([(30, 1000), (30, 0)])]
    axis = road_axis(west + east)
    ys = np.asarray(axis.coords)[:, 1]
    assert ys[0] == pytest.approx(0) and ys[-1] == pytest.approx(1000)
    assert axis.length == pytest.approx(1000, abs=70)
    ext = extend_axis(shapely.LineString([(0, 0), (0, 1000)]), 500)
    assert ext.coords[0] == pytest.approx((0, -500)) and ext.coords[-1] == pytest.approx((0, 1500))


@pytest.mark.parametrize(
    ("props", "coords", "message"),
    [
        ({"label": "蕰川公路"}, YUNCHUAN, "has no 'name' field"),
        ({"name": "长江路"}, YUNCHUAN, "holds no road the plan's recipes use"),
    ],
)
def test_bad_roads_files_name_what_the_recipes_need(built_gpkg: Path, tmp_path: Path, props,
                                                    coords, message) -> None:
    fc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": props,
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]}}]}
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "plan.gpkg"
    out.write_bytes(built_gpkg.read_bytes())
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    res = CliRunner().invoke(main, ["build", "--out", str(out), "--roads", str(path)])
    assert res.exit_code == 2 and res.output.startswith("error:"), res.output
    assert message in res.output
    for road in recipe_roads():
        assert road in res.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before


def test_shu_carriers_sit_on_the_campus(built_gpkg: Path) -> None:
    carriers = read_layer(built_gpkg, "carriers")
    areas = read_layer(built_gpkg, "osm_areas")
    campus = areas[areas.name_zh == "上海大学（宝山校区）"].geometry.iloc[0]
    on_campus = carriers[carriers.note.str.contains("上海大学（宝山校区） polygon", na=False)]
    assert len(on_campus) == 7
    corners = shapely.get_coordinates(to_metric(campus).boundary)
    p = to_metric(on_campus.geometry.iloc[0])
    far = float(np.hypot(corners[:, 0] - p.x, corners[:, 1] - p.y).max())
    for row in on_campus.itertuples():
        assert campus.contains(row.geometry)
        assert row.geometry_quality == "approximate"
        assert "OSM relation" in row.source or "OpenStreetMap" in row.source
        # at least the farthest point of the campus, rounded up to 50 m
        assert row.accuracy_m >= math.floor(far / 50) * 50
    own = on_campus[on_campus.note.str.contains("Part of Shanghai University")]
    assert len(own) == 3
    assert (own.accuracy_m == math.ceil(far / 50) * 50).all()
    assert (own.accuracy_m < 1500).all()  # the campus places them better than the station did
    station = read_layer(built_gpkg, "metro_stations")
    shu = station[(station.line_no == 7) & (station.name_zh == "上海大学")].geometry.iloc[0]
    assert not on_campus.geometry.iloc[0].equals(shu)
