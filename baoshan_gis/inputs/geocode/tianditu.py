"""Tianditu (天地图) geocoder, ``/geocoder?ds={"keyWord": ...}&tk=KEY``; answers in CGCS2000.

CGCS2000 and WGS84 differ by centimetres around Shanghai (both are realisations of the ITRS and
their ellipsoids differ by 0.1 mm in the semi-minor axis), far below a geocoder's precision, so the
coordinates are stored as WGS84 unchanged; ``orig_crs`` records ``cgcs2000``.

Answer: ``{"status": "0", "msg": "ok", "location": {"lon": "121.4", "lat": "31.3", "level":
"门址", "score": 100}}``; ``status`` 101 is "no result", 404 an error. A refused ``tk`` answers HTTP
403 (or a body whose ``msg`` names the key); quotas answer HTTP 429 or a ``msg`` about the limit.
"""

from __future__ import annotations

import json
from typing import Any

from baoshan_gis.inputs.geocode._base import Answer, BadKey, QuotaExceeded, Request, to_float

NAME = "tianditu"
TITLE = "Tianditu 天地图"
CRS = "cgcs2000"
DEFAULT_URL = "https://api.tianditu.gov.cn"
NEEDS_KEY = True
BATCH_SIZE = 1
RATE_PER_S = 5.0
LEVELS: dict[str, float | None] = {
    "门址": 50.0,
    "兴趣点": 50.0,
    "地名地址": 100.0,
    "道路": 500.0,
    "村庄": 1000.0,
    "乡镇": None,
    "区县": None,
    "市": None,
    "省": None,
    "国家": None,
    "行政区划": None,
}


def requests_for(addresses: list[str], key: str | None, city: str) -> list[Request]:
    """One request per address; the city, if any, is prefixed to the keyword."""
    out = []
    for a in addresses:
        word = a if not city or a.startswith(city) else f"{city}{a}"
        ds = json.dumps({"keyWord": word}, ensure_ascii=False)
        out.append(Request("/geocoder", {"ds": ds, "tk": key or ""}))
    return out


def parse(payloads: list[Any], addresses: list[str]) -> list[Answer]:
    """One answer per payload."""
    return [_one(p) for p in payloads]


def _one(data: Any) -> Answer:
    if not isinstance(data, dict) or "status" not in data:
        return Answer("malformed", detail="answer without 'status'")
    status, msg = str(data["status"]), str(data.get("msg") or "")
    if "key" in msg.lower() or "tk" in msg.lower() or "权限" in msg:
        raise BadKey(f"Tianditu refused the key: {msg}")
    if "配额" in msg or "超限" in msg or "limit" in msg.lower():
        raise QuotaExceeded(f"Tianditu quota exhausted: {msg}")
    if status == "101":
        return Answer("no_match", detail=msg or "结果为空")
    if status != "0":
        return Answer("malformed", detail=f"Tianditu status {status} {msg}".strip())
    loc = data.get("location")
    if not isinstance(loc, dict):
        return Answer("no_match", detail="no location")
    lon, lat = to_float(loc.get("lon")), to_float(loc.get("lat"))
    if lon is None or lat is None:
        return Answer("malformed", detail=f"location {loc!r} has no numeric lon/lat")
    return Answer(
        "ok",
        lon=lon,
        lat=lat,
        level=str(loc.get("level") or ""),
        formatted=str(loc.get("keyWord") or ""),
    )
