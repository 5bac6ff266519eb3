"""Render the map definitions of ``maps/``: print figures (PNG/PDF/SVG) and offline Folium pages.

>>> from baoshan_gis.render import list_maps
>>> "wusong" in list_maps()
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from baoshan_gis._errors import InvalidInput
from baoshan_gis.render._assets import asset_files, write_assets
from baoshan_gis.render.folium_map import BASEMAPS, build_page, render_page_html, write_page
from baoshan_gis.render.mapdefs import MapDef, get_map, load_maps
from baoshan_gis.render.print_map import PRINT_FORMATS, render_print

#: Every output format of ``baoshan-gis map``.
FORMATS: tuple[str, ...] = (*PRINT_FORMATS, "html")

__all__ = [
    "BASEMAPS",
    "FORMATS",
    "MapDef",
    "asset_files",
    "build_page",
    "get_map",
    "list_maps",
    "load_maps",
    "render_all",
    "render_map",
    "render_page_html",
    "render_print",
    "write_assets",
    "write_page",
]


def list_maps() -> dict[str, MapDef]:
    """The map definitions in ``maps/``, by name."""
    return load_maps()


def render_map(
    name: str,
    gpkg: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    dpi: float = 300,
    paper: str | None = None,
    landscape: bool | None = None,
    basemap: str = "none",
) -> Path:
    """Write map ``name`` to ``out`` in ``fmt`` (default: from the suffix of ``out``).

    HTML pages get Leaflet's files in ``assets/`` beside them.
    """
    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "html":
        return write_page(name, gpkg, out, basemap=basemap)
    return render_print(name, gpkg, out, fmt=fmt, dpi=dpi, paper=paper, landscape=landscape)


def render_all(
    gpkg: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    formats: Iterable[str] = ("png", "html"),
    progress: Callable[[str], None] | None = None,
    dpi: float = 300,
    skip_missing: bool = False,
) -> list[Path]:
    """Write every map of ``maps/`` in every format to ``out_dir`` (``NAME.png``, ``NAME.html``).

    Parameters
    ----------
    gpkg
        The plan GeoPackage (with the analysis outputs for the density/coverage map).
    out_dir
        Folder for the files; pages get ``assets/`` inside it.
    formats
        Any of ``png``, ``pdf``, ``svg``, ``html``.
    progress
        Called with ``"NAME.FMT"`` after each file.
    skip_missing
        Skip maps whose layers are missing (e.g. analysis outputs not written yet) instead of
        raising :class:`~baoshan_gis.LayerNotFound`.
    """
    from baoshan_gis._errors import LayerNotFound

    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InvalidInput(f"format(s) {', '.join(map(repr, bad))} not among {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in load_maps():
        for fmt in formats:
            try:
                written.append(render_map(name, gpkg, out_dir / f"{name}.{fmt}", fmt=fmt,
                                          dpi=dpi))
            except LayerNotFound:
                if not skip_missing:
                    raise
                break
            if progress is not None:
                progress(f"{name}.{fmt}")
    return written
