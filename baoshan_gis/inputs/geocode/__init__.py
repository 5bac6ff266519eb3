"""Addresses to points: one module per provider, a shared client (:mod:`._client`).

| provider | request | returns | stored as |
|---|---|---|---|
| ``tianditu`` | ``/geocoder?ds={"keyWord":...}&tk=`` | CGCS2000 | as WGS84 (they differ by cm) |
| ``amap`` | ``/v3/geocode/geo`` (batches of 10) | GCJ-02 | converted to WGS84 |
| ``baidu`` | ``/geocoding/v3/`` | BD-09 | converted to WGS84 |
| ``nominatim`` | ``/search?format=jsonv2`` | WGS84 | as is |

The provider's own coordinates stay in ``orig_lon``/``orig_lat`` (``orig_crs`` names their
system). The match level becomes ``geometry_quality`` = approximate and ``accuracy_m`` from the
provider's table (``LEVELS`` in each module; Baidu's stated ``confidence`` when coarser). A row
whose address has no match, only a coarse match (district, township, city), a malformed answer, or
a point outside China goes to the unplaced table with the reason, never a guessed point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis import coords
from baoshan_gis._errors import DataImportError, GeocoderRefused
from baoshan_gis.inputs.geocode import amap, baidu, nominatim, tianditu
from baoshan_gis.inputs.geocode._base import level_quality
from baoshan_gis.inputs.geocode._client import GeocodeClient, Stats
from baoshan_gis.settings import WGS84, geocode_cache_dir

PROVIDERS: dict[str, ModuleType] = {m.NAME: m for m in (tianditu, amap, baidu, nominatim)}

__all__ = ["PROVIDERS", "GeocodeOptions", "GeocodeResult", "geocode_table"]


@dataclass(frozen=True)
class GeocodeOptions:
    """How to geocode: provider, key, server, cache, rate."""

    address_col: str
    provider: str
    key: str | None = None
    base_url: str | None = None
    cache_dir: Path | None = None
    rate_per_s: float | None = None
    city: str = "上海市"
    retries: int = 3
    backoff_s: float = 0.5
    timeout_s: float = 10.0


@dataclass
class GeocodeResult:
    """Placed rows (WGS84 points), unplaced rows (with ``reason``) and what the client did."""

    placed: gpd.GeoDataFrame
    unplaced: pd.DataFrame
    stats: Stats
    provider: str
    lines: list[str] = field(default_factory=list)


def provider_module(name: str) -> ModuleType:
    """The provider module for ``name``; :class:`GeocoderRefused` listing the known ones."""
    module = PROVIDERS.get(str(name).lower())
    if module is None:
        raise GeocoderRefused(f"unknown --provider {name!r}; use one of {', '.join(PROVIDERS)}")
    return module


def _key_for(module: ModuleType, key: str | None) -> str | None:
    env = f"BAOSHAN_{module.NAME.upper()}_KEY"
    key = key or os.environ.get(env)
    if module.NEEDS_KEY and not key:
        raise GeocoderRefused(f"{module.TITLE} needs a key: pass --key KEY or set {env}")
    return key


def geocode_table(
    df: pd.DataFrame, options: GeocodeOptions, *, filename: str, first_row: int = 2
) -> GeocodeResult:
    """Geocode ``df[options.address_col]``; every row ends up placed or unplaced, none guessed."""
    module = provider_module(options.provider)
    if options.address_col not in df.columns:
        raise DataImportError(
            f"--address-col {options.address_col!r} is not a column of {filename!r}; columns: "
            f"{', '.join(map(str, df.columns))}"
        )
    client = GeocodeClient(
        module,
        key=_key_for(module, options.key),
        base_url=options.base_url,
        cache_dir=options.cache_dir or geocode_cache_dir(),
        city=options.city,
        rate_per_s=options.rate_per_s,
        retries=options.retries,
        backoff_s=options.backoff_s,
        timeout_s=options.timeout_s,
    )
    raw = df[options.address_col]
    addresses = [str(v).strip() if pd.notna(v) and str(v).strip() else "" for v in raw]
    answers = client.geocode([a for a in addresses if a])
    today = date.today().isoformat()
    placed_rows, geoms, unplaced_rows, lines = [], [], [], []
    for i, address in enumerate(addresses):
        row = df.iloc[i].to_dict()
        reason, ans = "", answers.get(address)
        quality = acc = None
        if not address:
            reason = "empty address"
        elif ans is None or ans.status == "malformed":
            reason = f"malformed answer ({ans.detail if ans else 'none'})"
        elif ans.status == "no_match":
            reason = f"no match ({ans.detail})" if ans.detail else "no match"
        else:
            assert ans.lon is not None and ans.lat is not None
            quality, acc, reason = level_quality(module.LEVELS, ans.level)
            if not reason and not coords.in_china(ans.lon, ans.lat):
                reason = f"answer {ans.lon:.5f}, {ans.lat:.5f} lies outside China"
        record = {
            **row,
            "geocode_provider": module.NAME,
            "geocode_level": ans.level if ans else "",
            "geocode_address": ans.formatted if ans else "",
            "source_row": i + first_row,
        }
        if reason:
            unplaced_rows.append({**record, "reason": reason})
            lines.append(f"row {i + first_row} {address!r}: {reason}")
            continue
        assert ans is not None and ans.lon is not None and ans.lat is not None
        accuracy = max(float(acc or 0.0), float(ans.accuracy_m or 0.0))
        if module.CRS in ("gcj02", "bd09"):
            lon, lat = coords.convert(ans.lon, ans.lat, src=module.CRS, dst="wgs84")
        else:
            lon, lat = ans.lon, ans.lat  # WGS84, or CGCS2000 (cm from WGS84)
        placed_rows.append(
            {
                **record,
                "orig_lon": ans.lon,
                "orig_lat": ans.lat,
                "orig_crs": module.CRS,
                "geometry_quality": quality,
                "accuracy_m": accuracy,
                "geocoded": f"{module.TITLE}, level {ans.level!r}, {today}",
            }
        )
        geoms.append((lon, lat))
    placed = gpd.GeoDataFrame(
        pd.DataFrame(placed_rows),
        geometry=gpd.points_from_xy([g[0] for g in geoms], [g[1] for g in geoms]),
        crs=WGS84,
    )
    unplaced = pd.DataFrame(unplaced_rows)
    if len(unplaced):
        unplaced["reason"] = unplaced["reason"].astype(str)
    if "accuracy_m" in placed.columns:
        placed["accuracy_m"] = placed["accuracy_m"].astype(np.float64)
    return GeocodeResult(
        placed=placed, unplaced=unplaced, stats=client.stats, provider=module.NAME, lines=lines
    )
