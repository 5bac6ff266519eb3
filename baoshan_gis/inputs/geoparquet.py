"""GeoParquet input (``.parquet``/``.geoparquet``), read with geopandas and pyarrow.

A Parquet file is GeoParquet when its schema metadata has a ``geo`` key naming the primary
geometry column. The CRS is the column's ``crs`` (PROJJSON). By the GeoParquet specification an
*absent* ``crs`` means OGC:CRS84 (WGS84 lon/lat); an explicit ``null`` means "unknown", which is
refused unless ``--crs`` names it. Plain Parquet (no ``geo`` metadata) is refused, naming the
columns found, since no geometry can be read from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd

from baoshan_gis._errors import CRSError, DataImportError
from baoshan_gis.inputs._common import ReadOptions, check_text, first_line

SUFFIXES: tuple[str, ...] = (".parquet", ".geoparquet")


def geo_metadata(path: Path) -> dict[str, object]:
    """The ``geo`` metadata of a Parquet file; :class:`DataImportError` saying what was found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataImportError(f"cannot read {path.name!r} as Parquet: {first_line(exc)}") from None
    raw = (schema.metadata or {}).get(b"geo")
    if raw is None:
        raise DataImportError(
            f"{path.name!r} is Parquet but not GeoParquet: its schema has no 'geo' metadata "
            f"(columns: {', '.join(schema.names)}); write it with geopandas' to_parquet or "
            "GDAL's Parquet driver, or export the table as CSV with lon/lat columns"
        )
    try:
        meta = json.loads(raw)
        primary = meta["primary_column"]
        column = meta["columns"][primary]
    except (ValueError, KeyError, TypeError):
        raise DataImportError(
            f"{path.name!r} has malformed GeoParquet metadata (no primary_column / columns)"
        ) from None
    if not isinstance(column, dict):
        raise DataImportError(f"{path.name!r} has malformed GeoParquet metadata")
    return {"version": meta.get("version"), "primary": primary, "column": column}


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """A GeoParquet file as a GeoDataFrame in its declared CRS."""
    import pyarrow as pa

    meta = geo_metadata(path)
    column = meta["column"]
    assert isinstance(column, dict)
    if "crs" in column and column["crs"] is None and not opts.crs_given:
        raise CRSError(
            f'{path.name!r} is GeoParquet {meta["version"]} with "crs": null (unknown '
            f"coordinate system) on column {meta['primary']!r}; name it with --crs, e.g. "
            "--crs EPSG:4326 or --crs EPSG:4549"
        )
    try:
        frame = gpd.read_parquet(path)
    except (pa.ArrowException, ValueError, OSError) as exc:
        raise DataImportError(f"cannot read {path.name!r}: {first_line(exc)}") from None
    if "crs" not in column:
        warnings.append(
            f"{path.name!r} declares no CRS: taken as OGC:CRS84 (WGS84 lon/lat), as the "
            "GeoParquet specification says"
        )
    if len(frame) == 0:
        raise DataImportError(f"{path.name!r} has no features; nothing to import")
    return check_text(frame, path.name, None)
