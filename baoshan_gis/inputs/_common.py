"""What every input reader shares: the read options, text checks and column matching."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis._errors import CRSError, DataImportError, EncodingProblem
from baoshan_gis.settings import WGS84

#: Column names recognised as longitude / latitude in a table (compared case-insensitively).
LON_NAMES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "经度", "东经")
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y", "纬度", "北纬")
#: Encodings suggested when text is not valid in the declared one (Chinese data first).
GUESS_CODECS: tuple[str, ...] = ("gbk", "gb18030", "big5")


@dataclass(frozen=True)
class ReadOptions:
    """Options a reader may use; each reader ignores what does not apply to its format.

    Attributes
    ----------
    encoding
        Text encoding given by the user (``--encoding``).
    lon_col, lat_col
        Coordinate columns of a table (CSV, Excel).
    layer
        Layer of a multi-layer GeoPackage, or stem of the file inside a zip.
    sheet
        Worksheet of an Excel workbook (default: the first).
    crs_given
        Whether the user gave ``--crs`` (tables then skip the lon/lat degree check).
    conversion
        ``"gcj02"``/``"bd09"`` when the coordinates are offset ones (no WGS84 warning then).
    """

    encoding: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    layer: str | None = None
    sheet: str | None = None
    crs_given: bool = False
    conversion: str | None = None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (GDAL messages can be long)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_codec(encoding: str) -> str:
    """Python's name for ``encoding``; :class:`EncodingProblem` when it is unknown."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise EncodingProblem(
            f"unknown --encoding {encoding!r}; use e.g. utf-8, gbk or gb18030"
        ) from None


def decodes_all(blobs: tuple[bytes, ...], codec: str) -> bool:
    """Whether every byte string decodes with ``codec``."""
    try:
        for b in blobs:
            b.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def check_text(frame: pd.DataFrame, filename: str, encoding: str | None) -> pd.DataFrame:
    """Refuse frames whose text holds U+FFFD, the mark of bytes that did not decode."""
    bad_cols = []
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for col in frame.columns:
        if col == geom:
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


def match_column(
    columns: list[str], given: str | None, names: tuple[str, ...], option: str, filename: str
) -> str | None:
    """The column ``given`` (checked), else the first of ``names`` present, else ``None``."""
    if given is not None:
        if given not in columns:
            raise DataImportError(
                f"{option} {given!r} is not a column of {filename!r}; columns: {', '.join(columns)}"
            )
        return given
    lookup = {c.strip().lower(): c for c in columns}
    for candidate in names:
        if candidate in lookup:
            return lookup[candidate]
    return None


def points_from_table(
    df: pd.DataFrame, path: Path, opts: ReadOptions, warnings: list[str], *, first_row: int = 2
) -> gpd.GeoDataFrame:
    """Points from the lon/lat columns of a table (CSV, Excel); rows without them are skipped.

    ``first_row`` is the file line (or sheet row) of the first data row, for the warnings.
    """
    columns = [str(c) for c in df.columns]
    df = df.set_axis(columns, axis=1)
    lon_name = match_column(columns, opts.lon_col, LON_NAMES, "--lon-col", path.name)
    lat_name = match_column(columns, opts.lat_col, LAT_NAMES, "--lat-col", path.name)
    if lon_name is None or lat_name is None:
        raise DataImportError(
            f"cannot tell which columns of {path.name!r} hold the coordinates (columns: "
            f"{', '.join(columns)}); name them with --lon-col and --lat-col, or geocode an "
            "address column with --address-col and --provider"
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
        lines = [str(i + first_row) for i in np.flatnonzero(missing.to_numpy())]
        shown = ", ".join(lines[:10]) + (" ..." if len(lines) > 10 else "")
        where = "file lines" if path.suffix.lower() in (".csv", ".tsv", ".txt") else "rows"
        warnings.append(
            f"{len(lines)} row(s) without numeric coordinates skipped ({where} {shown})"
        )
    keep = ~missing
    df = df.loc[keep].drop(columns=[lon_name, lat_name]).reset_index(drop=True)
    lon_a = lon[keep].to_numpy(dtype="float64")
    lat_a = lat[keep].to_numpy(dtype="float64")
    frame = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon_a, lat_a), crs=None)
    if not opts.crs_given:
        bad = (np.abs(lon_a) > 180) | (np.abs(lat_a) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            swapped = abs(lat_a[i]) <= 180 and abs(lon_a[i]) <= 90
            hint = (
                (
                    f"longitude and latitude look swapped: check --lon-col/--lat-col (now "
                    f"{lon_name!r}/{lat_name!r})"
                )
                if swapped
                else "give their CRS with --crs, e.g. --crs EPSG:4549"
            )
            raise CRSError(
                f"the coordinates in {path.name!r} are not lon/lat degrees (e.g. "
                f"{lon_a[i]:g}, {lat_a[i]:g}); {hint}"
            )
        frame = frame.set_crs(WGS84)
        if opts.conversion is None:
            warnings.append(
                f"{path.name!r} does not say which coordinate system it uses: taken as WGS84 "
                "lon/lat; if the coordinates were copied from Amap/高德 or Baidu/百度, re-import "
                "with --source-crs gcj02 or bd09 --replace"
            )
    return frame
