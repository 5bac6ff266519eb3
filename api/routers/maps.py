"""``/maps``: the interactive map pages, with their Leaflet assets served by the service itself.

The page renderer lives in :mod:`baoshan_gis.render` and is imported only when a map is asked
for. Pages are rendered once per process and kept in memory. Assets are served from a fixed
table of files published by the renderer: a name not in that table is 404 without touching the
file system.
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import ServiceState, State
from api.hygiene import html_csp
from baoshan_gis._errors import MapNotFound, NotFound
from baoshan_gis.tiles.cache import etag_matches, strong_etag

router = APIRouter(prefix="/maps", tags=["maps"])

ASSET_PREFIX = "/maps/assets/"
_lock = threading.Lock()
#: Image hosts a page's background map needs besides the service itself.
_BASEMAP_HOSTS: dict[str, tuple[str, ...]] = {
    "none": (), "osm": ("https://tile.openstreetmap.org",),
    "amap": ("https://webrd01.is.autonavi.com", "https://webrd02.is.autonavi.com",
             "https://webrd03.is.autonavi.com", "https://webrd04.is.autonavi.com"),
}
_ASSET_FUNCS = ("leaflet_asset_files", "asset_files", "leaflet_assets", "offline_assets")


def _map_defs() -> dict[str, Any]:
    from baoshan_gis.render.mapdefs import load_maps

    return load_maps()


def _assets(state: ServiceState) -> dict[str, FsPath]:
    """The renderer's offline asset files, ``relative name -> path`` (looked up once)."""
    cached = getattr(state, "_map_assets", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    import baoshan_gis.render as render

    files: dict[str, FsPath] = {}
    for fname in _ASSET_FUNCS:
        func = getattr(render, fname, None)
        if func is not None:
            raw = func()
            items = raw.items() if isinstance(raw, dict) else ((FsPath(p).name, p) for p in raw)
            files = {str(k): FsPath(v) for k, v in items}
            break
    state._map_assets = files  # type: ignore[attr-defined]
    return files


@router.get("", summary="List of interactive maps")
async def list_maps(request: Request) -> dict[str, Any]:
    """Every map definition: name, Chinese and English title, description and page URL."""
    base = str(request.base_url).rstrip("/")
    return {"maps": [
        {"name": m.name, "title_zh": m.title_zh, "title_en": m.title_en,
         "description": m.description, "url": f"{base}/maps/{m.name}"}
        for m in _map_defs().values()
    ]}


@router.get(
    "/assets/{asset:path}",
    summary="Offline Leaflet/Folium asset used by the map pages",
    response_class=Response,
)
def map_asset(
    *,
    request: Request,
    asset: Annotated[str, Path(description="Asset file name as linked from a map page.",
                               examples=["leaflet.js"])],
    state: State,
) -> Response:
    """JavaScript, CSS or image file of Leaflet/Folium, from the installed packages."""
    files = _assets(state)
    path = files.get(asset)
    if path is None:
        raise NotFound(f"no map asset named {asset!r}; assets: {', '.join(sorted(files))}")
    body = path.read_bytes()
    etag = strong_etag(body)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Response(body, media_type=media, headers=headers)


@router.get("/{name:path}", summary="Interactive map page", response_class=HTMLResponse,
            responses={404: {"description": "Unknown map (the answer lists the maps)."}})
def get_map(
    *,
    request: Request,
    name: Annotated[str, Path(description="Map name from `GET /maps`.",
                              examples=["innovation_belt"])],
    basemap: Annotated[
        Literal["none", "osm", "amap"],
        Query(description="Background: `none` (works offline, the default), `osm` "
                          "(OpenStreetMap tiles) or `amap` (Amap, GCJ-02: overlays are shifted "
                          "to line up).", examples=["none"]),
    ] = "none",
    state: State,
) -> Response:
    """A self-contained Leaflet page (Chinese and English names, layer control, legend,
    attribution) whose scripts and styles are served by this service under `/maps/assets/`."""
    defs = _map_defs()
    if name not in defs:
        raise MapNotFound(f"no map named {name!r}; maps: {', '.join(defs)}")
    pages: dict[tuple[str, str], bytes] = state.snapshot.pages  # dropped when the file changes
    key = (name, basemap)
    body = pages.get(key)
    if body is None:
        with _lock:
            body = pages.get(key)
            if body is None:
                from baoshan_gis.render import render_page_html

                prefix = request.scope.get("root_path", "").rstrip("/") + ASSET_PREFIX
                html = render_page_html(name, state.settings.gpkg, basemap=basemap,
                                        asset_url_prefix=prefix)
                body = html.encode("utf-8") if isinstance(html, str) else bytes(html)
                pages[key] = body
    etag = strong_etag(body)
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300",
               "Content-Security-Policy": html_csp(body, img_hosts=_BASEMAP_HOSTS[basemap])}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)
