"""Analyses planners cite: carrier density, coverage, gaps and where to add carriers.

Pure functions on GeoDataFrames (and rasters): they never modify their inputs, reproject layers
in different CRSs to a metric CRS (UTM 51N by default), take distances in metres and return new
(Geo)DataFrames named after the measure. :func:`write_report` runs the default analyses on the
plan GeoPackage.

Where is what:

- ``density.py``: :func:`carrier_density` (any zones), :func:`square_grid` / :func:`grid_density`,
  :func:`h3_grid` / :func:`h3_density`;
- ``kde.py``: :func:`kernel_density` (Gaussian, linear binning + FFT) and :func:`write_cog`;
- ``coverage.py``: :func:`reach_areas`, :func:`coverage`, :func:`euclidean_coverage`,
  :func:`station_coverage`, :func:`zonal_sum` (population);
- ``street_graph.py``: :class:`StreetGraph` (arrays, CSR, KD-tree), :func:`load_graph`
  (GraphML, GeoPackage, networkx), :func:`graph_from_gpkg` (the street graph stored in the
  GeoPackage); ``_dijkstra.pyx``: the compiled search under it;
- ``network.py``: :func:`reachable_nodes`, :func:`network_reach`, :func:`network_coverage` (one
  multi-source Dijkstra for all facilities);
- ``walking.py``: :func:`walking_coverage` (walked shares of the zones inside the street data);
- ``gaps.py``: :func:`coverage_gaps`;
- ``sites.py``: :func:`suggest_sites`, :func:`solve_mclp` (maximal covering location problem);
- ``report.py``: :func:`write_report`; ``report_tables.py``: its tables as pasted (bilingual
  headers, shares in %, 未定位); ``report_docx.py``: the Word copy;
- ``partitioned.py``: density and point coverage on partitioned GeoParquet (Dask).
"""

from __future__ import annotations

from baoshan_gis.analysis._validate import MAX_CELLS, EmptyLayerWarning, parse_distance
from baoshan_gis.analysis.coverage import (
    STATION_RADIUS_M,
    coverage,
    euclidean_coverage,
    reach_areas,
    station_coverage,
    zonal_sum,
)
from baoshan_gis.analysis.density import (
    carrier_density,
    grid_density,
    h3_density,
    h3_grid,
    point_zone_pairs,
    square_grid,
    zone_counts,
)
from baoshan_gis.analysis.gaps import coverage_gaps
from baoshan_gis.analysis.kde import DensitySurface, kernel_density, write_cog
from baoshan_gis.analysis.network import (
    WALK_SPEED_KMH,
    network_coverage,
    network_reach,
    reachable_nodes,
)
from baoshan_gis.analysis.report import ReportResult, write_report
from baoshan_gis.analysis.sites import site_where_areas, solve_mclp, suggest_sites
from baoshan_gis.analysis.street_graph import StreetGraph, graph_from_gpkg, load_graph
from baoshan_gis.analysis.walking import WalkingCoverage, walking_coverage

__all__ = [
    "MAX_CELLS",
    "STATION_RADIUS_M",
    "WALK_SPEED_KMH",
    "DensitySurface",
    "EmptyLayerWarning",
    "ReportResult",
    "StreetGraph",
    "WalkingCoverage",
    "carrier_density",
    "coverage",
    "coverage_gaps",
    "euclidean_coverage",
    "graph_from_gpkg",
    "grid_density",
    "h3_density",
    "h3_grid",
    "kernel_density",
    "load_graph",
    "network_coverage",
    "network_reach",
    "parse_distance",
    "point_zone_pairs",
    "reach_areas",
    "reachable_nodes",
    "site_where_areas",
    "solve_mclp",
    "square_grid",
    "station_coverage",
    "suggest_sites",
    "walking_coverage",
    "write_cog",
    "write_report",
    "zonal_sum",
    "zone_counts",
]
