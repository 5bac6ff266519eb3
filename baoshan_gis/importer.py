"""Import a planner's own data (incubator lists, parks, zones) as a layer of the GeoPackage.

Supported inputs: GeoPackage (one layer, or the one named with ``layer``), GeoJSON, Shapefile
(``.shp`` with its sidecar files, or all of them in a ``.zip``), GeoParquet, and CSV or Excel
(``.xlsx``) with longitude/latitude columns. Each format has its reader module in
:mod:`baoshan_gis.inputs`; this module runs the checks common to all of them and writes the
layer. The import is all-or-nothing: it writes to a temporary copy of the GeoPackage and moves it
into place only when everything succeeded, so a failed import leaves the file byte-for-byte as it
was.

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

import os
import sqlite3
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
    InvalidInput,
)
from baoshan_gis._guard import check_replace
from baoshan_gis._import_checks import absorb_m_notices, check_degrees, declared_m, drop_m
from baoshan_gis.inputs import SUPPORTED_SUFFIXES as SUPPORTED_SUFFIXES  # re-exported
from baoshan_gis.inputs import ReadOptions, read_any, read_table
from baoshan_gis.inputs._common import LAT_NAMES as LAT_NAMES  # re-exported
from baoshan_gis.inputs._common import LON_NAMES as LON_NAMES  # re-exported
from baoshan_gis.inputs._common import check_codec
from baoshan_gis.inputs._crs import check_gauss_kruger
from baoshan_gis.inputs.geocode import GeocodeOptions, GeocodeResult, geocode_table
from baoshan_gis.settings import (
    DISTRICT_BOUNDS,
    FAR_FROM_DISTRICT_M,
    GEOMETRY_QUALITIES,
    METRIC_CRS,
    STATUSES,
    TRUTH_FIELDS,
    WGS84,
)

#: Columns copied into an empty ``name_zh`` (the file's own names, not invented ones).
NAME_ALIASES: tuple[str, ...] = ("name", "名称", "名字", "name_cn", "中文名", "title")

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
    unplaced: list[str] = field(default_factory=list)
    unplaced_table: str | None = None
    geocoded: str = ""

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
        if self.geocoded:
            parts.append(self.geocoded)
        if self.unplaced_table:
            parts.append(f"{len(self.unplaced)} row(s) unplaced, kept in table "
                         f"{self.unplaced_table!r}")
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
    sheet: str | None = None,
    replace: bool = False,
    append: bool = False,
    geocode: GeocodeOptions | None = None,
    create: bool = False,
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
    sheet
        Which sheet of an Excel workbook to import (default: the first).
    replace
        Overwrite an existing layer of the same name.
    append
        Merge into an existing layer: rows whose ``name_zh`` is already there replace those, the
        others are added. With ``replace`` or ``append``, rows of ``<name>_unplaced`` (such as the
        plan's incubators) whose ``name_zh`` is now placed leave that table, and their attributes
        fill the fields the file left empty.
    geocode
        Geocode the address column of a table (CSV, Excel) instead of reading coordinates
        (:mod:`baoshan_gis.inputs.geocode`); rows that cannot be placed go to the attribute table
        ``<name>_unplaced`` beside the layer, with the reason.
    create
        Create ``gpkg`` when it does not exist (``baoshan-gis geocode --out``).

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
    unplaced_name: str | None = f"{name}_unplaced"
    try:
        existing = [] if create and not gpkg_path.exists() else _gpkg.layer_names(gpkg_path)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{gpkg_path.name!r} is not a GeoPackage ({exc})") from None
    if unplaced_name not in existing and geocode is None:
        unplaced_name = None
    else:
        _gpkg.check_layer_name(str(unplaced_name))
    if not append and gpkg_path.exists():  # what a name may replace: baoshan_gis._guard
        check_replace(gpkg_path, [name], writer="import", replace=replace)
    conversion = _check_source_crs(source_crs)
    target_crs = _parse_crs(crs) if crs is not None else None
    if encoding is not None:
        check_codec(encoding)
    path = Path(file)
    if not path.is_file():
        raise DataImportError(f"input file {str(path)!r} does not exist")

    warnings: list[str] = []
    options = ReadOptions(
        encoding=encoding, lon_col=lon_col, lat_col=lat_col, layer=layer, sheet=sheet,
        crs_given=target_crs is not None, conversion=conversion,
    )
    unplaced: pd.DataFrame | None = None
    result: GeocodeResult | None = None
    if geocode is not None:
        result = geocode_table(read_table(path, options), geocode, filename=path.name)
        frame, unplaced = result.placed, result.unplaced
        if len(frame) == 0:
            shown = "; ".join(result.lines[:5]) + (" ..." if len(result.lines) > 5 else "")
            raise DataImportError(
                f"no address of {path.name!r} could be placed by {result.provider} ({shown}); "
                "the answers are cached, the GeoPackage was not changed"
            )
    else:
        notices: list[str] = []
        with absorb_m_notices(notices):
            frame = read_any(path, options, warnings)
        frame = drop_m(frame, path.name, bool(notices) or declared_m(path, layer),
                       warnings.append)
        frame = _apply_crs(frame, path.name, target_crs, warnings)
        check_degrees(frame, path.name)
        check_gauss_kruger(frame, path.name)
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
        "sheet": sheet,
    }
    if geocode is not None:
        parameters.update(address_col=geocode.address_col, provider=geocode.provider,
                          base_url=geocode.base_url)
    moved: list[str] = []
    new_unplaced = _unplaced_table(unplaced, path.name) if unplaced is not None else None
    with _gpkg.atomic_path(gpkg_path) as tmp:
        # Everything read from the GeoPackage from here on is read under the write lock, from
        # the copy of the current file: a concurrent import that landed first is kept.
        if tmp.exists():
            existing = _gpkg.layer_names(tmp)
        if unplaced_name is not None and unplaced_name in existing:
            frame, new_unplaced, moved = _move_out_of_unplaced(
                frame, _gpkg.read_layer(tmp, unplaced_name), new_unplaced
            )
        if append and name in existing:
            old = _gpkg.read_layer(tmp, name)
            frame, _, _ = _move_out_of_unplaced(frame, pd.DataFrame(old), None)  # keep fields
            keep = old.loc[~old["name_zh"].isin(frame["name_zh"].dropna())]
            frame = gpd.GeoDataFrame(pd.concat([keep, frame], ignore_index=True), crs=WGS84)
        meta = _gpkg.read_meta(tmp).get(name, {}) if name in existing else {}
        plan_layer = meta.get("kind") == "plan"
        gtypes = tuple(sorted(set(frame.geometry.geom_type.dropna())))
        if tmp.exists():  # again under the lock, on the current file
            check_replace(tmp, [name], writer="import", replace=replace or append,
                          geometry_types=gtypes)
        _gpkg.write_frame(tmp, frame, name, description=f"imported from {path.name}")
        if unplaced_name is not None and new_unplaced is not None and (
            len(new_unplaced) or unplaced_name in existing
        ):
            _gpkg.write_frame(
                tmp, new_unplaced, unplaced_name,
                description="rows not placed yet (reason in 'reason'); never a guessed point",
            )
            if not plan_layer:
                _gpkg.write_meta(
                    tmp, unplaced_name, title_zh=f"未定位（{path.name}）",
                    title_en=f"Not placed from {path.name}", kind="import", source=path.name,
                )
        params = {k: v for k, v in parameters.items() if v is not None}
        if plan_layer:  # a catalogue layer (incubators) keeps its titles, style and provenance
            _gpkg.write_meta(
                tmp, name, title_zh=meta["title_zh"], title_en=meta["title_en"], kind="plan",
                plan_ref=meta.get("plan_ref", ""), source=f"{meta.get('source', '')}; rows from "
                f"{path.name}", licence=meta.get("licence", ""),
                attribution=meta.get("attribution", ""), parameters=params,
            )
        else:
            _gpkg.delete_style(tmp, name)
            _gpkg.write_meta(
                tmp, name, title_zh=f"导入数据（{path.name}）",
                title_en=f"Imported from {path.name}", kind="import",
                source=path.name, parameters=params,
            )
    if moved:
        warnings.append(
            f"{len(moved)} row(s) moved out of {unplaced_name!r} now that they are placed: "
            + ", ".join(moved)
        )
    return ImportReport(
        name=name, count=len(frame), repaired=repaired, warnings=warnings,
        converted_from=conversion, source_file=path.name, geometry_types=gtypes,
        unplaced=result.lines if result else [],
        unplaced_table=unplaced_name if result is not None and result.lines else None,
        geocoded=(
            f"geocoded with {result.provider}: {result.stats.requests} request(s), "
            f"{result.stats.cached} address(es) from the cache" if result else ""
        ),
    )


def _move_out_of_unplaced(
    frame: gpd.GeoDataFrame, old: pd.DataFrame, new_unplaced: pd.DataFrame | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, list[str]]:
    """Take the rows of ``old`` that ``frame`` now places (same ``name_zh``) out of it, filling
    the fields ``frame`` left empty from them; the rest stays unplaced with ``new_unplaced``."""
    placed_names = set(frame["name_zh"].dropna().astype(str))
    hit = old["name_zh"].astype(str).isin(placed_names)
    out = frame.copy()
    skip = {"reason", "geometry_quality", "accuracy_m", "source", "geometry"}
    by_name = old.loc[hit].drop_duplicates("name_zh").set_index("name_zh")
    for col in (c for c in by_name.columns if c not in skip):
        filler = out["name_zh"].map(by_name[col])
        if col not in out.columns:
            out[col] = filler
            continue
        empty = out[col].isna() | (out[col].astype("string").str.strip() == "")
        out[col] = out[col].astype(object).where(~empty, filler)
    rest = old.loc[~hit]
    if new_unplaced is not None and len(new_unplaced):
        rest = rest.loc[~rest["name_zh"].isin(new_unplaced["name_zh"].dropna())]
        rest = pd.concat([rest, new_unplaced], ignore_index=True)
    return out, rest.reset_index(drop=True), sorted(old.loc[hit, "name_zh"].astype(str))


def _unplaced_table(unplaced: pd.DataFrame, filename: str) -> pd.DataFrame:
    """The unplaced rows with the truth fields the file tells (no geometry, no accuracy)."""
    out = pd.DataFrame(unplaced).copy()
    if "name_zh" not in out.columns:
        alias = next((a for a in NAME_ALIASES if a in out.columns), None)
        out["name_zh"] = out[alias].astype("string") if alias else pd.NA
    if "source" not in out.columns:
        out["source"] = filename
    for fld in TRUTH_FIELDS:
        if fld not in out.columns:
            out[fld] = pd.Series([None] * len(out), index=out.index, dtype="string")
    out["geometry_quality"] = pd.Series([None] * len(out), index=out.index, dtype="string")
    out["accuracy_m"] = np.nan
    cols = [*TRUTH_FIELDS, "reason", *[c for c in out.columns
                                       if c not in TRUTH_FIELDS and c != "reason"]]
    if len(out.columns) == 0 or len(out) == 0:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in [*TRUTH_FIELDS, "reason"]})
    return out[cols]


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


# ----------------------------------------------------------------------------------------------
# readers live in baoshan_gis.inputs (one module per format)


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
