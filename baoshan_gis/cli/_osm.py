"""``baoshan-gis fetch-osm``: refresh metro stations/tracks and street graphs from OpenStreetMap."""

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
def fetch_osm_cmd(out_dir: Path, gpkg: Path | None, buffer_m: float, graphs: bool) -> None:
    """Refresh metro stations, track geometry and street graphs from OSM (needs internet)."""
    from baoshan_gis.osm import refresh_osm

    click.echo("downloading from OpenStreetMap (Overpass API); this can take a few minutes ...",
               err=True)
    result = refresh_osm(out_dir, gpkg=gpkg, buffer_m=buffer_m, graphs=graphs)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.text())


def register(main: click.Group) -> None:
    """Add ``fetch-osm`` to the main group."""
    main.add_command(fetch_osm_cmd)
