"""Small fault fixtures for the reliability tests: M geometries, lying zips, foreign files."""

from __future__ import annotations

import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely


def shapefile_point_m(folder: Path, stem: str, *, z: bool) -> Path:
    """A one-point shapefile of type PointM (21) or PointZ with M (11), as surveying tools write."""
    base = gpd.GeoDataFrame({"name": ["m"]}, geometry=[shapely.Point(121.40, 31.35)], crs=4326)
    shp = folder / f"{stem}.shp"
    base.to_file(shp, engine="pyogrio")
    x, y, zv, m = 121.40, 31.35, 4.0, 7.5
    stype = 11 if z else 21
    content = struct.pack("<idd", stype, x, y) + (
        struct.pack("<dd", zv, m) if z else struct.pack("<d", m)
    )
    words = len(content) // 2

    def header(length_words: int) -> bytes:
        return (
            struct.pack(">i5ii", 9994, 0, 0, 0, 0, 0, length_words)
            + struct.pack("<ii", 1000, stype)
            + struct.pack("<8d", x, y, x, y, zv if z else 0.0, zv if z else 0.0, m, m)
        )

    shp.write_bytes(header(50 + 4 + words) + struct.pack(">ii", 1, words) + content)
    shp.with_suffix(".shx").write_bytes(header(50 + 4) + struct.pack(">ii", 50, words))
    return shp


def gpkg_with_m(folder: Path, name: str, *, z: bool) -> Path:
    """A GeoPackage whose point layer declares and holds M values (XYM or XYZM)."""
    from pyogrio.raw import write

    path = folder / f"{name}.gpkg"
    wkt = "POINT ZM (121.4 31.35 4 7.5)" if z else "POINT M (121.4 31.35 7.5)"
    geom = np.array([shapely.to_wkb(shapely.from_wkt(wkt), flavor="iso")], dtype=object)
    write(
        path,
        geometry=geom,
        field_data=[np.array(["m"], dtype=object)],
        fields=["name"],
        driver="GPKG",
        geometry_type="Unknown",
        crs="EPSG:4326",
        layer=name,
    )
    with sqlite3.connect(path) as con:
        con.execute(
            "UPDATE gpkg_geometry_columns SET geometry_type_name='POINT', m=1, z=?",
            (1 if z else 0,),
        )
    return path


def zip_with_lying_header(path: Path, member: str, data: bytes, declared: int) -> Path:
    """A zip whose central directory declares ``declared`` bytes for a larger member."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    raw = bytearray(path.read_bytes())
    real = struct.pack("<I", len(data))
    fake = struct.pack("<I", declared)
    cd = raw.rfind(b"PK\x01\x02")
    i = raw.index(real, cd + 20)  # uncompressed size field of the central directory entry
    raw[i : i + 4] = fake
    j = raw.index(real, 18)  # and of the local header
    raw[j : j + 4] = fake
    path.write_bytes(bytes(raw))
    return path
