"""What the ``/ogc`` routers share: conformance classes, links, JSON answers, the OpenAPI 3.0
description of the OGC endpoints.

Conformance classes are declared only for what is implemented and tested (tests/test_api_ogc*.py):
OGC API - Features Part 1 (Core, GeoJSON, OpenAPI 3.0) and Part 2 (CRS by reference), and
OGC API - Tiles Part 1 (Core, TileSet, TileSets list, geodata tilesets, MVT, PNG, OpenAPI 3.0).
There is no HTML encoding, so the HTML classes are not declared.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

FEATURES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
TILES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
]
JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
REL_OGC = "http://www.opengis.net/def/rel/ogc/1.0/"


def base_url(request: Request) -> str:
    """The service's base URL as this request reached it (works behind any host or prefix)."""
    return str(request.base_url).rstrip("/")


def link(
    href: str, rel: str, type_: str | None = JSON, title: str = "", **extra: Any
) -> dict[str, Any]:
    """One OGC API link object."""
    out: dict[str, Any] = {"href": href, "rel": rel}
    if type_:
        out["type"] = type_
    if title:
        out["title"] = title
    out.update(extra)
    return out


def with_query(href: str, params: dict[str, str]) -> str:
    """``href`` with ``params`` as its query string (none when empty)."""
    return f"{href}?{urlencode(params)}" if params else href


def check_f(value: str | None, allowed: tuple[str, ...] = ("json",)) -> None:
    """Validate the ``f`` (format) parameter: only JSON encodings exist."""
    from baoshan_gis._errors import InvalidInput

    if value is not None and value.lower() not in allowed:
        raise InvalidInput(
            f"f={value!r} is not an available format; use one of: "
            f"{', '.join(allowed)} (there is no HTML encoding)"
        )


def json_response(
    body: Any, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    """A compact UTF-8 JSON answer (Chinese names kept readable)."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type=media_type,
        headers=headers,
    )


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
        **extra,
    }


def _ok(media: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


_ERRORS = {
    "400": {
        "description": "Bad parameter (OGC exception JSON: code, description).",
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}},
    },
    "404": {
        "description": "Unknown collection or feature (OGC exception JSON).",
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}},
    },
}


def openapi_document(
    base: str,
    collections: list[dict[str, Any]],
    *,
    max_limit: int,
    default_limit: int,
    crs_list: list[str],
) -> dict[str, Any]:
    """OpenAPI 3.0.3 description of the ``/ogc`` endpoints, one ``items`` path per collection
    with its properties as filter parameters (OGC API - Features answers other parameters
    with 400).

    ``collections``: ``{"id", "title", "properties", "features", "vector", "map"}`` entries.
    """
    common = [
        _param(
            "f",
            "query",
            {"type": "string", "enum": ["json"]},
            "Encoding; only JSON exists.",
            example="json",
        )
    ]
    items_params = [
        _param(
            "bbox",
            "query",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            "Only features meeting this box: lower-left then upper-right corner, in the "
            "axis order of `bbox-crs` (CRS84: lon,lat).",
            style="form",
            explode=False,
            example=[121.38, 31.3, 121.5, 31.4],
        ),
        _param(
            "bbox-crs",
            "query",
            {"type": "string", "format": "uri", "enum": crs_list},
            "CRS of `bbox` (default CRS84).",
            example=crs_list[0],
        ),
        _param(
            "crs",
            "query",
            {"type": "string", "format": "uri", "enum": crs_list},
            "CRS of the returned geometry (default CRS84).",
            example=crs_list[0],
        ),
        _param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
            f"Page size; larger values are served as {max_limit}.",
            example=default_limit,
        ),
        _param(
            "offset",
            "query",
            {"type": "integer", "minimum": 0, "default": 0},
            "Number of matching features skipped (follow `next`/`prev` links).",
            example=0,
        ),
        *common,
    ]
    cid = _param(
        "collectionId", "path", {"type": "string"}, "Collection (layer) id.", example="carriers"
    )
    paths: dict[str, Any] = {
        "/ogc": {
            "get": {
                "operationId": "getLandingPage",
                "tags": ["ogc"],
                "parameters": common,
                "summary": "Landing page",
                "responses": {"200": _ok(JSON, "Landing page")},
            }
        },
        "/ogc/conformance": {
            "get": {
                "operationId": "getConformance",
                "tags": ["ogc"],
                "parameters": common,
                "responses": {"200": _ok(JSON, "Conformance classes")},
            }
        },
        "/ogc/api": {
            "get": {
                "operationId": "getAPI",
                "tags": ["ogc"],
                "responses": {"200": _ok(OPENAPI_JSON, "This document")},
            }
        },
        "/ogc/collections": {
            "get": {
                "operationId": "getCollections",
                "tags": ["ogc"],
                "parameters": common,
                "responses": {"200": _ok(JSON, "Collections")},
            }
        },
        "/ogc/collections/{collectionId}": {
            "get": {
                "operationId": "describeCollection",
                "tags": ["ogc"],
                "parameters": [cid, *common],
                "responses": {"200": _ok(JSON, "Collection"), **_ERRORS},
            }
        },
        "/ogc/tileMatrixSets": {
            "get": {
                "operationId": "getTileMatrixSetsList",
                "tags": ["ogc"],
                "parameters": common,
                "responses": {"200": _ok(JSON, "Tiling schemes")},
            }
        },
        "/ogc/tileMatrixSets/{tileMatrixSetId}": {
            "get": {
                "operationId": "getTileMatrixSet",
                "tags": ["ogc"],
                "parameters": [
                    _param(
                        "tileMatrixSetId",
                        "path",
                        {"type": "string", "enum": ["WebMercatorQuad"]},
                        "Tiling scheme.",
                        example="WebMercatorQuad",
                    ),
                    *common,
                ],
                "responses": {"200": _ok(JSON, "TileMatrixSet"), **_ERRORS},
            }
        },
    }
    for c in collections:
        if not c["features"]:
            continue
        cname = c["id"]
        filters = [
            _param(p, "query", {"type": "string"}, f"Only features whose `{p}` equals this value.")
            for p in c["properties"]
        ]
        paths[f"/ogc/collections/{cname}/items"] = {
            "get": {
                "operationId": f"getFeatures.{cname}",
                "tags": ["ogc"],
                "summary": f"Features of {c['title'] or cname}",
                "parameters": [*items_params, *filters],
                "responses": {"200": _ok(GEOJSON, "GeoJSON FeatureCollection"), **_ERRORS},
            }
        }
        paths[f"/ogc/collections/{cname}/schema"] = {
            "get": {
                "operationId": f"getSchema.{cname}",
                "tags": ["ogc"],
                "parameters": common,
                "responses": {"200": _ok("application/schema+json", "JSON Schema")},
            }
        }
        paths[f"/ogc/collections/{cname}/items/{{featureId}}"] = {
            "get": {
                "operationId": f"getFeature.{cname}",
                "tags": ["ogc"],
                "parameters": [
                    _param(
                        "featureId",
                        "path",
                        {"type": "integer"},
                        "Feature id (GeoPackage fid).",
                        example=1,
                    ),
                    items_params[2],
                    *common,
                ],
                "responses": {"200": _ok(GEOJSON, "GeoJSON Feature"), **_ERRORS},
            }
        }
    tms = _param(
        "tileMatrixSetId",
        "path",
        {"type": "string", "enum": ["WebMercatorQuad"]},
        "Tiling scheme.",
        example="WebMercatorQuad",
    )
    paths["/ogc/collections/{collectionId}/tiles"] = {
        "get": {
            "operationId": "getTileSetsList",
            "tags": ["ogc"],
            "parameters": [cid, *common],
            "responses": {"200": _ok(JSON, "Tilesets of the collection"), **_ERRORS},
        }
    }
    paths["/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}"] = {
        "get": {
            "operationId": "getVectorTileSet",
            "tags": ["ogc"],
            "parameters": [cid, tms, *common],
            "responses": {"200": _ok(JSON, "Vector tileset metadata"), **_ERRORS},
        }
    }
    paths["/ogc/collections/{collectionId}/map/tiles"] = {
        "get": {
            "operationId": "getMapTileSetsList",
            "tags": ["ogc"],
            "parameters": [cid, *common],
            "responses": {"200": _ok(JSON, "Map (PNG) tilesets of the collection"), **_ERRORS},
        }
    }
    paths["/ogc/collections/{collectionId}/map/tiles/{tileMatrixSetId}"] = {
        "get": {
            "operationId": "getMapTileSet",
            "tags": ["ogc"],
            "parameters": [cid, tms, *common],
            "responses": {"200": _ok(JSON, "Map tileset metadata"), **_ERRORS},
        }
    }
    z = _param(
        "z",
        "path",
        {"type": "integer", "minimum": 0, "maximum": 24},
        "tileMatrix of WebMercatorQuad.",
        example=12,
    )
    x = _param("x", "path", {"type": "integer", "minimum": 0}, "tileCol.", example=3431)
    y = _param("y", "path", {"type": "integer", "minimum": 0}, "tileRow.", example=1672)
    layer = _param(
        "layer", "path", {"type": "string"}, "Collection (layer) id.", example="carriers"
    )
    tile_err = {
        "204": {"description": "No feature in this tile."},
        "400": {"description": "Tile outside the tile matrix."},
    }
    paths["/tiles/{layer}/{z}/{x}/{y}.mvt"] = {
        "get": {
            "operationId": "getVectorTile",
            "tags": ["tiles"],
            "parameters": [layer, z, x, y],
            "responses": {
                "200": {
                    "description": "Vector tile",
                    "content": {MVT: {"schema": {"type": "string", "format": "binary"}}},
                },
                **tile_err,
            },
        }
    }
    paths["/tiles/{layer}/{z}/{x}/{y}.png"] = {
        "get": {
            "operationId": "getMapTile",
            "tags": ["tiles"],
            "parameters": [layer, z, x, y],
            "responses": {
                "200": {
                    "description": "Map tile",
                    "content": {PNG: {"schema": {"type": "string", "format": "binary"}}},
                },
                **tile_err,
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "baoshan-gis OGC API - Features and Tiles",
            "version": "1.0.0",
            "description": "Plan layers of Baoshan District's Science & Technology "
            "Innovation 15th Five-Year Plan as OGC API collections.",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "schemas": {
                "exception": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                }
            }
        },
    }
