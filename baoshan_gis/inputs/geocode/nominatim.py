"""Nominatim (OpenStreetMap) ``/search?format=jsonv2``; answers in WGS84.

Request: ``GET {base}/search?q=A&format=jsonv2&limit=1&countrycodes=cn``. Answer: a JSON list
of places ``{"lat": "31.3", "lon": "121.4", "place_rank": 30, "display_name": ..., ...}``; an
empty list is "no match". The public server allows one request per second and needs a
User-Agent naming the application (sent); use ``--base-url`` for your own instance. Results are
© OpenStreetMap contributors (ODbL). ``place_rank`` is the match level: 28-30 (house, building,
POI) → ±50 m, 26-27 (street) → ±500 m, 19-25 (village, suburb, neighbourhood) → ±1 km, below 19
(town, city, county) → kept unplaced.
"""

from __future__ import annotations

from typing import Any

from baoshan_gis.inputs.geocode._base import Answer, Request, to_float

NAME = "nominatim"
TITLE = "Nominatim (OpenStreetMap)"
CRS = "wgs84"
DEFAULT_URL = "https://nominatim.openstreetmap.org"
NEEDS_KEY = False
BATCH_SIZE = 1
RATE_PER_S = 1.0
LEVELS: dict[str, float | None] = {
    **{f"rank {r}": 50.0 for r in (28, 29, 30)},
    **{f"rank {r}": 500.0 for r in (26, 27)},
    **{f"rank {r}": 1000.0 for r in range(19, 26)},
    **{f"rank {r}": None for r in range(0, 19)},
}


def requests_for(addresses: list[str], key: str | None, city: str) -> list[Request]:
    """One request per address."""
    out = []
    for a in addresses:
        q = a if not city or city in a else f"{a}, {city}"
        out.append(
            Request("/search", {"q": q, "format": "jsonv2", "limit": "1", "countrycodes": "cn"})
        )
    return out


def parse(payloads: list[Any], addresses: list[str]) -> list[Answer]:
    """One answer per payload."""
    return [_one(p) for p in payloads]


def _one(data: Any) -> Answer:
    if not isinstance(data, list):
        return Answer("malformed", detail="answer is not a JSON list")
    if not data:
        return Answer("no_match", detail="empty result")
    place = data[0]
    if not isinstance(place, dict):
        return Answer("malformed", detail="place is not an object")
    lon, lat = to_float(place.get("lon")), to_float(place.get("lat"))
    rank = to_float(place.get("place_rank"))
    if lon is None or lat is None:
        return Answer("malformed", detail="place without numeric lon/lat")
    level = f"rank {int(rank)}" if rank is not None else ""
    return Answer(
        "ok", lon=lon, lat=lat, level=level, formatted=str(place.get("display_name") or "")
    )
