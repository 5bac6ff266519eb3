"""Geocoding: each provider's documented answer format replayed from a local server.

The server runs on 127.0.0.1 in a thread; it counts requests so the cache can be shown to send
none on a rerun. Addresses and positions are test data (not real places).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from baoshan_gis import coords, gpkg
from baoshan_gis._errors import DataImportError, GeocoderRefused
from baoshan_gis.cli import main
from baoshan_gis.importer import import_layer
from baoshan_gis.inputs.geocode import GeocodeOptions

PLACE = (121.392, 31.318)  # test point in the district (WGS84)
GOOD, NOMATCH, COARSE, ABROAD, BROKEN = "测试路1号", "无此地址", "宝山区", "巴黎", "乱码地址"
FLAKY, SLOW = "偶尔出错路2号", "很慢路3号"


class _Server:
    """Answers like the provider named in the request path; records every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.mode = "ok"  # ok | badkey | quota
        self.flaky_left = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                qs = parse_qs(url.query)
                outer.requests.append((url.path, qs))
                status, body = outer.answer(url.path, qs)
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _slow_or_flaky(self, address: str) -> int | None:
        if address == SLOW:
            time.sleep(0.4)
        if address == FLAKY and self.flaky_left > 0:
            self.flaky_left -= 1
            return 503
        return None

    def answer(self, path: str, qs: dict[str, list[str]]) -> tuple[int, object]:
        if path == "/v3/geocode/geo":
            return self._amap(qs)
        if path == "/geocoding/v3/":
            return self._baidu(qs)
        if path == "/geocoder":
            return self._tianditu(qs)
        if path == "/search":
            return self._nominatim(qs)
        return 404, {}

    def _amap(self, qs: dict[str, list[str]]) -> tuple[int, object]:
        if self.mode == "badkey":
            return 200, {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}
        if self.mode == "quota":
            return 200, {"status": "0", "info": "DAILY_QUERY_OVER_LIMIT", "infocode": "10003"}
        addresses = qs["address"][0].split("|")
        for a in addresses:
            if (code := self._slow_or_flaky(a)) is not None:
                return code, {}
        gx, gy = coords.wgs84_to_gcj02(*PLACE)
        entries = []
        for a in addresses:
            if a in (GOOD, FLAKY, SLOW):
                entries.append(
                    {
                        "formatted_address": "上海市宝山区" + a,
                        "location": f"{gx:.6f},{gy:.6f}",
                        "level": "门牌号",
                    }
                )
            elif a == COARSE:
                entries.append({"location": "121.489,31.405", "level": "区县"})
            elif a == ABROAD:
                entries.append({"location": "2.352200,48.856600", "level": "兴趣点"})
            elif a == BROKEN:
                entries.append({"location": "abc", "level": "门牌号"})
            else:
                entries.append({"formatted_address": [], "location": [], "level": []})
        if len(addresses) == 1 and addresses[0] == NOMATCH:
            entries = []
        return 200, {
            "status": "1",
            "info": "OK",
            "infocode": "10000",
            "count": str(len(entries)),
            "geocodes": entries,
        }

    def _baidu(self, qs: dict[str, list[str]]) -> tuple[int, object]:
        if self.mode == "badkey":
            return 200, {"status": 200, "message": "APP不存在，AK有误请检查再重试"}
        if self.mode == "quota":
            return 200, {"status": 302, "message": "天配额超限，限制访问"}
        a = qs["address"][0]
        if (code := self._slow_or_flaky(a)) is not None:
            return code, {}
        if a == NOMATCH:
            return 200, {"status": 1, "msg": "Internal Service Error:无相关结果", "results": []}
        bx, by = coords.wgs84_to_bd09(*PLACE)
        level = "区县" if a == COARSE else "门址"
        return 200, {
            "status": 0,
            "result": {
                "location": {"lng": bx, "lat": by},
                "precise": 1,
                "confidence": 75,
                "comprehension": 100,
                "level": level,
            },
        }

    def _tianditu(self, qs: dict[str, list[str]]) -> tuple[int, object]:
        if self.mode == "badkey":
            return 403, {"msg": "权限校验失败"}
        word = json.loads(qs["ds"][0])["keyWord"].removeprefix("上海市")
        if (code := self._slow_or_flaky(word)) is not None:
            return code, {}
        if word == NOMATCH:
            return 200, {"status": "101", "msg": "结果为空"}
        return 200, {
            "status": "0",
            "msg": "ok",
            "searchVersion": "6.4.9V",
            "location": {
                "lon": str(PLACE[0]),
                "lat": str(PLACE[1]),
                "level": "乡镇" if word == COARSE else "门址",
                "score": 100,
                "keyWord": word,
            },
        }

    def _nominatim(self, qs: dict[str, list[str]]) -> tuple[int, object]:
        q = qs["q"][0].split(", ")[0]
        if (code := self._slow_or_flaky(q)) is not None:
            return code, []
        if q == NOMATCH:
            return 200, []
        rank = 16 if q == COARSE else 30
        return 200, [
            {
                "place_id": 1,
                "osm_type": "node",
                "osm_id": 1,
                "lat": str(PLACE[1]),
                "lon": str(PLACE[0]),
                "place_rank": rank,
                "category": "amenity",
                "type": "office",
                "display_name": q,
            }
        ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    path = tmp_path / "plan.gpkg"
    district = gpd.GeoDataFrame(
        {"name_zh": ["宝山区"]},
        geometry=[box(121.2954, 31.2671, 121.5211, 31.5139)],
        crs="EPSG:4326",
    )
    with gpkg.atomic_path(path, copy_existing=False) as tmp:
        gpkg.write_frame(tmp, district, "district")
    return path


def _csv(tmp_path: Path, addresses: list[str]) -> Path:
    src = tmp_path / "list.csv"
    lines = ["名称,地址"] + [f"测试{i},{a}" for i, a in enumerate(addresses)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src


def _opts(server: _Server, provider: str, cache: Path, **kw: object) -> GeocodeOptions:
    return GeocodeOptions(
        address_col="地址",
        provider=provider,
        key="test-key",
        base_url=server.url,
        cache_dir=cache,
        rate_per_s=1000.0,
        backoff_s=0.0,
        timeout_s=kw.pop("timeout_s", 2.0),
        **kw,
    )  # type: ignore[arg-type]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("provider", "orig_crs", "accuracy"),
    [
        ("amap", "gcj02", 50.0),
        ("baidu", "bd09", 200.0),
        ("tianditu", "cgcs2000", 50.0),
        ("nominatim", "wgs84", 50.0),
    ],
)
def test_each_provider_converted_to_wgs84_with_unplaced_rows(
    server, target, tmp_path, provider, orig_crs, accuracy
):
    src = _csv(tmp_path, [GOOD, NOMATCH, COARSE])
    report = import_layer(
        target, src, name="incubators", geocode=_opts(server, provider, tmp_path / "cache")
    )
    placed = gpkg.read_layer(target, "incubators")
    assert placed.name_zh.tolist() == ["测试0"]
    # the stored point is the WGS84 place, whatever system the provider answered in
    assert placed.geometry.x.iloc[0] == pytest.approx(PLACE[0], abs=1e-6)
    assert placed.geometry.y.iloc[0] == pytest.approx(PLACE[1], abs=1e-6)
    assert placed.orig_crs.iloc[0] == orig_crs
    if orig_crs in ("gcj02", "bd09"):  # originals kept, a few hundred metres off WGS84
        assert abs(placed.orig_lon.iloc[0] - PLACE[0]) > 1e-3
    assert placed.geometry_quality.iloc[0] == "approximate"
    assert placed.accuracy_m.iloc[0] == accuracy  # Baidu: confidence 75 -> 200 m
    unplaced = gpkg.read_layer(target, "incubators_unplaced")
    assert sorted(unplaced.name_zh) == ["测试1", "测试2"]
    reasons = dict(zip(unplaced.name_zh, unplaced.reason, strict=True))
    assert reasons["测试1"].startswith("no match")
    assert "too coarse" in reasons["测试2"]
    assert unplaced.geometry_quality.isna().all()
    assert len(report.unplaced) == 2 and report.unplaced_table == "incubators_unplaced"
    contents = {n: t for n, t in _contents(target)}
    assert contents["incubators_unplaced"] == "attributes"


def _contents(path: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(path) as con:
        return con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall()


def test_amap_batches_and_the_cache_makes_a_rerun_send_nothing(server, target, tmp_path):
    src = _csv(tmp_path, [GOOD, NOMATCH, COARSE, ABROAD, BROKEN, GOOD])
    opts = _opts(server, "amap", tmp_path / "cache")
    first = import_layer(target, src, name="amap", geocode=opts)
    assert len(server.requests) == 1  # five distinct addresses, one batch of up to 10
    assert server.requests[0][1]["batch"] == ["true"]
    assert first.count == 2  # the repeated address is placed twice
    reasons = " | ".join(first.unplaced)
    assert "outside China" in reasons and "malformed answer" in reasons
    assert "no match" in reasons and "too coarse" in reasons
    again = import_layer(target, src, name="amap", geocode=opts, replace=True)
    assert len(server.requests) == 1  # nothing sent
    assert "0 request(s), 5 address(es) from the cache" in again.text()


@pytest.mark.parametrize("provider", ["amap", "baidu", "tianditu"])
def test_bad_key_stops_with_error_and_keeps_the_cache(server, target, tmp_path, provider):
    cache = tmp_path / "cache"
    src = _csv(tmp_path, [GOOD])
    import_layer(target, src, name="first", geocode=_opts(server, provider, cache))
    server.mode = "badkey"
    more = _csv(tmp_path, [GOOD, "新地址5号"])
    before = _digest(target)
    with pytest.raises(GeocoderRefused, match="refused the key") as err:
        import_layer(target, more, name="second", geocode=_opts(server, provider, cache))
    assert "1 of 2 addresses were resolved" in str(err.value)
    assert "the GeoPackage was not changed" in str(err.value)
    assert _digest(target) == before


@pytest.mark.parametrize("provider", ["amap", "baidu"])
def test_quota_stops_with_error(server, target, tmp_path, provider):
    server.mode = "quota"
    with pytest.raises(GeocoderRefused, match="quota exhausted"):
        import_layer(
            target,
            _csv(tmp_path, [GOOD]),
            name="q",
            geocode=_opts(server, provider, tmp_path / "cache"),
        )


@pytest.mark.parametrize("provider", ["amap", "baidu", "tianditu", "nominatim"])
def test_5xx_is_retried_then_succeeds(server, target, tmp_path, provider):
    server.flaky_left = 2
    report = import_layer(
        target,
        _csv(tmp_path, [FLAKY]),
        name="flaky",
        geocode=_opts(server, provider, tmp_path / "cache"),
    )
    assert report.count == 1
    assert len(server.requests) == 3  # two 503s, then the answer


def test_timeout_after_retries_is_an_error_naming_the_server(server, target, tmp_path):
    opts = _opts(server, "nominatim", tmp_path / "cache", timeout_s=0.1, retries=1)
    with pytest.raises(GeocoderRefused, match=r"did not answer: no answer within 0.1 s after 2"):
        import_layer(target, _csv(tmp_path, [SLOW]), name="slow", geocode=opts)
    assert len(server.requests) == 2


def test_nothing_placed_and_missing_key_or_column(server, target, tmp_path, monkeypatch):
    with pytest.raises(DataImportError, match=r"no address of 'list\.csv' could be placed"):
        import_layer(
            target,
            _csv(tmp_path, [NOMATCH]),
            name="none",
            geocode=_opts(server, "nominatim", tmp_path / "cache"),
        )
    monkeypatch.delenv("BAOSHAN_AMAP_KEY", raising=False)
    opts = GeocodeOptions(
        address_col="地址", provider="amap", base_url=server.url, cache_dir=tmp_path / "cache"
    )
    with pytest.raises(GeocoderRefused, match="needs a key: pass --key KEY or set BAOSHAN_AMAP"):
        import_layer(target, _csv(tmp_path, [GOOD]), name="nokey", geocode=opts)
    bad_col = GeocodeOptions(
        address_col="addr", provider="nominatim", base_url=server.url, cache_dir=tmp_path / "cache"
    )
    with pytest.raises(DataImportError, match="--address-col 'addr' is not a column"):
        import_layer(target, _csv(tmp_path, [GOOD]), name="col", geocode=bad_col)
    assert len(server.requests) == 1  # only the first call reached the server


def test_cli_geocode_creates_gpkg_lists_unplaced_and_errors(server, tmp_path, monkeypatch):
    monkeypatch.setenv("BAOSHAN_GEOCODE_CACHE", str(tmp_path / "cache"))
    src = _csv(tmp_path, [GOOD, NOMATCH])
    out = tmp_path / "new.gpkg"
    runner = CliRunner()
    args = [
        "geocode",
        str(src),
        "--address-col",
        "地址",
        "--provider",
        "amap",
        "--key",
        "k",
        "--base-url",
        server.url,
        "--rate",
        "1000",
        "--out",
        str(out),
        "--name",
        "list",
    ]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert "unplaced: row 3 '无此地址': no match" in ok.stdout
    assert "imported 1 feature (Point)" in ok.stdout
    assert gpkg.layer_names(out) == ["list", "list_unplaced"]
    server.mode = "quota"
    rerun = runner.invoke(main, [*args[:-2], "--name", "other"])  # all cached: no request
    assert rerun.exit_code == 0, rerun.output
    fresh = _csv(tmp_path, ["另一个地址"])
    failed = runner.invoke(
        main,
        [
            "layers",
            "import",
            str(fresh),
            "--gpkg",
            str(out),
            "--name",
            "more",
            "--address-col",
            "地址",
            "--provider",
            "amap",
            "--key",
            "k",
            "--base-url",
            server.url,
        ],
    )
    assert failed.exit_code == 2
    assert failed.stderr.startswith("error: Amap quota exhausted")
    assert "Traceback" not in failed.output
    assert gpkg.layer_names(out) == ["list", "list_unplaced", "other", "other_unplaced"]


def test_xlsx_address_column_is_geocoded(server, target, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["名称", "地址"])
    book.active.append(["测试甲", GOOD])
    book.active.append(["测试乙", NOMATCH])
    book.save(tmp_path / "list.xlsx")
    report = import_layer(
        target,
        tmp_path / "list.xlsx",
        name="xl",
        geocode=_opts(server, "tianditu", tmp_path / "cache"),
    )
    assert report.count == 1
    assert report.unplaced == ["row 3 '无此地址': no match (结果为空)"]


def test_rate_limit_spaces_requests(server, target, tmp_path):
    opts = GeocodeOptions(
        address_col="地址",
        provider="nominatim",
        base_url=server.url,
        cache_dir=tmp_path / "cache",
        rate_per_s=10.0,
    )
    start = time.monotonic()
    import_layer(
        target, _csv(tmp_path, [GOOD, "测试路7号", "测试路8号"]), name="rated", geocode=opts
    )
    assert len(server.requests) == 3
    assert time.monotonic() - start >= 0.2  # three requests at most 10 per second
