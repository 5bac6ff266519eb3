"""Static tile export: a layer's tiles over a range of zooms into MBTiles or PMTiles.

For portals that host tiles as files. Vector layers are written as gzip-compressed MVT (the same
bytes the service sends, compressed as both formats expect); raster outputs registered in the
GeoPackage (e.g. the density COG) as PNG. Tiles without features are not written (clients treat a
missing tile as empty). The file is written beside its target and moved into place only when
complete, so an interrupted export leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from baoshan_gis._errors import InvalidInput, LayerNotFound
from baoshan_gis.tiles.grid import Tile, parse_zoom_range, tiles_for_bounds

#: ``progress(done, total)`` is called after each tile.
ProgressCallback = Callable[[int, int], None]


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _load(gpkg: Path, layer: str) -> tuple[Callable[[Tile], bytes], dict[str, Any]]:
    """A render function for ``layer`` and the metadata to write with it."""
    from baoshan_gis import gpkg as gp
    from baoshan_gis.tiles.mvt import render_mvt
    from baoshan_gis.tiles.png import RasterSource
    from baoshan_gis.tiles.source import VectorSource

    rasters = gp.raster_layers(gpkg)
    meta = gp.read_meta(gpkg).get(layer, {})
    if layer in rasters:
        raster = RasterSource.from_file(rasters[layer], name=layer)
        return raster.render, {
            "format": "png", "bounds": raster.bounds, "fields": None,
            "attribution": meta.get("attribution", ""), "title": meta.get("title_zh", layer),
        }
    names = gp.layer_names(gpkg)
    if layer not in names:
        raise LayerNotFound(
            f"no layer named {layer!r} in {gpkg.name!r}; layers: "
            f"{', '.join([*names, *rasters])}"
        )
    frame = gp.read_layer(gpkg, layer)
    if not hasattr(frame, "geometry"):
        raise InvalidInput(f"layer {layer!r} is an attribute table without geometry: no tiles")
    source = VectorSource.from_frame(layer, frame)
    fields = {c: ("Number" if str(frame[c].dtype)[:3] in ("int", "flo") else "String")
              for c in frame.columns if c != frame.geometry.name}
    return (lambda t: render_mvt(source, t)), {
        "format": "pbf", "bounds": source.bounds, "fields": fields,
        "attribution": meta.get("attribution", ""), "title": meta.get("title_zh", layer),
    }


def export_tiles(
    gpkg: str | os.PathLike[str],
    layer: str,
    *,
    zooms: Iterable[int] | str,
    to: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
) -> Path:
    """Write the tiles of ``layer`` for ``zooms`` to an ``.mbtiles`` or ``.pmtiles`` file.

    Parameters
    ----------
    gpkg
        The GeoPackage (read-only).
    layer
        A vector layer, or a raster output registered in the GeoPackage.
    zooms
        Zoom levels, e.g. ``range(10, 17)`` or the text ``"10-16"``.
    to
        Target path; its suffix (``.mbtiles`` or ``.pmtiles``) chooses the format.
    progress
        Optional ``progress(done, total)`` called after each tile.

    Returns
    -------
    Path
        The written file.
    """
    from baoshan_gis.gpkg import _require_file, atomic_path

    gpkg = _require_file(gpkg)
    target = Path(to)
    suffix = target.suffix.lower()
    if suffix not in (".mbtiles", ".pmtiles"):
        raise InvalidInput(f"export target {str(target)!r} must end in .mbtiles or .pmtiles")
    zoom_list = list(parse_zoom_range(zooms) if isinstance(zooms, str) else zooms)
    if not zoom_list:
        raise InvalidInput("no zoom levels given; use e.g. '10-16'")
    render, meta = _load(gpkg, layer)
    bounds = meta["bounds"]
    tiles = tiles_for_bounds(bounds, zoom_list) if bounds else []
    rendered: list[tuple[Tile, bytes]] = []
    for i, tile in enumerate(tiles, 1):
        data = render(tile)
        if data:
            rendered.append((tile, _gzip(data) if meta["format"] == "pbf" else data))
        if progress is not None:
            progress(i, len(tiles))
    info = {
        "name": layer,
        "description": meta["title"],
        "attribution": meta["attribution"],
        "format": meta["format"],
        "minzoom": min(zoom_list),
        "maxzoom": max(zoom_list),
        "bounds": list(bounds) if bounds else [-180.0, -85.0511, 180.0, 85.0511],
        "fields": meta["fields"],
    }
    with atomic_path(target, copy_existing=False) as tmp:
        if suffix == ".mbtiles":
            _write_mbtiles(tmp, rendered, info)
        else:
            _write_pmtiles(tmp, rendered, info)
    return target


def _write_mbtiles(path: Path, tiles: list[tuple[Tile, bytes]], info: dict[str, Any]) -> None:
    b = info["bounds"]
    meta = {
        "name": info["name"],
        "format": info["format"],
        "bounds": ",".join(f"{v:.6f}" for v in b),
        "center": f"{(b[0] + b[2]) / 2:.6f},{(b[1] + b[3]) / 2:.6f},{info['minzoom']}",
        "minzoom": str(info["minzoom"]),
        "maxzoom": str(info["maxzoom"]),
        "attribution": info["attribution"],
        "description": info["description"],
        "type": "overlay",
        "version": "1.3",
    }
    if info["fields"] is not None:
        meta["json"] = json.dumps(
            {"vector_layers": [{"id": info["name"], "fields": info["fields"],
                                "minzoom": info["minzoom"], "maxzoom": info["maxzoom"]}]},
            ensure_ascii=False,
        )
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        con.execute("CREATE UNIQUE INDEX name ON metadata (name)")
        con.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        con.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        con.executemany("INSERT INTO metadata VALUES (?, ?)", sorted(meta.items()))
        con.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            # MBTiles rows count from the south (TMS)
            [(t.z, t.x, (1 << t.z) - 1 - t.y, sqlite3.Binary(d)) for t, d in tiles],
        )


def _write_pmtiles(path: Path, tiles: list[tuple[Tile, bytes]], info: dict[str, Any]) -> None:
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer

    if not tiles:
        raise InvalidInput(
            f"layer {info['name']!r} has no tiles at zooms {info['minzoom']}-{info['maxzoom']}; "
            "a PMTiles archive needs at least one"
        )
    b = info["bounds"]
    is_mvt = info["format"] == "pbf"
    header = {
        "tile_type": TileType.MVT if is_mvt else TileType.PNG,
        "tile_compression": Compression.GZIP if is_mvt else Compression.NONE,
        "min_lon_e7": round(b[0] * 1e7), "min_lat_e7": round(b[1] * 1e7),
        "max_lon_e7": round(b[2] * 1e7), "max_lat_e7": round(b[3] * 1e7),
        "center_zoom": info["minzoom"],
        "center_lon_e7": round((b[0] + b[2]) / 2 * 1e7),
        "center_lat_e7": round((b[1] + b[3]) / 2 * 1e7),
    }
    metadata: dict[str, Any] = {
        "name": info["name"], "description": info["description"],
        "attribution": info["attribution"], "type": "overlay",
    }
    if info["fields"] is not None:
        metadata["vector_layers"] = [{"id": info["name"], "fields": info["fields"],
                                      "minzoom": info["minzoom"], "maxzoom": info["maxzoom"]}]
    ordered = sorted(((zxy_to_tileid(t.z, t.x, t.y), d) for t, d in tiles), key=lambda e: e[0])
    with open(path, "wb") as fh:
        writer = Writer(fh)
        for tileid, data in ordered:
            writer.write_tile(tileid, data)
        writer.finalize(header, metadata)
