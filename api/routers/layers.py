"""``/layers``: the catalogue of layers and each layer as GeoJSON."""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, Path, Query, Response

from api.deps import State
from api.limits import GEOJSON_BUILDS
from baoshan_gis.tiles.grid import parse_bbox
from baoshan_gis.tiles.source import _plain

router = APIRouter(prefix="/layers", tags=["layers"])


@router.get("", summary="Catalogue of layers")
async def list_layers(state: State) -> dict[str, Any]:
    """Every layer with its Chinese and English title, kind, geometry type, feature count,
    WGS84 bounds, attribution, plan section, source and licence, and its tile formats."""
    return {"layers": [e.info for e in state.layers.values()]}


@router.get(
    "/{name:path}",
    summary="One layer as GeoJSON",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}},
               400: {"description": "Malformed bbox or limit."},
               404: {"description": "Unknown layer (the answer lists the layers)."}},
)
def get_layer(
    *,
    name: Annotated[str, Path(description="Layer name from `GET /layers`.",
                              examples=["carriers"])],
    bbox: Annotated[
        str | None,
        Query(description="Only features meeting this box: `minx,miny,maxx,maxy` in WGS84 "
                          "degrees.", examples=["121.38,31.30,121.50,31.40"]),
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, description="Largest number of features returned (at most "
                                "`BAOSHAN_GEOJSON_MAX_FEATURES`).", examples=[100]),
    ] = None,
    state: State,
) -> Response:
    """GeoJSON FeatureCollection (EPSG:4326) with every attribute; attribute tables (e.g.
    `indicators`) come back as features without geometry. `numberMatched` counts the features
    meeting the box before `limit`."""
    from baoshan_gis._errors import RequestTooLarge

    snap = state.snapshot
    entry = snap.layer(name)
    box = parse_bbox(bbox) if bbox is not None else None
    max_n = state.settings.geojson_max_features
    if limit is not None and limit > max_n:
        raise RequestTooLarge(f"limit={limit!r} exceeds the largest allowed, {max_n}")
    if entry.frame is None:
        from baoshan_gis._errors import NotFound

        raise NotFound(f"layer {name!r} is a raster; fetch its tiles from /tiles/{name}/...")
    key = (name, box, min(limit or max_n, max_n))
    data = snap.geojson.get(key)
    if data is None:
        with GEOJSON_BUILDS:
            data = snap.geojson.get(key)
            if data is None:
                data = _build(entry, name, box, limit, max_n)
                snap.geojson.put(key, data)
    return Response(data, media_type="application/geo+json")


def _build(entry: Any, name: str, box: Any, limit: int | None, max_n: int) -> bytes:
    frame = entry.frame
    tree = entry.tree
    has_geom = tree is not None
    if box is not None and tree is not None:
        idx = tree.query(shapely.box(*box), predicate="intersects")
        idx.sort()
    else:
        idx = np.arange(len(frame))
    matched = len(idx)
    idx = idx[: min(limit or max_n, max_n)]
    sub = frame.iloc[idx]
    features = []
    cols = [c for c in sub.columns if not has_geom or c != sub.geometry.name]
    geo = sub.geometry.to_json() if has_geom else None
    geoms = json.loads(geo)["features"] if geo else [None] * len(sub)
    for i, (row, g) in enumerate(zip(sub[cols].to_dict(orient="records"), geoms, strict=True)):
        features.append({
            "type": "Feature",
            "id": int(idx[i]) + 1,
            "properties": {k: _plain(v) for k, v in row.items()},
            "geometry": g["geometry"] if g else None,
        })
    body = {"type": "FeatureCollection", "name": name, "numberMatched": matched,
            "numberReturned": len(features), "features": features}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
