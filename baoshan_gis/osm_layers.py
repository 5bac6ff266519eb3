"""OpenStreetMap base layers in the GeoPackage: roads, named areas and the street graphs.

One set of layers, whatever the data came from — an extract file (``baoshan-gis osm import``), a
download (``baoshan-gis fetch-osm --gpkg``) or the embedded tables derived from the shared
环上大 / 大场 / 南大 extract (the default build):

================  ==========================================================================
``roads``         named highway lines (``name_zh``, ``name_en``, ``highway``, ``ref``, ``osm_id``,
                  ``length_m``)
``osm_areas``     named university, landuse and park polygons
``street_nodes``  walk graph nodes (``osmid``)
``street_edges``  walk graph edges (``u``, ``v``, ``key``, ``length`` in metres, ``name``,
                  ``highway``); undirected
``drive_nodes``   drive graph nodes
``drive_edges``   drive graph edges, directed (``oneway``)
================  ==========================================================================

Every feature carries the truth fields with ``source`` naming the OSM element and the snapshot
date; each layer's metadata row (``baoshan_layer_meta.parameters``) records the box the data covers
(``bbox``), the ``snapshot`` and the file it came from, so analyses can say how much of a zone
the street data reaches. © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from baoshan_gis import gpkg as _gpkg
from baoshan_gis import settings
from baoshan_gis._errors import DataImportError
from baoshan_gis.catalogue import get_layer_def
from baoshan_gis.inputs.osm_extract import GRAPH_LAYERS, OSMExtract, read_osm_extract

#: Positional accuracy given to OSM features traced from imagery in Shanghai (metres).
OSM_ACCURACY_M: float = 10.0
#: Plan reference of base data that the plan does not itself define.
BASE_PLAN_REF: str = "基础数据 base data"
#: The layers this module writes, in order.
OSM_LAYERS: tuple[str, ...] = (
    "roads", "osm_areas", *(name for pair in GRAPH_LAYERS.values() for name in pair),
)
#: Metadata ``kind`` of the OSM layers.
KIND = "osm"


def _truth(frame: gpd.GeoDataFrame, *, name_zh: Any, name_en: Any, category: Any,
           source: Any, accuracy_m: float = OSM_ACCURACY_M) -> gpd.GeoDataFrame:
    out = frame.copy()
    out["name_zh"] = name_zh
    out["name_en"] = name_en
    out["category"] = category
    out["plan_ref"] = BASE_PLAN_REF
    out["status"] = "existing"
    out["source"] = source
    out["geometry_quality"] = "surveyed"
    out["accuracy_m"] = float(accuracy_m)
    lead = list(settings.TRUTH_FIELDS)
    return out[lead + [c for c in out.columns if c not in lead]]


def _english(values: pd.Series, fallback: str) -> pd.Series:
    return values.fillna("").astype(str).where(values.fillna("").astype(str) != "", fallback)


def layer_frames(raw: dict[str, gpd.GeoDataFrame], *, snapshot: str, origin: str
                 ) -> dict[str, gpd.GeoDataFrame]:
    """Add the truth fields to raw OSM frames (as :class:`OSMExtract` or the embedded tables hold
    them), keyed by layer name. ``origin`` names the extract or download."""
    tail = f"{origin}, snapshot {snapshot}"
    out: dict[str, gpd.GeoDataFrame] = {}
    if "roads" in raw:
        r = raw["roads"]
        out["roads"] = _truth(
            r, name_zh=r["name_zh"], name_en=_english(r["name_en"], "(no English name in OSM)"),
            category="road",
            source="OpenStreetMap way " + r["osm_id"].astype(str) + f" ({tail})")
    if "osm_areas" in raw:
        a = raw["osm_areas"]
        out["osm_areas"] = _truth(
            a.drop(columns=["category"]), name_zh=a["name_zh"],
            name_en=_english(a["name_en"], "(no English name in OSM)"), category=a["category"],
            source="OpenStreetMap " + a["osm_type"] + " " + a["osm_id"].astype(str)
            + f" ({tail})")
    for kind, (nodes_name, edges_name) in GRAPH_LAYERS.items():
        if nodes_name in raw:
            n = raw[nodes_name]
            out[nodes_name] = _truth(
                n, name_zh="路网节点 " + n["osmid"].astype(str),
                name_en=f"{kind} graph node " + n["osmid"].astype(str), category=f"{kind}_node",
                source="OpenStreetMap node " + n["osmid"].astype(str) + f" ({tail})")
        if edges_name in raw:
            e = raw[edges_name]
            named = e["name"].fillna("").astype(str)
            out[edges_name] = _truth(
                e, name_zh=named.where(named != "", "未命名道路"),
                name_en=f"{kind} graph edge", category=f"{kind}_edge",
                source="OpenStreetMap way " + e["osmid"].astype(str)
                + f" via osmnx '{kind}' network ({tail})")
    return out


def extract_frames(extract: OSMExtract) -> dict[str, gpd.GeoDataFrame]:
    """The raw frames of an extract, keyed by layer name (no truth fields yet)."""
    raw: dict[str, gpd.GeoDataFrame] = {"roads": extract.roads, "osm_areas": extract.areas}
    for kind, (nodes, edges) in extract.graphs.items():
        raw[GRAPH_LAYERS[kind][0]] = nodes
        raw[GRAPH_LAYERS[kind][1]] = edges
    return raw


@dataclass(frozen=True)
class OSMImportReport:
    """What an OSM import wrote."""

    gpkg: Path
    source: str
    snapshot: str
    bbox: tuple[float, float, float, float]
    counts: dict[str, int]

    def text(self) -> str:
        """Lines for the terminal."""
        b = self.bbox
        lines = [f"Imported {self.source} into {self.gpkg}:",
                 f"  street data covers {b[0]:.5f},{b[1]:.5f} – {b[2]:.5f},{b[3]:.5f} (lon/lat)"]
        lines += [f"  {name:<13} {n:>6} features" for name, n in self.counts.items()]
        lines.append(f"  {settings.OSM_ATTRIBUTION}, ODbL 1.0")
        return "\n".join(lines)


def write_osm_layers(target: str | os.PathLike[str], frames: dict[str, gpd.GeoDataFrame], *,
                     snapshot: str, bbox: tuple[float, float, float, float], origin: str,
                     style: bool = True) -> dict[str, int]:
    """Write OSM layers (with truth fields) and their metadata into a GeoPackage path that is
    already being written (inside :func:`baoshan_gis.gpkg.atomic_path`)."""
    from baoshan_gis.qgis_style import qml_for
    from baoshan_gis.style import layer_style

    counts = {}
    for name in OSM_LAYERS:
        if name not in frames:
            continue
        ldef = get_layer_def(name)
        frame = frames[name]
        _gpkg.write_frame(target, frame, name, description=f"{ldef.title}. {ldef.description}",
                          identifier=ldef.title)
        _gpkg.write_meta(
            target, name, title_zh=ldef.title_zh, title_en=ldef.title_en, kind=KIND,
            plan_ref=BASE_PLAN_REF, source=f"{origin} (snapshot {snapshot})",
            licence=ldef.licence, attribution=ldef.attribution,
            parameters={"bbox": [round(v, 7) for v in bbox], "snapshot": snapshot,
                        "origin": origin},
        )
        if style:
            _gpkg.write_style(target, name, qml_for(layer_style(name)), description=ldef.title)
        counts[name] = len(frame)
    return counts


def import_osm(path: str | os.PathLike[str], gpkg: str | os.PathLike[str], *,
               network_types: tuple[str, ...] = ("walk", "drive")) -> OSMImportReport:
    """Read an OSM extract and write its base layers into ``gpkg`` (atomically; layers of the
    same names are replaced, everything else is kept).

    The extract must overlap the district outline of ``gpkg`` (or the embedded outline when the
    GeoPackage does not exist yet).
    """
    from baoshan_gis.osm import district_polygon

    target = Path(gpkg)
    if target.suffix.lower() != ".gpkg":
        raise DataImportError(f"--gpkg {str(target)!r} must end in .gpkg")
    has_district = target.is_file() and "district" in _gpkg.layer_names(target)
    district = district_polygon(target if has_district else None)
    extract = read_osm_extract(path, district=district, network_types=network_types)
    frames = layer_frames(extract_frames(extract), snapshot=extract.snapshot,
                          origin=f"OpenStreetMap extract {extract.path.name}")
    with _gpkg.atomic_path(target) as tmp:
        counts = write_osm_layers(tmp, frames, snapshot=extract.snapshot, bbox=extract.bbox,
                                  origin=f"OpenStreetMap extract {extract.path.name}")
    return OSMImportReport(gpkg=target, source=extract.source, snapshot=extract.snapshot,
                           bbox=extract.bbox, counts=counts)


def street_bbox(gpkg: str | os.PathLike[str], layer: str = "street_edges"
                ) -> tuple[float, float, float, float] | None:
    """The box (WGS84) the street data of ``gpkg`` covers, from the layer's metadata."""
    row = _gpkg.read_meta(gpkg).get(layer)
    if not row:
        return None
    bbox = (row.get("parameters") or {}).get("bbox")
    return tuple(float(v) for v in bbox) if bbox else None  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# embedded tables (derived from the shared extract; read by the build)

#: Folder of the embedded OSM tables, relative to ``layers/``.
EMBEDDED_DIR = Path("data") / "osm"
MANIFEST = "manifest.json"


def write_embedded(extract: OSMExtract, out_dir: Path) -> list[Path]:
    """Write the reduced tables of ``extract`` (GeoJSON, 7 decimals) and a manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in extract_frames(extract).items():
        path = out_dir / f"{name}.geojson"
        if path.exists():
            path.unlink()
        frame.to_file(path, driver="GeoJSON", COORDINATE_PRECISION=7, WRITE_NAME="NO")
        written.append(path)
    manifest = {
        "origin": f"OpenStreetMap extract {extract.path.name}",
        "snapshot": extract.snapshot,
        "bbox": [round(v, 7) for v in extract.bbox],
        "licence": "ODbL 1.0",
        "attribution": settings.OSM_ATTRIBUTION,
        "derived_by": "baoshan-gis refresh-defaults (baoshan_gis.osm_layers.write_embedded)",
    }
    mpath = out_dir / MANIFEST
    mpath.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return [*written, mpath]


def read_manifest(layers_dir: Path) -> dict[str, Any]:
    """The manifest of the embedded OSM tables (origin, snapshot, bbox, licence)."""
    path = layers_dir / EMBEDDED_DIR / MANIFEST
    if not path.is_file():
        raise DataImportError(f"embedded OSM tables missing ({path.name} not found under "
                              f"{EMBEDDED_DIR}); run 'baoshan-gis refresh-defaults'")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def read_embedded(layers_dir: Path, name: str) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """One embedded OSM layer with truth fields, and the manifest."""
    folder = layers_dir / EMBEDDED_DIR
    manifest = read_manifest(layers_dir)
    raw = gpd.read_file(folder / f"{name}.geojson")
    raw = raw.set_crs(settings.WGS84, allow_override=True)
    ints = ("u", "v", "key") if "u" in raw.columns else ("osm_id", "osmid")
    for col in ints:
        if col in raw.columns:
            raw[col] = raw[col].astype("int64")
    if "osmid" in raw.columns and "u" in raw.columns:
        raw["osmid"] = raw["osmid"].astype(str)
    frames = layer_frames({name: raw}, snapshot=manifest["snapshot"], origin=manifest["origin"])
    return frames[name], manifest


# ----------------------------------------------------------------------------------------------
# the same layers from a download (fetch-osm --into)


def _download_frames(area: Any) -> dict[str, gpd.GeoDataFrame]:
    """Roads, named areas and graphs of ``area`` from the Overpass API through osmnx."""
    import osmnx as ox

    from baoshan_gis.inputs.osm_extract import graph_frames
    from baoshan_gis.osm import _online

    raw: dict[str, gpd.GeoDataFrame] = {}
    with _online("the roads"):
        feats = ox.features_from_polygon(area, tags={"highway": True})
    feats = feats.reset_index()
    lines = feats[feats.geom_type.isin(["LineString", "MultiLineString"])
                  & feats.get("name", pd.Series(index=feats.index, dtype=object)).notna()]
    name_en = lines["name:en"] if "name:en" in lines else pd.Series("", index=lines.index)
    ref = lines["ref"] if "ref" in lines else pd.Series("", index=lines.index)
    roads = gpd.GeoDataFrame({
        "osm_id": lines["id"].astype("int64"),
        "name_zh": lines["name:zh"].fillna(lines["name"]) if "name:zh" in lines
        else lines["name"],
        "name_en": name_en.fillna(""), "highway": lines["highway"].astype(str),
        "ref": ref.fillna("").astype(str)}, geometry=lines.geometry.values, crs=settings.WGS84)
    roads["length_m"] = roads.geometry.to_crs(settings.METRIC_CRS).length
    raw["roads"] = roads.reset_index(drop=True)
    with _online("the named areas"):
        polys = ox.features_from_polygon(
            area, tags={"amenity": "university", "landuse": True, "leisure": "park"}).reset_index()
    polys = polys[polys.geom_type.isin(["Polygon", "MultiPolygon"])
                  & polys.get("name", pd.Series(index=polys.index, dtype=object)).notna()]

    def kind(row: pd.Series) -> str:
        if row.get("amenity") == "university":
            return "university"
        if isinstance(row.get("landuse"), str):
            return f"landuse={row['landuse']}"
        return "leisure=park"

    raw["osm_areas"] = gpd.GeoDataFrame({
        "osm_id": polys["id"].astype("int64"), "osm_type": polys["element"].astype(str),
        "name_zh": polys["name"].astype(str),
        "name_en": (polys["name:en"] if "name:en" in polys else
                    pd.Series("", index=polys.index)).fillna(""),
        "category": polys.apply(kind, axis=1) if len(polys) else pd.Series(dtype=str)},
        geometry=polys.geometry.values, crs=settings.WGS84).reset_index(drop=True)
    for net, (nodes_name, edges_name) in GRAPH_LAYERS.items():
        with _online(f"the {net} network"):
            graph = ox.graph_from_polygon(area, network_type=net)
        raw[nodes_name], raw[edges_name] = graph_frames(graph, net)
    return raw


def fetch_osm_layers(into: str | os.PathLike[str], *, gpkg: str | os.PathLike[str] | None = None,
                     buffer_m: float = 1500.0) -> OSMImportReport:
    """Download the OSM base layers for the district (grown by ``buffer_m``) into ``into``
    (atomically). Needs internet; fails fast with :class:`~baoshan_gis._errors.OfflineError`."""
    from datetime import date

    from baoshan_gis.osm import _grow, check_overpass_reachable, district_polygon

    target = Path(into)
    if target.suffix.lower() != ".gpkg":
        raise DataImportError(f"--into {str(target)!r} must end in .gpkg")
    check_overpass_reachable()
    area = _grow(district_polygon(gpkg), buffer_m)
    snapshot = date.today().isoformat()
    origin = "OpenStreetMap download (Overpass API via osmnx)"
    frames = layer_frames(_download_frames(area), snapshot=snapshot, origin=origin)
    bbox = tuple(float(v) for v in shapely.bounds(area))
    with _gpkg.atomic_path(target) as tmp:
        counts = write_osm_layers(tmp, frames, snapshot=snapshot, bbox=bbox,  # type: ignore[arg-type]
                                  origin=origin)
    return OSMImportReport(gpkg=target, source=origin, snapshot=snapshot,
                           bbox=bbox, counts=counts)  # type: ignore[arg-type]
