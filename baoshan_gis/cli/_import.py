"""``baoshan-gis layers import FILE``: add a planner's own data to the GeoPackage."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--gpkg", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The GeoPackage to add the layer to (it must exist; see 'baoshan-gis build').")
@click.option("--name", required=True,
              help="Layer name: lower-case letter first, then a-z, 0-9 or '_'.")
@click.option("--crs", default=None,
              help="CRS of the coordinates when the file has none, e.g. EPSG:4326 or EPSG:4549.")
@click.option("--encoding", default=None,
              help="Text encoding when the file does not declare it, e.g. gbk or utf-8.")
@click.option("--source-crs", type=click.Choice(["gcj02", "bd09"], case_sensitive=False),
              default=None,
              help="Coordinates copied from Amap/高德 (gcj02) or Baidu/百度 (bd09): converted to "
                   "WGS84, originals kept in orig_lon/orig_lat (or orig_wkt).")
@click.option("--lon-col", default=None, help="CSV column with the longitude (or x).")
@click.option("--lat-col", default=None, help="CSV column with the latitude (or y).")
@click.option("--layer", "layer", default=None,
              help="Layer of a multi-layer GeoPackage, or shapefile stem inside a zip.")
@click.option("--replace", is_flag=True, help="Overwrite an existing layer of the same name.")
def import_cmd(file: Path, gpkg: Path, name: str, crs: str | None, encoding: str | None,
               source_crs: str | None, lon_col: str | None, lat_col: str | None,
               layer: str | None, replace: bool) -> None:
    """Import FILE (GeoPackage, GeoJSON, Shapefile or .zip of one, CSV with coordinates).

    The GeoPackage is changed only if the whole import succeeds.
    """
    from baoshan_gis.importer import import_layer

    report = import_layer(
        gpkg, file, name=name, crs=crs, encoding=encoding, source_crs=source_crs,
        lon_col=lon_col, lat_col=lat_col, layer=layer, replace=replace,
    )
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(report.text())


def register(group: click.Group) -> None:
    """Add ``import`` to the ``layers`` group."""
    group.add_command(import_cmd)
