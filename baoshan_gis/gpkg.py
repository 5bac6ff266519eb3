"""Reading and writing the project's GeoPackage.

Everything that touches the file goes through here, so that every write is atomic: the new content
is written to a temporary copy beside the target and moved over it in one ``os.replace``; a failure
leaves the original file exactly as it was (and no temporary file behind).

Besides the layers, the GeoPackage holds two bookkeeping tables:

``baoshan_layer_meta``
    one row per layer: titles, plan section, source, licence, attribution, kind (``plan``,
    ``import`` or ``analysis``), and for imports and analyses the parameters and input layers as
    JSON;
``layer_styles``
    QGIS's own table of default styles (registered in ``gpkg_contents`` as an attributes table,
    the way QGIS and GDAL create it), so the file opens styled in QGIS.

Geometry layers hold no null or empty geometries and their polygons' exterior rings run
counter-clockwise (GeoPackage and PDOK validator rules RQ24, RC20): features the plan names but
that cannot be placed yet go to the attributes table ``<layer>_unplaced``, listed in the layer's
metadata row (``parameters["unplaced"]``); ``read_layer(..., with_unplaced=True)`` returns them
too, geometry null.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from baoshan_gis._errors import InvalidInput, LayerNotFound
from baoshan_gis._files import atomic_path as atomic_path  # re-exported: gpkg.atomic_path
from baoshan_gis.gpkg_styles import STYLES_TABLE, write_analysis_style
from baoshan_gis.gpkg_styles import delete_style as delete_style  # re-exported
from baoshan_gis.gpkg_styles import write_style as write_style  # re-exported

META_TABLE = "baoshan_layer_meta"
_SAFE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")  # used with fullmatch: no "\n" slips in
_RESERVED_PREFIXES = ("gpkg_", "rtree_", "sqlite_", "layer_styles", "baoshan_")
#: Suffix of the attributes table holding the unplaced features of a geometry layer.
UNPLACED_SUFFIX = "_unplaced"
#: Numeric columns of an unplaced feature that stay as they are (all others become NULL).
_KEEP_NUMERIC = frozenset({"accuracy_m", "seq", "fid", "id", "zone_index"})


@dataclass(frozen=True)
class LayerInfo:
    """What :func:`list_layers` reports about one layer of a GeoPackage."""

    name: str
    title_zh: str
    title_en: str
    kind: str
    data_type: str
    geometry_type: str | None
    count: int
    bounds: tuple[float, float, float, float] | None
    description: str
    attribution: str
    plan_ref: str
    source: str
    licence: str
    parameters: dict[str, Any]
    inputs: list[str]


def check_layer_name(name: str) -> str:
    """Return ``name`` if it is a safe layer identifier, else raise :class:`InvalidInput`.

    Safe: lower-case ASCII letter first, then letters, digits or ``_``; at most 63 characters; not
    one of the GeoPackage's or the project's reserved prefixes.
    """
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise InvalidInput(
            f"layer name {name!r} is not a safe identifier: use 1-63 characters, a lower-case "
            "letter first, then lower-case letters, digits or '_' (e.g. 'incubators_2026')"
        )
    if name.startswith(_RESERVED_PREFIXES):
        raise InvalidInput(
            f"layer name {name!r} uses a reserved prefix ({', '.join(_RESERVED_PREFIXES)})"
        )
    return name


def _require_file(gpkg: str | os.PathLike[str]) -> Path:
    path = Path(gpkg)
    if not path.is_file():
        raise InvalidInput(
            f"GeoPackage {str(path)!r} does not exist; build it first with "
            "'baoshan-gis build --out PATH.gpkg'"
        )
    check_geopackage(path)
    return path


def check_geopackage(path: str | os.PathLike[str]) -> None:
    """Raise :class:`InvalidInput` unless ``path`` is an SQLite file with GeoPackage tables."""
    path = Path(path)
    hint = "give a GeoPackage built with 'baoshan-gis build --out PATH.gpkg'"
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path.name!r}: {exc.strerror}") from None
    if header != b"SQLite format 3\x00":
        raise InvalidInput(f"{path.name!r} is not a GeoPackage (not an SQLite file); {hint}")
    try:
        with contextlib.closing(_connect_ro(path)) as con:
            ok = con.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type='table' "
                "AND name IN ('gpkg_contents', 'gpkg_spatial_ref_sys')"
            ).fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{path.name!r} is not a readable GeoPackage ({exc}); {hint}") from None
    if ok != 2:
        raise InvalidInput(
            f"{path.name!r} is an SQLite database but not a GeoPackage (no gpkg_contents "
            f"table); {hint}"
        )


def layer_names(gpkg: str | os.PathLike[str]) -> list[str]:
    """Names of the layers (feature and attribute tables) in the GeoPackage, in file order."""
    path = _require_file(gpkg)
    with contextlib.closing(_connect_ro(path)) as con:
        rows = con.execute(
            "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features','attributes') "
            "ORDER BY rowid"
        ).fetchall()
    return [r[0] for r in rows if r[0] != STYLES_TABLE]  # QGIS's style table is no layer


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def require_layer(gpkg: str | os.PathLike[str], name: str) -> None:
    """Raise :class:`LayerNotFound` (listing what exists) unless ``name`` is a layer."""
    names = layer_names(gpkg)
    if name not in names:
        raise LayerNotFound(
            f"no layer named {name!r} in {Path(gpkg).name!r}; layers: {', '.join(names)}"
        )


def read_layer(
    gpkg: str | os.PathLike[str],
    name: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    columns: list[str] | None = None,
    with_unplaced: bool = False,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one layer as a GeoDataFrame (EPSG:4326), or a DataFrame for attribute tables.

    Parameters
    ----------
    gpkg
        Path of the GeoPackage.
    name
        Layer name; :class:`LayerNotFound` lists the layers when it is unknown.
    bbox
        Optional ``(minx, miny, maxx, maxy)`` filter in WGS84 degrees (converted to the layer's
        CRS when the file stores another one; the frame returned is always EPSG:4326).
    columns
        Optional subset of attribute columns.
    with_unplaced
        Also return the rows of ``<name>_unplaced`` (features not located yet), geometry null.
    """
    require_layer(gpkg, name)
    crs = _layer_crs(Path(gpkg), name)
    if bbox is not None and crs is not None and not _is_wgs84(crs):
        from pyproj import CRS, Transformer

        t = Transformer.from_crs(4326, CRS.from_user_input(crs), always_xy=True)
        bbox = t.transform_bounds(*bbox, densify_pts=21)
    frame = pyogrio.read_dataframe(
        Path(gpkg), layer=name, bbox=bbox, columns=columns, fid_as_index=False
    )
    if getattr(frame, "crs", None) is not None and not _is_wgs84(frame.crs):
        frame = frame.to_crs(4326)  # foreign GeoPackages (EPSG:2385, custom WKT): WGS84 out
    companion = name + UNPLACED_SUFFIX
    if (with_unplaced and bbox is None and isinstance(frame, gpd.GeoDataFrame)
            and _has_table(gpkg, companion)):
        rest = pyogrio.read_dataframe(
            Path(gpkg), layer=companion, columns=columns, fid_as_index=False
        )
        if len(rest):
            gcol = frame.geometry.name
            unplaced = gpd.GeoDataFrame(
                rest.assign(**{gcol: gpd.GeoSeries([None] * len(rest), index=rest.index)}),
                geometry=gcol,
                crs=frame.crs,
            )
            frame = gpd.GeoDataFrame(
                pd.concat([frame, unplaced], ignore_index=True),
                geometry=frame.geometry.name,
                crs=frame.crs,
            )
    return frame


def _layer_crs(path: Path, name: str) -> str | None:
    try:
        return pyogrio.read_info(path, layer=name).get("crs")  # type: ignore[no-any-return]
    except Exception:  # attribute tables and unreadable layers: no CRS to convert
        return None


def _is_wgs84(crs: Any) -> bool:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    return c.to_epsg() == 4326 or c.equals(CRS.from_epsg(4326), ignore_axis_order=True)


def _bounds_wgs84(bounds: tuple[float, ...], crs: str | None) -> tuple[float, ...]:
    """``bounds`` in the layer's CRS as lon/lat bounds (densified edges)."""
    if crs is None or _is_wgs84(crs):
        return bounds
    from pyproj import CRS, Transformer

    t = Transformer.from_crs(CRS.from_user_input(crs), 4326, always_xy=True)
    x0, y0, x1, y1 = (float(v) for v in bounds)
    return tuple(float(v) for v in t.transform_bounds(x0, y0, x1, y1, densify_pts=21))


def _has_table(gpkg: str | os.PathLike[str], table: str) -> bool:
    with contextlib.closing(_connect_ro(Path(gpkg))) as con:
        return (
            con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (table,)).fetchone()
            is not None
        )


def unplaced_names(gpkg: str | os.PathLike[str], name: str) -> list[str]:
    """``name_zh`` of the features of layer ``name`` kept without geometry (未定位)."""
    companion = name + UNPLACED_SUFFIX
    if not _has_table(gpkg, companion):
        return []
    rest = pyogrio.read_dataframe(Path(gpkg), layer=companion)
    col = "name_zh" if "name_zh" in rest.columns else None
    return [str(v) for v in rest[col]] if col else [str(i) for i in range(len(rest))]


def read_fids(gpkg: str | os.PathLike[str], name: str) -> Any:
    """The feature ids (GeoPackage ``fid``) of a layer, in the order :func:`read_layer` reads
    its rows (a numpy int64 array)."""
    require_layer(gpkg, name)
    frame = pyogrio.read_dataframe(Path(gpkg), layer=name, columns=[], read_geometry=False,
                                   fid_as_index=True)
    return frame.index.to_numpy(dtype="int64")


def read_meta(gpkg: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The project's metadata rows, keyed by layer name (empty for foreign GeoPackages)."""
    path = _require_file(gpkg)
    with contextlib.closing(_connect_ro(path)) as con:
        exists = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (META_TABLE,)
        ).fetchone()
        if not exists:
            return {}
        con.row_factory = sqlite3.Row
        rows = con.execute(f"SELECT * FROM {META_TABLE}").fetchall()
    out = {}
    for r in rows:
        d = dict(r)
        d["parameters"] = json.loads(d.get("parameters") or "{}")
        d["inputs"] = json.loads(d.get("inputs") or "[]")
        out[d["layer"]] = d
    return out


def list_layers(gpkg: str | os.PathLike[str]) -> list[LayerInfo]:
    """Describe every layer: titles, kind, geometry type, feature count, bounds, provenance."""
    path = _require_file(gpkg)
    meta = read_meta(path)
    with contextlib.closing(_connect_ro(path)) as con:
        rows = con.execute(
            "SELECT c.table_name, c.data_type, c.description, g.geometry_type_name "
            "FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g USING (table_name) "
            "WHERE c.data_type IN ('features','attributes') AND c.table_name != ? "
            "ORDER BY c.rowid",
            (STYLES_TABLE,),
        ).fetchall()
        infos = []
        for table, data_type, description, gtype in rows:
            count = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            bounds = None
            if data_type == "features" and count:
                info = pyogrio.read_info(path, layer=table, force_total_bounds=True)
                b = info.get("total_bounds")
                if b is not None:
                    bounds = _bounds_wgs84(tuple(float(v) for v in b), info.get("crs"))
            m = meta.get(table, {})
            infos.append(
                LayerInfo(
                    name=table,
                    title_zh=m.get("title_zh", ""),
                    title_en=m.get("title_en", ""),
                    kind=m.get("kind", "foreign"),
                    data_type=data_type,
                    geometry_type=gtype,
                    count=int(count),
                    bounds=bounds,  # type: ignore[arg-type]
                    description=description or "",
                    attribution=m.get("attribution", ""),
                    plan_ref=m.get("plan_ref", ""),
                    source=m.get("source", ""),
                    licence=m.get("licence", ""),
                    parameters=m.get("parameters", {}),
                    inputs=m.get("inputs", []),
                )
            )
    return infos


def layer_info(gpkg: str | os.PathLike[str], name: str) -> LayerInfo:
    """:func:`list_layers` for one layer."""
    for info in list_layers(gpkg):
        if info.name == name:
            return info
    require_layer(gpkg, name)  # raises with the list of layers
    raise AssertionError("unreachable")


def _ensure_meta_table(con: sqlite3.Connection) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} ("
        "layer TEXT PRIMARY KEY, title_zh TEXT, title_en TEXT, kind TEXT, plan_ref TEXT, "
        "source TEXT, licence TEXT, attribution TEXT, parameters TEXT, inputs TEXT)"
    )


def write_meta(
    path: str | os.PathLike[str],
    layer: str,
    *,
    title_zh: str,
    title_en: str,
    kind: str,
    plan_ref: str = "",
    source: str = "",
    licence: str = "",
    attribution: str = "",
    parameters: dict[str, Any] | None = None,
    inputs: list[str] | None = None,
) -> None:
    """Insert or replace the metadata row of ``layer`` (call inside :func:`atomic_path`).

    When ``layer`` has unplaced features (its ``<layer>_unplaced`` table), their ``name_zh`` are
    listed in ``parameters["unplaced"]``.
    """
    parameters = dict(parameters or {})
    with contextlib.closing(sqlite3.connect(path)) as con:
        companion = layer + UNPLACED_SUFFIX
        has = con.execute(
            "SELECT 1 FROM gpkg_contents WHERE table_name = ?", (companion,)
        ).fetchone()
        if has:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{companion}")')]
            key = "name_zh" if "name_zh" in cols else "rowid"
            parameters["unplaced"] = [
                str(r[0]) for r in con.execute(f'SELECT "{key}" FROM "{companion}"')
            ]
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        _ensure_meta_table(con)
        con.execute(
            f"INSERT OR REPLACE INTO {META_TABLE} VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                layer,
                title_zh,
                title_en,
                kind,
                plan_ref,
                source,
                licence,
                attribution,
                json.dumps(parameters or {}, ensure_ascii=False, sort_keys=True, default=str),
                json.dumps(inputs or [], ensure_ascii=False),
            ),
        )


def write_frame(
    path: str | os.PathLike[str],
    frame: gpd.GeoDataFrame | pd.DataFrame,
    layer: str,
    *,
    description: str = "",
    identifier: str = "",
) -> None:
    """Write (or overwrite) one layer in a GeoPackage at ``path`` (use inside :func:`atomic_path`).

    GeoDataFrames are written as feature tables in EPSG:4326 with a spatial index; plain
    DataFrames as attribute tables.
    """
    check_layer_name(layer)
    options: dict[str, Any] = {
        "DESCRIPTION": description or layer,
        "IDENTIFIER": identifier or layer,
    }
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None:
            raise InvalidInput(f"layer {layer!r} has no CRS; cannot write it")
        out = frame.to_crs(4326) if frame.crs.to_epsg() != 4326 else frame
        geoms = out.geometry.to_numpy()
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if layer.startswith("analysis_"):  # derived: no stale unplaced rows from a past run
            _drop_table(path, layer + UNPLACED_SUFFIX)
        if missing.any():
            rest = pd.DataFrame(out.loc[missing].drop(columns=out.geometry.name))
            # a feature without geometry has no measured values (never a measured 0)
            for col in rest.columns:
                if (
                    col not in _KEEP_NUMERIC
                    and pd.api.types.is_numeric_dtype(rest[col])
                    and not pd.api.types.is_bool_dtype(rest[col])
                ):
                    rest[col] = pd.Series([None] * len(rest), index=rest.index, dtype="Float64")
            pyogrio.write_dataframe(
                rest,
                path,
                layer=layer + UNPLACED_SUFFIX,
                driver="GPKG",
                layer_options={
                    "DESCRIPTION": f"{description or layer}: features not located yet (未定位)",
                    "IDENTIFIER": f"{identifier or layer} (未定位 unplaced)",
                    "OVERWRITE": "YES",
                    "ASPATIAL_VARIANT": "GPKG_ATTRIBUTES",
                },
            )
            out = out.loc[~missing]
        # counter-clockwise exterior rings, clockwise holes (GeoPackage / OGC convention)
        out = out.set_geometry(
            shapely.orient_polygons(out.geometry.to_numpy(), exterior_cw=False), crs=out.crs
        )
        pyogrio.write_dataframe(
            out,
            path,
            layer=layer,
            driver="GPKG",
            promote_to_multi=False,
            layer_options={**options, "SPATIAL_INDEX": "YES", "OVERWRITE": "YES"},
        )
        write_analysis_style(path, layer, out)
    else:
        pyogrio.write_dataframe(
            pd.DataFrame(frame),
            path,
            layer=layer,
            driver="GPKG",
            # explicit: GDAL leaves aspatial tables unregistered once the file holds other
            # unregistered tables (our metadata and style tables)
            layer_options={**options, "OVERWRITE": "YES", "ASPATIAL_VARIANT": "GPKG_ATTRIBUTES"},
        )


def raster_layers(gpkg: str | os.PathLike[str]) -> dict[str, Path]:
    """Raster outputs registered in the metadata table (``kind='raster'``), name -> file path.

    Rasters (such as the density COG) live as files beside the GeoPackage; their metadata row holds
    ``parameters["path"]`` relative to the GeoPackage's folder.
    A path that leads outside that folder (absolute, ``..``, or a symlink out of it) is not
    followed: the layer is left out with a warning, since the metadata may come from an
    untrusted file.
    """
    import logging

    base = Path(gpkg).resolve().parent
    out = {}
    for name, row in read_meta(gpkg).items():
        rel = row["parameters"].get("path") if row.get("kind") == "raster" else None
        if not rel:
            continue
        target = (base / str(rel)).resolve()
        if not target.is_relative_to(base) or target == base:
            logging.getLogger("baoshan_gis").warning(
                "raster layer %r: its path %r leads outside the GeoPackage's folder; ignored",
                name, Path(str(rel)).name)
            continue
        out[name] = target
    return out


def write_analysis_layers(
    gpkg: str | os.PathLike[str],
    layers: dict[str, tuple[Any, ...]],
    *,
    source: str,
    replace: bool = False,
    rasters: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Write analysis results as layers (``kind='analysis'``), atomically, under the write lock.

    ``layers`` maps name -> ``(frame, parameters, inputs, title_zh, title_en[, attribution])``;
    ``rasters`` maps
    name -> keyword arguments of :func:`write_meta` for raster entries (``kind='raster'``).
    Existing analysis layers are replaced; any other layer or raster of the same name only with
    ``replace`` (:func:`baoshan_gis._guard.check_replace`), checked before and inside the lock.
    """
    from baoshan_gis._guard import check_replace

    for name in layers:
        check_layer_name(name)
    names = [*layers, *(rasters or {})]
    check_replace(gpkg, names, writer="analysis", replace=replace)
    with atomic_path(gpkg) as tmp:
        check_replace(tmp, names, writer="analysis", replace=replace)
        from baoshan_gis._derived import DerivedTruth

        derived = DerivedTruth(tmp)
        for name, (frame, params, inputs, title_zh, title_en, *extra) in layers.items():
            frame = derived.add(frame, inputs, f"{source}: {title_en}")
            delete_style(tmp, name)  # then write_frame gives analysis_* layers their style
            write_frame(tmp, frame, name, description=f"{title_zh} {title_en}")
            write_meta(tmp, name, title_zh=title_zh, title_en=title_en, kind="analysis",
                       parameters=params, inputs=inputs, source=source,
                       attribution=extra[0] if extra else "")
        for name, kwargs in (rasters or {}).items():
            write_meta(tmp, name, **{"kind": "raster", "source": source, **kwargs})
    return names


def _drop_table(path: str | os.PathLike[str], table: str) -> None:
    """Drop an attributes table and its registration, if it exists."""
    if not Path(path).exists():
        return
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        if not con.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone():
            return
        con.execute(f'DROP TABLE "{table}"')
        for bookkeeping in ("gpkg_contents", "gpkg_ogr_contents"):
            if con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (bookkeeping,)
            ).fetchone():
                con.execute(f"DELETE FROM {bookkeeping} WHERE table_name = ?", (table,))
