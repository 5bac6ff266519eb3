"""Library-wide defaults: coordinate reference systems, folders, limits.

Module-level, typed and documented, in the manner of ``osmnx.settings``. Folders can be moved with
environment variables so that nothing machine-specific is written in the code:

``BAOSHAN_LAYERS_DIR``
    folder of layer definitions (default: ``layers/`` beside the package, or the copy bundled in
    the wheel);
``BAOSHAN_MAPS_DIR``
    folder of map definitions (default: ``maps/``);
``BAOSHAN_LOCK_TIMEOUT``
    seconds a writer waits for another writer's lock on a GeoPackage (default
    :data:`LOCK_TIMEOUT_S`; ``baoshan-gis --lock-timeout`` sets :data:`LOCK_TIMEOUT_S`);
``BAOSHAN_SHARED_DATA``
    folder with the offline reference data (default: ``../shared/data`` next to the repository);
    only the scripts that refresh the embedded defaults read it.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Storage CRS of every layer in the GeoPackage.
WGS84: str = "EPSG:4326"
#: Metric CRS used for every length and area (UTM zone 51N covers Shanghai).
METRIC_CRS: str = "EPSG:32651"
#: Alternative metric CRS: CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549; Baoshan lies at
#: 121.30-121.52E, almost all of it west of the zone edge at 121.5E).
CGCS2000_GK_CRS: str = "EPSG:4549"
#: Web Mercator, for tiles and web maps.
WEB_MERCATOR: str = "EPSG:3857"

#: Approximate bounds of Baoshan District (WGS84 lon/lat), used to warn about far-off imports.
DISTRICT_BOUNDS: tuple[float, float, float, float] = (121.2954, 31.2671, 121.5211, 31.5139)
#: Distance beyond the district outline (metres) at which imported features trigger a warning.
FAR_FROM_DISTRICT_M: float = 20_000.0

#: Truth fields every feature of every spatial layer carries.
TRUTH_FIELDS: tuple[str, ...] = (
    "name_zh",
    "name_en",
    "category",
    "plan_ref",
    "status",
    "source",
    "geometry_quality",
    "accuracy_m",
)
#: Allowed values of ``geometry_quality``.
GEOMETRY_QUALITIES: tuple[str, ...] = ("surveyed", "approximate", "schematic")
#: Allowed values of ``status``.
STATUSES: tuple[str, ...] = ("existing", "planned", "under construction")

#: Attribution every map or export showing OpenStreetMap-derived data must carry.
OSM_ATTRIBUTION: str = "© OpenStreetMap contributors"

#: Seconds a writer waits for the GeoPackage's write lock (None: ``BAOSHAN_LOCK_TIMEOUT``, else 60).
LOCK_TIMEOUT_S: float | None = None
#: Largest total uncompressed size of a zip archive given to ``layers import`` (bytes).
ARCHIVE_MAX_BYTES: int = 256 * 1024**2
#: Largest number of members of a zip archive given to ``layers import``.
ARCHIVE_MAX_MEMBERS: int = 1000


def lock_timeout() -> float:
    """Seconds to wait for a GeoPackage's write lock: :data:`LOCK_TIMEOUT_S`, else the env."""
    if LOCK_TIMEOUT_S is not None:
        return float(LOCK_TIMEOUT_S)
    raw = os.environ.get("BAOSHAN_LOCK_TIMEOUT", "").strip()
    if not raw:
        return 60.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        from baoshan_gis._errors import InvalidInput

        raise InvalidInput(
            f"BAOSHAN_LOCK_TIMEOUT={raw!r} is not a number of seconds >= 0 (e.g. 60)"
        )
    return value


_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent


def _data_dir(env: str, name: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    repo = _REPO_DIR / name
    if repo.is_dir():
        return repo
    return _PACKAGE_DIR / "_bundled" / name


def layers_dir() -> Path:
    """Folder of layer definitions (``layers/``)."""
    return _data_dir("BAOSHAN_LAYERS_DIR", "layers")


def maps_dir() -> Path:
    """Folder of map definitions (``maps/``)."""
    return _data_dir("BAOSHAN_MAPS_DIR", "maps")


def shared_data_dir() -> Path:
    """Folder of the offline reference data (``../shared/data`` by default)."""
    if os.environ.get("BAOSHAN_SHARED_DATA"):
        return Path(os.environ["BAOSHAN_SHARED_DATA"])
    return _REPO_DIR.parent / "shared" / "data"


def geocode_cache_dir() -> Path:
    """Folder of the on-disk geocoding cache (``BAOSHAN_GEOCODE_CACHE``; default: the user's
    cache folder, ``$XDG_CACHE_HOME/baoshan-gis/geocode`` or ``~/.cache/baoshan-gis/geocode``)."""
    if os.environ.get("BAOSHAN_GEOCODE_CACHE"):
        return Path(os.environ["BAOSHAN_GEOCODE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "baoshan-gis" / "geocode"
