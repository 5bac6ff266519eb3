"""What lies within reach of an incubator, and how much of the plan's incubation chain is placed.

The plan counts 36 incubation carriers at municipal level or above, 9 of them national (一(五)),
but names only a few and gives no address for any. The ``incubators`` layer therefore starts
empty, its named members waiting in ``incubators_unplaced``; planners fill it by import or
geocoding. Every result here says how many are placed, so a coverage share is never read as the
district's when it covers only the incubators located so far.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis.analysis.coverage import euclidean_coverage

#: Incubation carriers at municipal level or above in the district (plan 一(五)).
PLAN_MUNICIPAL_OR_ABOVE = 36
#: Of which national (plan 一(五)).
PLAN_NATIONAL = 9
_ABOVE = {"national", "municipal", "国家级", "市级"}


@dataclass(frozen=True)
class Placement:
    """How many incubators are placed, of what the plan counts."""

    placed: int
    placed_municipal_or_above: int
    unplaced: int
    plan_total: int = PLAN_MUNICIPAL_OR_ABOVE

    def text(self) -> str:
        """One sentence for the report."""
        return (
            f"{self.placed_municipal_or_above} of the plan's {self.plan_total} incubation "
            f"carriers at municipal level or above are placed ({self.placed} incubator(s) of any "
            f"level in the layer; {self.unplaced} named but not located, in "
            "`incubators_unplaced`)."
        )


def placement(incubators: pd.DataFrame, unplaced: pd.DataFrame | None = None) -> Placement:
    """Count the placed incubators (non-empty geometry) and those of municipal level or above."""
    geoms = incubators.geometry if isinstance(incubators, gpd.GeoDataFrame) else None
    placed = incubators if geoms is None else incubators[geoms.notna() & ~geoms.is_empty]
    level = placed.get("level", pd.Series(dtype=str)).astype("string").str.strip()
    return Placement(
        placed=len(placed),
        placed_municipal_or_above=int(level.isin(_ABOVE).sum()),
        unplaced=0 if unplaced is None else len(unplaced),
    )


def incubator_reach(
    zones: gpd.GeoDataFrame, incubators: gpd.GeoDataFrame, radius: float = 1000.0
) -> gpd.GeoDataFrame:
    """Per zone: incubators inside it, and the area and share within ``radius`` m of one.

    Returns a copy of ``zones`` with ``incubators_in_zone``, ``within_reach_km2`` and
    ``within_reach_share`` (0-1); zeros, without a warning, when no incubator is placed yet
    (``attrs["placed"]`` says how many were used).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> zone = gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 1000)], crs="EPSG:32651")
    >>> inc = gpd.GeoDataFrame(geometry=[Point(500, 500)], crs="EPSG:32651")
    >>> out = incubator_reach(zone, inc, radius=500)
    >>> int(out.incubators_in_zone.iloc[0]), round(float(out.within_reach_share.iloc[0]), 3)
    (1, 0.393)
    """
    geoms = incubators.geometry
    placed = incubators[geoms.notna() & ~geoms.is_empty]
    out = zones.copy()
    if len(placed) == 0:
        out["incubators_in_zone"] = 0
        out["within_reach_km2"] = 0.0
        out["within_reach_share"] = 0.0
    else:
        cov = euclidean_coverage(zones, placed, radius=radius, by=None)
        pts = placed.to_crs(zones.crs)
        joined = gpd.sjoin(pts[["geometry"]], zones[["geometry"]], predicate="within")
        counts = joined.groupby("index_right").size()
        out["incubators_in_zone"] = counts.reindex(zones.index, fill_value=0).astype(np.int64)
        out["within_reach_km2"] = cov["covered_km2"].to_numpy()
        out["within_reach_share"] = cov["covered_share"].to_numpy()
    out.attrs["placed"] = len(placed)
    out.attrs["radius_m"] = float(radius)
    return out


def incubator_section(
    gpkg: str | os.PathLike[str], zones: gpd.GeoDataFrame, radius: float = 1000.0
) -> list[str]:
    """The report's Markdown section (empty when the GeoPackage has no ``incubators`` layer)."""
    from baoshan_gis import gpkg as _gpkg

    names = set(_gpkg.layer_names(gpkg))
    if "incubators" not in names:
        return []
    inc = _gpkg.read_layer(gpkg, "incubators")
    unplaced = (
        _gpkg.read_layer(gpkg, "incubators_unplaced") if "incubators_unplaced" in names else None
    )
    counts = placement(inc, unplaced)
    lines = ["## 孵化载体可达 Within reach of an incubator", "", counts.text(), ""]
    if counts.placed == 0:
        lines += [
            "No incubator is located yet, so no zone is counted as within reach. Add them "
            "with `baoshan-gis layers import list.xlsx --gpkg PLAN --name incubators "
            "--append` (or geocode an address column with `--address-col 地址 --provider "
            "amap`).",
            "",
        ]
        return lines
    from baoshan_gis.analysis.report_tables import md_table

    reach = incubator_reach(zones, inc, radius=radius)
    tab = pd.DataFrame(
        {
            "zone": reach.get("name_zh", pd.Series(reach.index.astype(str), index=reach.index)),
            "incubators": reach["incubators_in_zone"],
            f"share_within_{radius:g}m": reach["within_reach_share"],
        }
    )
    lines += [
        f"Share of each zone within {radius:g} m (straight line) of a placed incubator; a "
        "lower bound while incubators are missing.",
        "",
        md_table(tab, digits={f"share_within_{radius:g}m": 3}),
        "",
    ]
    return lines


__all__ = [
    "PLAN_MUNICIPAL_OR_ABOVE",
    "Placement",
    "incubator_reach",
    "incubator_section",
    "placement",
]
