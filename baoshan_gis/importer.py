"""Import a planner's own data (incubator lists, parks, zones) as a layer of the GeoPackage.

Supported inputs: GeoPackage (one layer, or the one named with ``layer``), GeoJSON, Shapefile
(``.shp`` with its sidecar files, or all of them in a ``.zip``) and CSV with longitude/latitude
columns. The import is all-or-nothing: it writes to a temporary copy of the GeoPackage and
moves it into place only when everything succeeded, so a failed import leaves the file
byte-for-byte as it was.

What the import checks, in order (each failure raises one of the package's errors with a one-line
message naming the option that fixes it):

* the layer name is a safe identifier and not taken (``replace=True`` / ``--replace`` to overwrite);
* the file can be read and has features (an empty file or a header-only CSV is refused);
* text decodes with the declared encoding (``.cpg`` file, the DBF language byte, ``encoding``,
  else UTF-8). Garbled text is never stored: a GBK shapefile without ``.cpg`` is refused with a
  hint to pass ``--encoding gbk``;
* the data has a CRS (``crs`` / ``--crs`` assigns one when the file has none). A CSV has no CRS
  declaration: its coordinates are taken as WGS84 lon/lat unless ``crs`` says otherwise, and the
  report says so;
* coordinates copied from Amap (GCJ-02) or Baidu (BD-09) are converted to WGS84 when
  ``source_crs`` says so; the original coordinates are kept in ``orig_lon``/``orig_lat``
  (points) or ``orig_wkt`` (other geometries);
* invalid geometries are repaired with :func:`shapely.make_valid` and counted; rows without
  coordinates or geometry are dropped with a warning naming them;
* features more than :data:`~baoshan_gis.settings.FAR_FROM_DISTRICT_M` from the district's
  bounding box give a warning (wrong CRS? swapped lon/lat?).

Truth fields: every feature of the GeoPackage carries ``name_zh`` ... ``accuracy_m``. An import
adds the missing columns, but it only fills what the file itself tells: ``source`` becomes the file
name and ``name_zh`` is copied from a ``name``/``名称`` column when there is one. Unknown
``category``, ``plan_ref``, ``status``, ``geometry_quality`` and ``accuracy_m`` stay empty (NULL)
rather than guessed, and the report lists them so the planner can fill them in.
"""

from __future__ import annotations

import codecs
import io
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis import gpkg as _gpkg
from baoshan_gis._errors import (
    CRSError,
    DataImportError,
    EncodingProblem,
    InvalidInput,
    LayerExists,
)
from baoshan_gis.settings import (
    DISTRICT_BOUNDS,
    FAR_FROM_DISTRICT_M,
    GEOMETRY_QUALITIES,
    METRIC_CRS,
    STATUSES,
    TRUTH_FIELDS,
    WGS84,
)

#: File endings the importer reads.
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".gpkg", ".geojson", ".json", ".shp", ".zip", ".csv", ".tsv", ".txt",
)
#: Column names recognised as longitude / latitude in a CSV (compared case-insensitively).
LON_NAMES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y", "纬度", "北纬")
#: Columns copied into an empty ``name_zh`` (the file's own names, not invented ones).
NAME_ALIASES: tuple[str, ...] = ("name", "名称", "名字", "name_cn", "中文名", "title")

# dBASE language-driver ids (byte 29 of a .dbf header) that name an encoding unambiguously.
_LDID_CODECS: dict[int, str] = {
    0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x4D: "cp936", 0x4E: "cp949",
    0x4F: "cp950", 0x78: "cp950", 0x79: "cp949", 0x7A: "cp936", 0x7B: "cp932", 0x7C: "cp874",
}
# Encodings suggested when text is not valid in the declared one (Chinese data first).
_GUESS_CODECS: tuple[str, ...] = ("gbk", "gb18030", "big5")
_RESERVED_COLUMNS = {"fid": "fid_orig", "geom": "geom_orig"}


@dataclass
class ImportReport:
    """What :func:`import_layer` did.

    Attributes
    ----------
    name
        Layer name written.
    count
        Number of features written.
    repaired
        Number of invalid geometries repaired with ``make_valid``.
    warnings
        Things the planner should check (far-off features, dropped rows, assumed CRS, empty
        truth fields...).
    converted_from
        ``"gcj02"`` or ``"bd09"`` when the coordinates were converted to WGS84, else ``None``.
    """

    name: str
    count: int
    repaired: int
    warnings: list[str] = field(default_factory=list)
    converted_from: str | None = None
    source_file: str = ""
    geometry_types: tuple[str, ...] = ()

    def text(self) -> str:
        """One-line summary for the terminal."""
        parts = [
            f"imported {self.count} feature{'s' if self.count != 1 else ''} "
            f"({', '.join(self.geometry_types) or 'no geometry'}) from {self.source_file!r} "
            f"into layer {self.name!r}"
        ]
        if self.converted_from:
            parts.append(f"converted from {self.converted_from.upper()} to WGS84, originals kept")
        parts.append(f"{self.repaired} invalid geometr{'y' if self.repaired == 1 else 'ies'} "
                     "repaired")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}")
        return "; ".join(parts)


# ----------------------------------------------------------------------------------------------
# public entry point


def import_layer(
    gpkg: str | os.PathLike[str],
    file: str | os.PathLike[str],
    *,
    name: str,
    crs: str | None = None,
    encoding: str | None = None,
    source_crs: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    layer: str | None = None,
    replace: bool = False,
) -> ImportReport:
    """Import ``file`` as layer ``name`` of the existing GeoPackage ``gpkg`` (atomically).

    Parameters
    ----------
    gpkg
        The project's GeoPackage (built with ``baoshan-gis build``); it must exist.
    file
        ``.gpkg``, ``.geojson``/``.json``, ``.shp`` (with sidecars), ``.zip`` holding a
        shapefile (or one other supported file), or ``.csv``/``.tsv``/``.txt`` with coordinates.
    name
        Layer name: a safe identifier (lower-case letter first, then ``a-z0-9_``).
    crs
        CRS of the coordinates, e.g. ``"EPSG:4549"``, for files that do not declare one (or to
        override a wrong declaration; the report then warns). CSV coordinates default to WGS84.
    encoding
        Text encoding of the attributes (``"gbk"``, ``"utf-8"``...) when the file does not
        declare it (shapefile without ``.cpg``) or is not UTF-8 (CSV).
    source_crs
        ``"gcj02"`` (Amap, Tencent) or ``"bd09"`` (Baidu): the lon/lat are offset coordinates to
        convert to WGS84; originals are kept in ``orig_lon``/``orig_lat`` or ``orig_wkt``.
    lon_col, lat_col
        CSV coordinate columns; detected from common names (lon/lng/longitude/x/经度,
        lat/latitude/y/纬度) when not given.
    layer
        Which layer of a multi-layer GeoPackage (or which shapefile in a zip) to import.
    replace
        Overwrite an existing layer of the same name.

    Returns
    -------
    ImportReport
        Feature count, repaired geometries, warnings and the conversion applied.

    Raises
    ------
    InvalidInput
        Unsafe layer name or missing GeoPackage.
    LayerExists
        ``name`` is taken and ``replace`` is false.
    DataImportError
        Unreadable, unsupported or empty input; coordinate columns not found.
    CRSError
        No CRS and no ``crs``; unknown ``crs``/``source_crs``.
    EncodingProblem
        Text that does not decode with the declared or given encoding.
    """
    _gpkg.check_layer_name(name)
    gpkg_path = Path(gpkg)
    try:
        existing = _gpkg.layer_names(gpkg_path)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{gpkg_path.name!r} is not a GeoPackage ({exc})") from None
    if name in existing and not replace:
        raise LayerExists(
            f"layer {name!r} already exists in {gpkg_path.name!r}; use --replace to overwrite "
            "it or choose another --name"
        )
    conversion = _check_source_crs(source_crs)
    target_crs = _parse_crs(crs) if crs is not None else None
    if encoding is not None:
        _check_codec(encoding)
    path = Path(file)
    if not path.is_file():
        raise DataImportError(f"input file {str(path)!r} does not exist")

    warnings: list[str] = []
    frame = _read_any(
        path, encoding=encoding, lon_col=lon_col, lat_col=lat_col, layer=layer,
        crs_given=target_crs is not None, conversion=conversion, warnings=warnings,
    )
    frame = _apply_crs(frame, path.name, target_crs, warnings)
    frame = _drop_missing_geometry(frame, warnings)
    if conversion is not None:
        frame = _convert_offset(frame, conversion)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(WGS84)
    frame, repaired = _repair(frame, warnings)
    _warn_far_away(frame, warnings)
    frame = _fix_columns(frame, warnings)
    frame = _add_truth_fields(frame, path.name, warnings)

    parameters: dict[str, Any] = {
        "file": path.name, "crs": crs, "encoding": encoding, "source_crs": conversion,
        "lon_col": lon_col, "lat_col": lat_col, "layer": layer, "repaired": repaired,
    }
    with _gpkg.atomic_path(gpkg_path) as tmp:
        _gpkg.write_frame(tmp, frame, name, description=f"imported from {path.name}")
        _gpkg.delete_style(tmp, name)
        _gpkg.write_meta(
            tmp, name, title_zh=f"导入数据（{path.name}）", title_en=f"Imported from {path.name}",
            kind="import",
            source=path.name, parameters={k: v for k, v in parameters.items() if v is not None},
        )
    gtypes = tuple(sorted(set(frame.geometry.geom_type.dropna())))
    return ImportReport(
        name=name, count=len(frame), repaired=repaired, warnings=warnings,
        converted_from=conversion, source_file=path.name, geometry_types=gtypes,
    )


# ----------------------------------------------------------------------------------------------
# option checks


def _check_source_crs(source_crs: str | None) -> str | None:
    if source_crs is None:
        return None
    value = str(source_crs).lower().replace("-", "").replace("_", "")
    if value == "wgs84":
        return None
    if value not in ("gcj02", "bd09"):
        raise CRSError(
            f"unknown --source-crs {source_crs!r}; use gcj02 (Amap/高德, Tencent) or bd09 "
            "(Baidu/百度)"
        )
    return value


def _parse_crs(crs: str) -> Any:
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return CRS.from_user_input(crs)
    except ProjCRSError:
        raise CRSError(
            f"unknown CRS {crs!r} given with --crs; use e.g. EPSG:4326 (lon/lat) or EPSG:4549 "
            "(CGCS2000 Gauss-Kruger)"
        ) from None


def _check_codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingProblem(
            f"unknown --encoding {encoding!r}; use e.g. utf-8, gbk or gb18030"
        ) from None


# ----------------------------------------------------------------------------------------------
# readers


def _read_any(
    path: Path, *, encoding: str | None, lon_col: str | None, lat_col: str | None,
    layer: str | None, crs_given: bool, conversion: str | None, warnings: list[str],
) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(path, encoding=encoding, lon_col=lon_col, lat_col=lat_col,
                         crs_given=crs_given, conversion=conversion, warnings=warnings)
    if suffix == ".zip":
        return _read_zip(path, encoding=encoding, lon_col=lon_col, lat_col=lat_col, layer=layer,
                         crs_given=crs_given, conversion=conversion, warnings=warnings)
    if suffix == ".shp":
        return _read_shapefile(path, encoding=encoding)
    if suffix in (".geojson", ".json"):
        return _check_text(_read_ogr(path, encoding=encoding), path.name, encoding)
    if suffix == ".gpkg":
        return _read_gpkg(path, layer=layer)
    raise DataImportError(
        f"cannot import {path.name!r}: unsupported file type {suffix or '(none)'!r}; supported: "
        f"{', '.join(SUPPORTED_SUFFIXES)}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_ogr(path: Path, *, layer: str | None = None, encoding: str | None = None
              ) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, fid_as_index=False)
    except UnicodeDecodeError as exc:
        raise EncodingProblem(
            f"text in {path.name!r} is not valid {encoding or 'UTF-8'} ({exc.reason}); give the "
            "right one with --encoding (e.g. --encoding gbk)"
        ) from None
    except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise DataImportError(f"cannot read {path.name!r}: {_first_line(exc)}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataImportError(
            f"{path.name!r} has no geometry column; for a table with coordinates use a CSV with "
            "--lon-col/--lat-col"
        )
    if len(frame) == 0:
        raise DataImportError(f"{path.name!r} has no features; nothing to import")
    return frame


def _check_text(frame: gpd.GeoDataFrame, filename: str, encoding: str | None
                ) -> gpd.GeoDataFrame:
    """Refuse frames whose text holds U+FFFD, the mark of bytes that did not decode."""
    bad_cols = []
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        if "\ufffd" in str(col):
            bad_cols.append(str(col))
            continue
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            values = frame[col].dropna().astype(str)
            if values.str.contains("\ufffd", regex=False).any():
                bad_cols.append(str(col))
    if bad_cols:
        raise EncodingProblem(
            f"text in {filename!r} (columns {', '.join(bad_cols)}) did not decode as "
            f"{encoding or 'the declared encoding'}; give the right one with --encoding "
            "(e.g. --encoding gbk)"
        )
    return frame


def _read_gpkg(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except DataSourceError as exc:
        raise DataImportError(f"cannot read {path.name!r}: {_first_line(exc)}") from None
    if not layers:
        raise DataImportError(f"{path.name!r} has no layers; nothing to import")
    if layer is None:
        if len(layers) > 1:
            raise DataImportError(
                f"{path.name!r} has {len(layers)} layers ({', '.join(layers)}); choose one with "
                "--layer NAME"
            )
        layer = layers[0]
    elif layer not in layers:
        raise DataImportError(
            f"no layer {layer!r} in {path.name!r}; layers: {', '.join(layers)}"
        )
    return _read_ogr(path, layer=layer)


def _find_sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in shp.parent.glob(f"{shp.stem}.*"):
        if candidate.suffix.lower() == suffix and candidate.stem == shp.stem:
            return candidate
    return None


def _dbf_text_values(dbf: Path) -> tuple[list[bytes], list[bytes]]:
    """Raw bytes of the field names and of every character field value of a dBASE file."""
    data = dbf.read_bytes()
    if len(data) < 32:
        return [], []
    n_records = int.from_bytes(data[4:8], "little")
    header_len = int.from_bytes(data[8:10], "little")
    record_len = int.from_bytes(data[10:12], "little")
    names: list[bytes] = []
    fields: list[tuple[int, int]] = []  # (offset in record, length) of character fields
    offset = 1  # deletion flag
    pos = 32
    while pos + 32 <= header_len and data[pos] != 0x0D:
        desc = data[pos:pos + 32]
        names.append(desc[:11].split(b"\x00", 1)[0])
        length = desc[16]
        if desc[11:12] == b"C":
            fields.append((offset, length))
        offset += length
        pos += 32
    values: list[bytes] = []
    for i in range(n_records):
        start = header_len + i * record_len
        record = data[start:start + record_len]
        if len(record) < record_len:
            break
        for off, length in fields:
            value = record[off:off + length].rstrip(b" \x00")
            if value:
                values.append(value)
    return names, values


def _cpg_codec(cpg: Path) -> str:
    text = cpg.read_text(encoding="ascii", errors="replace").strip()
    upper = text.upper()
    if upper.startswith("ANSI "):
        upper = upper[5:].strip()
    if upper.isdigit():
        return "utf-8" if upper == "65001" else f"cp{upper}"
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise EncodingProblem(
            f"the .cpg file of {cpg.stem!r} names an unknown encoding {text!r}; give the right "
            "one with --encoding (e.g. --encoding gbk)"
        ) from None


def _read_shapefile(shp: Path, *, encoding: str | None) -> gpd.GeoDataFrame:
    missing = [s for s in (".shx", ".dbf") if _find_sidecar(shp, s) is None]
    if missing:
        raise DataImportError(
            f"shapefile {shp.name!r} lacks its {' and '.join(missing)} file(s); keep all parts "
            "together (or import them zipped)"
        )
    dbf = _find_sidecar(shp, ".dbf")
    assert dbf is not None
    if encoding is not None:
        codec, declared_by = _check_codec(encoding), "--encoding"
    elif (cpg := _find_sidecar(shp, ".cpg")) is not None:
        codec, declared_by = _cpg_codec(cpg), "its .cpg file"
    else:
        ldid = dbf.read_bytes()[29:30]
        ldid_codec = _LDID_CODECS.get(ldid[0]) if ldid else None
        if ldid_codec:
            codec, declared_by = ldid_codec, "its .dbf language byte"
        else:
            codec, declared_by = "utf-8", "default: no .cpg file"
    names, values = _dbf_text_values(dbf)
    for raw in (*names, *values):
        try:
            raw.decode(codec)
        except UnicodeDecodeError:
            blob = (*names, *values)
            hint = next(
                (g for g in _GUESS_CODECS if g != codec and _decodes_all(blob, g)), None
            )
            suggestion = f"it decodes as {hint.upper()}: rerun with --encoding {hint}" if hint \
                else "give the right one with --encoding"
            raise EncodingProblem(
                f"text in {shp.stem + '.dbf'!r} is not valid {codec} ({declared_by}); "
                f"{suggestion}"
            ) from None
    return _check_text(_read_ogr(shp, encoding=codec), shp.name, codec)


def _decodes_all(blobs: tuple[bytes, ...], codec: str) -> bool:
    try:
        for b in blobs:
            b.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _read_zip(
    path: Path, *, encoding: str | None, lon_col: str | None, lat_col: str | None,
    layer: str | None, crs_given: bool, conversion: str | None, warnings: list[str],
) -> gpd.GeoDataFrame:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataImportError(f"{path.name!r} is not a readable zip file") from None
    with zf, tempfile.TemporaryDirectory(prefix="baoshan-import-") as tmpdir:
        members = [m for m in zf.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        data = [m for m in members if Path(m.filename).suffix.lower() in SUPPORTED_SUFFIXES
                and Path(m.filename).suffix.lower() not in (".zip", ".txt")]
        shps = [m for m in data if m.filename.lower().endswith(".shp")]
        choices = shps or data
        if layer is not None:
            choices = [m for m in choices if Path(m.filename).stem == layer]
        if len(choices) != 1:
            found = ", ".join(m.filename for m in (shps or data)) or "none"
            if not choices:
                what = f"no {layer!r} in it" if layer else \
                    "no shapefile, GeoJSON, GeoPackage or CSV"
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
        frame = _read_any(inner, encoding=encoding, lon_col=lon_col, lat_col=lat_col,
                          layer=None, crs_given=crs_given, conversion=conversion,
                          warnings=warnings)
        # pyogrio returns in-memory frames: nothing refers to the temporary files any more
        return frame


def _match_column(columns: list[str], given: str | None, names: tuple[str, ...], option: str,
                  filename: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise DataImportError(
                f"{option} {given!r} is not a column of {filename!r}; columns: "
                f"{', '.join(columns)}"
            )
        return given
    lookup = {c.strip().lower(): c for c in columns}
    for candidate in names:
        if candidate in lookup:
            return lookup[candidate]
    return None


def _read_csv(
    path: Path, *, encoding: str | None, lon_col: str | None, lat_col: str | None,
    crs_given: bool, conversion: str | None, warnings: list[str],
) -> gpd.GeoDataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise DataImportError(f"{path.name!r} is empty; nothing to import")
    codec = _check_codec(encoding) if encoding else "utf-8-sig"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        hint = next((g for g in _GUESS_CODECS if _decodes_all((raw,), g)), None)
        suggestion = f"it decodes as {hint.upper()}: rerun with --encoding {hint}" if hint \
            else "give the right one with --encoding"
        raise EncodingProblem(
            f"text in {path.name!r} is not valid {encoding or 'UTF-8'}; {suggestion}"
        ) from None
    sep = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, engine="python")
    except pd.errors.EmptyDataError:
        raise DataImportError(f"{path.name!r} is empty; nothing to import") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataImportError(f"cannot read {path.name!r} as CSV: {_first_line(exc)}") from None
    if len(df) == 0:
        raise DataImportError(
            f"{path.name!r} has a header but no data rows; nothing to import"
        )
    columns = [str(c) for c in df.columns]
    df.columns = columns
    lon_name = _match_column(columns, lon_col, LON_NAMES, "--lon-col", path.name)
    lat_name = _match_column(columns, lat_col, LAT_NAMES, "--lat-col", path.name)
    if lon_name is None or lat_name is None:
        raise DataImportError(
            f"cannot tell which columns of {path.name!r} hold the coordinates (columns: "
            f"{', '.join(columns)}); name them with --lon-col and --lat-col"
        )
    lon = pd.to_numeric(df[lon_name], errors="coerce")
    lat = pd.to_numeric(df[lat_name], errors="coerce")
    missing = lon.isna() | lat.isna()
    if missing.all():
        raise DataImportError(
            f"no row of {path.name!r} has numeric coordinates in {lon_name!r}/{lat_name!r}; "
            "check --lon-col/--lat-col"
        )
    if missing.any():
        lines = [str(i + 2) for i in np.flatnonzero(missing.to_numpy())]  # header is line 1
        shown = ", ".join(lines[:10]) + (" ..." if len(lines) > 10 else "")
        warnings.append(
            f"{len(lines)} row(s) without numeric coordinates skipped (file lines {shown})"
        )
    keep = ~missing
    df = df.loc[keep].drop(columns=[lon_name, lat_name]).reset_index(drop=True)
    lon = lon[keep].to_numpy(dtype="float64")
    lat = lat[keep].to_numpy(dtype="float64")
    frame = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=None)
    if not crs_given:
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            swapped = abs(lat[i]) <= 180 and abs(lon[i]) <= 90
            hint = (f"longitude and latitude look swapped: check --lon-col/--lat-col (now "
                    f"{lon_name!r}/{lat_name!r})") if swapped else \
                "give their CRS with --crs, e.g. --crs EPSG:4549"
            raise CRSError(
                f"the coordinates in {path.name!r} are not lon/lat degrees (e.g. "
                f"{lon[i]:g}, {lat[i]:g}); {hint}"
            )
        frame = frame.set_crs(WGS84)
        if conversion is None:
            warnings.append(
                f"{path.name!r} does not say which coordinate system it uses: taken as WGS84 "
                "lon/lat; if the coordinates were copied from Amap/高德 or Baidu/百度, re-import "
                "with --source-crs gcj02 or bd09 --replace"
            )
    return frame


# ----------------------------------------------------------------------------------------------
# clean-up steps (each returns a new frame)


def _apply_crs(frame: gpd.GeoDataFrame, filename: str, target_crs: Any, warnings: list[str]
               ) -> gpd.GeoDataFrame:
    if target_crs is not None:
        if frame.crs is not None and not frame.crs.equals(target_crs):
            warnings.append(
                f"{filename!r} declares {frame.crs.to_string()}, but --crs "
                f"{target_crs.to_string()} was used as given"
            )
        return frame.set_crs(target_crs, allow_override=True)
    if frame.crs is None:
        raise CRSError(
            f"{filename!r} has no coordinate reference system (a shapefile without .prj?); "
            "name it with --crs, e.g. --crs EPSG:4326 for lon/lat degrees or --crs EPSG:4549 "
            "for CGCS2000 Gauss-Kruger metres"
        )
    return frame


def _drop_missing_geometry(frame: gpd.GeoDataFrame, warnings: list[str]) -> gpd.GeoDataFrame:
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.all():
        raise DataImportError("no feature of the input has a geometry; nothing to import")
    if missing.any():
        rows = [str(i + 1) for i in np.flatnonzero(missing.to_numpy())]
        shown = ", ".join(rows[:10]) + (" ..." if len(rows) > 10 else "")
        warnings.append(f"{len(rows)} feature(s) without geometry skipped (features {shown})")
        frame = frame.loc[~missing].reset_index(drop=True)
    return frame


def _convert_offset(frame: gpd.GeoDataFrame, conversion: str) -> gpd.GeoDataFrame:
    from baoshan_gis.coords import to_wgs84_from

    if not frame.crs.is_geographic:
        raise CRSError(
            f"--source-crs {conversion} needs lon/lat coordinates, but the data is in "
            f"{frame.crs.to_string()}; leave out --source-crs (projected data is not offset)"
        )
    out = frame.copy()
    geoms = frame.geometry
    if (geoms.geom_type == "Point").all():
        out["orig_lon"] = geoms.x.to_numpy()
        out["orig_lat"] = geoms.y.to_numpy()
    else:
        import shapely

        out["orig_wkt"] = shapely.to_wkt(np.asarray(geoms.values), rounding_precision=-1)
    out = to_wgs84_from(out, conversion)
    return out


def _repair(frame: gpd.GeoDataFrame, warnings: list[str]) -> tuple[gpd.GeoDataFrame, int]:
    import shapely

    geoms = np.asarray(frame.geometry.values)
    invalid = ~shapely.is_valid(geoms)
    n = int(invalid.sum())
    if not n:
        return frame, 0
    fixed = geoms.copy()
    try:
        fixed[invalid] = shapely.make_valid(geoms[invalid], method="structure",
                                            keep_collapsed=False)
    except (TypeError, ValueError):  # older GEOS without the "structure" method
        fixed[invalid] = shapely.make_valid(geoms[invalid])
    out = frame.copy()
    out = out.set_geometry(gpd.GeoSeries(fixed, index=frame.index, crs=frame.crs))
    collapsed = shapely.is_empty(fixed)
    if collapsed.any():
        warnings.append(
            f"{int(collapsed.sum())} invalid geometr(ies) collapsed to nothing when repaired and "
            "were skipped"
        )
        out = out.loc[~collapsed].reset_index(drop=True)
        if len(out) == 0:
            raise DataImportError("every geometry of the input is invalid beyond repair")
    warnings.append(f"{n} invalid geometr{'y' if n == 1 else 'ies'} repaired with make_valid")
    return out, n


def _warn_far_away(frame: gpd.GeoDataFrame, warnings: list[str]) -> None:
    import shapely

    box = gpd.GeoSeries([shapely.box(*DISTRICT_BOUNDS)], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    metric = frame.geometry.to_crs(METRIC_CRS)
    dist = metric.distance(box).to_numpy()
    far = dist > FAR_FROM_DISTRICT_M
    if not far.any():
        return
    first = int(np.flatnonzero(far)[0])
    rep = frame.geometry.iloc[first].representative_point()
    msg = (
        f"{int(far.sum())} of {len(frame)} feature(s) lie more than "
        f"{FAR_FROM_DISTRICT_M / 1000:g} km from Baoshan District (e.g. feature {first + 1} at "
        f"{rep.x:.5f}, {rep.y:.5f}, {dist[first] / 1000:.0f} km away)"
    )
    warnings.append(msg + "; check the coordinates and --crs")


def _fix_columns(frame: gpd.GeoDataFrame, warnings: list[str]) -> gpd.GeoDataFrame:
    out = frame
    geom_name = frame.geometry.name
    renames = {c: new for c, new in _RESERVED_COLUMNS.items()
               if c in frame.columns and c != geom_name and new not in frame.columns}
    if renames:
        out = out.rename(columns=renames)
        warnings.append(
            "column(s) renamed to avoid GeoPackage names: "
            + ", ".join(f"{k} -> {v}" for k, v in renames.items())
        )
    if geom_name != "geometry":
        out = out.rename_geometry("geometry")
    return out


def _add_truth_fields(frame: gpd.GeoDataFrame, filename: str, warnings: list[str]
                      ) -> gpd.GeoDataFrame:
    out = frame.copy()
    empty: list[str] = []
    for fld in TRUTH_FIELDS:
        if fld in out.columns:
            continue
        if fld == "source":
            out[fld] = filename
        elif fld == "name_zh" and (alias := next((a for a in NAME_ALIASES if a in out.columns),
                                                 None)):
            out[fld] = out[alias].astype("string")
        elif fld == "accuracy_m":
            out[fld] = np.nan
            empty.append(fld)
        else:
            out[fld] = pd.Series([None] * len(out), index=out.index, dtype="string")
            empty.append(fld)
    if empty:
        warnings.append(
            f"truth field(s) not in the file left empty: {', '.join(empty)} (fill them in to say "
            "what each feature is and how exact its position is)"
        )
    for fld, allowed in (("geometry_quality", GEOMETRY_QUALITIES), ("status", STATUSES)):
        if fld in frame.columns:
            values = set(frame[fld].dropna().astype(str)) - set(allowed)
            if values:
                warnings.append(
                    f"{fld} has value(s) {', '.join(sorted(map(repr, values)))} outside "
                    f"{', '.join(allowed)}"
                )
    geom = out.geometry.name
    ordered = [*TRUTH_FIELDS, *[c for c in out.columns if c not in TRUTH_FIELDS and c != geom],
               geom]
    return out[ordered]
