"""``baoshan-gis density | coverage | gaps | sites | report``: the analyses on a GeoPackage.

The commands parse options, read layers and call :mod:`baoshan_gis.analysis`; results are printed
as a table, optionally saved as CSV (``--csv``) and/or written back into the GeoPackage as a
layer (``--write-layer``, atomically, with parameters and inputs recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_GPKG = click.option("--gpkg", required=True, type=click.Path(path_type=Path),
                     help="The plan GeoPackage (from 'baoshan-gis build').")
_CSV = click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
                    help="Also save the table as CSV (UTF-8).")
_WRITE = click.option("--write-layer", "write_layer", default=None,
                      help="Write the result into the GeoPackage as this layer (e.g. "
                           "analysis_coverage_custom); replaces only analysis layers.")
_REPLACE = click.option("--replace", is_flag=True,
                        help="Let --write-layer replace a plan, imported or foreign layer.")
_SCHEDULER = click.option("--scheduler", default=None,
                          help="With --points: Dask scheduler address (tcp://host:8786); "
                               "default a local two-worker cluster.")
_CONNECT_TIMEOUT = click.option("--connect-timeout", "connect_timeout", type=float, default=10.0,
                                show_default=True, help="Seconds to wait for --scheduler.")


def _points(help_text: str) -> Any:
    """``--points FILE_OR_DIR.parquet`` (partitioned GeoParquet), with its help text."""
    return click.option("--points", "points_path", type=click.Path(path_type=Path),
                        default=None, help=help_text)


_POP = click.option("--population", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                    help="Population GeoTIFF (people per cell) for covered people.")


def _read(gpkg: Path, name: str) -> Any:
    from baoshan_gis.gpkg import read_layer

    return read_layer(gpkg, name)


def _show(frame: Any, csv_path: Path | None, columns: list[str] | None = None) -> None:
    import pandas as pd

    plain = pd.DataFrame(frame.drop(columns=[c for c in ("geometry",) if c in frame.columns]))
    if columns:
        plain = plain[[c for c in columns if c in plain.columns]]
    shown = plain.copy()
    for col in shown.columns:
        fmt = _unit_format(str(col))
        if fmt is not None and pd.api.types.is_numeric_dtype(shown[col]):
            shown[col] = [("–" if pd.isna(v) else fmt(float(v))) for v in shown[col]]
    shown = shown.rename(columns={c: _unit_header(str(c)) for c in shown.columns})
    with pd.option_context("display.max_columns", 30, "display.width", 160,
                           "display.float_format", "{:,.3f}".format):
        click.echo(shown.to_string(index=False))
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        plain.to_csv(csv_path, index=False, encoding="utf-8")
        click.echo(f"saved {csv_path}")


def _unit_format(col: str) -> Any:
    """How a column prints, in its unit: shares as %, people and counts whole, km² to 0.001."""
    if col.endswith("share") or col.startswith("share_"):
        return lambda v: f"{v * 100:.2f}"
    if "population" in col or col.startswith("people") or col in ("count", "rank_population"):
        return lambda v: f"{v:,.0f}"
    if col.startswith("rank") or col.startswith("count_") or col == "carriers":
        return lambda v: f"{v:.0f}"
    if col in ("lon", "lat"):
        return lambda v: f"{v:.5f}"
    if col.endswith("km2") or col.startswith("per_km2") or col.endswith("_km2"):
        return lambda v: f"{v:,.3f}"
    if col.endswith("_m2") or col == "marginal_gain" or col.endswith("_m"):
        return lambda v: f"{v:,.0f}"
    return None


def _unit_header(col: str) -> str:
    return f"{col} (%)" if col.endswith("share") or col.startswith("share_") else col


def _save(gpkg: Path, frame: Any, name: str | None, *, title_zh: str, title_en: str,
          parameters: dict[str, Any], inputs: list[str], replace: bool = False) -> None:
    if not name:
        return
    from baoshan_gis.gpkg import write_analysis_layers

    write_analysis_layers(gpkg, {name: (frame, parameters, inputs, title_zh, title_en)},
                          source="baoshan-gis CLI", replace=replace)
    click.echo(f"wrote layer {name!r} into {gpkg}")


def _radius(values: tuple[str, ...]) -> float | dict[str, str]:
    """``--radius 1000`` or ``--radius incubator=1000 --radius lab=2000``."""
    from baoshan_gis._errors import AnalysisError
    from baoshan_gis.analysis import parse_distance

    if not values:
        raise AnalysisError("give --radius in metres, e.g. --radius 1000")
    if any("=" in v for v in values):
        out = {}
        for v in values:
            if "=" not in v:
                raise AnalysisError(f"mix of plain and category=radius values: {v!r}")
            k, r = v.split("=", 1)
            out[k.strip()] = r.strip()
        return out
    if len(values) > 1:
        raise AnalysisError("give one --radius, or one category=radius per category")
    return parse_distance(values[0], "radius")


@click.command("density")
@_GPKG
@click.option("--zones", default="belt_zones", show_default=True,
              help="Zone layer (ignored with --grid/--h3).")
@click.option("--carriers", default="carriers", show_default=True, help="Point layer.")
@click.option("--grid", "grid", default=None, help="Square grid cell size, metres.")
@click.option("--h3", "h3_res", type=int, default=None, help="H3 resolution (0-15).")
@click.option("--area", default="district", show_default=True,
              help="Layer the grid / H3 cells / density surface cover.")
@click.option("--kde", "kde_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a kernel density Cloud-Optimised GeoTIFF here.")
@click.option("--bandwidth", default="1000", show_default=True, help="KDE bandwidth, metres.")
@click.option("--cell", default="50", show_default=True, help="KDE cell size, metres.")
@_points("Count the points of this GeoParquet file or folder of parts instead of --carriers, "
         "on a Dask cluster (beyond memory).")
@_SCHEDULER
@_CONNECT_TIMEOUT
@_CSV
@_WRITE
@_REPLACE
def density_cmd(gpkg: Path, zones: str, carriers: str, grid: str | None, h3_res: int | None,
                area: str, kde_path: Path | None, bandwidth: str, cell: str,
                points_path: Path | None, scheduler: str | None, connect_timeout: float,
                csv_path: Path | None, write_layer: str | None, replace: bool) -> None:
    """Carriers per zone (or grid cell / H3 hexagon): counts and per km², by category."""
    from baoshan_gis._errors import AnalysisError
    from baoshan_gis.analysis import carrier_density, grid_density, h3_density, kernel_density

    params: dict[str, Any]
    if grid is not None and h3_res is not None:
        raise AnalysisError("give --grid or --h3, not both")
    if points_path is not None:
        _density_points(gpkg, points_path, zones, grid, h3_res, area, kde_path, scheduler,
                        connect_timeout, csv_path, write_layer, replace)
        return
    pts = _read(gpkg, carriers)
    if grid is not None:
        res = grid_density(pts, area=_read(gpkg, area), cell_size=grid)
        inputs, params = [area, carriers], {"cell_size": grid}
        res = res[res["count"] > 0] if len(res) > 200 else res
        cols = ["cell_id", "area_km2", "count", "per_km2"]
    elif h3_res is not None:
        res = h3_density(pts, area=_read(gpkg, area), resolution=h3_res)
        inputs, params = [area, carriers], {"h3_resolution": h3_res}
        res = res[res["count"] > 0] if len(res) > 200 else res
        cols = ["h3", "area_km2", "count", "per_km2"]
    else:
        res = carrier_density(_read(gpkg, zones), pts)
        inputs, params = [zones, carriers], {}
        cols = ["name_zh", "area_km2", "count", "per_km2"]
    _show(res, csv_path, cols + [c for c in res.columns if c.startswith("count_")])
    if kde_path is not None:
        surface = kernel_density(pts, bandwidth=bandwidth, cell_size=cell,
                                 area=_read(gpkg, area))
        surface.to_cog(kde_path)
        click.echo(f"saved {kde_path} (peak {float(surface.values[surface.valid()].max()):.3f} "
                   "carriers per km²)")
    _save(gpkg, res, write_layer, title_zh="科创载体密度", title_en="Carrier density",
          parameters=params, inputs=inputs, replace=replace)


def _density_points(gpkg: Path, points_path: Path, zones: str, grid: str | None,
                    h3_res: int | None, area: str, kde_path: Path | None, scheduler: str | None,
                    connect_timeout: float, csv_path: Path | None, write_layer: str | None,
                    replace: bool) -> None:
    """``density --points``: the counts on partitioned GeoParquet through Dask."""
    from baoshan_gis._errors import AnalysisError
    from baoshan_gis.analysis.partitioned import check_points, dask_client, density_partitioned

    if kde_path is not None:
        raise AnalysisError("--kde works on --carriers, not with --points")
    check_points(points_path)  # bad input fails before a cluster starts
    if grid is not None or h3_res is not None:
        cover, inputs = _read(gpkg, area), [area, points_path.name]
        cols = ["cell_id" if grid is not None else "h3", "area_km2", "count", "per_km2"]
    else:
        cover, inputs = _read(gpkg, zones), [zones, points_path.name]
        cols = ["name_zh", "area_km2", "count", "per_km2"]
    with dask_client(scheduler, timeout=connect_timeout) as client:
        res = density_partitioned(points_path, cover, grid=grid, h3=h3_res, client=client)
    if grid is not None or h3_res is not None:
        res = res[res["count"] > 0] if len(res) > 200 else res
    params = {"points": points_path.name, "cell_size": grid, "h3_resolution": h3_res}
    _show(res, csv_path, cols + [c for c in res.columns if c.startswith("count_")])
    _save(gpkg, res, write_layer, title_zh="点密度", title_en="Point density",
          parameters={k: v for k, v in params.items() if v is not None}, inputs=inputs,
          replace=replace)


@click.command("coverage")
@_GPKG
@click.option("--zones", default="belt_zones", show_default=True, help="Zone layer.")
@click.option("--carriers", default="carriers", show_default=True,
              help="Facility layer (e.g. carriers or metro_stations).")
@click.option("--radius", "radius", multiple=True,
              help="Metres, or category=metres (repeatable). Default 800 with --carriers "
                   "metro_stations, else required unless --graph.")
@click.option("--category", "categories", multiple=True, help="Only these carrier categories.")
@click.option("--graph", default=None,
              help="Street graph for network reach: 'street' or 'drive' (stored in --gpkg by "
                   "build or 'osm import'), or a GraphML / GeoPackage-of-edges file.")
@click.option("--minutes", type=float, default=None, help="Network reach in minutes.")
@click.option("--distance", default=None, help="Network reach in metres.")
@click.option("--speed", type=float, default=4.8, show_default=True, help="km/h for --minutes.")
@click.option("--directed", is_flag=True, help="Respect one-way edges (driving).")
@_points("Demand as points: count the points of this GeoParquet file or folder of parts "
         "within --radius of a carrier, per zone, on a Dask cluster.")
@_SCHEDULER
@_CONNECT_TIMEOUT
@_POP
@_CSV
@_WRITE
@_REPLACE
def coverage_cmd(gpkg: Path, zones: str, carriers: str, radius: tuple[str, ...],
                 categories: tuple[str, ...], graph: str | None, minutes: float | None,
                 distance: str | None, speed: float, directed: bool, points_path: Path | None,
                 scheduler: str | None, connect_timeout: float, population: Path | None,
                 csv_path: Path | None, write_layer: str | None, replace: bool) -> None:
    """Covered area, share and (with --population) people per zone; with --points, the
    points (e.g. enterprise registrations) within --radius of a carrier."""
    from baoshan_gis.analysis import coverage, euclidean_coverage, network_reach
    from baoshan_gis.analysis.street_graph import resolve_graph

    z = _read(gpkg, zones)
    pts = _read(gpkg, carriers)
    if categories:
        from baoshan_gis.analysis._validate import check_categories

        pts = pts[pts["category"].astype(str).isin(check_categories(pts, categories))]
    if points_path is not None:
        _coverage_points(gpkg, points_path, z, pts, zones, carriers, radius, graph, population,
                         scheduler, connect_timeout, csv_path, write_layer, replace)
        return
    params: dict[str, Any] = {"population": str(population or "")}
    if graph is not None:
        click.echo("loading street graph ...", err=True)
        g = resolve_graph(graph, gpkg, directed=directed or None)
        click.echo(f"graph: {g.n_nodes:,} nodes, {g.n_edges:,} edges; searching ...", err=True)
        reach = network_reach(g, pts, distance=distance, minutes=minutes, speed_kmh=speed)
        res = coverage(z, reach, population=population)
        params.update({"graph": Path(graph).name, "minutes": minutes, "distance": distance,
                       "speed_kmh": speed})
    else:
        r: Any = _radius(radius) if radius or carriers != "metro_stations" else 800.0
        res = euclidean_coverage(z, pts, radius=r, by="category" if isinstance(r, dict) else None,
                                 population=population)
        params["radius"] = r
    cols = ["name_zh", "area_km2", "covered_km2", "covered_share", "population",
            "covered_population", "covered_population_share"]
    _show(res, csv_path, cols)
    _save(gpkg, res, write_layer, title_zh="覆盖率", title_en="Coverage", parameters=params,
          inputs=[zones, carriers], replace=replace)


def _coverage_points(gpkg: Path, points_path: Path, z: Any, facilities: Any, zones: str,
                     carriers: str, radius: tuple[str, ...], graph: str | None,
                     population: Path | None, scheduler: str | None, connect_timeout: float,
                     csv_path: Path | None, write_layer: str | None, replace: bool) -> None:
    """``coverage --points``: points within a radius of a facility, per zone, through Dask."""
    from baoshan_gis._errors import AnalysisError
    from baoshan_gis.analysis.partitioned import (
        check_points,
        dask_client,
        point_coverage_partitioned,
    )

    if graph is not None or population is not None:
        raise AnalysisError("--points counts points within a straight-line --radius; leave out "
                            "--graph and --population")
    r = _radius(radius)
    if isinstance(r, dict):
        raise AnalysisError("--points takes one --radius in metres (e.g. --radius 1000), not "
                            "category=radius; select carriers with --category")
    check_points(points_path)  # bad input fails before a cluster starts
    with dask_client(scheduler, timeout=connect_timeout) as client:
        res = point_coverage_partitioned(points_path, z, facilities, r, client=client)
    _show(res, csv_path, ["name_zh", "points", "covered_points", "covered_points_share"])
    _save(gpkg, res, write_layer, title_zh="点覆盖率", title_en="Points covered",
          parameters={"points": points_path.name, "radius": r},
          inputs=[zones, carriers, points_path.name], replace=replace)


@click.command("gaps")
@_GPKG
@click.option("--zones", default="innovation_belt", show_default=True, help="Zone layer.")
@click.option("--carriers", default="carriers", show_default=True, help="Facility layer.")
@click.option("--radius", default="1000", show_default=True, help="Carrier reach, metres.")
@click.option("--stations", default="metro_stations", show_default=True,
              help="Station layer also counted as cover ('' for none).")
@click.option("--station-radius", default="800", show_default=True, help="Metres.")
@click.option("--min-area", default=50_000.0, show_default=True, type=float,
              help="Smallest gap kept, m².")
@_POP
@_CSV
@_WRITE
@_REPLACE
def gaps_cmd(gpkg: Path, zones: str, carriers: str, radius: str, stations: str,
             station_radius: str, min_area: float, population: Path | None,
             csv_path: Path | None, write_layer: str | None, replace: bool) -> None:
    """Parts of the zones outside every reach area, largest first."""
    import geopandas as gpd
    import pandas as pd

    from baoshan_gis.analysis import coverage_gaps, reach_areas
    from baoshan_gis.settings import METRIC_CRS

    parts = []
    pts = _read(gpkg, carriers)
    if len(pts):
        parts.append(reach_areas(pts, radius=radius, by=None))
    if stations:
        st = _read(gpkg, stations)
        if len(st):
            parts.append(reach_areas(st, radius=station_radius, by=None))
    reach = (gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=METRIC_CRS) if parts
             else gpd.GeoDataFrame(geometry=[], crs=METRIC_CRS))
    res = coverage_gaps(_read(gpkg, zones), reach, min_area=min_area, population=population)
    table = res.copy()
    where = res.geometry.representative_point().to_crs(4326) if len(res) else None
    table["lon"] = where.x.round(5).to_numpy() if where is not None else []
    table["lat"] = where.y.round(5).to_numpy() if where is not None else []
    _show(table, csv_path, ["rank_area", "zone", "area_km2", "share_of_zone", "population",
                            "rank_population", "lon", "lat"])
    _save(gpkg, res, write_layer, title_zh="覆盖空白区", title_en="Coverage gaps",
          parameters={"radius": radius, "station_radius": station_radius, "min_area_m2": min_area},
          inputs=[zones, carriers] + ([stations] if stations else []), replace=replace)


@click.command("sites")
@_GPKG
@click.option("--zones", default="innovation_belt", show_default=True, help="Zones to serve.")
@click.option("--carriers", default="carriers", show_default=True,
              help="Existing carriers (held fixed).")
@click.option("--radius", default="1000", show_default=True, help="Service radius, metres.")
@click.option("-n", "--n-sites", default=3, show_default=True, type=int, help="Sites to choose.")
@click.option("--candidates", default=None, help="Candidate point layer (default: a grid).")
@click.option("--spacing", default=None,
              help="Candidate grid spacing, metres (default radius/2, as the report).")
@click.option("--method", type=click.Choice(["exact", "greedy"]), default="exact",
              show_default=True, help="exact: optimal MCLP; greedy: ≥ 63% of optimal, faster.")
@_POP
@_CSV
@_WRITE
@_REPLACE
def sites_cmd(gpkg: Path, zones: str, carriers: str, radius: str, n_sites: int,
              candidates: str | None, spacing: str | None, method: str,
              population: Path | None, csv_path: Path | None, write_layer: str | None,
              replace: bool) -> None:
    """Where N new carriers would cover the most still-uncovered area (or people)."""
    from baoshan_gis.analysis import suggest_sites
    from baoshan_gis.analysis.sites import alternatives_sentence

    cand = _read(gpkg, candidates) if candidates else None
    click.echo(f"choosing {n_sites} sites ({method}) ...", err=True)
    res = suggest_sites(_read(gpkg, zones), _read(gpkg, carriers), radius=radius,
                        n_sites=n_sites, candidates=cand, candidate_spacing=spacing,
                        population=population, method=method)  # type: ignore[arg-type]
    out = res.copy()
    out["lon"] = res.to_crs(4326).geometry.x.round(5)
    out["lat"] = res.to_crs(4326).geometry.y.round(5)
    _show(out, csv_path, ["rank", "marginal_gain_km2", "marginal_gain", "cumulative_share",
                          "where_km2", "lon", "lat"])
    click.echo(alternatives_sentence(res.attrs, len(res)))
    click.echo("where_km2: area each site may move in changing the covered total by < 1 %")
    _save(gpkg, res, write_layer, title_zh="建议新增载体选址", title_en="Suggested sites",
          parameters={"radius": radius, "n_sites": n_sites, "method": method,
                      **{k: v for k, v in res.attrs.items()}},
          inputs=[zones, carriers] + ([candidates] if candidates else []), replace=replace)


@click.command("report")
@_GPKG
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.md, CSV/JSON tables and carrier_density.tif.")
@_POP
@click.option("--graph", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Street graph (GraphML or GeoPackage of edges): adds walking coverage.")
@click.option("--minutes", type=float, default=15.0, show_default=True,
              help="Walking time for --graph.")
@click.option("--no-layers", is_flag=True, help="Do not write result layers into the GeoPackage.")
def report_cmd(gpkg: Path, out_dir: Path, population: Path | None, graph: Path | None,
               minutes: float, no_layers: bool) -> None:
    """Run the default analyses on the plan zones and write the planners' report."""
    from baoshan_gis.analysis.report import report_step_count, write_report
    from baoshan_gis.cli._progress import progress_callback

    step, close = progress_callback(report_step_count(graph=graph is not None), "report")
    try:
        result = write_report(gpkg, out_dir, population=population, graph=graph,
                              walk_minutes=minutes, write_layers=not no_layers, progress=step)
    finally:
        close()
    click.echo(result.text())


def register(main: click.Group) -> None:
    """Add ``density``, ``coverage``, ``gaps``, ``sites`` and ``report`` to ``main``."""
    for cmd in (density_cmd, coverage_cmd, gaps_cmd, sites_cmd, report_cmd):
        main.add_command(cmd)
