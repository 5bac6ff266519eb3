"""The map service's endpoints through FastAPI's TestClient (api/)."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api import create_app
from api.settings import ApiSettings
from baoshan_gis._errors import InvalidInput
from baoshan_gis.gpkg import read_layer
from baoshan_gis.tiles._sample import write_sample_gpkg

PORTAL = "https://portal.example.org"


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_gpkg(tmp_path_factory.mktemp("svc") / "sample.gpkg")


@pytest.fixture(scope="module")
def client(gpkg: Path) -> TestClient:
    app = create_app(ApiSettings(gpkg=gpkg, cors_origins=[PORTAL], cache_bytes=8 << 20))
    return TestClient(app)


def _carrier_tile(gpkg: Path, z: int, row: int = 5) -> tuple[str, tuple[float, float]]:
    pts = read_layer(gpkg, "carriers")
    lon, lat = pts.geometry.iloc[row].x, pts.geometry.iloc[row].y
    t = mercantile.tile(lon, lat, z)
    return f"{t.z}/{t.x}/{t.y}", (lon, lat)


def test_health_and_docs(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["layers"] == 6
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["info"]["description"]
    missing = []
    for path, ops in spec["paths"].items():
        for op in ops.values():
            for p in op.get("parameters", []):
                has_example = "example" in p or "examples" in p or "examples" in p["schema"]
                if not p.get("description") or not has_example:
                    missing.append(f"{path}:{p['name']}")
    assert not missing, missing


def test_layers_catalogue(client: TestClient, gpkg: Path) -> None:
    layers = {x["name"]: x for x in client.get("/layers").json()["layers"]}
    assert set(layers) == {"district", "belt_zones", "carriers", "metro_lines", "indicators",
                           "carrier_density"}
    carriers = read_layer(gpkg, "carriers")
    assert layers["carriers"]["count"] == len(carriers)
    assert layers["carriers"]["bounds"] == pytest.approx(list(carriers.total_bounds))
    assert layers["carriers"]["title_zh"] == "创新载体"
    assert layers["metro_lines"]["attribution"] == "© OpenStreetMap contributors"
    assert layers["carrier_density"]["tiles"] == ["png"]
    assert layers["indicators"]["tiles"] == []


def test_layer_geojson_bbox_and_limit(client: TestClient, gpkg: Path) -> None:
    carriers = read_layer(gpkg, "carriers")
    bbox = (121.35, 31.30, 121.45, 31.42)
    expected = carriers.cx[bbox[0]:bbox[2], bbox[1]:bbox[3]]
    r = client.get("/layers/carriers", params={"bbox": ",".join(map(str, bbox))})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["numberMatched"] == len(expected) > 0
    assert sorted(f["properties"]["name_zh"] for f in fc["features"]) == sorted(
        expected["name_zh"])
    back = gpd.GeoDataFrame.from_features(fc["features"], crs=4326)
    assert all(bbox[0] <= p.x <= bbox[2] and bbox[1] <= p.y <= bbox[3] for p in back.geometry)
    limited = client.get("/layers/carriers", params={"limit": 3}).json()
    assert limited["numberReturned"] == 3 and limited["numberMatched"] == len(carriers)
    table = client.get("/layers/indicators").json()
    assert [f["geometry"] for f in table["features"]] == [None, None]
    assert table["features"][0]["properties"]["name_zh"] == "样例指标一"


def test_mvt_tile_over_http(client: TestClient, gpkg: Path) -> None:
    zxy, (lon, lat) = _carrier_tile(gpkg, 15)
    r = client.get(f"/tiles/carriers/{zxy}.mvt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["etag"].startswith('"') and "max-age" in r.headers["cache-control"]
    feats = mapbox_vector_tile.decode(r.content)["carriers"]["features"]
    z, x, y = map(int, zxy.split("/"))
    b = mercantile.xy_bounds(x, y, z)
    mx, my = mercantile.xy(lon, lat)
    ex = (mx - b.left) / (b.right - b.left) * 4096
    ey = (my - b.bottom) / (b.top - b.bottom) * 4096
    near = [f for f in feats if abs(f["geometry"]["coordinates"][0] - ex) <= 16
            and abs(f["geometry"]["coordinates"][1] - ey) <= 16]
    assert near and near[0]["properties"]["name_zh"] == "样例载体6"


def test_png_tiles_over_http(client: TestClient, gpkg: Path) -> None:
    for layer, zxy in [("carriers", _carrier_tile(gpkg, 13)[0]), ("belt_zones", "11/1714/835"),
                       ("carrier_density", "12/3429/1671")]:
        r = client.get(f"/tiles/{layer}/{zxy}.png")
        assert r.status_code == 200, (layer, r.text)
        img = Image.open(io.BytesIO(r.content))
        assert img.size == (256, 256)
        alpha = np.asarray(img.convert("RGBA"))[..., 3]
        assert alpha.max() > 0, layer


def test_empty_tiles_are_always_204(client: TestClient) -> None:
    for url in ("/tiles/carriers/12/0/0.mvt", "/tiles/carriers/12/0/0.png",
                "/tiles/carrier_density/12/0/0.png", "/tiles/carriers/12/0/0.mvt"):
        r = client.get(url)
        assert r.status_code == 204 and r.content == b"" and r.headers["etag"]


def test_etag_304(client: TestClient, gpkg: Path) -> None:
    url = f"/tiles/carriers/{_carrier_tile(gpkg, 12)[0]}.png"
    first = client.get(url)
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_tilejson(client: TestClient) -> None:
    tj = client.get("/tiles/carriers/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["tiles"] == ["http://testserver/tiles/carriers/{z}/{x}/{y}.mvt"]
    assert tj["bounds"] == pytest.approx(client.get("/layers").json()["layers"][2]["bounds"])
    assert tj["vector_layers"][0]["id"] == "carriers" and "name_zh" in tj["vector_layers"][0][
        "fields"]
    assert tj["minzoom"] == 0 and tj["maxzoom"] >= 16 and tj["attribution"]
    png = client.get("/tiles/carrier_density/tilejson.json").json()
    assert png["tiles"][0].endswith("/tiles/carrier_density/{z}/{x}/{y}.png")
    other_host = TestClient(client.app, base_url="https://maps.example.org")
    tj2 = other_host.get("/tiles/carriers/tilejson.json?format=png").json()
    assert tj2["tiles"] == ["https://maps.example.org/tiles/carriers/{z}/{x}/{y}.png"]


def test_cors_for_portals(client: TestClient, gpkg: Path) -> None:
    url = f"/tiles/carriers/{_carrier_tile(gpkg, 11)[0]}.mvt"
    r = client.get(url, headers={"Origin": PORTAL})
    assert r.headers["access-control-allow-origin"] == PORTAL
    assert "etag" in r.headers["access-control-expose-headers"].lower()
    pre = client.options(url, headers={"Origin": PORTAL, "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == PORTAL
    other = client.get(url, headers={"Origin": "https://elsewhere.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_concurrent_requests_same_uncached_tile(gpkg: Path) -> None:
    app = create_app(gpkg=gpkg)
    zxy = _carrier_tile(gpkg, 14)[0]
    with TestClient(app) as c, ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda _: c.get("/tiles/belt_zones/11/1714/835.png"),
                                  range(50)))
        mvts = list(pool.map(lambda _: c.get(f"/tiles/carriers/{zxy}.mvt"), range(50)))
    for group in (responses, mvts):
        assert {r.status_code for r in group} == {200}
        assert len({r.content for r in group}) == 1 and len({r.headers["etag"] for r in group}) == 1
    assert app.state.service.cache.hits + app.state.service.cache.misses >= 100


def test_analysis_density_matches_spatial_join(client: TestClient, gpkg: Path) -> None:
    body = client.get("/analysis/density", params={"zones": "belt_zones"}).json()
    zones = read_layer(gpkg, "belt_zones")
    carriers = read_layer(gpkg, "carriers")
    joined = gpd.sjoin(carriers, zones, predicate="within")
    expected = joined.groupby("index_right").size().reindex(range(len(zones)), fill_value=0)
    assert [r["count"] for r in body["rows"]] == expected.tolist()
    assert [r["name_zh"] for r in body["rows"]] == zones["name_zh"].tolist()
    r0 = body["rows"][0]
    assert r0["per_km2"] == pytest.approx(r0["count"] / r0["area_km2"])
    grid = client.get("/analysis/density", params={"cell_size": 2000}).json()
    assert sum(r["count"] for r in grid["rows"]) == len(carriers)  # every carrier in one cell
    only = client.get("/analysis/density", params=[("category", "lab"),
                                                   ("zones", "belt_zones")]).json()
    n_lab = int((joined["category_left"] == "lab").sum())
    assert sum(r["count"] for r in only["rows"]) == n_lab


def test_analysis_coverage(client: TestClient, gpkg: Path) -> None:
    from baoshan_gis.analysis.coverage import euclidean_coverage

    body = client.get("/analysis/coverage", params={"radius": 1500}).json()
    ref = euclidean_coverage(read_layer(gpkg, "belt_zones"), read_layer(gpkg, "carriers"),
                             radius=1500, by=None)
    assert [r["covered_share"] for r in body["rows"]] == pytest.approx(
        ref["covered_share"].tolist())
    assert all(0 < r["covered_share"] < 1 for r in body["rows"])
    small = client.get("/analysis/coverage", params={"radius": 200}).json()
    assert all(s["covered_share"] < b["covered_share"]
               for s, b in zip(small["rows"], body["rows"], strict=True))


def test_maps_listing(client: TestClient) -> None:
    maps = client.get("/maps").json()["maps"]
    assert maps and all(m["url"].startswith("http://testserver/maps/") for m in maps)


def test_settings_validated_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     gpkg: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        create_app(gpkg=tmp_path / "missing.gpkg")
    with pytest.raises(InvalidInput, match="cache_bytes"):
        create_app(gpkg=gpkg, cache_bytes=-1)
    with pytest.raises(InvalidInput, match="colormap"):
        create_app(gpkg=gpkg, raster_colormap="no-such-map")
    monkeypatch.setenv("BAOSHAN_GPKG", str(gpkg))
    monkeypatch.setenv("BAOSHAN_CORS_ORIGINS", f"{PORTAL}, https://b.example.org")
    monkeypatch.setenv("BAOSHAN_TILE_FEATURE_CAP", "7")
    s = ApiSettings()  # type: ignore[call-arg]
    assert s.cors_origins == [PORTAL, "https://b.example.org"] and s.tile_feature_cap == 7
    app = create_app()
    zxy = "8/214/104"
    feats = mapbox_vector_tile.decode(TestClient(app).get(f"/tiles/carriers/{zxy}.mvt").content)
    assert len(feats["carriers"]["features"]) == 7  # the cap from the environment


@pytest.mark.parametrize("freeze", [True, False])
def test_start_up_freezes_the_heap_out_of_the_collector(gpkg: Path, freeze: bool) -> None:
    import gc

    assert gc.get_freeze_count() == 0
    app = create_app(ApiSettings(gpkg=gpkg, gc_freeze=freeze))
    with TestClient(app) as c:  # runs the start-up and the shutdown
        frozen = gc.get_freeze_count()
        assert c.get("/health").status_code == 200
    assert gc.get_freeze_count() == 0  # unfrozen at shutdown
    if freeze:
        assert frozen > 50_000  # pandas, geopandas, shapely, the app: what a full pass skips
    else:
        assert frozen == 0
