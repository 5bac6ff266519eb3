"""Walking coverage of the zones that the street data reaches.

Street data exists only where an OSM extract or download covers the district (by default the
环上大 / 大场 / 南大 box, about 6 % of it). :func:`walking_coverage` therefore measures each zone
only inside the street data's box, and says how much of the zone that is: a zone half inside the
box gets the walking shares of that half, and ``street_share`` = 0.5.

Facilities (carriers, metro stations) start at their nearest street node; those farther than
``max_snap`` metres from every node cannot be walked from on this graph and are left out and
counted (not warned about per call), so a walking share near the edge of the box is a lower bound.
Distances are walked metres; minutes follow at ``speed_kmh`` (4.8 km/h: 80 m a minute).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from baoshan_gis.analysis._validate import points_xy_in, to_metric
from baoshan_gis.analysis.coverage import coverage
from baoshan_gis.analysis.network import WALK_SPEED_KMH, network_reach
from baoshan_gis.analysis.street_graph import StreetGraph, load_graph

#: Facilities farther than this from every street node are not walked from (metres).
MAX_SNAP_M: float = 300.0


@dataclass
class WalkingCoverage:
    """Result of :func:`walking_coverage`."""

    #: One row per zone in the street data: ``layer``, ``name_zh``, ``name_en``,
    #: ``street_share`` and per facility set and distance ``share_<set>_<d>m``.
    table: pd.DataFrame
    #: Reach polygons (metric CRS) per facility set and distance, clipped to the street box.
    reach: dict[tuple[str, float], gpd.GeoDataFrame] = field(default_factory=dict)
    #: Facilities walked from / given, per facility set.
    used: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: The street data's box (metric CRS).
    box: Any = None


def minutes_for(distance_m: float, speed_kmh: float = WALK_SPEED_KMH) -> float:
    """Walking minutes for ``distance_m`` metres at ``speed_kmh``."""
    return distance_m / (speed_kmh * 1000.0 / 60.0)


def _on_graph(graph: StreetGraph, points: gpd.GeoDataFrame, max_snap: float
              ) -> gpd.GeoDataFrame:
    x, y, keep = points_xy_in(points, graph.crs, "facilities")
    if not len(x):
        return points.iloc[0:0]
    d, _ = graph.kdtree().query(np.column_stack([x, y]))
    return points[keep][d <= max_snap]


def walking_coverage(
    zones: gpd.GeoDataFrame,
    graph: Any,
    facilities: dict[str, tuple[gpd.GeoDataFrame, Sequence[float]]],
    *,
    box: tuple[float, float, float, float] | None = None,
    speed_kmh: float = WALK_SPEED_KMH,
    edge_buffer: float = 50.0,
    max_snap: float = MAX_SNAP_M,
) -> WalkingCoverage:
    """Share of each zone, inside the street data, within walking distances of facilities.

    Parameters
    ----------
    zones
        Polygon layer with ``layer``, ``name_zh``, ``name_en`` (as the report's zones).
    graph
        Street graph (:func:`baoshan_gis.analysis.load_graph` input).
    facilities
        ``{set name: (points, walked distances in metres)}``, e.g.
        ``{"carriers": (carriers, [500, 1000, 2000]), "stations": (stations, [800])}``.
    box
        WGS84 box the street data covers (default: the graph's node extent).
    """
    g = load_graph(graph)
    zm = to_metric(zones, "zones", g.crs)
    if box is not None:
        box_m = gpd.GeoSeries([shapely.box(*box)], crs=4326).to_crs(g.crs).iloc[0]
    else:
        box_m = shapely.box(g.x.min(), g.y.min(), g.x.max(), g.y.max())
    geoms = zm.geometry.to_numpy()
    area = np.nan_to_num(shapely.area(geoms))
    inside = shapely.intersection(geoms, box_m)
    in_area = np.nan_to_num(shapely.area(inside))
    share = np.divide(in_area, area, out=np.zeros(len(area)), where=area > 0)
    sel = share > 0.001
    part = gpd.GeoDataFrame(zones.loc[sel, ["layer", "name_zh", "name_en"]].copy(),
                            geometry=inside[sel], crs=g.crs)
    table = pd.DataFrame(part.drop(columns="geometry"))
    table["street_share"] = share[sel]
    table["street_km2"] = in_area[sel] / 1e6
    result = WalkingCoverage(table=table, box=box_m)
    for key, (points, distances) in facilities.items():
        usable = _on_graph(g, points, max_snap) if len(points) else points
        result.used[key] = (len(usable), len(points))
        for d in distances:
            if len(usable):
                reach = network_reach(g, usable, distance=float(d), speed_kmh=speed_kmh,
                                      edge_buffer=edge_buffer, max_snap=max_snap)
                reach = reach.set_geometry(shapely.intersection(reach.geometry.to_numpy(), box_m))
            else:
                reach = gpd.GeoDataFrame(geometry=[], crs=g.crs)
            cov = coverage(part, reach, crs=g.crs) if len(part) else part.assign(covered_share=[])
            table[f"share_{key}_{d:g}m"] = np.asarray(cov["covered_share"], dtype=float)
            result.reach[(key, float(d))] = reach
    result.table = table.reset_index(drop=True)
    return result


# ----------------------------------------------------------------------------------------------
# the report's walking section


@dataclass
class WalkingReport:
    """The walking part of the planners' report: table, layers and Markdown."""

    result: WalkingCoverage
    table: pd.DataFrame
    layers: dict[str, tuple[gpd.GeoDataFrame, dict[str, Any], list[str], str, str]]
    markdown: list[str]


def walking_report(
    gpkg: Any,
    zones: gpd.GeoDataFrame,
    carriers: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame | None,
    *,
    radii: Sequence[float],
    station_radius: float,
    speed_kmh: float = WALK_SPEED_KMH,
    md_table: Any,
) -> WalkingReport:
    """Walking coverage from the GeoPackage's own street graph (``street_nodes`` /
    ``street_edges``) at the report's straight-line distances, ready for the report."""
    from baoshan_gis.analysis.street_graph import graph_from_gpkg
    from baoshan_gis.osm_layers import street_bbox

    graph = graph_from_gpkg(gpkg, "street")
    box = street_bbox(gpkg)
    sets: dict[str, tuple[gpd.GeoDataFrame, Sequence[float]]] = {"carriers": (carriers, radii)}
    if stations is not None:
        sets["stations"] = (stations, [station_radius])
    res = walking_coverage(zones, graph, sets, box=box, speed_kmh=speed_kmh)
    tab = res.table.copy()
    layers: dict[str, tuple[gpd.GeoDataFrame, dict[str, Any], list[str], str, str]] = {}
    for (key, d), reach in res.reach.items():
        label_zh = "科创载体" if key == "carriers" else "地铁站"
        label_en = "a carrier" if key == "carriers" else "a metro station"
        frame = gpd.GeoDataFrame({"facility_set": [key], "distance_m": [d],
                                  "minutes": [round(minutes_for(d, speed_kmh), 2)],
                                  "n_facilities": [res.used[key][0]]},
                                 geometry=[shapely.union_all(reach.geometry.to_numpy())
                                           if len(reach) else shapely.Polygon()],
                                 crs=graph.crs)
        layers[f"analysis_walk_{key}_{d:g}m"] = (
            frame, {"distance_m": d, "speed_kmh": speed_kmh, "graph": "street_edges",
                    "bbox": list(box) if box else None, "edge_buffer_m": 50.0},
            ["street_nodes", "street_edges", key if key == "carriers" else "metro_stations"],
            f"{label_zh}步行 {d:g} 米范围", f"Within {d:g} m' walk of {label_en}")
    box_frame = gpd.GeoDataFrame({"name_zh": ["步行路网覆盖范围"],
                                  "name_en": ["Extent of the street data"]},
                                 geometry=[res.box], crs=graph.crs)
    layers["analysis_street_extent"] = (
        box_frame, {"bbox": list(box) if box else None}, ["street_edges"],
        "步行路网覆盖范围", "Extent of the street data")
    from baoshan_gis.analysis.report_tables import layer_title_zh

    show = pd.DataFrame({"图层<br>Layer": tab["layer"].map(layer_title_zh),
                         "名称<br>Name": tab["name_zh"],
                         "路网数据覆盖（%）<br>street data %": tab["street_share"] * 100,
                         "路网范围面积（km²）<br>street km²": tab["street_km2"]})
    for col in tab.columns:
        if col.startswith("share_"):
            key, dist = col[len("share_"):].rsplit("_", 1)
            d = float(dist[:-1])
            who, zh = ("carrier", "载体") if key == "carriers" else ("station", "地铁站")
            mins = minutes_for(d, speed_kmh)
            show[f"距{zh}步行 {d:g} 米内（%）<br>{who} ≤{d:g} m walk ({mins:.1f} min) %"] = \
                tab[col] * 100
    used = "; ".join(f"{n} of {m} {k}" for k, (n, m) in res.used.items())
    b = box
    md = ["## 2b. 步行覆盖 Walking coverage (street data area only)", "",
          "Share (%) of each zone's part **inside the street data** that lies within the given "
          f"distance walked along the streets (OSM walk graph, reached streets buffered by 50 m; "
          f"minutes at {speed_kmh:g} km/h), at the same distances as the straight-line table. "
          f"`street data %` is how much of the zone the street data covers"
          + (f" (box {b[0]:.4f},{b[1]:.4f} – {b[2]:.4f},{b[3]:.4f})" if b else "")
          + "; zones outside it are not listed. Facilities walked from: "
          f"{used} (the others are more than {MAX_SNAP_M:g} m from the street data). Walking "
          "shares near the edge of the street data are lower bounds: carriers just outside it "
          "cannot be walked from.", "",
          md_table(show) if len(show) else "No zone lies in the street data.", "",
          f"Street data: {_attribution()}.", ""]
    return WalkingReport(result=res, table=tab, layers=layers, markdown=md)


def _attribution() -> str:
    from baoshan_gis.settings import OSM_ATTRIBUTION

    return f"{OSM_ATTRIBUTION} (ODbL 1.0)"
