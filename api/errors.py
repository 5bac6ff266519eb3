"""The one table mapping the package's error types to HTTP status codes, installed once.

Endpoints raise the package's domain errors (:mod:`baoshan_gis._errors`); they never build HTTP
errors themselves. Every error answer is JSON ``{"detail": message, "error": type name, ...}``.
Bad input is never a 500: request validation errors become 400, unknown routes 404, and only a
genuine failure of the service is a 500 (whose answer is never cached).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from baoshan_gis._errors import (
    AnalysisError,
    BaoshanGISError,
    BuildError,
    ClusterUnavailable,
    GeoPackageLocked,
    InvalidBBox,
    InvalidInput,
    InvalidTile,
    NotFound,
    OfflineError,
    RequestTooLarge,
    ServiceBusy,
    StorageError,
)

log = logging.getLogger("baoshan_gis.api")

#: Error type -> HTTP status. The most specific matching class (first in MRO order) wins.
STATUS_CODES: dict[type[BaseException], int] = {
    InvalidTile: 400,
    InvalidBBox: 400,
    RequestTooLarge: 413,
    AnalysisError: 400,
    InvalidInput: 400,
    NotFound: 404,
    OfflineError: 503,
    ClusterUnavailable: 503,
    ServiceBusy: 503,
    GeoPackageLocked: 503,
    StorageError: 507,
    BuildError: 500,
    BaoshanGISError: 500,
}
_NO_STORE = {"Cache-Control": "no-store"}


def status_for(exc: BaseException) -> int:
    """HTTP status of an exception according to :data:`STATUS_CODES` (500 when unlisted)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


#: OGC API exception codes by status, for answers under ``/ogc``.
_OGC_CODES = {400: "InvalidParameterValue", 404: "NotFound", 413: "InvalidParameterValue"}


def _server_dirs() -> list[str]:
    """Folders of this machine that must never appear in an answer (longest first)."""
    import sys
    import tempfile
    from pathlib import Path

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir(),
            str(Path.home()), str(Path.cwd()), str(Path(__file__).resolve().parent.parent)}
    return sorted((d.rstrip("/") for d in dirs if d and d != "/"), key=len, reverse=True)


_PATH_CHARS = r"[^\s'\"<>,;:()\[\]{}]*"


def redact_paths(text: str, extra_dirs: tuple[str, ...] = ()) -> str:
    """``text`` with every absolute path under a server folder reduced to its file name."""
    import os
    import re

    dirs = sorted({*(d.rstrip("/") for d in extra_dirs if d and d != "/"), *_server_dirs()},
                  key=len, reverse=True)
    pattern = "|".join(re.escape(d) for d in dirs)
    return re.sub(rf"(?:{pattern})(?:/{_PATH_CHARS})?",
                  lambda m: os.path.basename(m.group(0).rstrip("/")) or "…", text)


def _json(status: int, detail: str, error: str, *, headers: dict[str, str] | None = None,
          request: Request | None = None, **extra: object) -> JSONResponse:
    extra_dirs: tuple[str, ...] = ()
    service = getattr(getattr(request, "app", None), "state", None)
    settings = getattr(getattr(service, "service", None), "settings", None)
    if settings is not None:
        extra_dirs = (str(settings.gpkg.parent),)
    detail = redact_paths(detail, extra_dirs)
    body: dict[str, object] = {"detail": detail, "error": error, **extra}
    if request is not None and request.url.path.startswith("/ogc"):
        # OGC API exception schema: code (required), description; the usual fields stay
        body = {"code": _OGC_CODES.get(status, error), "description": detail, **body}
    return JSONResponse(body, status_code=status, headers={**_NO_STORE, **(headers or {})})


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if isinstance(exc, ServiceBusy):
        log.info("busy: %s (%s)", request.url.path, exc)
    elif status >= 500:
        log.exception("error while serving %s", request.url.path, exc_info=exc)
    headers = None
    if isinstance(exc, ServiceBusy):
        headers = {"Retry-After": str(exc.retry_after)}
    return _json(status, str(exc), type(exc).__name__, headers=headers, request=request)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path"))
        parts.append(f"{loc}: {err.get('msg', 'invalid')} (got {err.get('input')!r})")
    return _json(400, "invalid request: " + "; ".join(parts), "InvalidInput", request=request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = (f"no endpoint at {request.url.path!r}; see /docs for the endpoints "
                  "(/layers, /maps, /tiles/{layer}/{z}/{x}/{y}.png|.mvt, /analysis, /health, /ogc)")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
        if "GET" in allow and "HEAD" not in allow:
            allow.append("HEAD")
        headers["Allow"] = ", ".join(sorted(set(allow)))
        detail = (f"method {request.method} is not allowed on {request.url.path!r}; "
                  f"allowed: {headers['Allow']}")
    return _json(exc.status_code, str(detail), "HTTPError", headers=headers, request=request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error while serving %s", request.url.path, exc_info=exc)
    return _json(500, "internal error of the map service; the request was not cached",
                 type(exc).__name__, request=request)


def install_error_handlers(app: FastAPI) -> None:
    """Install the handlers once on ``app``."""
    app.add_exception_handler(BaoshanGISError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
