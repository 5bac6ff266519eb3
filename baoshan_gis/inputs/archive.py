"""Zip archives: the one shapefile (or other supported file) inside, read by its own reader."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd

from baoshan_gis._errors import DataImportError
from baoshan_gis.inputs._common import ReadOptions

SUFFIXES: tuple[str, ...] = (".zip",)


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """Extract the chosen member (a shapefile with its sidecars) to a temporary folder, read it."""
    from baoshan_gis.inputs import SUPPORTED_SUFFIXES, read_any

    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataImportError(f"{path.name!r} is not a readable zip file") from None
    layer = opts.layer
    with zf, tempfile.TemporaryDirectory(prefix="baoshan-import-") as tmpdir:
        members = [m for m in zf.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        data = [
            m
            for m in members
            if Path(m.filename).suffix.lower() in SUPPORTED_SUFFIXES
            and Path(m.filename).suffix.lower() not in (".zip", ".txt")
        ]
        shps = [m for m in data if m.filename.lower().endswith(".shp")]
        choices = shps or data
        if layer is not None:
            choices = [m for m in choices if Path(m.filename).stem == layer]
        if len(choices) != 1:
            found = ", ".join(m.filename for m in (shps or data)) or "none"
            if not choices:
                what = (
                    f"no {layer!r} in it" if layer else "no shapefile, GeoJSON, GeoPackage or CSV"
                )
                raise DataImportError(f"cannot import {path.name!r}: {what} (found: {found})")
            raise DataImportError(
                f"{path.name!r} holds several data files ({found}); choose one with --layer STEM"
            )
        chosen = choices[0]
        stem_prefix = chosen.filename[: -len(Path(chosen.filename).suffix)]
        root = Path(tmpdir).resolve()
        for m in members:
            same_stem = m.filename[: -len(Path(m.filename).suffix) or None] == stem_prefix
            if m is not chosen and not (shps and same_stem):
                continue
            target = (root / Path(m.filename).name).resolve()
            if target.parent != root:  # no path tricks
                raise DataImportError(f"{path.name!r} has an unsafe member {m.filename!r}")
            target.write_bytes(zf.read(m))
        inner = root / Path(chosen.filename).name
        inner_opts = ReadOptions(**{**opts.__dict__, "layer": None})
        frame = read_any(inner, inner_opts, warnings)
        # the readers return in-memory frames: nothing refers to the temporary files any more
        return frame
