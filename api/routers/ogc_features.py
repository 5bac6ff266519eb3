"""``/ogc``: OGC API - Features (Part 1 Core + GeoJSON + OpenAPI 3.0, Part 2 CRS by reference).

Landing page, conformance, the OpenAPI 3.0 description (``/ogc/api``), collections (one per
layer of the GeoPackage) and their items. Selection, paging, filters and CRS transforms live in
:mod:`baoshan_gis.features`; this module only reads the request and writes links. Errors are the
package's own, answered by the one table in ``api/errors.py`` with the OGC exception body
``{"code", "description"}`` under ``/ogc``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import LayerEntry, ServiceState, State
from api.ogc_common import (
    FEATURES_CONFORMANCE,
    GEOJSON,
    JSON,
    OPENAPI_JSON,
    REL_OGC,
    TILES_CONFORMANCE,
    base_url,
    check_f,
    json_response,
    link,
    openapi_document,
    with_query,
)
from baoshan_gis import features as ft
from baoshan_gis._errors import NotFound

router = APIRouter(prefix="/ogc", tags=["ogc"])

F = Annotated[str | None, Query(description="Encoding: only `json` exists.", examples=["json"])]
CollectionId = Annotated[
    str,
    Path(
        description="Collection id: a layer name from `GET /ogc/collections`.",
        examples=["carriers"],
    ),
]
CRS_DOC = (
    "CRS of the returned coordinates, by URI: "
    + ", ".join(f"`{c}`" for c in ft.SUPPORTED_CRS)
    + " (EPSG CRSs in latitude, longitude order). Default CRS84."
)


def _title(entry: LayerEntry) -> str:
    info = entry.info
    return " / ".join(v for v in (info.get("title_zh"), info.get("title_en")) if v) or entry.name


def _properties(entry: LayerEntry) -> list[str]:
    frame = entry.frame
    geom = getattr(frame, "_geometry_column_name", None)
    return [c for c in frame.columns if c != geom]


def _spatial(entry: LayerEntry) -> bool:
    return entry.raster is not None or entry.tree is not None


def collection_json(entry: LayerEntry, base: str) -> dict[str, Any]:
    """The OGC collection description of one layer."""
    info = entry.info
    href = f"{base}/ogc/collections/{entry.name}"
    links = [
        link(href, "self", JSON, "This collection"),
        link(f"{base}/ogc/collections", "parent", JSON, "All collections"),
    ]
    out: dict[str, Any] = {
        "id": entry.name,
        "title": _title(entry),
        "description": info.get("description") or _title(entry),
        "attribution": info.get("attribution") or "",
        "links": links,
    }
    if entry.frame is not None:
        out["itemType"] = "feature"
        links.append(link(f"{href}/items", "items", GEOJSON, "Features (GeoJSON)"))
        links.append(
            link(
                f"{href}/schema",
                "describedby",
                "application/schema+json",
                "JSON Schema of the features' properties",
            )
        )
    else:
        out["dataType"] = "map"
    if info.get("bounds"):
        out["extent"] = {"spatial": {"bbox": [list(info["bounds"])], "crs": ft.CRS84}}
    if _spatial(entry):
        out["crs"] = list(ft.SUPPORTED_CRS)
        out["storageCrs"] = ft.STORAGE_CRS
    if entry.vector is not None:
        links.append(
            link(f"{href}/tiles", REL_OGC + "tilesets-vector", JSON, "Vector tilesets (MVT)")
        )
    if entry.vector is not None or entry.raster is not None:
        links.append(
            link(f"{href}/map/tiles", REL_OGC + "tilesets-map", JSON, "Map tilesets (PNG)")
        )
    for key in ("plan_ref", "source", "licence"):
        if info.get(key):
            out[key] = info[key]
    return out


def _openapi(state: ServiceState, base: str) -> dict[str, Any]:
    cols = [
        {
            "id": e.name,
            "title": _title(e),
            "features": e.frame is not None,
            "properties": _properties(e) if e.frame is not None else [],
        }
        for e in state.layers.values()
    ]
    return openapi_document(
        base,
        cols,
        max_limit=state.settings.geojson_max_features,
        default_limit=ft.DEFAULT_LIMIT,
        crs_list=list(ft.SUPPORTED_CRS),
    )


@router.get("", summary="OGC API landing page", response_class=Response)
async def landing(request: Request, state: State, f: F = None) -> Response:
    """Links to the API description, conformance, collections and tiling schemes."""
    check_f(f)
    base = base_url(request)
    return json_response(
        {
            "title": "baoshan-gis: 宝山区科技创新“十五五”规划 plan layers",
            "description": "OGC API - Features and Tiles over the plan GeoPackage. Every feature "
            "carries name_zh, name_en, category, plan_ref, status, source, "
            "geometry_quality and accuracy_m.",
            "links": [
                link(f"{base}/ogc", "self", JSON, "This document"),
                link(f"{base}/ogc/api", "service-desc", OPENAPI_JSON, "OpenAPI 3.0 definition"),
                link(f"{base}/docs", "service-doc", "text/html", "Interactive API documentation"),
                link(f"{base}/ogc/conformance", "conformance", JSON, "Conformance classes"),
                link(f"{base}/ogc/collections", "data", JSON, "Collections (layers)"),
                link(
                    f"{base}/ogc/tileMatrixSets", REL_OGC + "tiling-schemes", JSON, "Tiling schemes"
                ),
            ],
        }
    )


@router.get("/", include_in_schema=False, response_class=Response)
async def landing_slash(request: Request, state: State, f: F = None) -> Response:
    return await landing(request, state, f)


@router.get("/conformance", summary="Conformance classes", response_class=Response)
async def conformance(f: F = None) -> Response:
    """The OGC conformance classes this service implements (and only those)."""
    check_f(f)
    return json_response({"conformsTo": FEATURES_CONFORMANCE + TILES_CONFORMANCE})


@router.get("/api", summary="OpenAPI 3.0 definition of /ogc", response_class=Response)
async def api_definition(request: Request, state: State, f: F = None) -> Response:
    """OpenAPI 3.0.3 document of the OGC endpoints, with each collection's filterable
    properties (the service's own `/openapi.json` is OpenAPI 3.1)."""
    check_f(f)
    return json_response(_openapi(state, base_url(request)), OPENAPI_JSON)


@router.get("/collections", summary="Collections (one per layer)", response_class=Response)
async def collections(request: Request, state: State, f: F = None) -> Response:
    """Every layer as a collection: extent, CRS list, storage CRS, item type, links."""
    check_f(f)
    base = base_url(request)
    return json_response(
        {
            "links": [link(f"{base}/ogc/collections", "self", JSON, "This document")],
            "collections": [collection_json(e, base) for e in state.layers.values()],
            "crs": list(ft.SUPPORTED_CRS),
        }
    )


@router.get("/collections/{collectionId}", summary="One collection", response_class=Response)
async def collection(
    request: Request, collectionId: CollectionId, state: State, f: F = None
) -> Response:
    """Extent (CRS84), CRS list, storage CRS, item type and links of one layer."""
    check_f(f)
    return json_response(collection_json(state.layer(collectionId), base_url(request)))


def _feature_entry(state: ServiceState, cid: str) -> LayerEntry:
    entry = state.layer(cid)
    if entry.frame is None:
        raise NotFound(
            f"collection {cid!r} is a raster: it has no features; its tiles are "
            f"listed at /ogc/collections/{cid}/map/tiles"
        )
    return entry


@router.get(
    "/collections/{collectionId}/schema",
    summary="JSON Schema of the properties",
    response_class=Response,
)
async def schema(collectionId: CollectionId, state: State, f: F = None) -> Response:
    """Property names and types of the collection's features (the GeoPackage's columns)."""
    check_f(f)
    entry = _feature_entry(state, collectionId)
    return json_response(
        ft.json_schema(entry.frame, title=_title(entry)), "application/schema+json"
    )


@router.get(
    "/collections/{collectionId}/items",
    summary="Features of a collection (GeoJSON)",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}}},
        400: {
            "description": "Bad bbox, bbox-crs, crs, limit, offset or unknown "
            "parameter (OGC exception JSON)."
        },
        404: {"description": "Unknown collection."},
    },
)
def items(
    *,
    request: Request,
    collectionId: CollectionId,
    bbox: Annotated[
        str | None,
        Query(
            description="Only features meeting this box, `minx,miny,maxx,maxy` in the axis order "
            "of `bbox-crs` (CRS84: lon,lat).",
            examples=["121.38,31.30,121.50,31.40"],
        ),
    ] = None,
    bbox_crs: Annotated[
        str | None, Query(alias="bbox-crs", description="CRS of `bbox`.", examples=[ft.CGCS2000])
    ] = None,
    crs: Annotated[str | None, Query(description=CRS_DOC, examples=[ft.CGCS2000])] = None,
    limit: Annotated[
        str | None,
        Query(
            description="Page size, an integer >= 1 (default 10; larger than "
            "`BAOSHAN_GEOJSON_MAX_FEATURES` is served as that).",
            examples=["100"],
        ),
    ] = None,
    offset: Annotated[
        str | None, Query(description="Matching features skipped, >= 0.", examples=["0"])
    ] = None,
    f: F = None,
    state: State,
) -> Response:
    """One page of features with `numberMatched`, `numberReturned`, `timeStamp` and
    `self`/`next`/`prev` links. Any other parameter named after a property is an equality
    filter (e.g. `category=lab`); unknown parameters are 400. Each feature's `id` is its
    GeoPackage fid; each carries the truth fields and the layer's `attribution`."""
    check_f(f)
    entry = _feature_entry(state, collectionId)
    out_crs = ft.parse_crs(crs)
    box_crs = ft.parse_crs(bbox_crs, what="bbox-crs")
    max_n = state.settings.geojson_max_features
    n = ft.parse_int(limit, "limit", default=ft.DEFAULT_LIMIT, minimum=1, maximum=max_n)
    skip = ft.parse_int(offset, "offset", default=0, minimum=0)
    boxes = ft.parse_bbox(bbox, box_crs) if bbox is not None else None
    filters = ft.property_filters(request.query_params, _properties(entry))
    sel = ft.select(entry.frame, entry.tree, boxes=boxes, filters=filters, offset=skip, limit=n)
    attribution = entry.info.get("attribution") or ""
    feats = ft.geojson_features(
        entry.frame, sel.rows, entry.fids, crs=out_crs, attribution=attribution
    )
    base = base_url(request)
    href = f"{base}/ogc/collections/{collectionId}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
    page = {**params, "limit": str(n)}
    links = [
        link(with_query(href, {**page, "offset": str(skip)}), "self", GEOJSON, "This page"),
        link(f"{base}/ogc/collections/{collectionId}", "collection", JSON, "The collection"),
    ]
    if skip + n < sel.matched:
        links.append(
            link(with_query(href, {**page, "offset": str(skip + n)}), "next", GEOJSON, "Next page")
        )
    if skip > 0:
        links.append(
            link(
                with_query(href, {**page, "offset": str(max(0, skip - n))}),
                "prev",
                GEOJSON,
                "Previous page",
            )
        )
    body = {
        "type": "FeatureCollection",
        "numberMatched": sel.matched,
        "numberReturned": len(feats),
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attribution": attribution,
        "links": links,
        "features": feats,
    }
    return json_response(body, GEOJSON, {"Content-Crs": f"<{out_crs}>"})


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    summary="One feature (GeoJSON)",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}}},
        400: {"description": "Unknown crs."},
        404: {"description": "Unknown collection or feature id."},
    },
)
def item(
    *,
    request: Request,
    collectionId: CollectionId,
    featureId: Annotated[str, Path(description="Feature id (GeoPackage fid).", examples=["1"])],
    crs: Annotated[str | None, Query(description=CRS_DOC, examples=[ft.CGCS2000])] = None,
    f: F = None,
    state: State,
) -> Response:
    """The feature with every attribute, the truth fields and the layer's attribution."""
    check_f(f)
    entry = _feature_entry(state, collectionId)
    out_crs = ft.parse_crs(crs)
    row = ft.row_of_fid(entry.fids, featureId)
    if row is None:
        raise NotFound(
            f"collection {collectionId!r} has no feature with id {featureId!r}; "
            f"ids are {int(entry.fids.min()) if len(entry.fids) else '-'}.."
            f"{int(entry.fids.max()) if len(entry.fids) else '-'} "
            f"(see /ogc/collections/{collectionId}/items)"
        )
    import numpy as np

    feat = ft.geojson_features(
        entry.frame,
        np.array([row]),
        entry.fids,
        crs=out_crs,
        attribution=entry.info.get("attribution") or "",
    )[0]
    base = base_url(request)
    feat["links"] = [
        link(
            f"{base}/ogc/collections/{collectionId}/items/{featureId}",
            "self",
            GEOJSON,
            "This feature",
        ),
        link(f"{base}/ogc/collections/{collectionId}", "collection", JSON, "The collection"),
    ]
    return json_response(feat, GEOJSON, {"Content-Crs": f"<{out_crs}>"})
