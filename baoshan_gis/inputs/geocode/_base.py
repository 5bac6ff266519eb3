"""What every geocoding provider module defines, and the errors a provider's answer can raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baoshan_gis._errors import GeocoderRefused


@dataclass(frozen=True)
class Answer:
    """One address's answer: ``status`` is ``ok``, ``no_match`` or ``malformed``.

    ``lon``/``lat`` are in the provider's own coordinate system (``Provider.crs``); ``level`` is
    the provider's match level as it wrote it.
    """

    status: str
    lon: float | None = None
    lat: float | None = None
    level: str = ""
    formatted: str = ""
    accuracy_m: float | None = None  # when the provider states a precision (Baidu confidence)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The answer as stored in the cache."""
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        """An answer read back from the cache."""
        fields: dict[str, Any] = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**fields)


class BadKey(GeocoderRefused):
    """The provider refused the key (wrong, expired, not enabled for geocoding)."""


class QuotaExceeded(GeocoderRefused):
    """The key's daily (or permanent) quota is used up."""


class RetryLater(Exception):
    """A transient refusal (QPS/concurrency limit): retried with backoff like a 5xx."""


@dataclass(frozen=True)
class Request:
    """One HTTP GET: path below the base URL and its query parameters."""

    path: str
    params: dict[str, str]


def to_float(value: Any) -> float | None:
    """``value`` as a finite float, or ``None``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and abs(out) != float("inf") else None


def level_quality(
    levels: dict[str, float | None], level: str
) -> tuple[str | None, float | None, str]:
    """``(geometry_quality, accuracy_m, reason)`` for a match level from a provider's table.

    A level mapped to ``None`` (a district, township or city centre) and a level not in the table
    give ``(None, None, reason)``: the row stays unplaced rather than take a guessed point.
    """
    if level not in levels:
        return None, None, f"unknown match level {level!r}"
    acc = levels[level]
    if acc is None:
        return None, None, f"match only at level {level!r}, too coarse to place"
    return "approximate", acc, ""
