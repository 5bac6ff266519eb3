"""Leaflet's JavaScript, CSS and images for offline pages: from an installed package.

The interactive pages must work on an intranet with no internet, so they never load Leaflet from
a CDN. The files come from the PyPI package ``django-js-lib-leaflet`` (Leaflet 1.9.4 as plain
static files, BSD-2-Clause; it does not need Django), installed with baoshan-gis. Nothing of
Leaflet is copied into this repository: :func:`asset_files` finds the installed files,
:func:`write_assets` copies them next to a written page, and the API service serves the same
files under a URL prefix.

The pages ship no web font: Chinese text uses the browser's CJK fonts (every desktop OS has
one), so a page with its assets stays well under 1 MB (Noto Sans SC alone is 8.3 MB).
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

from baoshan_gis._errors import BaoshanGISError

#: Files a page needs, relative to the asset folder (images are referenced by leaflet.css).
ASSET_NAMES: tuple[str, ...] = (
    "leaflet.js",
    "leaflet.css",
    "images/layers.png",
    "images/layers-2x.png",
    "images/marker-icon.png",
    "images/marker-icon-2x.png",
    "images/marker-shadow.png",
)
#: Version of Leaflet the assets hold (for cache-busting and the page's comment).
LEAFLET_VERSION = "1.9.4"


@lru_cache(maxsize=1)
def _asset_dir() -> Path:
    try:
        import js_lib_leaflet
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise BaoshanGISError(
            "Leaflet's files are missing: pip install django-js-lib-leaflet"
        ) from exc
    folder = Path(js_lib_leaflet.__file__).resolve().parent / "static" / "js_lib_leaflet"
    missing = [n for n in ASSET_NAMES if not (folder / n).is_file()]
    if missing:  # pragma: no cover - a broken installation
        raise BaoshanGISError(
            f"the installed django-js-lib-leaflet lacks {', '.join(missing)}; reinstall it"
        )
    return folder


def asset_files() -> dict[str, Path]:
    """The asset files of the pages: relative name (``"images/layers.png"``, ...) -> file path.

    The API service serves these under its own prefix and passes that prefix to
    :func:`baoshan_gis.render.render_page_html`.
    """
    folder = _asset_dir()
    return {name: folder / name for name in ASSET_NAMES}


def write_assets(folder: str | os.PathLike[str]) -> list[Path]:
    """Copy the assets into ``folder`` (e.g. ``out/assets``), skipping files already identical."""
    folder = Path(folder)
    written = []
    for name, src in asset_files().items():
        dst = folder / name
        if dst.is_file() and dst.stat().st_size == src.stat().st_size:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    return written


def asset_url(prefix: str, name: str) -> str:
    """URL of asset ``name`` under ``prefix`` (``"assets/"``, ``"/static/leaflet"``, ...)."""
    if name not in ASSET_NAMES:
        raise BaoshanGISError(f"unknown asset {name!r}; assets: {', '.join(ASSET_NAMES)}")
    return prefix.rstrip("/") + "/" + name if prefix else name
