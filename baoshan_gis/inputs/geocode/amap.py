"""Amap (高德) Web service geocoding v3, ``/v3/geocode/geo``; answers in GCJ-02.

Request: ``GET {base}/v3/geocode/geo?key=KEY&address=A1|A2|...&batch=true&city=上海`` (up to 10
addresses per request). Answer: ``{"status": "1", "info": "OK", "infocode": "10000", "count": "n",
"geocodes": [{"formatted_address": ..., "location": "lon,lat", "level": "门牌号"}, ...]}``, one
entry per address in batch mode (an address without a match gets an entry without ``location``).
``status "0"`` carries an ``infocode``: 10001/10005-10009/10012/10013 are key problems, 10003/
10010/10044 exhausted quotas, 10004/10014/10015/10019-10021 rate limits (retried).
"""

from __future__ import annotations

from typing import Any

from baoshan_gis.inputs.geocode._base import (
    Answer,
    BadKey,
    QuotaExceeded,
    Request,
    RetryLater,
    to_float,
)

NAME = "amap"
TITLE = "Amap 高德"
CRS = "gcj02"
DEFAULT_URL = "https://restapi.amap.com"
NEEDS_KEY = True
BATCH_SIZE = 10
RATE_PER_S = 3.0
#: Match level (``level``) -> accuracy_m; None = too coarse, kept unplaced.
LEVELS: dict[str, float | None] = {
    "门牌号": 50.0,
    "单元号": 50.0,
    "兴趣点": 50.0,
    "道路交叉路口": 100.0,
    "地铁站": 200.0,
    "公交站台线路": 300.0,
    "道路": 500.0,
    "热点商圈": 1000.0,
    "村庄": 1000.0,
    "乡镇": None,
    "开发区": None,
    "区县": None,
    "市": None,
    "省": None,
    "国家": None,
    "未知": None,
}
_BAD_KEY = {"10001", "10005", "10006", "10007", "10008", "10009", "10012", "10013"}
_QUOTA = {"10003", "10010", "10044"}
_RETRY = {"10004", "10014", "10015", "10019", "10020", "10021"}


def requests_for(addresses: list[str], key: str | None, city: str) -> list[Request]:
    """One request for the batch of addresses."""
    params = {"key": key or "", "address": "|".join(addresses), "output": "JSON"}
    if len(addresses) > 1:
        params["batch"] = "true"
    if city:
        params["city"] = city
    return [Request("/v3/geocode/geo", params)]


def parse(payloads: list[Any], addresses: list[str]) -> list[Answer]:
    """Answers for the batch, aligned with ``addresses``."""
    data = payloads[0]
    if not isinstance(data, dict) or "status" not in data:
        return [Answer("malformed", detail="answer without 'status'")] * len(addresses)
    if str(data["status"]) != "1":
        code, info = str(data.get("infocode", "")), str(data.get("info", ""))
        if code in _BAD_KEY:
            raise BadKey(f"Amap refused the key: {info} (infocode {code})")
        if code in _QUOTA:
            raise QuotaExceeded(f"Amap quota exhausted: {info} (infocode {code})")
        if code in _RETRY:
            raise RetryLater(f"{info} ({code})")
        return [Answer("malformed", detail=f"Amap error {info} ({code})")] * len(addresses)
    geocodes = data.get("geocodes") or []
    if not isinstance(geocodes, list):
        return [Answer("malformed", detail="'geocodes' is not a list")] * len(addresses)
    if len(addresses) == 1 and not geocodes:
        return [Answer("no_match", detail="count 0")]
    if len(geocodes) != len(addresses):
        return [Answer("malformed", detail="batch answer length differs")] * len(addresses)
    return [_one(g) for g in geocodes]


def _one(g: Any) -> Answer:
    if not isinstance(g, dict):
        return Answer("malformed", detail="geocode entry is not an object")
    loc = g.get("location")
    if not loc:
        return Answer("no_match", detail="no location")
    parts = str(loc).split(",")
    lon, lat = (to_float(parts[0]), to_float(parts[1])) if len(parts) == 2 else (None, None)
    if lon is None or lat is None:
        return Answer("malformed", detail=f"location {loc!r} is not 'lon,lat'")
    level = g.get("level")
    return Answer(
        "ok",
        lon=lon,
        lat=lat,
        level=str(level) if isinstance(level, str) else "",
        formatted=str(g.get("formatted_address") or ""),
    )
