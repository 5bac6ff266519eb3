"""CSV / TSV input: a table with lon/lat columns (or an address column to geocode)."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd

from baoshan_gis._errors import DataImportError, EncodingProblem
from baoshan_gis.inputs._common import (
    GUESS_CODECS,
    ReadOptions,
    check_codec,
    decodes_all,
    first_line,
    points_from_table,
)

SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")
#: File line of the first data row (the header is line 1).
FIRST_ROW = 2


def read_table(path: Path, opts: ReadOptions) -> pd.DataFrame:
    """The rows of a delimited text file as a DataFrame (decoded, non-empty)."""
    raw = path.read_bytes()
    if not raw.strip():
        raise DataImportError(f"{path.name!r} is empty; nothing to import")
    codec = check_codec(opts.encoding) if opts.encoding else "utf-8-sig"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        hint = next((g for g in GUESS_CODECS if decodes_all((raw,), g)), None)
        suggestion = (
            f"it decodes as {hint.upper()}: rerun with --encoding {hint}"
            if hint
            else "give the right one with --encoding"
        )
        raise EncodingProblem(
            f"text in {path.name!r} is not valid {opts.encoding or 'UTF-8'}; {suggestion}"
        ) from None
    sep = "\t" if path.suffix.lower() == ".tsv" else None
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, engine="python")
    except pd.errors.EmptyDataError:
        raise DataImportError(f"{path.name!r} is empty; nothing to import") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataImportError(f"cannot read {path.name!r} as CSV: {first_line(exc)}") from None
    if len(df) == 0:
        raise DataImportError(f"{path.name!r} has a header but no data rows; nothing to import")
    df.columns = [str(c) for c in df.columns]
    return df


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """Points from the lon/lat columns of a CSV (WGS84 unless ``--crs`` says otherwise)."""
    return points_from_table(read_table(path, opts), path, opts, warnings, first_row=FIRST_ROW)
