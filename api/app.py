"""The app factory: settings, shared state, routers, error table and CORS, wired in one place."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.errors import install_error_handlers
from api.settings import ApiSettings

DESCRIPTION = """\
Map service of **baoshan-gis** for the Science & Technology Innovation 15th Five-Year Plan of
Baoshan District (宝山区科技创新“十五五”规划): the plan's layers as GeoJSON, vector tiles (MVT) and
raster tiles (PNG) with TileJSON for web portals, interactive map pages, and the density and
coverage analyses as JSON tables.

* Tiles carry a strong `ETag` and `Cache-Control`; send `If-None-Match` to get `304`.
* A tile with no feature is always `204 No Content`.
* Every error is JSON `{"detail": message, "error": type}`; bad input is `400`, unknown names
  `404` (listing what exists), oversized requests `413`.
* Schematic features (`geometry_quality = schematic`) are drawn dashed. Attribution: see each
  layer (`© OpenStreetMap contributors` for OSM-derived layers).
"""


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At start-up, with ``gc_freeze``: collect, then freeze what the process holds (imports of
    pandas, geopandas, shapely, pyproj, the app): a full collection in a started service walked
    about 150,000 objects for ~60 ms, all requests waiting; frozen, it walks only later objects.
    Unfrozen at shutdown (so a test process that starts many apps keeps nothing frozen)."""
    freeze = app.state.service.settings.gc_freeze
    if freeze:
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


def create_app(settings: ApiSettings | None = None, **overrides: Any) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Service settings; default: read from ``BAOSHAN_*`` environment variables.
    **overrides
        Individual settings to override (e.g. ``gpkg="x.gpkg"``).

    Raises
    ------
    InvalidInput
        When the settings are invalid (e.g. the GeoPackage does not exist): the service does not
        start.
    """
    from pydantic import ValidationError

    from api.deps import ServiceState
    from api.hygiene import HygieneMiddleware
    from api.routers import analysis, docs, health, layers, maps, ogc_features, ogc_tiles, tiles
    from api.routers.tiles import WarmTileMiddleware
    from baoshan_gis import __version__
    from baoshan_gis._errors import InvalidInput

    if settings is None or overrides:
        try:
            base = settings.model_dump() if settings is not None else {}
            settings = ApiSettings(**{**base, **overrides})
        except ValidationError as exc:
            msgs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
                             for e in exc.errors())
            raise InvalidInput(f"invalid service settings: {msgs}") from exc
    app = FastAPI(
        title="baoshan-gis map service",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served offline by api.routers.docs
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.service = ServiceState(settings)
    install_error_handlers(app)
    for module in (layers, maps, tiles, analysis, health, ogc_features, ogc_tiles, docs):
        app.include_router(module.router)
    app.add_middleware(WarmTileMiddleware)  # innermost: cached tiles skip routing
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["If-None-Match", "Content-Type"],
            expose_headers=["ETag", "Cache-Control"],
            max_age=3600,
        )
    app.add_middleware(HygieneMiddleware)  # outermost: every answer gets its headers
    return app
