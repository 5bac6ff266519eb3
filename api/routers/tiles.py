"""``/tiles``: vector tiles (MVT), raster tiles (PNG) and TileJSON of each layer.

Empty tiles: a tile with no feature of the layer (outside the layer's bounds, or in a hole
between features) is ALWAYS answered ``204 No Content``, with the same ETag and Cache-Control as
any tile; MapLibre/Mapbox treat it as an empty vector tile and Leaflet leaves the image blank.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import LayerEntry, ServiceState, State
from baoshan_gis._errors import NotFound
from baoshan_gis.tiles.cache import CachedTile, etag_matches
from baoshan_gis.tiles.grid import MAX_ZOOM, Tile, parse_tile
from baoshan_gis.tiles.tilejson import tilejson

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
PNG_MEDIA_TYPE = "image/png"

LayerName = Annotated[str, Path(description="Layer name from `GET /layers`.",
                                examples=["carriers"])]
Z = Annotated[str, Path(description=f"Zoom level, an integer 0..{MAX_ZOOM}.", examples=["12"])]
X = Annotated[str, Path(description="Tile column, an integer 0..2^z-1 (from the west).",
                        examples=["3431"])]
Y = Annotated[str, Path(description="Tile row, an integer 0..2^z-1 (from the north).",
                        examples=["1672"])]

_TILE_RESPONSES: dict[int | str, dict[str, object]] = {
    204: {"description": "No feature of the layer in this tile (always 204, never an empty "
                         "tile body)."},
    304: {"description": "Not modified: the `If-None-Match` ETag matches."},
    400: {"description": "Tile coordinates outside 0..2^z-1, not integers, or z > 24."},
    404: {"description": "Unknown layer (the answer lists the layers)."},
}


def _respond(item: CachedTile, if_none_match: str | None, max_age: int) -> Response:
    headers = {"ETag": item.etag, "Cache-Control": f"public, max-age={max_age}"}
    if etag_matches(if_none_match, item.etag):
        return Response(status_code=304, headers=headers)
    if not item.body:
        return Response(status_code=204, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


def _render_mvt(state: ServiceState, entry: LayerEntry, tile: Tile) -> CachedTile:
    from baoshan_gis.tiles.mvt import render_mvt

    body = render_mvt(entry.vector, tile, feature_cap=state.settings.tile_feature_cap)
    return CachedTile.of(body, MVT_MEDIA_TYPE)


def _render_png(state: ServiceState, entry: LayerEntry, tile: Tile) -> CachedTile:
    from baoshan_gis.tiles.png import render_vector_png

    if entry.raster is not None:
        body = entry.raster.render(tile)
    else:
        body = render_vector_png(entry.vector, tile, entry.style,
                                 feature_cap=state.settings.tile_feature_cap)
    return CachedTile.of(body, PNG_MEDIA_TYPE)


async def _tile(request: Request, state: ServiceState, layer: str, z: str, x: str, y: str,
                fmt: Literal["mvt", "png"]) -> Response:
    snap = state.snapshot  # one version of the file for the whole request
    entry = snap.layer(layer)
    if fmt == "mvt" and entry.vector is None:
        raise NotFound(f"layer {layer!r} has no vector tiles; use "
                       f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.png" if entry.raster is not None
                       else f"layer {layer!r} is a table without geometry: it has no tiles")
    if fmt == "png" and entry.vector is None and entry.raster is None:
        raise NotFound(f"layer {layer!r} is a table without geometry: it has no tiles")
    tile = parse_tile(z, x, y)
    key = (layer, fmt, tile)
    max_age = state.settings.tile_max_age
    item = snap.cache.get(key, count_miss=False)  # get_or_render counts the miss
    if item is None:
        render = _render_mvt if fmt == "mvt" else _render_png
        item = await run_in_threadpool(
            snap.cache.get_or_render, key, lambda: render(state, entry, tile)
        )
    return _respond(item, request.headers.get("if-none-match"), max_age)


#: A tile URL as the routes below accept it, in canonical form (no leading zeros).
_WARM_PATH = re.compile(r"/tiles/([^/]+)/(0|[1-9][0-9]?)/(0|[1-9][0-9]{0,7})/"
                        r"(0|[1-9][0-9]{0,7})\.(mvt|png)")


class WarmTileMiddleware:
    """Answer a ``GET`` of a tile that is already in the cache without the router.

    Pure ASGI, inside :class:`~api.hygiene.HygieneMiddleware` and CORS (so HEAD, ``nosniff`` and
    the CORS headers apply as to any answer). A cache entry exists only for a key that the
    routes below validated and rendered from the current snapshot, so a hit is answered with
    exactly the route's response (:func:`_respond`: same status, body, ETag, Cache-Control,
    304 for a matching ``If-None-Match``, 204 for an empty tile), skipping routing and
    dependency resolution. Everything else goes to the routes: misses, URLs not in canonical
    form, and every request when a check of the GeoPackage is due
    (``BAOSHAN_RELOAD_CHECK_MS``), so that a changed file is still noticed by the routes.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = self._warm(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _warm(scope: dict[str, Any]) -> Response | None:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        m = _WARM_PATH.fullmatch(path)
        app = scope.get("app")
        if m is None or app is None:
            return None
        state: ServiceState | None = getattr(app.state, "service", None)
        if state is None or state.refresh_due():
            return None
        layer, z, x, y, fmt = m.groups()
        item = state.snapshot.cache.get((layer, fmt, Tile(int(z), int(x), int(y))),
                                        count_miss=False)
        if item is None:
            return None
        inm = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"),
                   None)
        return _respond(item, inm, state.settings.tile_max_age)


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    name="mvt_tile",
    summary="Mapbox Vector Tile of a layer",
    response_class=Response,
    responses={200: {"content": {MVT_MEDIA_TYPE: {}},
                     "description": "MVT 2.1, one layer named after the layer, extent 4096, "
                                    "every attribute kept."}, **_TILE_RESPONSES},
)
async def mvt_tile(request: Request, layer: LayerName, z: Z, x: X, y: Y,
                   state: State) -> Response:
    """Vector tile (uncompressed protobuf) with geometry clipped to the tile plus a 64-unit
    buffer and simplified for the zoom; at most `BAOSHAN_TILE_FEATURE_CAP` features."""
    return await _tile(request, state, layer, z, x, y, "mvt")


@router.get(
    "/{layer}/{z}/{x}/{y}.png",
    name="png_tile",
    summary="256 px PNG tile of a layer",
    response_class=Response,
    responses={200: {"content": {PNG_MEDIA_TYPE: {}},
                     "description": "256x256 PNG with transparency."}, **_TILE_RESPONSES},
)
async def png_tile(request: Request, layer: LayerName, z: Z, x: X, y: Y,
                   state: State) -> Response:
    """Raster tile drawn with the layer's map style (schematic features dashed); raster
    outputs such as the density surface are coloured with `BAOSHAN_RASTER_COLORMAP` (YlOrRd)
    over their value range; nodata is transparent."""
    return await _tile(request, state, layer, z, x, y, "png")


@router.get("/{layer}/tilejson.json", name="tilejson", summary="TileJSON 3.0.0 of a layer")
async def layer_tilejson(
    *,
    request: Request,
    layer: LayerName,
    format: Annotated[
        Literal["mvt", "png"] | None,
        Query(description="Tile format to advertise; default `mvt` for vector layers and "
                          "`png` for raster outputs.", examples=["mvt"]),
    ] = None,
    state: State,
) -> dict[str, object]:
    """TileJSON with bounds, zoom range, attribution and the tile URL built from this
    request's base URL (so it works behind any host name or proxy prefix)."""
    entry = state.layer(layer)
    if not entry.info.get("tiles"):
        raise NotFound(f"layer {layer!r} is a table without geometry: it has no tiles")
    fmt = format or ("png" if entry.raster is not None else "mvt")
    if fmt not in entry.info["tiles"]:
        raise NotFound(f"layer {layer!r} has no {fmt} tiles; formats: {entry.info['tiles']}")
    base = str(request.base_url).rstrip("/")
    fields = None
    if fmt == "mvt" and entry.frame is not None:
        fields = {c: ("Number" if str(entry.frame[c].dtype)[:3] in ("int", "flo") else "String")
                  for c in entry.frame.columns if c != entry.frame.geometry.name}
    info = entry.info
    bounds = tuple(info["bounds"]) if info.get("bounds") else None
    return tilejson(
        layer,
        tiles=[f"{base}/tiles/{layer}/{{z}}/{{x}}/{{y}}.{fmt}"],
        bounds=bounds,  # type: ignore[arg-type]
        attribution=info.get("attribution") or "",
        description=" ".join(v for v in (info.get("title_zh"), info.get("title_en")) if v),
        maxzoom=state.settings.tile_maxzoom,
        fields=fields,
    )
