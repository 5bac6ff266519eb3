"""The service's error table: every bad request is JSON with a message and the right status."""

from __future__ import annotations

import builtins
import os
import sqlite3
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.errors import STATUS_CODES, status_for
from baoshan_gis import _errors as E
from baoshan_gis.tiles._sample import write_sample_gpkg


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    gpkg = write_sample_gpkg(tmp_path_factory.mktemp("err") / "sample.gpkg")
    return TestClient(create_app(gpkg=gpkg), raise_server_exceptions=False)


ERRORS = [
    # tiles: coordinates
    ("/tiles/carriers/3/8/0.mvt", 400, "0..7"),
    ("/tiles/carriers/3/0/8.png", 400, "0..7"),
    ("/tiles/carriers/-1/0/0.mvt", 400, "0..24"),
    ("/tiles/carriers/2/-1/0.mvt", 400, "0..3"),
    ("/tiles/carriers/2/0/-1.png", 400, "0..3"),
    ("/tiles/carriers/1.5/0/0.mvt", 400, "not an integer"),
    ("/tiles/carriers/2/0.5/0.mvt", 400, "not an integer"),
    ("/tiles/carriers/2/a/0.png", 400, "not an integer"),
    ("/tiles/carriers/25/0/0.mvt", 400, "0..24"),
    # tiles: names
    ("/tiles/nope/1/0/0.mvt", 404, "carriers"),
    ("/tiles/nope/tilejson.json", 404, "carriers"),
    ("/tiles/..%2f..%2fetc/1/0/0.mvt", 404, ""),
    ("/tiles/carrier_density/1/0/0.mvt", 404, ".png"),
    ("/tiles/indicators/1/0/0.png", 404, "no tiles"),
    # layers
    ("/layers/nope", 404, "carriers"),
    ("/layers/..%2F..%2Fetc%2Fpasswd", 404, "'../../etc/passwd'"),
    ("/layers/%2e%2e%2f", 404, "'../'"),
    ("/layers/carriers%00", 404, "carriers\\x00"),
    ("/layers/carriers?bbox=1,2,3", 400, "four numbers"),
    ("/layers/carriers?bbox=3,0,1,1", 400, "minx must be <= maxx"),
    ("/layers/carriers?bbox=0,0,1,nan", 400, "finite"),
    ("/layers/carriers?bbox=0,-91,1,1", 400, "-90..90"),
    ("/layers/carriers?bbox=0,0,1,95", 400, "-90..90"),
    ("/layers/carriers?bbox=a,b,c,d", 400, "four numbers"),
    ("/layers/carriers?limit=0", 400, "limit"),
    ("/layers/carriers?limit=abc", 400, "limit"),
    ("/layers/carriers?limit=99999999", 413, "limit"),
    # maps
    ("/maps/nope", 404, "maps:"),
    ("/maps/..%2f..%2fetc%2fpasswd", 404, "no map named"),
    ("/maps/assets/..%2f..%2fetc%2fpasswd", 404, "no map asset"),
    # analysis
    ("/analysis/coverage?radius=100000", 413, "5000"),
    ("/analysis/coverage?radius=-5", 400, "positive"),
    ("/analysis/coverage?radius=nan", 400, "positive"),
    ("/analysis/coverage?radius=abc", 400, "radius"),
    ("/analysis/coverage?zones=carriers", 400, "polygon layers"),
    ("/analysis/coverage?facilities=nope", 404, "carriers"),
    ("/analysis/density?cell_size=1", 413, "finer"),
    ("/analysis/density?cell_size=0", 400, "positive"),
    ("/analysis/density?zones=belt_zones&cell_size=1000", 400, "either"),
    ("/analysis/density?zones=carriers", 400, "polygon layers"),
    ("/analysis/density?" + "&".join(f"category=c{i}" for i in range(40)), 413, "categories"),
    # anything else
    ("/nope", 404, "/docs"),
]


@pytest.mark.parametrize(("url", "status", "fragment"), ERRORS)
def test_error_table(client: TestClient, url: str, status: int, fragment: str) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert fragment in body["detail"]
    assert "no-store" in r.headers["cache-control"]


def test_names_outside_catalogue_do_not_touch_files(client: TestClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    touched: list[str] = []

    def spy(name: str, real):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            touched.append(f"{name}{args[:1]!r}")
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(builtins, "open", spy("open", builtins.open))
    monkeypatch.setattr(os, "stat", spy("stat", os.stat))
    monkeypatch.setattr(os, "open", spy("os.open", os.open))
    monkeypatch.setattr(sqlite3, "connect", spy("sqlite3.connect", sqlite3.connect))
    monkeypatch.setattr(pyogrio, "read_dataframe", spy("pyogrio", pyogrio.read_dataframe))
    monkeypatch.setattr(Path, "read_bytes", spy("read_bytes", Path.read_bytes))
    for url in ("/layers/..%2f..%2fetc%2fpasswd", "/layers/%2e%2e%2f", "/layers/x%00",
                "/tiles/..%2fx/1/0/0.png", "/tiles/%2e%2e/1/0/0.mvt",
                "/maps/assets/..%2f..%2fetc%2fpasswd"):
        assert client.get(url).status_code == 404
    assert not [t for t in touched if "passwd" in t or ".." in t]
    assert not [t for t in touched if t.startswith(("sqlite3", "pyogrio", "read_bytes"))]


def test_status_table_is_complete() -> None:
    assert status_for(E.InvalidTile("x")) == 400
    assert status_for(E.LayerNotFound("x")) == 404
    assert status_for(E.MapNotFound("x")) == 404
    assert status_for(E.RequestTooLarge("x")) == 413
    assert status_for(E.CRSError("x")) == 400
    assert status_for(E.OfflineError("x")) == 503
    assert status_for(RuntimeError("x")) == 500
    errors = [c for c in vars(E).values()
              if isinstance(c, type) and issubclass(c, E.BaoshanGISError)]
    assert all(any(k in STATUS_CODES for k in c.__mro__) for c in errors)
    assert all(status_for(c("x")) < 500 for c in errors if issubclass(c, E.InvalidInput))


def test_server_error_is_json_and_never_cached(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import baoshan_gis.tiles.mvt as mvt

    gpkg = write_sample_gpkg(tmp_path / "s.gpkg", with_density=False)
    app = create_app(gpkg=gpkg)
    client = TestClient(app, raise_server_exceptions=False)
    real = mvt.render_mvt

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mvt, "render_mvt", broken)
    url = "/tiles/carriers/8/214/104.mvt"
    r = client.get(url)
    assert r.status_code == 500 and r.json()["detail"] and "no-store" in r.headers["cache-control"]
    assert len(app.state.service.cache) == 0
    monkeypatch.setattr(mvt, "render_mvt", real)
    ok = client.get(url)
    assert ok.status_code == 200 and ok.content and len(app.state.service.cache) == 1
