"""Read a roads file for the build's road recipes (``baoshan-gis build --roads FILE``).

Any line layer GDAL reads (GeoJSON, GeoPackage, Shapefile, ...) with a ``name`` (or ``name_zh``)
field, or an OSM extract (its named highways). Lines are reprojected to WGS84 from the file's CRS.
The file must hold at least one of the roads the zone recipes look for; otherwise the error names
them, so a planner knows what the file has to contain.

Features keep their own truth fields where the file has them; otherwise they are cited as the file
(``source``), ``approximate`` at :data:`DEFAULT_ACCURACY_M` — the project cannot know how a
planner's file was surveyed.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from baoshan_gis import settings
from baoshan_gis._errors import DataImportError
from baoshan_gis.inputs.osm_extract import is_osm_file, read_osm_extract

#: Accuracy (m) given to roads from a file that states none.
DEFAULT_ACCURACY_M: float = 20.0
#: Columns of the roads layer besides the truth fields.
ROAD_COLUMNS: tuple[str, ...] = ("highway", "ref", "osm_id", "length_m")


def _read(path: Path) -> gpd.GeoDataFrame:
    if is_osm_file(path):
        from baoshan_gis.osm_layers import extract_frames, layer_frames

        extract = read_osm_extract(path, network_types=())
        return layer_frames(extract_frames(extract), snapshot=extract.snapshot,
                            origin=f"OpenStreetMap extract {path.name}")["roads"]
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # GDAL's errors are plain
        raise DataImportError(f"cannot read roads file {path.name!r}: {str(exc).strip()}; give a "
                              "GeoJSON, GeoPackage, Shapefile or OSM file of road lines") from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise DataImportError(f"roads file {path.name!r} has no geometry or no CRS: give road "
                              "lines with a CRS (e.g. EPSG:4326 or EPSG:4490)")
    return frame


def read_roads(path: str | os.PathLike[str], *, wanted: list[str]) -> gpd.GeoDataFrame:
    """Road lines of ``path`` as a roads layer (WGS84, truth fields), checked to hold at least
    one of the ``wanted`` road names."""
    src = Path(path)
    if not src.is_file():
        raise DataImportError(f"roads file {str(src)!r} does not exist")
    frame = _read(src)
    name_col = next((c for c in ("name_zh", "name", "NAME", "Name") if c in frame.columns), None)
    if name_col is None:
        fields = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise DataImportError(
            f"roads file {src.name!r} has no 'name' field (fields: {fields}); "
            f"the recipes look for roads named {', '.join(wanted)}"
        )
    frame = frame.to_crs(settings.WGS84)
    lines = frame[frame.geometry.notna() & frame.geom_type.isin(["LineString", "MultiLineString"])]
    lines = lines[lines[name_col].notna()]
    names = lines[name_col].astype(str).str.strip()
    hit = lines[names.isin(wanted)].copy()
    if hit.empty:
        have = sorted(set(names))[:12]
        raise DataImportError(
            f"roads file {src.name!r} holds no road the plan's recipes use; they look for "
            f"{', '.join(wanted)} (the file has: {', '.join(have) or 'no named lines'})"
        )
    hit["name_zh"] = names[hit.index]
    hit = hit.explode(index_parts=False).reset_index(drop=True)
    hit = hit[shapely.length(hit.geometry.to_numpy()) > 0]
    out = gpd.GeoDataFrame({"name_zh": hit["name_zh"]}, geometry=hit.geometry.values,
                           crs=settings.WGS84)
    for col, default in (("name_en", "(no English name in the roads file)"),
                         ("category", "road"), ("plan_ref", "基础数据 base data"),
                         ("status", "existing"), ("source", f"roads file {src.name}"),
                         ("geometry_quality", "approximate"),
                         ("accuracy_m", DEFAULT_ACCURACY_M)):
        given = hit[col] if col in hit.columns else pd.Series([None] * len(hit))
        out[col] = given.where(given.notna() & (given.astype(str) != ""), default).to_numpy()
    out["accuracy_m"] = out["accuracy_m"].astype(float)
    out["highway"] = hit["highway"].astype(str).to_numpy() if "highway" in hit else ""
    out["ref"] = hit["ref"].fillna("").astype(str).to_numpy() if "ref" in hit else ""
    out["osm_id"] = pd.array(hit["osm_id"] if "osm_id" in hit else [None] * len(hit),
                             dtype="Int64")
    out["length_m"] = out.geometry.to_crs(settings.METRIC_CRS).length.to_numpy()
    out = out.set_geometry(shapely.set_precision(out.geometry.values, 1e-7))
    lead = list(settings.TRUTH_FIELDS)
    return out[[*lead, *ROAD_COLUMNS, "geometry"]]
