"""CRS checks common to every input: the CGCS2000 Gauss–Krüger zones around Shanghai.

CGCS2000 3-degree Gauss–Krüger comes in two EPSG flavours per zone: with the zone number in
front of the easting (false easting ``zone × 10⁶ + 500 000``, e.g. EPSG:4528 "zone 40") and
without (false easting 500 000, e.g. EPSG:4549 "CM 120E"). Shanghai straddles the edge at 121.5°E
between zone 40 (CM 120°E: EPSG:4528 / 4549, all of Baoshan but a sliver east of 121.5°E) and
zone 41 (CM 123°E: EPSG:4529 / 4550). There is no EPSG 3-degree zone on 121°E. Eastings of the
wrong flavour put the data 40 000 km away; :func:`check_gauss_kruger` names the right code.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from baoshan_gis._errors import CRSError

#: EPSG codes of CGCS2000 3-degree GK zones 25-45: with zone prefix 4513-4533, CM 4534-4554.
_ZONE_FIRST, _CM_FIRST, _FIRST_ZONE, _LAST_ZONE = 4513, 4534, 25, 45


def _false_easting(crs: Any) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name.lower() == "false easting":
            return float(p.value)
    return None


def check_gauss_kruger(frame: gpd.GeoDataFrame, filename: str) -> None:
    """Raise :class:`CRSError` when eastings do not fit the CGCS2000 GK flavour declared."""
    crs = frame.crs
    code = crs.to_epsg() if crs is not None else None
    if code is None or not (_ZONE_FIRST <= code < _CM_FIRST + (_LAST_ZONE - _FIRST_ZONE + 1)):
        return
    fe = _false_easting(crs)
    if fe is None or frame.empty:
        return
    xmin, _, xmax, _ = frame.total_bounds
    prefixed = fe >= 1e6
    if prefixed and xmax < 1e6:
        raise CRSError(
            f"{filename!r} has eastings like {xmin:.0f} without a zone number, but EPSG:{code} "
            f"({crs.name}) expects them to start with the zone; use --crs EPSG:{code + 21}"
        )
    if not prefixed and xmin >= 1e7:
        zone = int(xmin // 1e6)
        suggestion = (
            f"use --crs EPSG:{_ZONE_FIRST + zone - _FIRST_ZONE} (zone {zone})"
            if _FIRST_ZONE <= zone <= _LAST_ZONE
            else "check --crs"
        )
        raise CRSError(
            f"{filename!r} has eastings like {xmin:.0f} that start with a zone number, but "
            f"EPSG:{code} ({crs.name}) has none; {suggestion}"
        )
