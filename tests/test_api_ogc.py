"""OGC API - Features and Tiles under /ogc through FastAPI's TestClient (api/routers/ogc_*)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api import create_app
from api.settings import ApiSettings
from baoshan_gis.gpkg import read_layer
from baoshan_gis.settings import TRUTH_FIELDS
from baoshan_gis.tiles._sample import write_sample_gpkg

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_gpkg(tmp_path_factory.mktemp("ogc") / "sample.gpkg")


@pytest.fixture(scope="module")
def client(gpkg: Path) -> TestClient:
    return TestClient(create_app(ApiSettings(gpkg=gpkg, geojson_max_features=25)))


def _rel(links: list[dict], rel: str) -> dict:
    hits = [lk for lk in links if lk["rel"] == rel]
    assert len(hits) == 1, (rel, links)
    return hits[0]


def _path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_landing_conformance_and_openapi_30(client: TestClient) -> None:
    from openapi_spec_validator import validate

    links = client.get("/ogc").json()["links"]
    assert _path(_rel(links, "conformance")["href"]) == "/ogc/conformance"
    assert _path(_rel(links, "data")["href"]) == "/ogc/collections"
    desc = _rel(links, "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert _path(_rel(links, REL + "tiling-schemes")["href"]) == "/ogc/tileMatrixSets"
    assert client.get("/ogc/").status_code == 200
    conf = set(client.get("/ogc/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conf
    assert not any("html" in c for c in conf)  # no HTML encoding: not declared
    r = client.get(_path(desc["href"]))
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    validate(doc)
    params = {
        p["name"] for p in doc["paths"]["/ogc/collections/carriers/items"]["get"]["parameters"]
    }
    assert {"bbox", "bbox-crs", "crs", "limit", "offset", "category", "accuracy_m"} <= params
    limit = next(
        p
        for p in doc["paths"]["/ogc/collections/carriers/items"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 25


def test_collections_describe_every_layer(client: TestClient, gpkg: Path) -> None:
    body = client.get("/ogc/collections").json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == [
        "district",
        "belt_zones",
        "carriers",
        "metro_lines",
        "indicators",
        "carrier_density",
    ]
    carriers = next(c for c in body["collections"] if c["id"] == "carriers")
    frame = read_layer(gpkg, "carriers")
    assert carriers["itemType"] == "feature"
    assert carriers["extent"]["spatial"]["bbox"][0] == pytest.approx(list(frame.total_bounds))
    assert carriers["extent"]["spatial"]["crs"] == CRS84
    assert carriers["storageCrs"] == CRS84 and CGCS2000 in carriers["crs"]
    assert carriers["title"] == "创新载体 / Innovation carriers"
    assert carriers["attribution"] == "baoshan-gis test"
    assert _path(_rel(carriers["links"], "items")["href"]) == "/ogc/collections/carriers/items"
    assert _path(_rel(carriers["links"], REL + "tilesets-vector")["href"]) == (
        "/ogc/collections/carriers/tiles"
    )
    one = client.get("/ogc/collections/metro_lines").json()
    assert one["attribution"] == "© OpenStreetMap contributors"
    indicators = client.get("/ogc/collections/indicators").json()
    assert "crs" not in indicators and "extent" not in indicators
    raster = client.get("/ogc/collections/carrier_density").json()
    assert "itemType" not in raster and raster["dataType"] == "map"
    assert not [lk for lk in raster["links"] if lk["rel"] == "items"]


def test_items_paging_with_next_and_prev(client: TestClient, gpkg: Path) -> None:
    frame = read_layer(gpkg, "carriers")
    seen: list[int] = []
    url = "/ogc/collections/carriers/items?limit=15"
    pages = []
    while url:
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        fc = r.json()
        pages.append(fc)
        assert fc["numberMatched"] == len(frame)
        assert fc["numberReturned"] == len(fc["features"])
        assert fc["timeStamp"].endswith("Z")
        seen += [f["id"] for f in fc["features"]]
        nxt = [lk for lk in fc["links"] if lk["rel"] == "next"]
        url = _path(nxt[0]["href"]) if nxt else ""
    assert seen == list(range(1, len(frame) + 1))
    assert [p["numberReturned"] for p in pages] == [15, 15, 10]
    assert not [lk for lk in pages[0]["links"] if lk["rel"] == "prev"]
    prev = _rel(pages[2]["links"], "prev")
    assert parse_qs(urlsplit(prev["href"]).query)["offset"] == ["15"]
    # above the largest page (25 here): capped, never an error
    big = client.get("/ogc/collections/carriers/items?limit=1000000000").json()
    assert big["numberReturned"] == 25
    assert client.get("/ogc/collections/carriers/items?offset=100").json()["features"] == []


def test_items_carry_truth_fields_attribution_and_geopackage_values(
    client: TestClient, gpkg: Path
) -> None:
    frame = read_layer(gpkg, "carriers")
    fc = client.get("/ogc/collections/carriers/items?limit=25").json()
    assert fc["attribution"] == "baoshan-gis test"
    for f in fc["features"]:
        row = frame.iloc[f["id"] - 1]
        assert set(TRUTH_FIELDS) <= set(f["properties"])
        assert f["attribution"] == "baoshan-gis test"
        assert f["properties"]["name_zh"] == row.name_zh
        assert f["geometry"]["coordinates"] == pytest.approx([row.geometry.x, row.geometry.y])
    one = client.get("/ogc/collections/carriers/items/7")
    assert one.status_code == 200 and one.headers["content-crs"] == f"<{CRS84}>"
    assert one.json()["properties"]["name_zh"] == frame.name_zh.iloc[6]
    assert _path(_rel(one.json()["links"], "collection")["href"]) == "/ogc/collections/carriers"
    table = client.get("/ogc/collections/indicators/items").json()
    assert [f["geometry"] for f in table["features"]] == [None, None]
    assert table["features"][0]["properties"]["name_zh"] == "样例指标一"


def test_bbox_filters_and_crs(client: TestClient, gpkg: Path) -> None:
    frame = read_layer(gpkg, "carriers")
    w, s, e, n = 121.35, 31.30, 121.45, 31.42
    inside = frame.cx[w:e, s:n]
    labs = frame[frame.category == "lab"]
    r = client.get(f"/ogc/collections/carriers/items?bbox={w},{s},{e},{n}&limit=25").json()
    assert r["numberMatched"] == len(inside) > 0
    # the same box in EPSG:4326 / CGCS2000 is written latitude first
    for crs in (EPSG4326, CGCS2000):
        r2 = client.get(
            "/ogc/collections/carriers/items",
            params={"bbox": f"{s},{w},{n},{e}", "bbox-crs": crs, "limit": 25},
        ).json()
        assert sorted(f["id"] for f in r2["features"]) == sorted(f["id"] for f in r["features"])
    f = client.get("/ogc/collections/carriers/items?category=lab&limit=25").json()
    assert f["numberMatched"] == len(labs) > 0
    assert {x["properties"]["category"] for x in f["features"]} == {"lab"}
    both = client.get(
        "/ogc/collections/carriers/items",
        params={"category": "lab", "accuracy_m": "25", "limit": 25},
    ).json()
    assert both["numberMatched"] == int(
        ((frame.category == "lab") & (frame.accuracy_m == 25)).sum()
    )
    r3 = client.get("/ogc/collections/carriers/items", params={"crs": CGCS2000, "limit": 3})
    assert r3.headers["content-crs"] == f"<{CGCS2000}>"
    lat, lon = r3.json()["features"][0]["geometry"]["coordinates"]
    assert (lat, lon) == pytest.approx(
        (frame.geometry.y.iloc[0], frame.geometry.x.iloc[0]), abs=1e-6
    )
    zones = client.get("/ogc/collections/belt_zones/items", params={"crs": EPSG4326}).json()
    ring = np.asarray(zones["features"][0]["geometry"]["coordinates"][0][0])
    assert (ring[:, 0] < 40).all() and (ring[:, 1] > 100).all()  # lat, lon


@pytest.mark.parametrize(
    "query, needle",
    [
        ("limit=0", "limit"),
        ("limit=1e9", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("crs=EPSG:3857", "crs"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/9999", "crs"),
        ("bbox-crs=urn:bad&bbox=1,2,3,4", "bbox-crs"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=121,31.5,121.5,31.2", "bbox"),
        ("bbox=121,95,122,96", "bbox"),
        ("colour=red", "colour"),
        ("f=html", "f="),
    ],
)
def test_bad_parameters_are_400_with_the_ogc_exception(
    client: TestClient, query: str, needle: str
) -> None:
    r = client.get(f"/ogc/collections/carriers/items?{query}")
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue"
    assert needle in body["description"]


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/collections/carriers/items/999",
        "/ogc/collections/carriers/items/abc",
        "/ogc/collections/carriers/items/0",
        "/ogc/collections/nowhere",
        "/ogc/collections/nowhere/items",
        "/ogc/collections/carrier_density/items",
        "/ogc/tileMatrixSets/WorldCRS84Quad",
        "/ogc/collections/indicators/tiles",
        "/ogc/collections/carrier_density/tiles/WebMercatorQuad",
    ],
)
def test_unknown_things_are_404_with_the_ogc_exception(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "NotFound" and r.json()["description"]


def test_tile_matrix_sets(client: TestClient) -> None:
    import morecantile

    lst = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [t["id"] for t in lst] == ["WebMercatorQuad"]
    tms = client.get(_path(_rel(lst[0]["links"], REL + "tiling-scheme")["href"])).json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    m12 = next(m for m in tms["tileMatrices"] if m["id"] == "12")
    assert m12["matrixWidth"] == 4096 and m12["cornerOfOrigin"] == "topLeft"
    # a client can rebuild the grid from the JSON and gets mercantile's tiles
    grid = morecantile.TileMatrixSet.model_validate(tms)
    t = grid.tile(121.45, 31.35, 12)
    assert (t.x, t.y) == tuple(mercantile.tile(121.45, 31.35, 12))[:2]


def _follow_tiles(client: TestClient, cid: str, rel: str, media: str) -> str:
    coll = client.get(f"/ogc/collections/{cid}").json()
    sets = client.get(_path(_rel(coll["links"], rel)["href"])).json()["tilesets"]
    wanted = "vector" if media.endswith("vector-tile") else "map"
    entry = next(s for s in sets if s["dataType"] == wanted)
    assert entry["tileMatrixSetURI"] == (
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    )
    tileset = client.get(_path(_rel(entry["links"], "self")["href"])).json()
    item = _rel(tileset["links"], "item")
    assert item["templated"] is True and item["type"] == media
    assert (
        client.get(_path(_rel(tileset["links"], REL + "tiling-scheme")["href"])).status_code == 200
    )
    return urlsplit(item["href"]).path


def test_vector_tiles_by_following_the_links(client: TestClient, gpkg: Path) -> None:
    frame = read_layer(gpkg, "carriers")
    template = _follow_tiles(
        client, "carriers", REL + "tilesets-vector", "application/vnd.mapbox-vector-tile"
    )
    lon, lat = frame.geometry.x.iloc[4], frame.geometry.y.iloc[4]
    t = mercantile.tile(lon, lat, 12)
    url = (
        template.replace("{tileMatrix}", str(t.z))
        .replace("{tileCol}", str(t.x))
        .replace("{tileRow}", str(t.y))
    )
    r = client.get(url)
    assert r.status_code == 200
    layer = mapbox_vector_tile.decode(r.content)["carriers"]
    names = {f["properties"]["name_zh"] for f in layer["features"]}
    assert frame.name_zh.iloc[4] in names
    tileset = client.get("/ogc/collections/carriers/tiles/WebMercatorQuad").json()
    assert tileset["layers"][0]["id"] == "carriers"
    assert tileset["layers"][0]["geometryDimension"] == 0
    assert "category" in tileset["layers"][0]["propertiesSchema"]["properties"]


def test_map_tiles_by_following_the_links(client: TestClient) -> None:
    template = _follow_tiles(client, "carrier_density", REL + "tilesets-map", "image/png")
    t = mercantile.tile(121.41, 31.39, 11)
    url = (
        template.replace("{tileMatrix}", str(t.z))
        .replace("{tileCol}", str(t.x))
        .replace("{tileRow}", str(t.y))
    )
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (256, 256)
    assert np.asarray(img.convert("RGBA"))[..., 3].max() > 0  # the density bump is drawn
    sets = client.get("/ogc/collections/carriers/tiles").json()["tilesets"]
    assert sorted(s["dataType"] for s in sets) == ["map", "vector"]


def test_schema_of_a_collection(client: TestClient) -> None:
    r = client.get("/ogc/collections/carriers/schema")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]["properties"]["properties"]
    assert props["accuracy_m"] == {"type": "number"} and props["category"] == {"type": "string"}
