"""Tiles of the plan layers: XYZ grid arithmetic, MVT and PNG rendering, a byte-bounded cache,
TileJSON and static export to MBTiles / PMTiles.

Light to import: the heavy pieces (PIL, rasterio, mapbox_vector_tile, pmtiles) load inside the
functions that use them.
"""

from __future__ import annotations

from baoshan_gis.tiles.cache import CachedTile, TileCache, etag_matches, strong_etag
from baoshan_gis.tiles.export import export_tiles
from baoshan_gis.tiles.grid import MAX_ZOOM, Tile, parse_tile, parse_zoom_range, tiles_for_bounds
from baoshan_gis.tiles.mvt import render_mvt
from baoshan_gis.tiles.png import RasterSource, render_vector_png
from baoshan_gis.tiles.source import VectorSource
from baoshan_gis.tiles.tilejson import tilejson

__all__ = [
    "MAX_ZOOM",
    "CachedTile",
    "RasterSource",
    "Tile",
    "TileCache",
    "VectorSource",
    "etag_matches",
    "export_tiles",
    "parse_tile",
    "parse_zoom_range",
    "render_mvt",
    "render_vector_png",
    "strong_etag",
    "tilejson",
    "tiles_for_bounds",
]
