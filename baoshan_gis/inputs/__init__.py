"""Input formats, one module per kind of file (as GDAL has one driver per format).

Each reader module has ``SUFFIXES`` and ``read(path, opts, warnings) -> GeoDataFrame``; table
formats (CSV, Excel) also have ``read_table(path, opts) -> DataFrame`` for address lists that are
geocoded (:mod:`baoshan_gis.inputs.geocode`). :func:`read_any` picks the reader by suffix.

| module | files |
|---|---|
| :mod:`~baoshan_gis.inputs.delimited` | ``.csv``, ``.tsv``, ``.txt`` with lon/lat columns |
| :mod:`~baoshan_gis.inputs.xlsx` | ``.xlsx`` (first sheet or ``sheet``), lon/lat columns |
| :mod:`~baoshan_gis.inputs.shapefile` | ``.shp`` with sidecars (encoding checked) |
| :mod:`~baoshan_gis.inputs.archive` | ``.zip`` holding one of the others |
| :mod:`~baoshan_gis.inputs.ogr` | ``.geojson``/``.json``, ``.fgb``, ``.gpkg`` |
| :mod:`~baoshan_gis.inputs.geoparquet` | ``.parquet``/``.geoparquet`` (GeoParquet with a CRS) |
| :mod:`~baoshan_gis.inputs.geocode` | addresses to points (Tianditu, Amap, Baidu, Nominatim) |
| :mod:`~baoshan_gis.inputs.osm_extract` | OpenStreetMap extracts (``baoshan-gis osm import``) |
| :mod:`~baoshan_gis.inputs.roads` | road files for ``build --roads`` |

The last two have their own commands and are not dispatched by :func:`read_any`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import geopandas as gpd
import pandas as pd

from baoshan_gis._errors import DataImportError
from baoshan_gis.inputs import archive, delimited, geoparquet, ogr, shapefile, xlsx
from baoshan_gis.inputs._common import ReadOptions

_READERS: tuple[ModuleType, ...] = (delimited, xlsx, archive, shapefile, ogr, geoparquet)
#: File endings the importer reads.
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(s for m in _READERS for s in m.SUFFIXES)
#: Table formats whose rows can be geocoded from an address column.
TABLE_SUFFIXES: tuple[str, ...] = (*delimited.SUFFIXES, *xlsx.SUFFIXES)

__all__ = ["SUPPORTED_SUFFIXES", "TABLE_SUFFIXES", "ReadOptions", "read_any", "read_table"]


def reader_for(path: Path) -> ModuleType:
    """The reader module of ``path``'s suffix; :class:`DataImportError` listing the supported."""
    suffix = path.suffix.lower()
    for module in _READERS:
        if suffix in module.SUFFIXES:
            return module
    hint = "; save it as .xlsx (or CSV) in Excel" if suffix == ".xls" else ""
    raise DataImportError(
        f"cannot import {path.name!r}: unsupported file type {suffix or '(none)'!r}; supported: "
        f"{', '.join(SUPPORTED_SUFFIXES)}{hint}"
    )


def read_any(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """Read ``path`` with the reader of its suffix (CRS as declared, or none)."""
    return reader_for(path).read(path, opts, warnings)  # type: ignore[no-any-return]


def read_table(path: Path, opts: ReadOptions) -> pd.DataFrame:
    """The rows of a table file (CSV, Excel) without making geometry, for geocoding."""
    module = reader_for(path)
    if not hasattr(module, "read_table"):
        raise DataImportError(
            f"--address-col needs a table (CSV or Excel: {', '.join(TABLE_SUFFIXES)}), not "
            f"{path.suffix!r}"
        )
    return module.read_table(path, opts)  # type: ignore[no-any-return]
