"""CLI: ``baoshan-gis serve`` (the map service) and ``baoshan-gis tiles export``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


def register(main: click.Group) -> None:
    """Add ``serve`` and the ``tiles`` group to ``main``."""
    main.add_command(serve)
    main.add_command(tiles_group)


@click.command("serve")
@click.option("--gpkg", "gpkg", type=click.Path(path_type=Path), required=True,
              help="The built GeoPackage (opened read-only).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (each loads the layers once).")
@click.option("--cors-origin", "cors", multiple=True,
              help="Origin allowed to fetch tiles (repeatable; '*' for any).")
@click.option("--keep-alive", "keep_alive", default=5, show_default=True,
              type=click.IntRange(1, 300), help="Seconds an idle connection is kept open.")
@click.option("--max-connections", "max_connections", default=200, show_default=True,
              type=click.IntRange(1, 100_000),
              help="Connections served at once per worker; more get 503.")
def serve(gpkg: Path, host: str, port: int, workers: int, cors: tuple[str, ...],
          keep_alive: int, max_connections: int) -> None:
    """Serve layers, tiles, TileJSON, map pages and analyses over HTTP (uvicorn).

    Other settings come from BAOSHAN_* environment variables (see api/settings.py).
    """
    import uvicorn

    from api.app import create_app

    os.environ["BAOSHAN_GPKG"] = str(Path(gpkg).resolve())
    if cors:
        os.environ["BAOSHAN_CORS_ORIGINS"] = ",".join(cors)
    create_app()  # validate settings and data now: fail here with a clear message
    click.echo(f"serving {Path(gpkg).name} on http://{host}:{port} (docs: /docs)", err=True)
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", timeout_keep_alive=keep_alive,
                limit_concurrency=max_connections, server_header=False)


@click.group("tiles")
def tiles_group() -> None:
    """Static tile files for portals."""


@tiles_group.command("export")
@click.argument("layer")
@click.option("--gpkg", "gpkg", type=click.Path(path_type=Path), required=True,
              help="The built GeoPackage.")
@click.option("--zoom", default="10-16", show_default=True, help="Zoom range, e.g. 10-16.")
@click.option("--to", "to", type=click.Path(path_type=Path), required=True,
              help="Target FILE.mbtiles or FILE.pmtiles.")
def export(layer: str, gpkg: Path, zoom: str, to: Path) -> None:
    """Write LAYER's tiles (MVT, or PNG for raster outputs) to MBTiles or PMTiles."""
    from tqdm import tqdm

    from baoshan_gis.tiles.export import export_tiles

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=f"tiles {layer}", unit="tile", file=sys.stderr,
                       disable=not sys.stderr.isatty(), leave=False)
        bar.update(done - bar.n)

    try:
        out = export_tiles(gpkg, layer, zooms=zoom, to=to, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    click.echo(f"wrote {out} ({out.stat().st_size:,} bytes)")
