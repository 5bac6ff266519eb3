"""OSM extracts in: the shared 环上大 extract read in both encodings, `osm import`, the embedded
base layers of the build, and the clean refusal of files that are not a usable extract."""

from __future__ import annotations

import bz2
import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from baoshan_gis import read_layer, settings
from baoshan_gis._errors import DataImportError, OfflineError
from baoshan_gis.cli import main
from baoshan_gis.gpkg import layer_names, read_meta
from baoshan_gis.inputs.osm_extract import read_osm_extract
from baoshan_gis.osm_layers import OSM_LAYERS, street_bbox

SHU = settings.shared_data_dir() / "osm-shu"
PBF = SHU / "shu_dachang.osm.pbf"
XML_BZ2 = SHU / "shu_dachang.osm.bz2"
#: Box of the extract as published (PROVENANCE.md).
BOX = (121.37446, 31.30008, 121.42373, 31.33395)


@pytest.fixture(scope="module")
def pbf_extract():
    return read_osm_extract(PBF)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pbf_and_xml_give_the_same_layers(pbf_extract) -> None:
    xml = read_osm_extract(XML_BZ2)
    assert pbf_extract.snapshot == xml.snapshot == "2024-10-17"
    assert len(pbf_extract.roads) == len(xml.roads) > 100
    assert len(pbf_extract.areas) == len(xml.areas)
    for kind in ("walk", "drive"):
        (n1, e1), (n2, e2) = pbf_extract.graphs[kind], xml.graphs[kind]
        assert (len(n1), len(e1)) == (len(n2), len(e2))
        assert e1["length"].sum() == pytest.approx(e2["length"].sum(), rel=1e-9)
    # the PBF carries the published box in its header
    assert pbf_extract.bbox == pytest.approx(BOX)


def test_real_roads_campus_and_graph(pbf_extract) -> None:
    names = set(pbf_extract.roads.name_zh)
    assert {"沪太路", "上大路", "南大路", "南陈路", "锦秋路", "祁连山路"} <= names
    assert "蕰川公路" not in names  # outside the box: the recipes must fall back there
    hutai = pbf_extract.roads[pbf_extract.roads.name_zh == "沪太路"]
    assert set(hutai.ref) >= {"S106"}
    assert hutai.length_m.sum() > 3000
    campus = pbf_extract.areas[pbf_extract.areas.name_zh == "上海大学（宝山校区）"]
    assert len(campus) == 1 and campus.category.iloc[0] == "university"
    area_km2 = campus.to_crs(settings.METRIC_CRS).area.iloc[0] / 1e6
    assert 0.5 < area_km2 < 3.0
    nodes, edges = pbf_extract.graphs["walk"]
    assert set(edges.u) | set(edges.v) <= set(nodes.osmid)
    # every edge's length (osmnx, great-circle) agrees with its geometry in UTM within 1 %
    measured = edges.to_crs(settings.METRIC_CRS).length
    assert ((measured - edges["length"]).abs() <= 0.01 * edges["length"] + 0.5).all()


def test_osm_import_writes_every_layer_with_truth_and_box(tmp_path: Path) -> None:
    gpkg = tmp_path / "osm.gpkg"
    res = CliRunner().invoke(main, ["osm", "import", str(PBF), "--gpkg", str(gpkg)])
    assert res.exit_code == 0, res.output
    assert "© OpenStreetMap contributors" in res.output
    assert set(layer_names(gpkg)) == set(OSM_LAYERS)
    meta = read_meta(gpkg)
    for name in OSM_LAYERS:
        frame = read_layer(gpkg, name)
        assert len(frame) > 0
        for col in settings.TRUTH_FIELDS:
            assert frame[col].notna().all(), (name, col)
        assert frame.source.str.contains("snapshot 2024-10-17").all()
        assert (frame.geometry_quality == "surveyed").all()
        assert meta[name]["kind"] == "osm"
        assert meta[name]["attribution"] == settings.OSM_ATTRIBUTION
    assert street_bbox(gpkg) == pytest.approx(BOX)
    roads = read_layer(gpkg, "roads")
    assert roads[roads.name_zh == "沪太路"].source.str.match(r"OpenStreetMap way \d+").all()


def test_osm_import_keeps_the_other_layers(built_gpkg: Path, tmp_path: Path) -> None:
    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    before = set(layer_names(gpkg))
    res = CliRunner().invoke(main, ["osm", "import", str(XML_BZ2), "--gpkg", str(gpkg),
                                    "--network", "walk"])
    assert res.exit_code == 0, res.output
    assert set(layer_names(gpkg)) == before
    assert len(read_layer(gpkg, "carriers")) == 21


def _osm_xml(lon: float, lat: float) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n"
        f"<node id='1' version='1' timestamp='2024-01-01T00:00:00Z' lat='{lat}' lon='{lon}'/>\n"
        f"<node id='2' version='1' timestamp='2024-01-01T00:00:00Z' lat='{lat + 0.01}' "
        f"lon='{lon}'/>\n"
        "<way id='10' version='1' timestamp='2024-01-01T00:00:00Z'><nd ref='1'/><nd ref='2'/>"
        "<tag k='highway' v='residential'/><tag k='name' v='测试路'/></way>\n</osm>\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.osm", b"this is not OSM data at all\n", "cannot be read as OpenStreetMap"),
        ("cut.osm.pbf", PBF.read_bytes()[: 40_000], "cannot be read as OpenStreetMap"),
        ("cut.osm.bz2", XML_BZ2.read_bytes()[:50_000], "cannot be read as OpenStreetMap"),
        ("beijing.osm", _osm_xml(116.40, 39.90).encode(), "no part in the district"),
        ("empty.osm", b"<?xml version='1.0'?><osm version='0.6'></osm>", "holds no OSM ways"),
        ("roads.csv", b"a,b\n1,2\n", "not named like an OSM extract"),
    ],
)
def test_bad_osm_files_are_refused_and_change_nothing(
    built_gpkg: Path, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    before = _digest(gpkg)
    bad = tmp_path / name
    bad.write_bytes(content)
    res = CliRunner().invoke(main, ["osm", "import", str(bad), "--gpkg", str(gpkg)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error:") and message in res.output
    assert "Traceback" not in res.output
    assert _digest(gpkg) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "plan.gpkg"])


def test_a_district_extract_in_xml_is_accepted(tmp_path: Path) -> None:
    small = tmp_path / "one_road.osm.bz2"
    small.write_bytes(bz2.compress(_osm_xml(121.40, 31.31).encode()))
    ext = read_osm_extract(small, district=shapely.box(121.3, 31.27, 121.52, 31.51))
    assert ext.roads.name_zh.tolist() == ["测试路"]
    assert ext.roads.length_m.iloc[0] == pytest.approx(1109, abs=5)  # 0.01° of latitude


def test_the_build_embeds_the_extract(built_gpkg: Path) -> None:
    meta = read_meta(built_gpkg)
    assert meta["street_edges"]["parameters"]["bbox"] == pytest.approx(list(BOX))
    assert meta["street_edges"]["parameters"]["snapshot"] == "2024-10-17"
    embedded = read_layer(built_gpkg, "street_edges")
    fresh = read_osm_extract(PBF, network_types=("walk",)).graphs["walk"][1]
    assert len(embedded) == len(fresh)
    assert embedded["length"].sum() == pytest.approx(fresh["length"].sum(), rel=1e-6)
    manifest = json.loads((settings.layers_dir() / "data" / "osm" / "manifest.json")
                          .read_text(encoding="utf-8"))
    assert manifest["attribution"] == settings.OSM_ATTRIBUTION


def test_fetch_osm_into_fails_cleanly_offline(tmp_path: Path, monkeypatch) -> None:
    from baoshan_gis import osm
    from baoshan_gis.osm_layers import fetch_osm_layers

    def offline(**_kw):
        raise OfflineError("cannot reach the Overpass API (no internet?)")

    monkeypatch.setattr(osm, "check_overpass_reachable", offline)
    with pytest.raises(OfflineError):
        fetch_osm_layers(tmp_path / "x.gpkg")
    assert not (tmp_path / "x.gpkg").exists()


def test_fetch_osm_into_writes_the_same_layers(tmp_path: Path, monkeypatch) -> None:
    """The download path, with osmnx's downloads answered from the local extract."""
    import osmnx as ox

    from baoshan_gis import osm
    from baoshan_gis.osm_layers import fetch_osm_layers

    monkeypatch.setattr(osm, "check_overpass_reachable", lambda **_kw: None)
    monkeypatch.setattr(ox, "features_from_polygon",
                        lambda _area, tags: ox.features_from_xml(XML_BZ2, tags=tags))
    graph = ox.graph_from_xml(XML_BZ2, bidirectional=True)
    monkeypatch.setattr(ox, "graph_from_polygon", lambda _area, network_type: graph)
    out = tmp_path / "dl.gpkg"
    report = fetch_osm_layers(out)
    assert set(layer_names(out)) == set(OSM_LAYERS)
    assert report.counts["roads"] > 100
    roads = read_layer(out, "roads")
    assert "沪太路" in set(roads.name_zh)
    areas = gpd.read_file(out, layer="osm_areas")
    assert "上海大学（宝山校区）" in set(areas.name_zh)
    with pytest.raises(DataImportError, match=r"must end in \.gpkg"):
        fetch_osm_layers(tmp_path / "x.sqlite")
