"""``baoshan-gis map``: list the map definitions and render one as PNG, PDF, SVG or HTML."""

from __future__ import annotations

from pathlib import Path

import click


class _MapGroup(click.Group):
    """``map list`` is a subcommand; ``map NAME ...`` renders the map called NAME."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple:  # type: ignore[type-arg]
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "render", self.commands["render"], args
        return super().resolve_command(ctx, args)


@click.group("map", cls=_MapGroup)
def map_group() -> None:
    """Plan maps: 'map list', or 'map NAME --gpkg PATH --format png|pdf|svg|html --out FILE'."""


@map_group.command("list")
def list_cmd() -> None:
    """List the map definitions in maps/ (name, title, paper)."""
    from baoshan_gis.render import list_maps

    for name, md in list_maps().items():
        orient = "landscape" if md.landscape else "portrait"
        click.echo(f"{name:<20} {md.title_zh}  {md.title_en}  [{md.paper} {orient}]")


@map_group.command("render")
@click.argument("name")
@click.option("--gpkg", "gpkg", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The plan GeoPackage ('baoshan-gis build').")
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg", "html"]), default=None,
              help="Output format (default: from the suffix of --out).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file.")
@click.option("--dpi", type=click.IntRange(30, 1200), default=300, show_default=True,
              help="Resolution of PNG output.")
@click.option("--paper", type=click.Choice(["A4", "A3"]), default=None,
              help="Paper size (default: the map's).")
@click.option("--landscape/--portrait", default=None, help="Orientation (default: the map's).")
@click.option("--basemap", type=click.Choice(["none", "osm", "amap"]), default="none",
              show_default=True, help="Basemap of HTML pages; 'amap' shifts overlays to GCJ-02.")
def render_cmd(name: str, gpkg: Path, fmt: str | None, out: Path, dpi: int, paper: str | None,
               landscape: bool | None, basemap: str) -> None:
    """Render map NAME (see 'baoshan-gis map list') to a file."""
    from baoshan_gis.render import render_map
    from baoshan_gis.render._inputs import ensure_analysis, missing_analysis

    needed = missing_analysis(name, gpkg) if gpkg.is_file() else []
    if needed:
        click.echo(f"note: map {name!r} needs {', '.join(needed)}; computing them with the "
                   "standard report ...", err=True)
        report_dir = ensure_analysis(name, gpkg)
        click.echo(f"note: report written to {report_dir}, its layers into {gpkg}", err=True)
    path = render_map(name, gpkg, out, fmt=fmt, dpi=dpi, paper=paper, landscape=landscape,
                      basemap=basemap)
    click.echo(f"wrote {path}")


def register(main: click.Group) -> None:
    """Add the ``map`` group to ``main``."""
    main.add_command(map_group)
