"""The interactive pages in real headless Chromium: no errors, no failed requests, layers, pixels.

Chromium is Debian's package at /usr/bin/chromium (installed by .ci/run); Playwright drives it
(never 'playwright install'). The pages are served from a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from baoshan_gis.render import load_maps, write_page
from baoshan_gis.render._prepare import prepare_map
from tests._render_data import COLOCATED, IMG_XSS, XSS, make_gpkg

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("site")
    gpkg = make_gpkg(root / "data" / "syn.gpkg")
    for name in load_maps():
        write_page(name, gpkg, root / f"{name}.html")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gpkg
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), "Debian's chromium package is required (see .ci/run)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("name", sorted(load_maps()))
def test_page_loads_cleanly(site: tuple[str, Path], browser: object, name: str,
                            tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    base, gpkg = site
    page = browser.new_page(viewport={"width": 1000, "height": 800})  # type: ignore[attr-defined]
    errors: list[str] = []
    failed: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base}/{name}.html", wait_until="networkidle")
    page.wait_for_selector(".leaflet-control-layers-overlays label")
    try:
        assert errors == []
        assert failed == []
        assert all(u.startswith((base, "data:")) for u in requests), requests
        listed = [t.strip() for t in
                  page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
        expected = [ld.title for ld in prepare_map(name, gpkg).layers]
        assert listed == expected
        assert page.locator(".leaflet-control-attribution").inner_text().strip()
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot))
        pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
        assert pixels.std() > 10  # not blank
        assert len(np.unique(pixels)) > 50
    finally:
        page.close()


def test_popup_shows_markup_as_text(site: tuple[str, Path], browser: object) -> None:
    base, _ = site
    page = browser.new_page()  # type: ignore[attr-defined]
    try:
        page.goto(f"{base}/carriers_overview.html", wait_until="networkidle")
        opened = page.evaluate("""(xss) => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k].eachLayer);
            let hit = false;
            window[key].eachLayer(l => {
                if (!hit && l.feature && l.feature.properties.name_zh === xss) {
                    l.openPopup(); hit = true;
                }
            });
            return hit;
        }""", XSS)
        assert opened
        content = page.locator(".leaflet-popup-content")
        assert XSS in content.inner_text()
        assert content.locator("script").count() == 0
        assert page.evaluate("window.__xss === undefined")
    finally:
        page.close()


def test_group_marker_popup_lists_every_member(site: tuple[str, Path], browser: object) -> None:
    base, _ = site
    name = "carriers_overview"
    page = browser.new_page(viewport={"width": 1000, "height": 800})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{base}/{name}.html", wait_until="networkidle")
        # One clickable marker for the three co-located carriers, showing the count.
        icons = page.locator(".bg-grp-icon")
        assert icons.count() == 1
        assert icons.inner_text().strip() == "3"
        icons.hover()
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for()
        assert "3 个载体" in tip.inner_text() and "3 carriers" in tip.inner_text()
        icons.click()
        content = page.locator(".leaflet-popup-content")
        content.wait_for()
        text = content.inner_text()
        for member in COLOCATED:
            assert member in text
        assert IMG_XSS in text  # markup in a member's name is shown as text
        assert content.locator("img").count() == 0
        assert page.evaluate("window.__xss === undefined")
        assert text.count("几何质量 Geometry") == 3  # truth fields of every member
        # The accuracy circles are drawn and let clicks through.
        assert page.evaluate("""() => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k].eachLayer);
            let n = 0;
            window[key].eachLayer(l => {
                if (l instanceof L.Circle && !l.options.interactive) { n++; }
            });
            return n;
        }""") >= 2
        assert errors == []
    finally:
        page.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The map service itself (uvicorn in a thread on 127.0.0.1), with its CSP headers."""
    import socket
    import time

    import uvicorn

    from api import create_app

    gpkg = make_gpkg(tmp_path_factory.mktemp("svc") / "syn.gpkg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(gpkg=gpkg), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("name", sorted(load_maps()))
def test_service_page_works_under_its_csp(service: str, browser: object, name: str) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 700})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        response = page.goto(f"{service}/maps/{name}", wait_until="networkidle")
        assert response is not None and "script-src" in response.headers[
            "content-security-policy"]
        page.wait_for_selector(".leaflet-control-layers-overlays label")
        assert page.locator(".leaflet-interactive").count() > 0  # the layers were drawn
        assert errors == []  # a CSP violation is reported as a console error
    finally:
        page.close()


@pytest.mark.parametrize(("url", "selector"), [("/docs", ".swagger-ui .info .title"),
                                               ("/redoc", "h1")])
def test_service_docs_render_offline(service: str, browser: object, url: str,
                                     selector: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    answered: list[str] = []
    page.on("response", lambda r: answered.append(r.url))
    try:
        page.goto(service + url, wait_until="networkidle")
        page.wait_for_selector(selector, timeout=20_000)
        assert "baoshan-gis" in page.locator(selector).first.inner_text()
        # ReDoc's footer asks for its logo on a CDN: the page's CSP refuses it, nothing else
        # leaves the machine
        assert all(u.startswith((service, "data:", "blob:")) for u in answered), answered
    finally:
        page.close()
