"""ESRI Shapefile input, with the encoding of its ``.dbf`` checked before anything is stored."""

from __future__ import annotations

import codecs
from pathlib import Path

import geopandas as gpd

from baoshan_gis._errors import DataImportError, EncodingProblem
from baoshan_gis.inputs._common import (
    GUESS_CODECS,
    ReadOptions,
    check_codec,
    check_text,
    decodes_all,
)
from baoshan_gis.inputs.ogr import read_ogr

SUFFIXES: tuple[str, ...] = (".shp",)

# dBASE language-driver ids (byte 29 of a .dbf header) that name an encoding unambiguously.
_LDID_CODECS: dict[int, str] = {
    0x01: "cp437",
    0x02: "cp850",
    0x03: "cp1252",
    0x4D: "cp936",
    0x4E: "cp949",
    0x4F: "cp950",
    0x78: "cp950",
    0x79: "cp949",
    0x7A: "cp936",
    0x7B: "cp932",
    0x7C: "cp874",
}
#: Truth-field names a shapefile's 10-character field limit cuts, and their full names.
TRUNCATED_FIELDS: dict[str, str] = {"geometry_q": "geometry_quality"}


def find_sidecar(shp: Path, suffix: str) -> Path | None:
    """The file beside ``shp`` with the same stem and ``suffix`` (any case), if any."""
    for candidate in shp.parent.glob(f"{shp.stem}.*"):
        if candidate.suffix.lower() == suffix and candidate.stem == shp.stem:
            return candidate
    return None


def dbf_text_values(dbf: Path) -> tuple[list[bytes], list[bytes]]:
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
        desc = data[pos : pos + 32]
        names.append(desc[:11].split(b"\x00", 1)[0])
        length = desc[16]
        if desc[11:12] == b"C":
            fields.append((offset, length))
        offset += length
        pos += 32
    values: list[bytes] = []
    for i in range(n_records):
        start = header_len + i * record_len
        record = data[start : start + record_len]
        if len(record) < record_len:
            break
        for off, length in fields:
            value = record[off : off + length].rstrip(b" \x00")
            if value:
                values.append(value)
    return names, values


def cpg_codec(cpg: Path) -> str:
    """The Python codec a ``.cpg`` file names (``65001``, ``UTF-8``, ``GBK``, ``ANSI 936``...)."""
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


def read(shp: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """A shapefile with its sidecars; refuses text that does not decode in the declared codec."""
    missing = [s for s in (".shx", ".dbf") if find_sidecar(shp, s) is None]
    if missing:
        raise DataImportError(
            f"shapefile {shp.name!r} lacks its {' and '.join(missing)} file(s); keep all parts "
            "together (or import them zipped)"
        )
    dbf = find_sidecar(shp, ".dbf")
    assert dbf is not None
    if opts.encoding is not None:
        codec, declared_by = check_codec(opts.encoding), "--encoding"
    elif (cpg := find_sidecar(shp, ".cpg")) is not None:
        codec, declared_by = cpg_codec(cpg), "its .cpg file"
    else:
        ldid = dbf.read_bytes()[29:30]
        ldid_codec = _LDID_CODECS.get(ldid[0]) if ldid else None
        if ldid_codec:
            codec, declared_by = ldid_codec, "its .dbf language byte"
        else:
            codec, declared_by = "utf-8", "default: no .cpg file"
    names, values = dbf_text_values(dbf)
    for raw in (*names, *values):
        try:
            raw.decode(codec)
        except UnicodeDecodeError:
            blob = (*names, *values)
            hint = next((g for g in GUESS_CODECS if g != codec and decodes_all(blob, g)), None)
            suggestion = (
                f"it decodes as {hint.upper()}: rerun with --encoding {hint}"
                if hint
                else "give the right one with --encoding"
            )
            raise EncodingProblem(
                f"text in {shp.stem + '.dbf'!r} is not valid {codec} ({declared_by}); {suggestion}"
            ) from None
    frame = check_text(read_ogr(shp, encoding=codec), shp.name, codec)
    renames = {
        short: full
        for short, full in TRUNCATED_FIELDS.items()
        if short in frame.columns and full not in frame.columns
    }
    return frame.rename(columns=renames) if renames else frame
