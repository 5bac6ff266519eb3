"""Checks every import applies whatever the file format: measures (M) and lon/lat ranges.

* **M values.** The GeoPackage layers, maps and tiles are XY or XYZ; a measure (M) has no meaning
  there. XYM and XYZM data (Shapefile PointM/PolygonZM, GeoPackage ``m`` columns, WKB with M) is
  imported with M dropped (Z kept) and one warning, the same for every format; GDAL's own
  "M not supported" notices are absorbed into that warning.
* **Degrees.** Data in a geographic CRS must lie within lon ±180 / lat ±90, as CSV already
  required: values outside are projected coordinates with a wrong ``--crs`` (or none).
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from baoshan_gis._errors import CRSError

_GDAL_M_NOTICE = "Measured (M) geometry types are not supported"


@contextlib.contextmanager
def absorb_m_notices(found: list[str]) -> Iterator[None]:
    """Catch pyogrio's "M not supported" warnings (kept in ``found``), let others through."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if _GDAL_M_NOTICE in str(w.message):
            found.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def declared_m(path: Path, layer: str | None) -> bool:
    """Whether a GeoPackage declares M values for ``layer`` (GDAL drops them silently)."""
    if path.suffix.lower() != ".gpkg":
        return False
    with (
        contextlib.suppress(sqlite3.DatabaseError),
        contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con,
    ):
        rows = con.execute(
            "SELECT table_name FROM gpkg_geometry_columns WHERE m IN (1, 2)"
        ).fetchall()
        return any(layer is None or r[0] == layer for r in rows)
    return False


def drop_m(
    frame: gpd.GeoDataFrame, filename: str, gdal_dropped: bool, warn: Callable[[str], None]
) -> gpd.GeoDataFrame:
    """Return ``frame`` without M values (Z kept); ``warn`` once when any were present."""
    import shapely

    geoms = np.asarray(frame.geometry.values)
    has_m = shapely.has_m(geoms) if hasattr(shapely, "has_m") else np.zeros(len(geoms), bool)
    if has_m.any():
        fixed = geoms.copy()
        with_z = has_m & shapely.has_z(geoms)
        fixed[with_z] = shapely.from_wkb(
            shapely.to_wkb(geoms[with_z], output_dimension=3, flavor="iso")
        )
        fixed[has_m & ~with_z] = shapely.force_2d(geoms[has_m & ~with_z])
        frame = frame.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))
    if has_m.any() or gdal_dropped:
        warn(
            f"{filename!r} has measure (M) values: dropped (X, Y and any Z kept), as maps and "
            "analyses use none"
        )
    return frame


def check_degrees(frame: gpd.GeoDataFrame, filename: str) -> None:
    """Refuse geographic data outside lon ±180 / lat ±90 (projected numbers, wrong CRS)."""
    if frame.crs is None or not frame.crs.is_geographic or not len(frame):
        return
    b: Any = frame.geometry.bounds
    bad = (b["minx"] < -180) | (b["maxx"] > 180) | (b["miny"] < -90) | (b["maxy"] > 90)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        rep = frame.geometry.iloc[i].representative_point()
        raise CRSError(
            f"the coordinates in {filename!r} are not lon/lat degrees (feature {i + 1} at "
            f"{rep.x:g}, {rep.y:g}) although the file says {frame.crs.to_string()}; give "
            "their real CRS with --crs, e.g. --crs EPSG:4549"
        )
