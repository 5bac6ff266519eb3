"""The service under faults (issue 9, items 5-8): HTTP hygiene, offline docs, bounded analyses,
a GeoPackage that changes while served, and GeoPackages stored in another CRS."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.errors import redact_paths
from baoshan_gis.tiles._sample import sample_frames, write_sample_gpkg


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_gpkg(tmp_path_factory.mktemp("hard") / "sample.gpkg")


@pytest.fixture(scope="module")
def client(gpkg: Path) -> TestClient:
    return TestClient(create_app(gpkg=gpkg), raise_server_exceptions=False)


# -- item 7: HTTP hygiene ------------------------------------------------------------------------

GET_ROUTES = [
    "/layers",
    "/layers/carriers",
    "/layers/indicators",
    "/maps",
    "/maps/assets/leaflet.js",
    "/maps/innovation_belt",
    "/tiles/carriers/8/214/104.mvt",
    "/tiles/carriers/8/214/104.png",
    "/tiles/carriers/0/0/0.png",
    "/tiles/carriers/tilejson.json",
    "/analysis/density",
    "/analysis/coverage",
    "/health",
    "/docs",
    "/redoc",
    "/docs-assets/swagger-ui.css",
    "/openapi.json",
    "/ogc",
    "/ogc/conformance",
    "/ogc/api",
    "/ogc/collections",
    "/ogc/collections/carriers",
    "/ogc/collections/carriers/schema",
    "/ogc/collections/carriers/items",
    "/ogc/collections/carriers/items/1",
    "/ogc/tileMatrixSets",
    "/ogc/tileMatrixSets/WebMercatorQuad",
    "/ogc/collections/carriers/tiles",
    "/ogc/collections/carriers/map/tiles",
    "/ogc/collections/carriers/tiles/WebMercatorQuad",
    "/ogc/collections/carriers/map/tiles/WebMercatorQuad",
]


def test_every_get_route_is_listed(client: TestClient) -> None:
    paths = [p for p, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops]
    assert len(paths) >= 10
    for p in paths:
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(p).replace("\\:path", ""))
        assert any(re.fullmatch(pattern, u) for u in GET_ROUTES), p


@pytest.mark.parametrize("url", GET_ROUTES)
def test_head_answers_like_get_without_body(client: TestClient, url: str) -> None:
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == get.status_code
    assert head.content == b""
    for h in ("content-type", "content-length", "etag", "cache-control", "x-content-type-options"):
        assert head.headers.get(h) == get.headers.get(h), h
    assert get.headers["x-content-type-options"] == "nosniff"


METHODS = [
    # method, url, status, fragment of the message, Allow
    ("POST", "/layers", 405, "not allowed", "GET, HEAD"),
    ("DELETE", "/layers/carriers", 405, "DELETE", "GET, HEAD"),
    ("PUT", "/tiles/carriers/8/214/104.mvt", 405, "allowed: GET, HEAD", "GET, HEAD"),
    ("PATCH", "/analysis/density", 405, "not allowed", "GET, HEAD"),
    ("POST", "/docs", 405, "not allowed", "GET, HEAD"),
    ("GET", "/nope", 404, "/docs", None),
    ("HEAD", "/nope", 404, "", None),
]


@pytest.mark.parametrize(("method", "url", "status", "fragment", "allow"), METHODS)
def test_methods_table(
    client: TestClient, method: str, url: str, status: int, fragment: str, allow: str | None
) -> None:
    r = client.request(method, url)
    assert r.status_code == status
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers.get("allow") == allow
    if method != "HEAD":
        assert fragment in r.json()["detail"]
        assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize("url", ["/docs", "/redoc"])
def test_docs_offline_and_csp(client: TestClient, url: str) -> None:
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    refs += re.findall(r'spec-url="([^"]+)"', html)
    assert refs and all(u.startswith("/") and not u.startswith("//") for u in refs), refs
    assert "http://" not in html and "https://" not in html
    scripts = [u for u in refs if u.endswith(".js")]
    assert scripts
    for u in refs:
        a = client.get(u)
        assert a.status_code == 200, u
        if u.endswith(".js"):
            assert a.headers["content-type"].startswith("text/javascript")
            assert len(a.content) > 100_000 and b"function" in a.content[:5000]
    csp = r.headers["content-security-policy"]
    assert ("script-src 'self' 'sha256-" in csp) == (url == "/docs")  # redoc: no inline script
    assert "http" not in csp and "*" not in csp and "unsafe-eval" not in csp


def test_csp_only_on_html(client: TestClient) -> None:
    assert "content-security-policy" not in client.get("/layers").headers
    csp = client.get("/docs").headers["content-security-policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp


def test_no_server_path_in_error_bodies(tmp_path: Path) -> None:
    g = write_sample_gpkg(tmp_path / "deep" / "s.gpkg", with_density=False)
    c = TestClient(create_app(gpkg=g, reload_check_ms=0), raise_server_exceptions=False)
    g.unlink()  # the file goes away while served: reads that need it fail
    bodies = []
    for url in (
        "/maps/innovation_belt",
        "/maps/wusong",
        "/layers/x",
        "/tiles/x/1/0/0.png",
        "/analysis/density?points=/etc/x",
        "/nope/" + str(tmp_path),
    ):
        r = c.get(url)
        assert 400 <= r.status_code < 500, (url, r.text)
        bodies.append(r.text)
    text = "\n".join(bodies)
    assert str(tmp_path) not in text and "/tmp/" not in text
    assert "s.gpkg" in bodies[0]  # the message still names the file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GeoPackage '{tmp}/a/b/plan.gpkg' does not exist",
            "GeoPackage 'plan.gpkg' does not exist",
        ),
        ("cannot read {tmp}/x.tif: no such file", "cannot read x.tif: no such file"),
        ("no layer named 'a'; layers: b, c", "no layer named 'a'; layers: b, c"),
        ("/tiles/{layer}/{z}/{x}/{y}.png", "/tiles/{layer}/{z}/{x}/{y}.png"),
    ],
)
def test_redact_paths(text: str, expected: str) -> None:
    import tempfile

    assert redact_paths(text.replace("{tmp}", tempfile.gettempdir())) == expected


@pytest.mark.parametrize(
    "path", ["../outside.tif", "/etc/hostname", "sub/../../outside.tif", "link.tif"]
)
def test_raster_path_stays_in_gpkg_folder(tmp_path: Path, path: str) -> None:
    from baoshan_gis.gpkg import raster_layers

    folder = tmp_path / "data"
    g = write_sample_gpkg(folder / "s.gpkg")
    shutil.copy(folder / "carrier_density.tif", tmp_path / "outside.tif")
    (folder / "link.tif").symlink_to(tmp_path / "outside.tif")
    with sqlite3.connect(g) as con:
        con.execute(
            "UPDATE baoshan_layer_meta SET parameters=? WHERE layer='carrier_density'",
            (f'{{"path": "{path}"}}',),
        )
    con.close()
    assert "carrier_density" not in raster_layers(g)
    c = TestClient(create_app(gpkg=g))
    names = [x["name"] for x in c.get("/layers").json()["layers"]]
    assert "carrier_density" not in names and "carriers" in names


def test_serve_sets_idle_timeout(monkeypatch: pytest.MonkeyPatch, gpkg: Path) -> None:
    import uvicorn
    from click.testing import CliRunner

    from baoshan_gis.cli import main

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.update(k))
    monkeypatch.delenv("BAOSHAN_GPKG", raising=False)
    r = CliRunner().invoke(main, ["serve", "--gpkg", str(gpkg), "--keep-alive", "7"])
    monkeypatch.delenv("BAOSHAN_GPKG", raising=False)
    assert r.exit_code == 0, r.output
    assert seen["timeout_keep_alive"] == 7 and seen["limit_concurrency"] == 200


# -- item 5: bounded analyses --------------------------------------------------------------------

ANALYSES = [
    # settings, url, status, fragment
    ({}, "/analysis/density?cell_size=1e308", 400, "100 to 10000"),
    ({}, "/analysis/density?cell_size=inf", 400, "positive"),
    ({}, "/analysis/density?cell_size=10001", 400, "out of range"),
    ({}, "/analysis/density?cell_size=99", 413, "finer"),
    (
        {"analysis_max_features": 10},
        "/analysis/density?zones=belt_zones",
        413,
        "'carriers' has 40 features",
    ),
    ({"analysis_max_features": 39}, "/analysis/coverage?radius=500", 413, "at most 39"),
    ({"analysis_max_values": 20}, "/analysis/density?cell_size=1000", 413, "values"),
    ({"analysis_max_values": 10}, "/analysis/coverage?radius=500", 413, "values"),
    ({}, "/analysis/density?cell_size=10000", 200, ""),
    ({}, "/analysis/coverage?radius=500", 200, ""),
]


@pytest.mark.parametrize(("settings", "url", "status", "fragment"), ANALYSES)
def test_analysis_bounds(
    gpkg: Path, settings: dict[str, object], url: str, status: int, fragment: str
) -> None:
    app = create_app(gpkg=gpkg, **settings)
    r = TestClient(app, raise_server_exceptions=False).get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    if status != 200:
        assert fragment in r.json()["detail"]
        assert app.state.service.runner.computed == 0  # refused before any work
    else:
        assert r.json()["rows"]


def _blocked_app(
    gpkg: Path, monkeypatch: pytest.MonkeyPatch, **settings: object
) -> tuple[TestClient, threading.Event, list[int]]:
    import baoshan_gis.analysis.density as density

    release = threading.Event()
    calls: list[int] = []
    real = density.carrier_density

    def slow(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        assert release.wait(20)
        return real(*a, **k)

    monkeypatch.setattr(density, "carrier_density", slow)
    app = create_app(gpkg=gpkg, **settings)
    return TestClient(app, raise_server_exceptions=False), release, calls


def _wait_running(client: TestClient, n: int) -> None:
    runner = client.app.state.service.runner  # type: ignore[attr-defined]
    deadline = time.time() + 10
    while runner.active != n and time.time() < deadline:
        time.sleep(0.01)
    assert runner.active == n


def test_concurrency_limit_coalescing_and_cache(
    gpkg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, release, calls = _blocked_app(gpkg, monkeypatch, analysis_concurrency=1)
    url = "/analysis/density?zones=belt_zones"
    with ThreadPoolExecutor(6) as pool:
        first = [pool.submit(client.get, url) for _ in range(5)]  # identical: one computation
        _wait_running(client, 1)
        busy = client.get("/analysis/density?zones=district")  # another one: no free slot
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "2"
        assert "at once" in busy.json()["detail"] and "no-store" in busy.headers["cache-control"]
        release.set()
        answers = [f.result() for f in first]
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1 and len(calls) == 1
    again = client.get(url)
    runner = client.app.state.service.runner  # type: ignore[attr-defined]
    assert again.content == answers[0].content and len(calls) == 1 and runner.hits >= 1
    assert client.get("/analysis/density?zones=district").status_code == 200  # slot free again


def test_abandoned_work_times_out(gpkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    client, release, calls = _blocked_app(
        gpkg, monkeypatch, analysis_timeout_s=0.3, analysis_concurrency=1
    )
    url = "/analysis/density?zones=belt_zones"
    t0 = time.perf_counter()
    r = client.get(url)
    assert time.perf_counter() - t0 < 5
    assert r.status_code == 503 and "longer than 0.3 s" in r.json()["detail"]
    assert r.headers["retry-after"] == "1"
    assert client.get("/analysis/coverage?radius=500").status_code == 503  # slot still held
    release.set()
    _wait_running(client, 0)
    ok = client.get(url)
    assert ok.status_code == 200 and len(calls) == 1  # the late answer was kept


# -- item 6: a GeoPackage that changes while served ----------------------------------------------


def _replace(target: Path, frames: dict[str, object]) -> None:
    """Write a new GeoPackage beside ``target`` and rename it over, as the importer does."""
    from baoshan_gis.gpkg import write_frame

    tmp = target.with_name("new-" + target.name)
    for name, frame in frames.items():
        write_frame(tmp, frame, name)  # type: ignore[arg-type]
    os.replace(tmp, target)


def test_replaced_file_is_seen_without_restart(tmp_path: Path) -> None:
    g = write_sample_gpkg(tmp_path / "live.gpkg", with_density=False)
    c = TestClient(create_app(gpkg=g, reload_check_ms=0))
    assert c.get("/layers/carriers").json()["numberMatched"] == 40
    tile = "/tiles/district/8/214/104.png"
    etag = c.get(tile).headers["etag"]
    dens = c.get("/analysis/density?zones=belt_zones").json()
    assert "newlayer" not in c.get("/layers").text
    frames = sample_frames(n_carriers=7, n_zones=2)
    frames["newlayer"] = frames["carriers"].iloc[:3].copy()
    frames["district"] = frames["district"].set_geometry(
        frames["district"].geometry.scale(0.5, 0.5)
    )
    _replace(g, frames)
    assert c.get("/layers/carriers").json()["numberMatched"] == 7
    cat = {x["name"]: x for x in c.get("/layers").json()["layers"]}
    assert cat["carriers"]["count"] == 7 and cat["newlayer"]["count"] == 3
    assert c.get("/layers/newlayer").json()["numberReturned"] == 3
    assert c.get(tile).headers.get("etag") != etag  # cached tiles dropped
    assert c.get("/analysis/density?zones=belt_zones").json() != dens  # cached answers dropped
    assert c.app.state.service.reloads == 1  # type: ignore[attr-defined]


def test_change_check_interval_and_unreadable_file(tmp_path: Path) -> None:
    g = write_sample_gpkg(tmp_path / "live.gpkg", with_density=False)
    c = TestClient(create_app(gpkg=g, reload_check_ms=60_000))
    _replace(g, sample_frames(n_carriers=5))
    assert c.get("/layers/carriers").json()["numberMatched"] == 40  # not checked yet
    state = c.app.state.service  # type: ignore[attr-defined]
    assert state.refresh(force=True)
    assert c.get("/layers/carriers").json()["numberMatched"] == 5
    g.write_bytes(b"not a geopackage")  # a broken file keeps the last good version
    assert not state.refresh(force=True)
    assert c.get("/layers/carriers").json()["numberMatched"] == 5


def test_layer_written_in_place_is_seen(tmp_path: Path) -> None:
    from baoshan_gis import gpkg as gp

    g = write_sample_gpkg(tmp_path / "live.gpkg", with_density=False)
    c = TestClient(create_app(gpkg=g, reload_check_ms=0))
    assert c.get("/layers/extra").status_code == 404
    gp.write_frame(g, sample_frames(n_carriers=4)["carriers"], "extra")  # in place, same inode
    assert c.get("/layers/extra").json()["numberMatched"] == 4


# -- item 8: GeoPackages in another CRS ----------------------------------------------------------

CUSTOM_WKT = (
    'PROJCS["Baoshan local TM",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",'
    '6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",31.4],'
    'PARAMETER["central_meridian",121.45],PARAMETER["scale_factor",1],'
    'PARAMETER["false_easting",50000],PARAMETER["false_northing",20000],'
    'UNIT["metre",1]]'
)


@pytest.fixture(scope="module", params=["EPSG:2385", "custom-wkt"])
def foreign(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, gpd.GeoDataFrame]]:
    from pyproj import CRS

    crs = CRS.from_user_input(request.param if request.param != "custom-wkt" else CUSTOM_WKT)
    assert crs.to_epsg() is None or request.param == "EPSG:2385"
    path = tmp_path_factory.mktemp("crs") / "foreign.gpkg"
    frames = {k: v for k, v in sample_frames().items() if isinstance(v, gpd.GeoDataFrame)}
    for name, frame in frames.items():
        pyogrio.write_dataframe(frame.to_crs(crs), path, layer=name, driver="GPKG")
    return path, frames


def test_foreign_crs_served_in_wgs84(foreign: tuple[Path, dict[str, gpd.GeoDataFrame]]) -> None:
    path, frames = foreign
    c = TestClient(create_app(gpkg=path))
    cat = {x["name"]: x for x in c.get("/layers").json()["layers"]}
    for name, frame in frames.items():
        assert np.allclose(cat[name]["bounds"], frame.total_bounds, atol=1e-7), name
    pts = frames["carriers"]
    got = c.get("/layers/carriers").json()["features"]
    xy = np.array([f["geometry"]["coordinates"] for f in got])
    assert np.allclose(xy, np.c_[pts.geometry.x, pts.geometry.y], atol=1e-7)
    w, s, e, n = pts.total_bounds
    box = (w, s, (w + e) / 2, (s + n) / 2)
    want = int(pts.cx[box[0] : box[2], box[1] : box[3]].shape[0])
    r = c.get("/layers/carriers?bbox=" + ",".join(map(str, box))).json()
    assert r["numberMatched"] == want and 0 < want < len(pts)
    assert c.get("/tiles/carriers/tilejson.json").json()["bounds"] == pytest.approx(
        list(pts.total_bounds), abs=1e-3
    )


def test_foreign_crs_read_layer_and_cli(foreign: tuple[Path, dict[str, gpd.GeoDataFrame]]) -> None:
    from click.testing import CliRunner

    from baoshan_gis.cli import main
    from baoshan_gis.gpkg import read_layer

    path, frames = foreign
    pts = frames["carriers"]
    w, s, e, n = pts.total_bounds
    sub = read_layer(path, "carriers", bbox=(w, s, (w + e) / 2, (s + n) / 2))
    assert sub.crs.to_epsg() == 4326 and 0 < len(sub) < len(pts)
    r = CliRunner().invoke(main, ["layers", "list", "--gpkg", str(path)])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("carriers"))
    nums = [float(v) for v in re.findall(r"-?\d+\.\d+", line)]
    assert len(nums) >= 4
    assert all(121.0 < v < 122.0 for v in nums[:4:2]) and all(
        31.0 < v < 32.0 for v in nums[1:4:2]
    ), line


@pytest.mark.parametrize(("cache_bytes", "computed"), [(0, 3), (10, 3), (32 << 20, 1)])
def test_answer_cache_is_bounded_in_bytes(gpkg: Path, cache_bytes: int, computed: int) -> None:
    app = create_app(gpkg=gpkg, analysis_cache_bytes=cache_bytes)
    c = TestClient(app)
    bodies = {c.get("/analysis/coverage?radius=700").content for _ in range(3)}
    runner = app.state.service.runner
    assert len(bodies) == 1 and runner.computed == computed
    cached = sum(len(v) for v in app.state.service.snapshot.results.values())
    assert cached <= cache_bytes


def test_a_reload_frees_the_old_snapshot_though_start_up_froze_it(tmp_path: Path) -> None:
    # the service freezes its start-up heap out of the cyclic collector (gc_freeze): the first
    # snapshot, made before, must still go when a reload replaces it, with its caches
    import gc
    import weakref

    g = write_sample_gpkg(tmp_path / "live.gpkg", with_density=False)
    app = create_app(gpkg=g, reload_check_ms=0)
    with TestClient(app) as c:
        assert gc.get_freeze_count() > 0
        for url in ("/tiles/district/8/214/104.png", "/analysis/density?zones=belt_zones",
                    "/layers/carriers"):
            assert c.get(url).status_code == 200
        old = weakref.ref(app.state.service.snapshot)
        _replace(g, sample_frames(n_carriers=7, n_zones=2))
        assert c.get("/layers/carriers").json()["numberMatched"] == 7
        gc.collect()
        assert old() is None
