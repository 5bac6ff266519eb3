"""Excel workbooks (``.xlsx``, read with openpyxl): the first sheet, or the one named.

The first row of the sheet is the header; every further non-empty row is a place. Cells are read
as the values Excel last calculated (``data_only``), so formulas give their results. Like a CSV, a
sheet has lon/lat columns (WGS84 unless ``--crs``/``--source-crs`` say otherwise) or an address
column to geocode (``--address-col``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from baoshan_gis._errors import DataImportError
from baoshan_gis.inputs._common import ReadOptions, check_text, points_from_table

SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
#: Sheet row of the first data row (the header is row 1).
FIRST_ROW = 2


def _check_size(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than ``settings.ARCHIVE_MAX_BYTES``.

    An .xlsx is a zip: a few kilobytes can declare gigabytes of sheet XML. Python's zip reader
    never returns more than a member's declared size, so checking the declared sizes bounds what
    openpyxl reads."""
    from baoshan_gis._archive import check_members

    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        return  # not a zip: openpyxl's own error says so below
    check_members(path, members)


def read_table(path: Path, opts: ReadOptions) -> pd.DataFrame:
    """The rows of the chosen sheet as a DataFrame (header from the first row)."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_size(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataImportError(
            f"cannot read {path.name!r} as an Excel workbook ({type(exc).__name__}); save it "
            "again as .xlsx, or as CSV (UTF-8)"
        ) from None
    try:
        names = list(book.sheetnames)
        if opts.sheet is None:
            sheet = book.worksheets[0]
        elif opts.sheet in names:
            sheet = book[opts.sheet]
        else:
            raise DataImportError(
                f"no sheet {opts.sheet!r} in {path.name!r}; sheets: {', '.join(names)}"
            )
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    rows = [r for r in rows if any(v is not None and str(v).strip() != "" for v in r)]
    if not rows:
        raise DataImportError(f"sheet {sheet.title!r} of {path.name!r} is empty; nothing to import")
    header = rows[0]
    width = max(i + 1 for i, v in enumerate(header) if v is not None and str(v).strip())
    columns = []
    for i, value in enumerate(header[:width]):
        name = str(value).strip() if value is not None and str(value).strip() else f"column_{i + 1}"
        columns.append(name if name not in columns else f"{name}_{i + 1}")
    body = [(r + [None] * width)[:width] for r in rows[1:]]
    if not body:
        raise DataImportError(
            f"sheet {sheet.title!r} of {path.name!r} has a header but no data rows; nothing to "
            "import"
        )
    df = pd.DataFrame(body, columns=columns)
    for col in df.columns:  # mixed cells (text and numbers) stay as Python objects
        if df[col].map(lambda v: isinstance(v, str)).any():
            df[col] = df[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return check_text(df, path.name, None)


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """Points from the lon/lat columns of the sheet."""
    return points_from_table(read_table(path, opts), path, opts, warnings, first_row=FIRST_ROW)
