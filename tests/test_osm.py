"""fetch-osm with osmnx's download functions replaced by local fixtures; never the network."""

from __future__ import annotations

import socket

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import requests
from click.testing import CliRunner
from osmnx._errors import ResponseStatusCodeError
from shapely.geometry import LineString, Point, box

from baoshan_gis import gpkg, osm
from baoshan_gis._errors import DataImportError, OfflineError
from baoshan_gis.cli import main

# A synthetic layout (test data, not real stations): line 7 runs north-south at lon 121.380,
# line 1 north-south at lon 121.430, line 15 east-west at lat 31.360 crossing both.
AREA = box(121.35, 31.30, 121.46, 31.42)
L7, L1, L15 = 121.380, 121.430, 31.360
_REAL_CHECK = osm.check_overpass_reachable  # before the autouse fixture replaces it


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any socket connection in these tests is a bug."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(osm, "check_overpass_reachable", lambda **kwargs: None)


def _features(rows: list[dict]) -> gpd.GeoDataFrame:
    """A frame shaped like osmnx 2's features_from_* output: (element, id) MultiIndex."""
    index = pd.MultiIndex.from_tuples([(r.pop("element"), r.pop("id")) for r in rows],
                                      names=["element", "id"])
    geoms = [r.pop("geometry") for r in rows]
    return gpd.GeoDataFrame(pd.DataFrame(rows, index=index), geometry=geoms, crs="EPSG:4326")


def _stations() -> gpd.GeoDataFrame:
    rows = [
        # line 7, listed out of order on purpose
        {"element": "node", "id": 103, "geometry": Point(L7 + 0.0004, 31.400), "railway": "station",
         "subway": "yes", "name": "测试站C", "name:en": "Test C"},
        {"element": "node", "id": 101, "geometry": Point(L7, 31.320), "railway": "station",
         "subway": "yes", "name": "测试站A", "name:en": "Test A"},
        # interchange of lines 7 and 15
        {"element": "node", "id": 102, "geometry": Point(L7 + 0.0005, L15 + 0.0003),
         "railway": "station", "subway": "yes", "name": "测试站B", "name:zh": "测试站B"},
        # line 1 (one tagged station=subway instead of subway=yes)
        {"element": "node", "id": 201, "geometry": Point(L1, 31.330), "railway": "station",
         "station": "subway", "name": "测试站D", "name:en": "Test D"},
        {"element": "node", "id": 202, "geometry": Point(L1 - 0.0003, 31.390), "railway": "station",
         "subway": "yes", "name": "测试站E", "name:en": "Test E"},
        # on line 15 only
        {"element": "node", "id": 301, "geometry": Point(121.405, L15 - 0.0004),
         "railway": "station", "subway": "yes", "name": "测试站F"},
        # a mainline railway station: not metro
        {"element": "node", "id": 900, "geometry": Point(121.41, 31.41), "railway": "station",
         "train": "yes", "name": "测试火车站"},
        # a station under construction with no track yet
        {"element": "node", "id": 400, "geometry": Point(121.455, 31.305), "railway": "station",
         "subway": "yes", "name": "测试在建站"},
        # a metro station mapped only as an area
        {"element": "way", "id": 500, "geometry": box(121.36, 31.41, 121.361, 31.411),
         "railway": "station", "subway": "yes", "name": "测试面状站"},
    ]
    return _features(rows)


def _tracks() -> gpd.GeoDataFrame:
    rows = [
        {"element": "way", "id": 7001, "geometry": LineString([(L7, 31.30), (L7, 31.36)]),
         "railway": "subway", "name": "上海地铁7号线"},
        {"element": "way", "id": 7002, "geometry": LineString([(L7, 31.36), (L7, 31.42)]),
         "railway": "subway", "name": "上海地铁7号线"},
        {"element": "way", "id": 1001, "geometry": LineString([(L1, 31.30), (L1, 31.42)]),
         "railway": "subway", "name:en": "Shanghai Metro Line 1"},
        {"element": "way", "id": 1501, "geometry": LineString([(121.35, L15), (121.46, L15)]),
         "railway": "subway", "ref": "15"},
        # a siding next to line 1 (left out) and an unnamed track (kept, unnumbered)
        {"element": "way", "id": 9001,
         "geometry": LineString([(L1 + 0.001, 31.33), (L1 + 0.001, 31.34)]),
         "railway": "subway", "service": "siding", "name": "上海地铁1号线"},
        {"element": "way", "id": 9002, "geometry": LineString([(121.44, 31.30), (121.45, 31.31)]),
         "railway": "subway"},
    ]
    return _features(rows)


def _graph(kind: str) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph(crs="epsg:4326")
    for i, (x, y) in enumerate([(121.38, 31.32), (121.39, 31.32), (121.39, 31.33)]):
        g.add_node(i, x=x, y=y, street_count=2)
    for u, v in [(0, 1), (1, 2), (1, 0), (2, 1)]:
        g.add_edge(u, v, osmid=10 * u + v, length=1000.0, highway=kind)
    return g


@pytest.fixture()
def fake_osmnx(monkeypatch):
    calls: list[tuple] = []

    def features(polygon, tags):
        calls.append(("features", polygon, dict(tags)))
        return _stations() if tags == {"railway": "station"} else _tracks()

    def graph(polygon, *, network_type="all", **kwargs):
        calls.append(("graph", polygon, network_type))
        return _graph(network_type)

    monkeypatch.setattr(ox, "features_from_polygon", features)
    monkeypatch.setattr(ox, "graph_from_polygon", graph)
    return calls


def test_stations_assigned_to_lines_with_interchange_rows(fake_osmnx):
    table, tracks, warnings = osm.fetch_metro(AREA, buffer_m=0)
    assert list(table.columns) == list(osm.STATION_COLUMNS)
    by_line = {n: g.sort_values("seq") for n, g in table.groupby("line_no")}
    assert sorted(by_line) == [1, 7, 15]
    # line 7 from south to north along the merged track: A, B, C
    assert by_line[7]["name_zh"].tolist() == ["测试站A", "测试站B", "测试站C"]
    assert by_line[7]["seq"].tolist() == [1, 2, 3]
    assert by_line[1]["osm_id"].tolist() == [201, 202]
    assert set(by_line[15]["osm_id"]) == {102, 301}  # B is an interchange: one row per line
    assert (table["osm_id"] == 102).sum() == 2
    assert set(table["line"]) == {"1号线", "7号线", "15号线"}
    assert 900 not in set(table["osm_id"]) and 400 not in set(table["osm_id"])
    row = table.loc[table["osm_id"] == 202].iloc[0]
    assert row["lon"] == pytest.approx(L1 - 0.0003, abs=1e-9)
    assert (row["lat"], row["name_en"]) == (31.390, "Test E")
    assert any("测试在建站" in w for w in warnings)
    assert any("mapped only as areas" in w for w in warnings)
    assert any("1 track way(s) without a line number" in w for w in warnings)
    # tracks: siding dropped, line numbers parsed from name / name:en / ref, truth fields set
    assert 9001 not in set(tracks["osm_id"])
    got = dict(zip(tracks["osm_id"], tracks["line_no"], strict=True))
    assert got[7001] == 7 and got[1001] == 1 and got[1501] == 15 and pd.isna(got[9002])
    assert set(tracks["geometry_quality"]) == {"surveyed"}
    assert tracks.loc[tracks["osm_id"] == 7001, "source"].iloc[0] == "OpenStreetMap way 7001"


def test_buffer_grows_the_requested_area(fake_osmnx):
    osm.fetch_metro(AREA, buffer_m=1500)
    polygon = fake_osmnx[0][1]
    assert polygon.contains(AREA)
    grown = gpd.GeoSeries([polygon], crs=4326).to_crs(32651).area.iloc[0]
    base = gpd.GeoSeries([AREA], crs=4326).to_crs(32651).area.iloc[0]
    assert grown > base * 1.1


def test_seq_follows_reference_numbering(fake_osmnx):
    # the reference numbers line 7 from north to south, starting at 20 (as a full-line numbering
    # would); unchanged stations must keep their numbers
    ref = pd.DataFrame({"osm_id": [103, 102], "line_no": [7, 7], "seq": [20, 21]})
    table, _, _ = osm.fetch_metro(AREA, buffer_m=0, reference=ref)
    l7 = table.loc[table["line_no"] == 7].set_index("osm_id")["seq"].to_dict()
    assert l7 == {103: 20, 102: 21, 101: 22}


def test_order_without_single_track_falls_back_to_chaining():
    pts = np.array([[0.0, 0.0], [3000.0, 100.0], [1000.0, 0.0], [2000.0, 50.0]])
    rank = osm._order_along(pts, None)
    assert rank.tolist() in ([0, 3, 1, 2], [3, 0, 2, 1])


def test_refresh_writes_csv_tracks_and_graphml(fake_osmnx, tmp_path):
    out = tmp_path / "osm"
    result = osm.refresh_osm(out, polygon=AREA, buffer_m=0, reference=pd.DataFrame())
    csv = pd.read_csv(result.stations_csv)
    assert list(csv.columns) == list(osm.STATION_COLUMNS)
    assert len(csv) == result.n_rows == 7 and result.n_stations == 6
    tracks = gpd.read_file(result.tracks)
    assert len(tracks) == 5 and tracks.crs.to_epsg() == 4326
    assert set(result.graphs) == {"walk", "drive"}
    walk = ox.load_graphml(result.graphs["walk"])
    assert walk.number_of_nodes() == 3 and walk.number_of_edges() == 4
    assert {d["highway"] for _, _, d in walk.edges(data=True)} == {"walk"}
    assert [c[2] for c in fake_osmnx if c[0] == "graph"] == ["walk", "drive"]
    assert "© OpenStreetMap contributors" in result.text()
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]  # no temporary files left


def test_csv_has_the_embedded_defaults_columns():
    ref = osm.default_reference()
    assert ref is not None, "layers/data/metro_stations.csv is missing"
    assert list(ref.columns) == list(osm.STATION_COLUMNS)


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='overpass-api.de', port=443): Max retries exceeded "
            "(Caused by NameResolutionError: Failed to resolve 'overpass-api.de')"
        ),
        requests.exceptions.ReadTimeout("Read timed out. (read timeout=180)"),
    ],
)
def test_offline_is_one_clear_error_and_keeps_old_files(monkeypatch, tmp_path, error):
    def offline(*args, **kwargs):
        raise error

    monkeypatch.setattr(ox, "features_from_polygon", offline)
    monkeypatch.setattr(ox, "graph_from_polygon", offline)
    out = tmp_path / "osm"
    out.mkdir()
    (out / "metro_stations.csv").write_text("previous\n")
    with pytest.raises(OfflineError, match=r"could not download metro stations from "
                       r"OpenStreetMap .*needs internet"):
        osm.refresh_osm(out, polygon=AREA)
    assert (out / "metro_stations.csv").read_text() == "previous\n"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "metro_stations.csv"]


def test_server_refusal_is_reported(monkeypatch, tmp_path):
    def busy(*args, **kwargs):
        raise ResponseStatusCodeError("429 Too Many Requests")

    monkeypatch.setattr(ox, "features_from_polygon", busy)
    with pytest.raises(OfflineError, match=r"refused the metro stations request.*again later"):
        osm.refresh_osm(tmp_path, polygon=AREA)


def test_no_stations_in_area_is_an_error(monkeypatch, tmp_path):
    from osmnx._errors import InsufficientResponseError

    def nothing(*args, **kwargs):
        raise InsufficientResponseError("No matching features")

    monkeypatch.setattr(ox, "features_from_polygon", nothing)
    with pytest.raises(DataImportError, match="no metro stations"):
        osm.refresh_osm(tmp_path / "o", polygon=AREA, graphs=False)
    assert not (tmp_path / "o" / "metro_stations.csv").exists()


def test_preflight_fails_fast_without_dns(monkeypatch):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "create_connection", no_dns)
    with pytest.raises(OfflineError, match=r"cannot reach the OpenStreetMap Overpass API at "
                       r"'overpass-api.de' \(\[Errno -3\] Temporary failure"):
        _REAL_CHECK(timeout=0.1)


def _tiny_gpkg(path):
    with gpkg.atomic_path(path, copy_existing=False) as tmp:
        gpkg.write_frame(tmp, gpd.GeoDataFrame({"name_zh": ["测试区"]}, geometry=[AREA],
                                               crs="EPSG:4326"), "district")
    return path


def test_cli_fetch_osm_ok_and_offline(fake_osmnx, monkeypatch, tmp_path):
    target = _tiny_gpkg(tmp_path / "t.gpkg")
    out = tmp_path / "refresh"
    runner = CliRunner()
    ok = runner.invoke(main, ["fetch-osm", "--out-dir", str(out), "--gpkg", str(target),
                              "--buffer-m", "0", "--no-graphs"])
    assert ok.exit_code == 0, ok.output
    assert "6 metro stations (7 station-line rows)" in ok.stdout
    assert "© OpenStreetMap contributors" in ok.stdout
    assert "warning: 1 station(s) with no numbered track" in ok.stderr
    assert (out / "metro_stations.csv").is_file() and not (out / "walk.graphml").exists()
    # the district outline from --gpkg was the area asked for
    assert fake_osmnx[0][1].equals(AREA)

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 'overpass-api.de'")

    monkeypatch.setattr(ox, "features_from_polygon", offline)
    bad = runner.invoke(main, ["fetch-osm", "--out-dir", str(tmp_path / "x"), "--gpkg",
                               str(target)])
    assert bad.exit_code == 2
    lines = bad.stderr.strip().splitlines()
    assert lines[-1].startswith("error: could not download metro stations from OpenStreetMap")
    assert "Traceback" not in bad.output
