"""``baoshan-gis build`` and ``baoshan-gis layers list|info`` (``layers import`` is in _import)."""

from __future__ import annotations

from pathlib import Path

import click

from baoshan_gis import gpkg as _gpkg


def _fmt_bounds(b: tuple[float, float, float, float] | None) -> str:
    return "-" if b is None else f"{b[0]:.4f},{b[1]:.4f},{b[2]:.4f},{b[3]:.4f}"


@click.command("build")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path of the GeoPackage to write (replaced atomically).",
)
@click.option(
    "--roads",
    "roads",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Roads file (GeoJSON, GeoPackage, Shapefile or OSM extract, with a 'name' field) added "
    "to the embedded roads: zones the plan defines by a road in it are drawn from that road.",
)
def build_cmd(out: Path, roads: Path | None) -> None:
    """Build the plan's GeoPackage from the layer catalogue, offline.

    \b
    Example:
      baoshan-gis build --out plan.gpkg --roads yunchuan_road.geojson
    """
    from baoshan_gis.build import build_geopackage
    from baoshan_gis.catalogue import load_catalogue
    from baoshan_gis.cli._progress import progress_callback

    step, close = progress_callback(len(load_catalogue()), "build")
    try:
        summary = build_geopackage(out, progress=step, roads=roads)
    finally:
        close()
    click.echo(summary.text())


@click.group("layers")
def layers_group() -> None:
    """List, describe and import layers of a GeoPackage."""


@layers_group.command("list")
@click.option("--gpkg", required=True, type=click.Path(path_type=Path), help="GeoPackage path.")
def layers_list(gpkg: Path) -> None:
    """One line per layer: name, kind, geometry, feature count, bounds, title."""
    infos = _gpkg.list_layers(gpkg)
    width = max(len(i.name) for i in infos) if infos else 10
    click.echo(
        f"{'layer':<{width}}  {'kind':<8} {'geometry':<15} {'count':>6}  "
        f"{'bounds (lon/lat)':<39}  title"
    )
    for i in infos:
        click.echo(
            f"{i.name:<{width}}  {i.kind:<8} {i.geometry_type or 'table':<15} "
            f"{i.count:>6}  {_fmt_bounds(i.bounds):<39}  {i.title_zh} {i.title_en}".rstrip()
        )


@layers_group.command("info")
@click.argument("name")
@click.option("--gpkg", required=True, type=click.Path(path_type=Path), help="GeoPackage path.")
def layers_info(name: str, gpkg: Path) -> None:
    """Everything known about one layer: definition, provenance, count and bounds."""
    i = _gpkg.layer_info(gpkg, name)
    rows = [
        ("name", i.name),
        ("title", f"{i.title_zh} {i.title_en}".strip()),
        ("kind", i.kind),
        ("geometry", i.geometry_type or "table (no geometry)"),
        ("count", str(i.count)),
        ("bounds", _fmt_bounds(i.bounds)),
        ("plan section", i.plan_ref),
        ("source", i.source),
        ("licence", i.licence),
        ("attribution", i.attribution),
        ("description", i.description),
    ]
    if i.parameters:
        rows.append(("parameters", ", ".join(f"{k}={v}" for k, v in i.parameters.items())))
    if i.inputs:
        rows.append(("inputs", ", ".join(i.inputs)))
    try:
        from baoshan_gis.catalogue import get_layer_def

        ldef = get_layer_def(name)
        rows.append(("fields", ", ".join(f.name for f in ldef.fields) or "(truth fields only)"))
    except KeyError:
        pass
    for k, v in rows:
        click.echo(f"{k:>13}: {v}")


@click.command("refresh-defaults")
@click.option("--shared-data", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder holding district/ and metro-osm/ (default: ../shared/data).")
def refresh_defaults_cmd(shared_data: Path | None) -> None:
    """Regenerate layers/data/ (stations, district outline) from the reference data."""
    from baoshan_gis.sources.defaults import refresh_defaults

    for path in refresh_defaults(shared_data):
        click.echo(f"wrote {path}")


def register(main: click.Group) -> None:
    """Add ``build``, ``layers`` and ``refresh-defaults`` to the main group."""
    main.add_command(build_cmd)
    main.add_command(layers_group)
    main.add_command(refresh_defaults_cmd)
