"""``baoshan-gis osm import`` (an extract file) and ``baoshan-gis fetch-osm`` (a download): the
OpenStreetMap base layers, stations and street graphs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("fetch-osm")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), default=Path("osm"),
              show_default=True, help="Folder for the CSV, GeoJSON and GraphML files.")
@click.option("--gpkg", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Take the district outline from this GeoPackage's 'district' layer "
                   "(default: the embedded outline).")
@click.option("--buffer-m", type=click.FloatRange(min=0), default=1500.0, show_default=True,
              help="Grow the district by this many metres (stations and streets next to it).")
@click.option("--graphs/--no-graphs", default=True, show_default=True,
              help="Also download the walk and drive networks (GraphML).")
@click.option("--into", "into", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the OSM base layers (roads, osm_areas, street_nodes/street_edges, "
                   "drive_nodes/drive_edges) into this GeoPackage, atomically.")
def fetch_osm_cmd(out_dir: Path, gpkg: Path | None, buffer_m: float, graphs: bool,
                  into: Path | None) -> None:
    """Refresh metro stations, track geometry and street graphs from OSM (needs internet).

    \b
    Example:
      baoshan-gis fetch-osm --out-dir osm/ --gpkg plan.gpkg --into plan.gpkg
    """
    from baoshan_gis.osm import refresh_osm

    click.echo("downloading from OpenStreetMap (Overpass API); this can take a few minutes ...",
               err=True)
    result = refresh_osm(out_dir, gpkg=gpkg, buffer_m=buffer_m, graphs=graphs)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.text())
    if into is not None:
        from baoshan_gis.osm_layers import fetch_osm_layers

        click.echo(fetch_osm_layers(into, gpkg=gpkg, buffer_m=buffer_m).text())


@click.group("osm")
def osm_group() -> None:
    """OpenStreetMap extracts: roads, named areas and street graphs into a GeoPackage."""


@osm_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--gpkg", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="GeoPackage to write into (created if missing; other layers are kept).")
@click.option("--network", "networks", multiple=True, type=click.Choice(["walk", "drive"]),
              default=("walk", "drive"), show_default=True, help="Street graphs to build.")
def osm_import_cmd(file: Path, gpkg: Path, networks: tuple[str, ...]) -> None:
    """Import an OSM extract (.osm, .osm.bz2, .osm.gz, .osm.pbf): writes roads, osm_areas,
    street_nodes + street_edges (walk) and drive_nodes + drive_edges, atomically.

    \b
    Example:
      baoshan-gis osm import shu_dachang.osm.pbf --gpkg plan.gpkg
    """
    from baoshan_gis.osm_layers import import_osm

    click.echo(import_osm(file, gpkg, network_types=tuple(networks)).text())


def register(main: click.Group) -> None:
    """Add ``fetch-osm`` and ``osm import`` to the main group."""
    main.add_command(fetch_osm_cmd)
    main.add_command(osm_group)
