"""Interactive pages: offline assets, escaped popups, GCJ-02 shift, layers and attribution."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

from baoshan_gis._errors import InvalidInput
from baoshan_gis.coords import wgs84_to_gcj02
from baoshan_gis.render import asset_files, build_page, render_page_html, write_page
from baoshan_gis.render._prepare import prepare_map
from baoshan_gis.render.folium_map import _page_geojson
from baoshan_gis.render.mapdefs import MapDef, MapLayer
from baoshan_gis.settings import OSM_ATTRIBUTION, TRUTH_FIELDS
from tests._render_data import COLOCATED, IMG_XSS, XSS, make_colocated_gpkg, make_gpkg

TRUTH = [f for f in TRUTH_FIELDS if f != "geometry"]


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_gpkg(tmp_path_factory.mktemp("pages") / "syn.gpkg")


def _urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page)


def test_page_loads_nothing_from_the_internet(gpkg: Path) -> None:
    page = render_page_html("carriers_overview", gpkg)
    urls = _urls(page)
    assert "assets/leaflet.js" in urls and "assets/leaflet.css" in urls
    for url in urls:
        assert not url.startswith(("http:", "https:", "//")), url
    assert "cdn" not in page.lower()


def test_asset_prefix_for_the_service(gpkg: Path) -> None:
    page = render_page_html("wusong", gpkg, asset_url_prefix="/static/maps")
    assert "/static/maps/leaflet.js" in _urls(page)
    files = asset_files()
    assert {"leaflet.js", "leaflet.css", "images/layers.png"} <= set(files)
    assert all(p.is_file() for p in files.values())
    assert b"Leaflet" in files["leaflet.js"].read_bytes()[:2000]


def test_write_page_copies_assets_beside_it(gpkg: Path, tmp_path: Path) -> None:
    out = write_page("innovation_belt", gpkg, tmp_path / "pages" / "belt.html")
    for name in asset_files():
        assert (tmp_path / "pages" / "assets" / name).is_file()
    assert "<title>" in out.read_text(encoding="utf-8")


def test_attributes_are_escaped(gpkg: Path) -> None:
    page = render_page_html("carriers_overview", gpkg)
    assert XSS not in page  # the raw tag never appears in the page
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page
    assert "function bgEsc" in page and "bgEsc(v)" in page


def test_layer_control_names_and_legend(gpkg: Path) -> None:
    pm = prepare_map("wusong", gpkg)
    page = render_page_html("wusong", gpkg)
    assert "L.control.layers" in page
    for ld in pm.layers:
        assert json.dumps(ld.title, ensure_ascii=False)[1:-1] in page
    assert "id='bg-legend'" in page
    assert pm.mapdef.title_zh in page


def test_schematic_features_are_dashed(gpkg: Path) -> None:
    page = render_page_html("innovation_belt", gpkg)
    assert 'p.geometry_quality === "schematic" ? "6 4"' in page
    assert '"geometry_quality":{"c":"schematic"}' in page


@pytest.mark.parametrize(("basemap", "needle"), [
    ("osm", OSM_ATTRIBUTION),
    ("amap", "高德地图"),
])
def test_basemaps_carry_attribution(gpkg: Path, basemap: str, needle: str) -> None:
    page = render_page_html("metro_corridors", gpkg, basemap=basemap)
    assert needle in page or json.dumps(needle)[1:-1] in page
    assert "tileLayer" in page or "tile_layer" in page


def test_default_page_has_no_tiles_but_osm_attribution_for_osm_layers(gpkg: Path) -> None:
    page = render_page_html("metro_corridors", gpkg)
    assert "L.tileLayer" not in page
    assert "addAttribution" in page and OSM_ATTRIBUTION in page


def test_gcj02_shift_moves_overlays_by_the_expected_offset(gpkg: Path) -> None:
    pm = prepare_map("carriers_overview", gpkg)
    ld = next(ld for ld in pm.layers if ld.spec.source == "carriers")
    plain = _page_geojson(ld, basemap="none", precision=8, simplify_m=0)
    shifted = _page_geojson(ld, basemap="amap", precision=8, simplify_m=0)
    a = np.array([f["geometry"]["coordinates"] for f in plain["features"]])
    b = np.array([f["geometry"]["coordinates"] for f in shifted["features"]])
    ex, ey = wgs84_to_gcj02(a[:, 0], a[:, 1])
    np.testing.assert_allclose(b[:, 0], ex, atol=1e-7)
    np.testing.assert_allclose(b[:, 1], ey, atol=1e-7)
    # In Shanghai the offset is a few hundred metres, not zero.
    dist = np.hypot((b[:, 0] - a[:, 0]) * 95_000, (b[:, 1] - a[:, 1]) * 111_000)
    assert (dist > 100).all() and (dist < 1_000).all()


def test_page_coordinates_stay_within_a_metre(gpkg: Path) -> None:
    from pyproj import Geod

    pm = prepare_map("innovation_belt", gpkg)
    ld = next(ld for ld in pm.layers if ld.spec.source == "district")
    page = _page_geojson(ld, basemap="none", precision=6, simplify_m=0.5)
    from shapely.geometry import shape

    simple = shape(page["features"][0]["geometry"])
    orig = ld.frame.geometry.iloc[0]
    geod = Geod(ellps="WGS84")
    for x, y in list(simple.exterior.coords if simple.geom_type == "Polygon"
                     else simple.geoms[0].exterior.coords):
        from shapely.geometry import Point

        near = orig.boundary.interpolate(orig.boundary.project(Point(x, y)))
        assert geod.inv(x, y, near.x, near.y)[2] < 1.0


def test_columnar_layout_round_trips() -> None:
    from baoshan_gis.render.folium_map import columnar

    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"a": i % 2, "b": f"x{i}", "c": "same", "d": None},
         "geometry": {"type": "Point", "coordinates": [121.0 + i, 31.0]}} for i in range(6)]}
    col = columnar(fc)
    assert col["p"]["c"] == {"c": "same"}
    assert col["p"]["a"] == {"d": [0, 1], "i": [0, 1, 0, 1, 0, 1]}
    assert col["p"]["b"] == [f"x{i}" for i in range(6)]
    assert col["xy"][:4] == [121_000_000, 31_000_000, 1_000_000, 0]  # deltas of 1e-6 degrees
    poly = {"type": "Polygon", "coordinates": [[[121.1, 31.2], [121.100001, 31.2],
                                                [121.1, 31.200002], [121.1, 31.2]]]}
    enc = columnar({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": poly}]})
    ring = np.cumsum(np.array(enc["g"][0]["c"][0]).reshape(-1, 2), axis=0) / enc["s"]
    np.testing.assert_allclose(ring, poly["coordinates"][0], atol=1e-9)


def test_unknown_basemap_is_rejected(gpkg: Path) -> None:
    with pytest.raises(InvalidInput, match="basemap 'google'"):
        render_page_html("wusong", gpkg, basemap="google")


# --- co-located points and accuracy circles ------------------------------------------------------

def _colocated_map(**carriers: object) -> MapDef:
    return MapDef(name="colocated", title_zh="测试同位", title_en="Co-located test",
                  description="test", extent="carriers",
                  layers=(MapLayer("district", context=True),
                          MapLayer("carriers", title="载体 Carriers", **carriers)))


@pytest.fixture(scope="module")
def colocated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_colocated_gpkg(tmp_path_factory.mktemp("coloc") / "coloc.gpkg")


def _decode(col: dict) -> list[dict]:
    """Python twin of the page's ``bgDecode`` (properties only)."""
    out = []
    for i in range(col["n"]):
        props = {}
        for k, c in col["p"].items():
            props[k] = c[i] if isinstance(c, list) else (c["c"] if "c" in c else c["d"][c["i"][i]])
        out.append(props)
    return out


def _page_layers(page: str) -> dict[str, list[dict]]:
    """Features of every vector layer embedded in a page, by layer title."""
    found = re.findall(r"L\.geoJson\(bgDecode\((\{.*?\})\), \{style: bgStyle\((\{.*?\})\),",
                       page, flags=re.S)
    assert found
    return {json.loads(style)["title"]: _decode(json.loads(data)) for data, style in found}


def test_page_draws_one_marker_per_group_listing_every_member(colocated: Path) -> None:
    page = build_page(_colocated_map(), colocated).get_root().render()
    feats = _page_layers(page)["载体 Carriers"]
    assert len(feats) == 2
    group = next(f for f in feats if f.get("_members"))
    members = group["_members"]
    assert [m["name_zh"] for m in members] == list(COLOCATED)
    assert group["_n"] == 3
    for m in members:  # every member keeps its truth fields for the popup
        for k in TRUTH:
            assert k in m and m[k] not in (None, "")
    assert {m["accuracy_m"] for m in members} == {4900.0, 3000.0}
    single = next(f for f in feats if not f.get("_members"))
    assert single["name_zh"] == "测试独立载体"
    # Popup and tooltip code for groups; markup in a member stays escaped text.
    assert IMG_XSS not in page
    assert "bgEsc((k + 1)" in page and "bgRows(m, ls)" in page
    assert '"unitZh":"载体"' in page and "here (click for the list)" in page


def test_page_accuracy_circles_are_drawn_in_the_browser(colocated: Path) -> None:
    import folium

    m = build_page(_colocated_map(), colocated)
    # no Python-side circle features: the page draws them from each point's accuracy_m
    assert not [c for c in _walk(m) if isinstance(c, folium.Circle)]
    page = m.get_root().render()
    assert '"accuracy":"' in page and "bgCircles(L.geoJson(" in page
    assert "radius: a" in page and "interactive: false" in page
    assert "radius = accuracy_m" in page and "浅色虚线圆" in page  # the note says what they mean
    off = build_page(_colocated_map(accuracy_circles=False), colocated).get_root().render()
    assert '"accuracy":null' in off


def test_page_loads_no_web_font(colocated: Path, tmp_path: Path) -> None:
    from baoshan_gis.render import write_page

    out = tmp_path / "page.html"
    write_page(_colocated_map(), colocated, out)
    html_text = out.read_text(encoding="utf-8")
    assert "@font-face" not in html_text and ".otf" not in html_text
    total = sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
    assert total <= 1_000_000, total


def _walk(el: object) -> list[object]:
    out = [el]
    for child in getattr(el, "_children", {}).values():
        out.extend(_walk(child))
    return out


def test_page_draws_suggested_sites_as_areas_not_markers(gpkg: Path) -> None:
    pm = prepare_map("density_coverage", gpkg)
    sources = [ld.spec.source for ld in pm.layers]
    assert "analysis_sites" not in sources and "analysis_sites_where" in sources
    page = render_page_html("density_coverage", gpkg)
    where = next(ld for ld in pm.layers if ld.spec.source == "analysis_sites_where")
    assert html.escape(where.title) in page  # layer control and legend
    # the only point layer is the carriers: no marker layer for the sites
    points = [ld.spec.source for ld in pm.layers if ld.kind == "point"]
    assert points == ["carriers"]
    data = _page_geojson(where, basemap="none", precision=6, simplify_m=0.0)
    assert {f["geometry"]["type"] for f in data["features"]} <= {"Polygon", "MultiPolygon"}
    assert [f["properties"]["name_zh"] for f in data["features"]] == ["建议选址 1", "建议选址 2"]
