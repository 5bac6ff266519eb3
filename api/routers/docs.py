"""``/docs`` and ``/redoc``: Swagger UI and ReDoc served from the installed ``fastapi-offline``
package, so the API documentation works without internet.

The assets are a fixed table of files of that package (a name outside it is 404 without
touching the file system); the pages carry a CSP that allows only this service.
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

from api.hygiene import html_csp
from baoshan_gis._errors import NotFound

router = APIRouter(include_in_schema=False)

DOCS_ASSETS = "/docs-assets/"
_NAMES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


@lru_cache(maxsize=1)
def doc_asset_files() -> dict[str, FsPath]:
    """Swagger UI and ReDoc files of the installed ``fastapi-offline`` package."""
    import fastapi_offline

    folder = FsPath(fastapi_offline.__file__).resolve().parent / "static"
    return {n: folder / n for n in _NAMES if (folder / n).is_file()}


def _page(request: Request, html: bytes) -> Response:
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": html_csp(html)},
    )


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    root = request.scope.get("root_path", "").rstrip("/")
    app = request.app
    html = get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{DOCS_ASSETS}swagger-ui-bundle.js",
        swagger_css_url=f"{root}{DOCS_ASSETS}swagger-ui.css",
        swagger_favicon_url=f"{root}{DOCS_ASSETS}favicon.png",
    )
    return _page(request, bytes(html.body))


@router.get("/redoc")
def redoc(request: Request) -> Response:
    root = request.scope.get("root_path", "").rstrip("/")
    app = request.app
    html = get_redoc_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root}{DOCS_ASSETS}redoc.standalone.js",
        redoc_favicon_url=f"{root}{DOCS_ASSETS}favicon.png",
        with_google_fonts=False,
    )
    return _page(request, bytes(html.body))


@router.get(DOCS_ASSETS + "{asset}")
def doc_asset(asset: Annotated[str, Path()]) -> Response:
    files = doc_asset_files()
    path = files.get(asset)
    if path is None:
        raise NotFound(f"no documentation asset named {asset!r}; assets: {', '.join(files)}")
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        media = "text/javascript"
    return Response(
        path.read_bytes(), media_type=media, headers={"Cache-Control": "public, max-age=86400"}
    )
