"""The warm-tile path (api.routers.tiles.WarmTileMiddleware) and the thread-free state check."""

from __future__ import annotations

from pathlib import Path

import mercantile
import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.routers import tiles
from baoshan_gis.gpkg import read_layer
from baoshan_gis.tiles._sample import write_sample_gpkg

PORTAL = "https://portal.example.org"


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_gpkg(tmp_path_factory.mktemp("warm") / "sample.gpkg", with_density=False)


def _carrier_zxy(gpkg: Path, z: int) -> str:
    pts = read_layer(gpkg, "carriers")
    t = mercantile.tile(pts.geometry.iloc[3].x, pts.geometry.iloc[3].y, z)
    return f"{t.z}/{t.x}/{t.y}"


def _client(gpkg: Path, **settings: object) -> TestClient:
    return TestClient(create_app(gpkg=gpkg, cors_origins=[PORTAL], **settings),
                      raise_server_exceptions=False)


def _without_route(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the tile routes fail (500), recording each call."""
    calls: list[str] = []

    async def routed(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(request.url.path)
        raise RuntimeError("the tile route was called")

    monkeypatch.setattr(tiles, "_tile", routed)
    return calls


def _headers(r) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in r.headers.items() if k != "date"}


def test_warm_hit_is_the_routes_answer(gpkg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = _client(gpkg, reload_check_ms=60_000)
    urls = [f"/tiles/carriers/{_carrier_zxy(gpkg, 14)}.mvt",
            f"/tiles/carriers/{_carrier_zxy(gpkg, 13)}.png",
            "/tiles/carriers/10/0/0.mvt"]  # far from Baoshan: an empty tile
    first = {u: c.get(u, headers={"Origin": PORTAL}) for u in urls}
    assert [first[u].status_code for u in urls] == [200, 200, 204]
    calls = _without_route(monkeypatch)
    for u in urls:
        again = c.get(u, headers={"Origin": PORTAL})
        assert again.status_code == first[u].status_code
        assert again.content == first[u].content
        assert _headers(again) == _headers(first[u])  # ETag, Cache-Control, nosniff, CORS
        head = c.head(u)
        assert head.status_code == first[u].status_code and head.content == b""
        assert head.headers.get("content-length") == first[u].headers.get("content-length")
        etag = first[u].headers["etag"]
        cond = c.get(u, headers={"If-None-Match": f'W/"x", {etag}'})
        assert cond.status_code == 304 and cond.content == b""
        assert cond.headers["etag"] == etag and "max-age" in cond.headers["cache-control"]
        assert c.get(u, headers={"If-None-Match": '"other"'}).status_code == first[u].status_code
    assert calls == []  # every warm answer came without the route


def test_misses_and_other_urls_go_to_the_routes(gpkg: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    c = _client(gpkg, reload_check_ms=60_000)
    zxy = _carrier_zxy(gpkg, 15)
    z, x, y = zxy.split("/")
    cache = c.app.state.service.cache  # type: ignore[attr-defined]
    misses = cache.misses
    assert c.get(f"/tiles/carriers/{zxy}.mvt").status_code == 200
    assert cache.misses == misses + 1  # a miss is counted once, by the route
    assert c.get(f"/tiles/carriers/{z}/{x}/{int(y) + (1 << 15)}.mvt").status_code == 400
    assert c.get(f"/tiles/nosuch/{zxy}.mvt").status_code == 404
    calls = _without_route(monkeypatch)
    assert c.get(f"/tiles/carriers/{zxy}.mvt").status_code == 200  # warm
    assert c.get(f"/tiles/carriers/0{z}/{x}/{y}.mvt").status_code == 500  # not canonical
    assert c.get(f"/tiles/carriers/{zxy}.png").status_code == 500  # not rendered yet
    assert c.post(f"/tiles/carriers/{zxy}.mvt").status_code == 405  # only GET/HEAD
    assert calls == [f"/tiles/carriers/0{z}/{x}/{y}.mvt", f"/tiles/carriers/{zxy}.png"]


def test_a_due_file_check_goes_through_the_routes(gpkg: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    c = _client(gpkg, reload_check_ms=0)  # a check before every request
    url = f"/tiles/carriers/{_carrier_zxy(gpkg, 14)}.mvt"
    assert c.get(url).status_code == 200
    calls = _without_route(monkeypatch)
    assert c.get(url).status_code == 500 and calls == [url]


def test_state_is_checked_in_a_thread_only_when_due(gpkg: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import api.deps

    for interval, expected in ((60_000, 0), (0, 3)):
        c = _client(gpkg, reload_check_ms=interval)
        state = c.app.state.service  # type: ignore[attr-defined]
        pooled: list[object] = []
        real = api.deps.run_in_threadpool

        async def counting(func, *args, _real=real, _pooled=pooled):  # type: ignore[no-untyped-def]
            _pooled.append(func)
            return await _real(func, *args)

        monkeypatch.setattr(api.deps, "run_in_threadpool", counting)
        for _ in range(3):
            assert c.get("/layers/carriers").status_code == 200
        assert len(pooled) == expected
        assert all(f == state.refresh for f in pooled)
