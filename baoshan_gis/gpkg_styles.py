"""The QGIS default styles stored in the project's GeoPackage (QGIS's ``layer_styles`` table).

What a style looks like is :mod:`baoshan_gis.qgis_style`; this module keeps it in the file, the
way QGIS and GDAL create the table, so ``ogrinfo FILE layer_styles`` and QGIS's "Load style from
database" find it. Writers call these inside :func:`baoshan_gis.gpkg.atomic_path`, on the
temporary copy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Any

#: QGIS's own table of default styles; no layer of the project may have this name.
STYLES_TABLE = "layer_styles"


def write_style(
    path: str | os.PathLike[str],
    layer: str,
    qml: str,
    *,
    sld: str = "",
    geometry_column: str = "geom",
    description: str = "",
) -> None:
    """Store ``qml`` (and ``sld``) as the default QGIS style of ``layer`` in ``layer_styles``.

    The table is created as GDAL and QGIS create it (ISO-8601 ``update_time``) and registered in
    ``gpkg_contents`` as an attributes table, so ``ogrinfo FILE layer_styles`` and QGIS's "Load
    style from database" find it.
    """
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {STYLES_TABLE} ("
            "id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
            "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, "
            "useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
            "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        con.execute(
            "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, "
            "description, last_change) VALUES (?, 'attributes', ?, "
            "'QGIS default styles of the layers', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (STYLES_TABLE, STYLES_TABLE),
        )
        con.execute(f"DELETE FROM {STYLES_TABLE} WHERE f_table_name = ?", (layer,))
        con.execute(
            f"INSERT INTO {STYLES_TABLE} (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
            "ui, update_time) VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, 'baoshan-gis', '', "
            "strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (layer, geometry_column, layer, qml, sld, description),
        )


def delete_style(path: str | os.PathLike[str], layer: str) -> None:
    """Remove the stored QGIS style of ``layer``, if any (use inside :func:`atomic_path`)."""
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        exists = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (STYLES_TABLE,)
        ).fetchone()
        if exists:
            con.execute(f"DELETE FROM {STYLES_TABLE} WHERE f_table_name = ?", (layer,))


def write_analysis_style(
    path: str | os.PathLike[str], layer: str, frame: Any
) -> None:
    """Give an ``analysis_*`` layer its QGIS style (graduated shares, red gaps, ...)."""
    from baoshan_gis.qgis_style import analysis_style, qml_for, sld_for

    gtypes = frame.geometry.geom_type.dropna()
    style = analysis_style(layer, str(gtypes.iloc[0]) if len(gtypes) else None)
    if style is None:
        return
    if style.get("label_field") not in frame.columns:
        style = {**style, "label_field": "name_zh" if "name_zh" in frame.columns else ""}
    write_style(
        path,
        layer,
        qml_for(style),
        sld=sld_for(style, layer),
        description=f"baoshan-gis default style of {layer}",
    )
