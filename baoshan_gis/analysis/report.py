"""The planners' report: default analyses on the plan GeoPackage, as Markdown, CSV, JSON, a COG and
GeoPackage layers.

:func:`write_report` reads the plan zones (``innovation_belt``, ``belt_zones``,
``wusong_structure``, ``zhangjiang_park``, ``future_clusters``, ``district``), the ``carriers`` and
the ``metro_stations``, and writes into ``out_dir``:

- ``report.md``: tables to paste (density per zone, coverage shares at 500/1000/2000 m of a
  carrier and 800 m of a station, the largest gaps, suggested sites) and an honest note on how
  approximately the carriers are placed and which carriers the layer holds;
- ``density.csv|json``, ``coverage.csv|json``, ``gaps.csv|json``, ``sites.csv|json``,
  ``carriers_accuracy.csv|json``;
- ``carrier_density.tif``: the kernel density surface (Cloud-Optimised GeoTIFF, UTM 51N).

and into the GeoPackage, atomically, the result layers (``analysis_density_zones``,
``analysis_density_grid``, ``analysis_coverage_<r>m``, ``analysis_station_coverage_<r>m``,
``analysis_gaps``, ``analysis_sites``) with their parameters and input layers, plus a
``carrier_density`` raster entry pointing at the COG.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis import gpkg as _gpkg
from baoshan_gis._errors import AnalysisError
from baoshan_gis.analysis.coverage import euclidean_coverage, reach_areas, station_coverage
from baoshan_gis.analysis.density import carrier_density, grid_density
from baoshan_gis.analysis.gaps import coverage_gaps
from baoshan_gis.analysis.incubators import incubator_section
from baoshan_gis.analysis.kde import kernel_density, write_cog
from baoshan_gis.analysis.report_tables import (
    PASTE_HEADERS,
    fmt_cell,
    mark_unlocated,
    md_paste,
    md_table,
    paste_table,
    show_unlocated,
)
from baoshan_gis.analysis.sites import alternatives_sentence, site_where_areas, suggest_sites
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION

#: Zone layers analysed, in report order.
ZONE_LAYERS: tuple[str, ...] = (
    "innovation_belt", "belt_zones", "wusong_structure", "zhangjiang_park", "future_clusters",
    "district",
)
#: Carrier radii reported, metres.
DEFAULT_RADII: tuple[float, ...] = (500.0, 1000.0, 2000.0)

CATEGORY_LABELS: dict[str, str] = {
    "incubator": "孵化器 incubator",
    "university_science_park": "大学科技园 university science park",
    "concept_verification_centre": "概念验证中心 concept-verification centre",
    "lab": "实验室 lab",
    "rnd_institution": "新型研发机构 R&D institution",
    "industrial_park": "产业园区 industrial park",
    "innovation_platform": "创新载体 innovation platform",
}


@dataclass
class ReportResult:
    """What :func:`write_report` wrote."""

    out_dir: Path
    report: Path
    files: list[Path]
    layers: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def text(self) -> str:
        """Summary for the terminal."""
        lines = [f"Report written to {self.report}", "Files:"]
        lines += [f"  {p.name}" for p in self.files]
        rasters = [n for n in self.layers if n == "carrier_density"]
        lines.append("GeoPackage layers: " + ", ".join(n for n in self.layers if n not in rasters))
        if rasters:
            lines.append("Rasters (files beside the GeoPackage, registered in it): "
                         + ", ".join(f"{n} ({n}.tif)" for n in rasters))
        return "\n".join(lines)


def report_step_count(radii: Sequence[float] = DEFAULT_RADII, *, graph: bool = False) -> int:
    """Number of ``progress`` calls :func:`write_report` makes (for progress bars)."""
    return 10 + len(radii) + (1 if graph else 0)


#: Area of the district outline and the official land area (km²), for the report's caveat.
OFFICIAL_LAND_AREA_KM2: float = 271.0


def _zones(gpkg: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    names = set(_gpkg.layer_names(gpkg))
    frames = []
    used = []
    for layer in ZONE_LAYERS:
        if layer not in names:
            continue
        f = _gpkg.read_layer(gpkg, layer, with_unplaced=True)
        keep = [c for c in ("name_zh", "name_en", "geometry_quality", "accuracy_m") if c in f]
        f = f[[*keep, "geometry"]].copy()
        f.insert(0, "layer", layer)
        frames.append(f)
        used.append(layer)
    if not frames:
        raise AnalysisError(
            f"{gpkg.name!r} has none of the zone layers {', '.join(ZONE_LAYERS)}; build it with "
            "'baoshan-gis build'"
        )
    zones = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                             crs=frames[0].crs)
    return zones, used


def _write_table(df: pd.DataFrame, out_dir: Path, stem: str, files: list[Path]) -> None:
    plain = pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns]))
    csv = out_dir / f"{stem}.csv"
    plain.to_csv(csv, index=False, encoding="utf-8")
    js = out_dir / f"{stem}.json"
    records = json.loads(plain.to_json(orient="records", force_ascii=False))
    js.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    files += [csv, js]


def write_report(
    gpkg: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    radii: Sequence[float] = DEFAULT_RADII,
    station_radius: float = 800.0,
    kde_bandwidth: float = 1000.0,
    kde_cell: float = 50.0,
    grid_cell: float = 1000.0,
    gap_zone_layer: str = "innovation_belt",
    gap_radius: float = 1000.0,
    gap_min_area: float = 50_000.0,
    n_sites: int = 3,
    site_radius: float = 1000.0,
    site_spacing: float | None = None,
    population: str | os.PathLike[str] | None = None,
    graph: Any = None,
    walk_minutes: float = 15.0,
    walk_speed_kmh: float = 4.8,
    write_layers: bool = True,
    progress: Callable[[str], None] | None = None,
) -> ReportResult:
    """Run the default analyses on the plan GeoPackage and write the report.

    Parameters
    ----------
    gpkg
        The plan GeoPackage (from ``baoshan-gis build``); result layers are added to it
        atomically unless ``write_layers`` is False.
    out_dir
        Folder for ``report.md``, the CSV/JSON tables and ``carrier_density.tif``.
    radii
        Straight-line reach of a carrier, metres (one coverage table column per radius).
    station_radius
        Metro station catchment, metres.
    kde_bandwidth, kde_cell
        Gaussian bandwidth and cell size of the density surface, metres.
    grid_cell
        Cell size of the density grid layer, metres.
    gap_zone_layer, gap_radius, gap_min_area
        Gaps are the parts of this layer's zones farther than ``gap_radius`` from every carrier
        and farther than ``station_radius`` from every station, at least ``gap_min_area`` m².
    n_sites, site_radius, site_spacing
        Suggested new carrier sites (exact maximal covering, existing carriers fixed) among the
        centres of a ``site_spacing`` grid (default ``site_radius / 2``, as ``baoshan-gis
        sites``); demand on a ``site_radius / 5`` grid.
    population
        Optional population GeoTIFF: adds covered people.
    graph, walk_minutes, walk_speed_kmh
        Optional street graph (GraphML / GeoPackage of edges / networkx graph, see
        :func:`baoshan_gis.analysis.load_graph`): adds the share of each zone within
        ``walk_minutes`` of a carrier along the streets.
    progress
        Called with a label at each step (:func:`report_step_count` calls in all).
    """
    gpkg = Path(gpkg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = progress or (lambda _label: None)
    files: list[Path] = []
    layers_out: dict[str, tuple[gpd.GeoDataFrame, dict[str, Any], list[str], str, str]] = {}

    step("read layers")
    zones, zone_layers = _zones(gpkg)
    _gpkg.require_layer(gpkg, "carriers")
    carriers = _gpkg.read_layer(gpkg, "carriers")
    names = set(_gpkg.layer_names(gpkg))
    stations = _gpkg.read_layer(gpkg, "metro_stations") if "metro_stations" in names else None
    district = (_gpkg.read_layer(gpkg, "district") if "district" in names
                else zones.dissolve())
    located = ~(zones.geometry.isna() | zones.geometry.is_empty)

    step("density per zone")
    cats = list(CATEGORY_LABELS)
    extra = sorted(set(carriers.get("category", pd.Series(dtype=str)).dropna()) - set(cats))
    dens = carrier_density(zones, carriers, by="category", categories=cats + extra)
    dens_tab = pd.DataFrame({
        "layer": dens["layer"], "name_zh": dens["name_zh"], "name_en": dens["name_en"],
        "area_km2": dens["area_km2"].round(3), "carriers": dens["count"],
        "per_km2": dens["per_km2"].round(3),
    })
    for c in cats + extra:
        dens_tab[c] = dens[f"count_{c}"]
    dens_tab.loc[~located.to_numpy(), "area_km2"] = np.nan
    layers_out["analysis_density_zones"] = (
        dens, {"by": "category"}, [*zone_layers, "carriers"],
        "科创载体密度（分区）", "Carrier density per zone")
    grid = grid_density(carriers, area=district, cell_size=grid_cell, by="category",
                        categories=cats + extra)
    layers_out["analysis_density_grid"] = (
        grid, {"cell_size_m": grid_cell, "crs": METRIC_CRS}, ["district", "carriers"],
        f"科创载体密度（{grid_cell:g} 米网格）", f"Carrier density, {grid_cell:g} m grid")

    step("kernel density surface")
    surface = kernel_density(carriers, bandwidth=kde_bandwidth, cell_size=kde_cell,
                             area=district)
    cog = write_cog(surface, out / "carrier_density.tif")
    files.append(cog)

    cov_tab = pd.DataFrame({"layer": zones["layer"], "name_zh": zones["name_zh"],
                            "name_en": zones["name_en"],
                            "area_km2": np.nan_to_num(zones.to_crs(METRIC_CRS).area) / 1e6})
    cov_tab["area_km2"] = cov_tab["area_km2"].round(3)
    for r in radii:
        step(f"coverage {r:g} m")
        cov = euclidean_coverage(zones, carriers, radius=r, by="category", population=population)
        cov_tab[f"share_{r:g}m"] = cov["covered_share"]
        cov_tab[f"covered_km2_{r:g}m"] = cov["covered_km2"].round(3)
        if population is not None:
            cov_tab[f"people_{r:g}m"] = cov["covered_population"].round(0)
        layers_out[f"analysis_coverage_{r:g}m"] = (
            cov, {"radius_m": r, "carriers": "all categories",
                  "population": str(population or "")},
            [*zone_layers, "carriers"], f"科创载体 {r:g} 米覆盖",
            f"Coverage within {r:g} m of a carrier")
    step(f"station coverage {station_radius:g} m")
    if stations is not None:
        scov = station_coverage(zones, stations, radius=station_radius, population=population)
        cov_tab[f"share_station_{station_radius:g}m"] = scov["covered_share"]
        cov_tab[f"covered_km2_station_{station_radius:g}m"] = scov["covered_km2"].round(3)
        if population is not None:
            cov_tab[f"people_station_{station_radius:g}m"] = scov["covered_population"].round(0)
        layers_out[f"analysis_station_coverage_{station_radius:g}m"] = (
            scov, {"radius_m": station_radius, "population": str(population or "")},
            [*zone_layers, "metro_stations"], f"地铁站 {station_radius:g} 米覆盖",
            f"Coverage within {station_radius:g} m of a metro station")
    if graph is not None:
        from baoshan_gis.analysis.coverage import coverage
        from baoshan_gis.analysis.network import network_reach
        from baoshan_gis.analysis.street_graph import load_graph

        step(f"network reach {walk_minutes:g} min")
        g = load_graph(graph)
        key = f"walk_{walk_minutes:g}min"
        if len(carriers):
            reach = network_reach(g, carriers, minutes=walk_minutes, speed_kmh=walk_speed_kmh)
        else:
            reach = gpd.GeoDataFrame(geometry=[], crs=METRIC_CRS)
        ncov = coverage(zones, reach, population=population)
        cov_tab[f"share_{key}"] = ncov["covered_share"]
        cov_tab[f"covered_km2_{key}"] = ncov["covered_km2"].round(3)
        if population is not None:
            cov_tab[f"people_{key}"] = ncov["covered_population"].round(0)
        layers_out[f"analysis_network_coverage_{walk_minutes:g}min"] = (
            ncov, {"minutes": walk_minutes, "speed_kmh": walk_speed_kmh,
                   "graph": str(graph) if isinstance(graph, str | os.PathLike) else "in memory",
                   "graph_nodes": g.n_nodes, "graph_edges": g.n_edges},
            [*zone_layers, "carriers"], f"科创载体步行 {walk_minutes:g} 分钟覆盖",
            f"Within {walk_minutes:g} minutes' walk of a carrier")
    cov_tab.loc[~located.to_numpy(), "area_km2"] = np.nan
    walk = None
    step("walking coverage (street data)")
    if {"street_nodes", "street_edges"} <= names:
        from baoshan_gis.analysis.walking import walking_report

        walk = walking_report(gpkg, zones[located], carriers, stations, radii=radii,
                              station_radius=station_radius, speed_kmh=walk_speed_kmh,
                              md_table=md_table)
        layers_out.update(walk.layers)

    step("gaps")
    gap_zones = zones[(zones["layer"] == gap_zone_layer) & located]
    if gap_zones.empty:
        gap_zones = zones[(zones["layer"] == "district") & located]
        gap_zone_layer = "district"
    reach_parts = [reach_areas(carriers, radius=gap_radius, by=None)] if len(carriers) else []
    if stations is not None and len(stations):
        reach_parts.append(reach_areas(stations, radius=station_radius, by=None))
    reach = (gpd.GeoDataFrame(pd.concat(reach_parts, ignore_index=True), crs=METRIC_CRS)
             if reach_parts else gpd.GeoDataFrame(geometry=[], crs=METRIC_CRS))
    # the reach areas themselves, so maps can show what is covered (not only the zones)
    for part, who, r, zh, en in zip(
            reach_parts, ("carriers", "stations"), (gap_radius, station_radius),
            ("科创载体", "地铁站"), ("a carrier", "a metro station"), strict=False):
        layers_out[f"analysis_reach_{who}_{r:g}m"] = (
            part.drop(columns=[c for c in ("category",) if c in part.columns]),
            {"radius_m": r}, ["carriers" if who == "carriers" else "metro_stations"],
            f"{zh} {r:g} 米范围", f"Within {r:g} m of {en} (straight line)")
    gaps = coverage_gaps(gap_zones, reach, min_area=gap_min_area, population=population)
    gaps_tab = pd.DataFrame(gaps.drop(columns="geometry"))
    cent = gaps.geometry.representative_point().to_crs(4326) if len(gaps) else None
    gaps_tab["lon"] = cent.x.round(5).to_numpy() if cent is not None else []
    gaps_tab["lat"] = cent.y.round(5).to_numpy() if cent is not None else []
    gaps_tab = gaps_tab.drop(columns=["zone_index"])
    layers_out["analysis_gaps"] = (
        gaps, {"zone_layer": gap_zone_layer, "carrier_radius_m": gap_radius,
               "station_radius_m": station_radius, "min_area_m2": gap_min_area},
        [gap_zone_layer, "carriers", "metro_stations"], "覆盖空白区", "Coverage gaps")

    step("suggested sites")
    site_zones = gap_zones
    sites = suggest_sites(site_zones, carriers, radius=site_radius, n_sites=n_sites,
                          candidate_spacing=site_spacing, population=population, method="exact",
                          at_most=True)  # fewer (or none) where the carriers leave less to cover
    sites_tab = pd.DataFrame(sites.drop(columns=["geometry", "where_wkt"]))
    sites_tab["where_km2"] = sites_tab["where_km2"].round(3)
    sites_tab["lon"] = sites.geometry.x.round(5).to_numpy()
    sites_tab["lat"] = sites.geometry.y.round(5).to_numpy()
    if "marginal_gain_km2" in sites_tab:
        sites_tab["marginal_gain_km2"] = sites_tab["marginal_gain_km2"].round(3)
    sites_tab["cumulative_share"] = sites_tab["cumulative_share"].round(4)
    layers_out["analysis_sites"] = (
        sites, {"radius_m": site_radius, "n_sites": n_sites, "method": "exact (MCLP, HiGHS)",
                "candidate_spacing_m": site_spacing,
                "zone_layer": gap_zone_layer, **{k: v for k, v in sites.attrs.items()}},
        [gap_zone_layer, "carriers"], "建议新增载体选址", "Suggested new carrier sites")
    layers_out["analysis_sites_where"] = (
        site_where_areas(sites), {"radius_m": site_radius, "tolerance": "1 % of covered total"},
        [gap_zone_layer, "carriers"], "建议选址范围（移动改变覆盖 < 1%）",
        "Where each suggested site may move (covered total changes < 1 %)")

    step("carrier accuracy")
    acc = _accuracy_table(carriers)

    step("write files")
    for tab in (dens_tab, cov_tab):
        mark_unlocated(tab, ~located.to_numpy())
    tables = {"density": dens_tab, "coverage": cov_tab, "gaps": gaps_tab, "sites": sites_tab,
              "carriers_accuracy": acc}
    if walk is not None:
        tables["walking"] = walk.table
    for stem, tab in tables.items():
        _write_table(tab, out, stem, files)
    md = _markdown(gpkg=gpkg, dens_tab=dens_tab, cov_tab=cov_tab, gaps_tab=gaps_tab,
                   sites=sites, sites_tab=sites_tab, acc=acc, carriers=carriers,
                   radii=radii, station_radius=station_radius, kde_bandwidth=kde_bandwidth,
                   kde_cell=kde_cell, gap_zone_layer=gap_zone_layer, gap_radius=gap_radius,
                   gap_min_area=gap_min_area, site_radius=site_radius, surface=surface,
                   has_stations=stations is not None, population=population,
                   unlocated=zones.loc[~located.to_numpy(), "name_zh"].tolist(),
                   walking=(walk.markdown if walk is not None else [])
                   + incubator_section(gpkg, zones[located]))
    report = out / "report.md"
    report.write_text(md, encoding="utf-8")
    from baoshan_gis.analysis.report_docx import write_docx

    files.insert(0, write_docx(report))
    files.insert(0, report)

    step("write GeoPackage")
    written: list[str] = []
    if write_layers:
        served = cog.resolve()
        if not served.is_relative_to(gpkg.resolve().parent):
            # the service follows raster paths only inside the GeoPackage's folder: a copy
            # of the COG goes beside the GeoPackage
            served = gpkg.resolve().parent / f"{gpkg.stem}_carrier_density.tif"
            with _gpkg.atomic_path(served, copy_existing=False) as tmp_cog:
                shutil.copyfile(cog, tmp_cog)
            files.append(served)
        rel = os.path.relpath(served, gpkg.resolve().parent)
        raster = {"title_zh": "科创载体核密度", "title_en": "Carrier kernel density",
                  "parameters": {"path": rel, "bandwidth_m": kde_bandwidth,
                                 "cell_size_m": kde_cell, "units": surface.units,
                                 "crs": METRIC_CRS, "nodata": surface.nodata,
                                 "kernel": "gaussian"},
                  "inputs": ["carriers", "district"]}
        with_attribution = {
            name: (frame, params, inputs, title_zh, title_en,
                   OSM_ATTRIBUTION if any(i.startswith(("street_", "drive_")) for i in inputs)
                   else "")
            for name, (frame, params, inputs, title_zh, title_en) in layers_out.items()}
        written = _gpkg.write_analysis_layers(gpkg, with_attribution, source="baoshan-gis report",
                                              rasters={"carrier_density": raster})
    return ReportResult(out_dir=out, report=report, files=files, layers=written, tables=tables)


def _accuracy_table(carriers: gpd.GeoDataFrame) -> pd.DataFrame:
    rows = []
    cats = list(CATEGORY_LABELS) + sorted(
        set(carriers.get("category", pd.Series(dtype=str)).dropna()) - set(CATEGORY_LABELS))
    for cat in cats:
        sel = carriers[carriers["category"] == cat] if len(carriers) else carriers
        acc = pd.to_numeric(sel.get("accuracy_m", pd.Series(dtype=float)), errors="coerce")
        q = sel.get("geometry_quality", pd.Series(dtype=str))
        rows.append({
            "category": cat, "label": CATEGORY_LABELS.get(cat, cat), "carriers": len(sel),
            "surveyed": int((q == "surveyed").sum()),
            "approximate": int((q == "approximate").sum()),
            "schematic": int((q == "schematic").sum()),
            "median_accuracy_m": float(acc.median()) if len(acc.dropna()) else np.nan,
            "max_accuracy_m": float(acc.max()) if len(acc.dropna()) else np.nan,
        })
    return pd.DataFrame(rows)


def site_shortfall_sentence(found: int, asked: int, zone_layer: str, radius: float) -> str:
    """Why fewer sites than asked for are suggested (the report's Markdown and Word say this)."""
    if found == 0:
        return (f"无需新增选址：现有载体已覆盖 `{zone_layer}` 内 {radius:g} 米范围的全部需求。"
                f" No site is suggested: the carriers already reach all of `{zone_layer}` within "
                f"{radius:g} m, so no candidate would add cover ({asked} asked for).")
    return (f"仅 {found} 个候选选址能增加覆盖（要求 {asked} 个）。"
            f" Only {found} candidate site{'s' if found > 1 else ''} would add cover (the "
            f"carriers reach the rest of `{zone_layer}` within {radius:g} m): {found} suggested, "
            f"not {asked}.")


def _markdown(*, gpkg: Path, dens_tab: pd.DataFrame, cov_tab: pd.DataFrame,
              gaps_tab: pd.DataFrame, sites: gpd.GeoDataFrame, sites_tab: pd.DataFrame,
              acc: pd.DataFrame, carriers: gpd.GeoDataFrame, radii: Sequence[float],
              station_radius: float, kde_bandwidth: float, kde_cell: float,
              gap_zone_layer: str, gap_radius: float, gap_min_area: float, site_radius: float,
              surface: Any, has_stations: bool, population: Any, unlocated: list[str],
              walking: list[str]) -> str:
    n = len(carriers)
    acc_all = pd.to_numeric(carriers.get("accuracy_m", pd.Series(dtype=float)), errors="coerce")
    q = carriers.get("geometry_quality", pd.Series(dtype=str))
    n_approx = int((q != "surveyed").sum())
    big = int((acc_all >= 1000).sum())
    lines = [
        "# 宝山区科创载体覆盖分析 Baoshan innovation-carrier coverage report",
        "",
        f"Generated {date.today().isoformat()} by baoshan-gis from `{gpkg.name}`. Distances are "
        f"straight-line metres measured in {METRIC_CRS} (UTM 51N) unless stated.",
        "",
        "## 数据说明 Read this first",
        "",
        "- **载体图层只包含规划文本点名且可定位的载体 The carrier layer holds only the "
        f"{n} carriers the plan names and that could be placed**: it is not a full inventory. "
        "The plan's 36 "
        "municipal-or-higher incubators (9 national), most of its 11 concept-verification centres "
        "and other carriers are missing until planners import them "
        "(`baoshan-gis layers import`). Every count, density and share below is therefore a "
        "lower bound for the real carrier landscape.",
        f"- **位置多为近似 Most positions are approximate**: {n_approx} of {n} carriers are not "
        f"surveyed; {big} have an accuracy radius (`accuracy_m`) of 1 km or more (median "
        f"{fmt_cell(float(acc_all.median()) if n else float('nan'), 0)} m, largest "
        f"{fmt_cell(float(acc_all.max()) if n else float('nan'), 0)} m). Many sit at the "
        "representative point of the plan area they belong to, so coverage at 500 m says little "
        "about them; read the 1000 m and 2000 m columns with the accuracy in mind.",
        "- **分区多为示意 Zones are schematic**: the plan zones are drawn from the plan's text, "
        "not from surveyed boundaries; areas and shares are indicative.",
    ]
    district_rows = cov_tab[cov_tab["layer"] == "district"]
    if len(district_rows) and pd.notna(district_rows["area_km2"].iloc[0]):
        outline = float(district_rows["area_km2"].iloc[0])
        lines.append(
            f"- **区域面积 District area**: the district outline measures {outline:,.1f} km² "
            f"in {METRIC_CRS}; it includes foreshore and water, so it is larger than the "
            f"official land area of about {OFFICIAL_LAND_AREA_KM2:,.0f} km². Shares of the "
            "district are shares of the outline.")
    n_inc = int((carriers.get("category", pd.Series(dtype=str)) == "incubator").sum())
    if n_inc == 0:
        lines.append("- **没有孵化器 No incubators are in the layer**: the plan names none that "
                     "could be placed, so 'within reach of an incubator' cannot be measured "
                     "yet; the coverage below is by all carriers in the layer.")
    if unlocated:
        lines.append("- 未定位 Not located (no geometry yet, so not measured; shown as 未定位 "
                     "in the tables, never as 0): " + ", ".join(unlocated) + ".")
    lines += ["", "### 载体定位精度 Carriers and their accuracy", "",
              md_paste(acc.drop(columns=["category"]), digits={"median_accuracy_m": 0,
                                                               "max_accuracy_m": 0}), ""]
    dshow = show_unlocated(paste_table(dens_tab[["layer", "name_zh", "area_km2", "carriers",
                                                  "per_km2"]]))
    peak = float(surface.values[surface.valid()].max()) if surface.valid().any() else 0.0
    lines += ["## 1. 载体密度 Carrier density per zone", "",
              "Carriers (of those in the layer) whose point lies in the zone; overlapping zones "
              "count the same carrier more than once.", "",
              md_table(dshow, digits={PASTE_HEADERS["per_km2"]: 3}), "",
              f"Kernel density surface: `carrier_density.tif` (Gaussian, bandwidth "
              f"{kde_bandwidth:g} m, {kde_cell:g} m cells, carriers per km², nodata outside the "
              f"district; peak {peak:.3f} per km²).", ""]
    share_cols = [c for c in cov_tab.columns if c.startswith("share_")]
    cshow = show_unlocated(paste_table(cov_tab[["layer", "name_zh", "area_km2", *share_cols]]))
    lines += ["## 2. 覆盖率 Coverage", "",
              "Share of each zone's area (%) within the given straight-line distance of any "
              "carrier in the layer" + (f", and within {station_radius:g} m of a metro station"
                                         if has_stations else "") + "."
              + (" `walk_…min`: within that many minutes' walk of a carrier along the street "
                 "graph given (reached streets buffered by 50 m)."
                 if any(c.startswith("share_walk_") for c in share_cols) else ""), "",
              md_table(cshow), ""]
    if population is not None:
        lines += ["Covered people (from the population raster given) are in `coverage.csv`.", ""]
    lines += walking
    lines += [f"## 3. 覆盖空白 Largest gaps in `{gap_zone_layer}`", "",
              f"Parts of the zone farther than {gap_radius:g} m from every carrier and "
              f"{station_radius:g} m from every metro station, at least "
              f"{gap_min_area / 1e4:g} ha, largest first (representative point in WGS84).", ""]
    if len(gaps_tab):
        gcols = [c for c in ("rank_area", "zone", "area_km2", "share_of_zone", "population",
                             "lon", "lat") if c in gaps_tab.columns]
        lines += [md_paste(gaps_tab[gcols].head(10), digits={"area_km2": 2, "share_of_zone": 2,
                                                             "lon": 5, "lat": 5}), ""]
    else:
        lines += ["No gaps of that size.", ""]
    units = sites.attrs.get("demand_units", "m²")
    asked = int(sites.attrs.get("n_sites_asked", len(sites)))
    how_many = (f"{len(sites_tab)}" if len(sites) == asked
                else f"Up to {asked} (here {len(sites_tab)})")
    lines += ["## 4. 建议新增载体选址 Suggested sites for new carriers", "",
              f"{how_many} sites inside `{gap_zone_layer}` that together cover the most "
              f"area ({units}) not yet within {site_radius:g} m of a carrier in the layer, with "
              "the existing carriers held fixed (maximal covering location problem, solved "
              f"exactly among candidates on a {sites.attrs.get('n_candidates', 0)}-point grid; "
              f"chosen on {sites.attrs.get('demand_cell_m', 0):g} m demand cells; gains measured "
              "on the exact circles the coverage uses, so never more than π r²). Marginal gain = "
              "newly covered demand given the sites ranked above. `where_km2`: the area within "
              "which the site may move, the others fixed, changing the covered total by less "
              "than 1 % (layer `analysis_sites_where`; read the sites as these areas, not pins). "
              "Because the layer lacks most incubators, these show where the *named* carriers "
              "leave space, not where no incubator exists.", ""]
    if len(sites) < asked:
        lines += [site_shortfall_sentence(len(sites), asked, gap_zone_layer, site_radius), ""]
    scols = [c for c in ("rank", "marginal_gain_km2", "marginal_gain", "cumulative_share",
                         "where_km2", "lon", "lat") if c in sites_tab.columns]
    if "marginal_gain_km2" in scols:
        scols.remove("marginal_gain")
    if len(sites):
        lines += [md_paste(sites_tab[scols], digits={"marginal_gain_km2": 3, "marginal_gain": 0,
                                                     "cumulative_share": 2, "lon": 5, "lat": 5}),
                  "", alternatives_sentence(sites.attrs, len(sites)), ""]
    lines += ["## 文件 Files", "",
              "`density.csv/json`, `coverage.csv/json`, `gaps.csv/json`, `sites.csv/json`, "
              "`carriers_accuracy.csv/json`, `carrier_density.tif`; the same results are layers "
              "`analysis_*` in the GeoPackage, with their parameters.", "",
              f"Metro stations: {OSM_ATTRIBUTION} (ODbL). District outline: cnmaps.", ""]
    return "\n".join(lines)


__all__ = ["DEFAULT_RADII", "ZONE_LAYERS", "ReportResult", "md_table", "report_step_count",
           "write_report"]
