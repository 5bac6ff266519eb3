"""Baidu (百度) geocoding v3, ``/geocoding/v3/``; answers in BD-09 (``bd09ll``).

Request: ``GET {base}/geocoding/v3/?address=A&output=json&ak=KEY&city=上海`` (one address each).
Answer: ``{"status": 0, "result": {"location": {"lng": .., "lat": ..}, "precise": 1,
"confidence": 80, "comprehension": 100, "level": "门址"}}``. ``status`` 1 with no result is "no
match"; 101/200-252 are key problems, 4/301/302 exhausted quotas, 401/402 concurrency (retried).
``confidence`` is Baidu's stated absolute precision; it sets ``accuracy_m`` (the documented table:
100 → 20 m, 90 → 50 m, 80 → 100 m, 75 → 200 m, 70 → 300 m, 60 → 500 m, 50 → 1 km, 40 → 2 km,
30 → 5 km, 25 → 8 km, 20 → 10 km), never finer than the level's own accuracy.
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

NAME = "baidu"
TITLE = "Baidu 百度"
CRS = "bd09"
DEFAULT_URL = "https://api.map.baidu.com"
NEEDS_KEY = True
BATCH_SIZE = 1
RATE_PER_S = 3.0
LEVELS: dict[str, float | None] = {
    "门址": 50.0,
    "商务大厦": 50.0,
    "政府机构": 50.0,
    "教育": 100.0,
    "医疗": 100.0,
    "生活服务": 100.0,
    "金融": 100.0,
    "购物": 100.0,
    "餐饮": 100.0,
    "宾馆": 100.0,
    "休闲娱乐": 100.0,
    "交叉路口": 100.0,
    "地产小区": 200.0,
    "工业园区": 500.0,
    "道路": 500.0,
    "商圈": 1000.0,
    "村庄": 1000.0,
    "乡镇": None,
    "区县": None,
    "城市": None,
    "省份": None,
    "国家": None,
    "UNKNOWN": None,
}
#: confidence (lower bound) -> accuracy_m, from Baidu's documentation.
CONFIDENCE_M: tuple[tuple[int, float], ...] = (
    (100, 20.0),
    (90, 50.0),
    (80, 100.0),
    (75, 200.0),
    (70, 300.0),
    (60, 500.0),
    (50, 1000.0),
    (40, 2000.0),
    (30, 5000.0),
    (25, 8000.0),
    (20, 10000.0),
)
_BAD_KEY = {101, 102, 200, 201, 202, 203, 210, 211, 220, 230, 240, 250, 251, 252, 260, 261}
_QUOTA = {4, 301, 302}
_RETRY = {401, 402}


def requests_for(addresses: list[str], key: str | None, city: str) -> list[Request]:
    """One request per address (the v3 API has no batch form)."""
    out = []
    for a in addresses:
        params = {"address": a, "output": "json", "ak": key or ""}
        if city:
            params["city"] = city
        out.append(Request("/geocoding/v3/", params))
    return out


def confidence_m(confidence: Any) -> float | None:
    """Baidu's stated precision (metres) for a ``confidence`` value."""
    c = to_float(confidence)
    if c is None:
        return None
    for bound, metres in CONFIDENCE_M:
        if c >= bound:
            return metres
    return None


def parse(payloads: list[Any], addresses: list[str]) -> list[Answer]:
    """One answer per payload."""
    return [_one(p) for p in payloads]


def _one(data: Any) -> Answer:
    if not isinstance(data, dict) or "status" not in data:
        return Answer("malformed", detail="answer without 'status'")
    status = to_float(data["status"])
    msg = str(data.get("msg") or data.get("message") or "")
    if status in _BAD_KEY:
        raise BadKey(f"Baidu refused the key: {msg or 'AK problem'} (status {int(status)})")
    if status in _QUOTA:
        raise QuotaExceeded(f"Baidu quota exhausted: {msg or 'quota'} (status {int(status)})")
    if status in _RETRY:
        raise RetryLater(msg)
    if status == 1:
        return Answer("no_match", detail=msg or "no result")
    if status != 0:
        return Answer("malformed", detail=f"Baidu status {data['status']!r} {msg}".strip())
    result = data.get("result")
    loc = result.get("location") if isinstance(result, dict) else None
    if not isinstance(loc, dict):
        return Answer("no_match", detail="no location in result")
    lon, lat = to_float(loc.get("lng")), to_float(loc.get("lat"))
    if lon is None or lat is None:
        return Answer("malformed", detail=f"location {loc!r} has no numeric lng/lat")
    assert isinstance(result, dict)
    return Answer(
        "ok",
        lon=lon,
        lat=lat,
        level=str(result.get("level") or ""),
        accuracy_m=confidence_m(result.get("confidence")),
    )
