"""The service on the plan GeoPackage built from the catalogue (``built_gpkg`` fixture)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api import create_app
from baoshan_gis.gpkg import layer_names, read_layer


@pytest.fixture(scope="module")
def client(built_gpkg: Path) -> TestClient:
    return TestClient(create_app(gpkg=built_gpkg, cors_origins=["*"]))


def test_catalogue_matches_geopackage(client: TestClient, built_gpkg: Path) -> None:
    layers = {x["name"]: x for x in client.get("/layers").json()["layers"]}
    assert set(layer_names(built_gpkg)) <= set(layers)
    assert "OpenStreetMap" in layers["metro_stations"]["attribution"]
    assert layers["carriers"]["count"] == len(read_layer(built_gpkg, "carriers"))
    tj = client.get("/tiles/metro_stations/tilejson.json").json()
    assert "OpenStreetMap" in tj["attribution"]


def test_known_carrier_in_its_tile(client: TestClient, built_gpkg: Path) -> None:
    carriers = read_layer(built_gpkg, "carriers")
    row = 0
    lon, lat = carriers.geometry.iloc[row].x, carriers.geometry.iloc[row].y
    t = mercantile.tile(lon, lat, 16)
    r = client.get(f"/tiles/carriers/{t.z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200
    feats = mapbox_vector_tile.decode(r.content)["carriers"]["features"]
    b = mercantile.xy_bounds(t)
    mx, my = mercantile.xy(lon, lat)
    ex = (mx - b.left) / (b.right - b.left) * 4096
    ey = (my - b.bottom) / (b.top - b.bottom) * 4096
    hit = [f for f in feats if f["properties"]["name_zh"] == carriers["name_zh"].iloc[row]]
    assert hit
    gx, gy = hit[0]["geometry"]["coordinates"]
    assert abs(gx - ex) <= 16 and abs(gy - ey) <= 16  # within one 256-px tile pixel


def test_schematic_belt_png(client: TestClient, built_gpkg: Path) -> None:
    belt = read_layer(built_gpkg, "innovation_belt")
    c = belt.geometry.iloc[0].representative_point()
    t = mercantile.tile(c.x, c.y, 11)
    r = client.get(f"/tiles/innovation_belt/{t.z}/{t.x}/{t.y}.png")
    assert r.status_code == 200
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (256, 256) and np.asarray(img.convert("RGBA"))[..., 3].max() > 0


def test_map_page_and_its_assets(client: TestClient) -> None:
    names = [m["name"] for m in client.get("/maps").json()["maps"]]
    assert "innovation_belt" in names
    r = client.get("/maps/innovation_belt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "科创" in html
    assets = set(re.findall(r"/maps/assets/[\w./-]+", html))
    assert {"/maps/assets/leaflet.js", "/maps/assets/leaflet.css"} <= assets
    assert not re.search(r"(src|href)=\"https?://", html)  # nothing from a CDN
    for url in assets:
        a = client.get(url)
        assert a.status_code == 200 and a.content, url
    assert "javascript" in client.get("/maps/assets/leaflet.js").headers["content-type"]
    again = client.get("/maps/innovation_belt", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
