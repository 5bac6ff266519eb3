"""Zip archives: the one shapefile (or other supported file) inside, read by its own reader.

Extraction (limits on size and member count, streaming, temporary folder always removed) is
:mod:`baoshan_gis._archive`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from baoshan_gis.inputs._common import ReadOptions

SUFFIXES: tuple[str, ...] = (".zip",)


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """Extract the chosen member (a shapefile with its sidecars) to a temporary folder, read it."""
    from baoshan_gis._archive import read_zip
    from baoshan_gis.inputs import SUPPORTED_SUFFIXES, read_any

    inner_opts = ReadOptions(**{**opts.__dict__, "layer": None})
    frame: gpd.GeoDataFrame = read_zip(
        path,
        read_member=lambda inner: read_any(inner, inner_opts, warnings),
        supported=SUPPORTED_SUFFIXES,
        layer=opts.layer,
    )
    return frame
