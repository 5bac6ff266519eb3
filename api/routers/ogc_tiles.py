"""``/ogc``: OGC API - Tiles over the existing ``/tiles/{layer}/{z}/{x}/{y}.mvt|.png``.

Tiling schemes (``/ogc/tileMatrixSets``, the WebMercatorQuad definition from ``morecantile``),
and per collection the tilesets list and tileset metadata, whose templated ``item`` links point
at the existing tile endpoints (``{tileMatrix}/{tileCol}/{tileRow}`` is XYZ's ``{z}/{x}/{y}``
in WebMercatorQuad). Vector tilesets (MVT) live at ``/collections/{id}/tiles/...``, map
tilesets (PNG) at ``/collections/{id}/map/tiles/...``; ``/collections/{id}/tiles`` lists both.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from api.deps import LayerEntry, State
from api.ogc_common import JSON, MVT, PNG, REL_OGC, base_url, check_f, json_response, link
from api.routers.ogc_features import CollectionId, F
from baoshan_gis import features as ft
from baoshan_gis._errors import NotFound

router = APIRouter(prefix="/ogc", tags=["ogc"])

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TmsId = Annotated[
    str, Path(description="Tiling scheme id; only `WebMercatorQuad`.", examples=[TMS_ID])
]


@lru_cache(maxsize=1)
def _tms() -> dict[str, Any]:
    import morecantile

    return morecantile.tms.get(TMS_ID).model_dump(exclude_none=True, mode="json")


def _check_tms(tms_id: str) -> None:
    if tms_id != TMS_ID:
        raise NotFound(f"no tile matrix set {tms_id!r}; tile matrix sets: {TMS_ID}")


def _kinds(entry: LayerEntry) -> list[str]:
    """``"vector"`` and/or ``"map"``: the tilesets a layer has."""
    out = []
    if entry.vector is not None:
        out.append("vector")
    if entry.vector is not None or entry.raster is not None:
        out.append("map")
    return out


def _tileset_href(base: str, cid: str, kind: str) -> str:
    mid = "tiles" if kind == "vector" else "map/tiles"
    return f"{base}/ogc/collections/{cid}/{mid}/{TMS_ID}"


def _tileset(
    entry: LayerEntry, base: str, kind: str, *, full: bool, maxzoom: int = 22
) -> dict[str, Any]:
    cid = entry.name
    fmt, media = ("mvt", MVT) if kind == "vector" else ("png", PNG)
    title = f"{cid} {'vector' if kind == 'vector' else 'map'} tiles ({TMS_ID})"
    links = [
        link(_tileset_href(base, cid, kind), "self", JSON, title),
        link(
            f"{base}/ogc/tileMatrixSets/{TMS_ID}",
            REL_OGC + "tiling-scheme",
            JSON,
            f"Definition of {TMS_ID}",
        ),
        link(
            f"{base}/tiles/{cid}/{{tileMatrix}}/{{tileCol}}/{{tileRow}}.{fmt}",
            "item",
            media,
            f"{'Vector' if kind == 'vector' else 'PNG'} tiles of {cid}",
            templated=True,
        ),
    ]
    out: dict[str, Any] = {
        "title": title,
        "dataType": kind,
        "crs": _tms()["crs"],
        "tileMatrixSetURI": TMS_URI,
        "links": links,
    }
    info = entry.info
    if info.get("bounds"):
        w, s, e, n = info["bounds"]
        out["boundingBox"] = {"lowerLeft": [w, s], "upperRight": [e, n], "crs": ft.CRS84}
    if full:
        out["attribution"] = info.get("attribution") or ""
        out["minzoom"], out["maxzoom"] = 0, maxzoom
        links.append(link(f"{base}/ogc/collections/{cid}", "collection", JSON, "The collection"))
        if kind == "vector" and entry.frame is not None:
            geom = entry.frame.geometry.name
            fields = {
                c: {
                    "type": "number"
                    if str(entry.frame[c].dtype)[:3] in ("int", "flo")
                    else "string"
                }
                for c in entry.frame.columns
                if c != geom
            }
            out["layers"] = [
                {
                    "id": cid,
                    "dataType": "vector",
                    "geometryDimension": _dimension(entry),
                    "propertiesSchema": {"type": "object", "properties": fields},
                }
            ]
    return out


def _dimension(entry: LayerEntry) -> int:
    kind = getattr(entry.vector, "kind", "fill")
    return {"point": 0, "line": 1}.get(kind, 2)


def _entry_with(state: Any, cid: str, kind: str | None) -> LayerEntry:
    entry = state.layer(cid)
    kinds = _kinds(entry)
    if not kinds:
        raise NotFound(f"collection {cid!r} is a table without geometry: it has no tiles")
    if kind is not None and kind not in kinds:
        raise NotFound(
            f"collection {cid!r} has no {kind} tiles; it has: {', '.join(kinds)} "
            f"(see /ogc/collections/{cid}/tiles)"
        )
    return entry


@router.get("/tileMatrixSets", summary="Tiling schemes", response_class=Response)
async def tile_matrix_sets(request: Request, f: F = None) -> Response:
    """The one tiling scheme of the tiles: WebMercatorQuad (XYZ, EPSG:3857)."""
    check_f(f)
    base = base_url(request)
    return json_response(
        {
            "tileMatrixSets": [
                {
                    "id": TMS_ID,
                    "title": _tms().get("title", TMS_ID),
                    "uri": TMS_URI,
                    "links": [
                        link(
                            f"{base}/ogc/tileMatrixSets/{TMS_ID}",
                            REL_OGC + "tiling-scheme",
                            JSON,
                            f"Definition of {TMS_ID}",
                        )
                    ],
                }
            ]
        }
    )


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}", summary="One tiling scheme", response_class=Response
)
async def tile_matrix_set(tileMatrixSetId: TmsId, f: F = None) -> Response:
    """OGC TileMatrixSet 2.0 JSON of WebMercatorQuad (from morecantile)."""
    check_f(f)
    _check_tms(tileMatrixSetId)
    return json_response(_tms())


@router.get(
    "/collections/{collectionId}/tiles", summary="Tilesets of a collection", response_class=Response
)
async def tilesets(
    request: Request, collectionId: CollectionId, state: State, f: F = None
) -> Response:
    """Every tileset of the layer: vector (MVT) for vector layers, map (PNG) for vector and
    raster layers, each with a `self` link to its metadata."""
    check_f(f)
    entry = _entry_with(state, collectionId, None)
    base = base_url(request)
    return json_response(
        {
            "links": [
                link(f"{base}/ogc/collections/{collectionId}/tiles", "self", JSON, "This document")
            ],
            "tilesets": [_tileset(entry, base, k, full=False) for k in _kinds(entry)],
        }
    )


@router.get(
    "/collections/{collectionId}/map/tiles",
    summary="Map tilesets of a collection",
    response_class=Response,
)
async def map_tilesets(
    request: Request, collectionId: CollectionId, state: State, f: F = None
) -> Response:
    """The map (PNG) tileset of the layer."""
    check_f(f)
    entry = _entry_with(state, collectionId, "map")
    base = base_url(request)
    return json_response(
        {
            "links": [
                link(
                    f"{base}/ogc/collections/{collectionId}/map/tiles",
                    "self",
                    JSON,
                    "This document",
                )
            ],
            "tilesets": [_tileset(entry, base, "map", full=False)],
        }
    )


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    summary="Vector tileset metadata",
    response_class=Response,
)
async def vector_tileset(
    request: Request, collectionId: CollectionId, tileMatrixSetId: TmsId, state: State, f: F = None
) -> Response:
    """Tileset metadata with the templated `item` link to the MVT tiles."""
    check_f(f)
    _check_tms(tileMatrixSetId)
    entry = _entry_with(state, collectionId, "vector")
    return json_response(
        _tileset(entry, base_url(request), "vector", full=True, maxzoom=state.settings.tile_maxzoom)
    )


@router.get(
    "/collections/{collectionId}/map/tiles/{tileMatrixSetId}",
    summary="Map tileset metadata",
    response_class=Response,
)
async def map_tileset(
    request: Request, collectionId: CollectionId, tileMatrixSetId: TmsId, state: State, f: F = None
) -> Response:
    """Tileset metadata with the templated `item` link to the PNG tiles."""
    check_f(f)
    _check_tms(tileMatrixSetId)
    entry = _entry_with(state, collectionId, "map")
    return json_response(
        _tileset(entry, base_url(request), "map", full=True, maxzoom=state.settings.tile_maxzoom)
    )
