"""``baoshan-gis run``: the main job (build, report, maps) in one command."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("run")
@click.option("--out", "out", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--format", "formats", multiple=True, default=("png", "html"), show_default=True,
              type=click.Choice(["png", "pdf", "svg", "html"]), help="Map formats (repeatable).")
def run_cmd(out: Path, formats: tuple[str, ...]) -> None:
    """Build the GeoPackage, write the analysis report and render every map, offline."""
    from baoshan_gis.cli._progress import progress_callback
    from baoshan_gis.pipeline import run_all

    step, close = progress_callback(40, "run", lines=True)
    try:
        result = run_all(out, formats=formats, progress=step)
    finally:
        close()
    click.echo(result.text())


def register(main: click.Group) -> None:
    """Add ``run`` to the main group."""
    main.add_command(run_cmd)
