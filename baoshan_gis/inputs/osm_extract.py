"""Read an OpenStreetMap extract (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) into layers.

pyosmium (libosmium) reads every encoding, so one reader serves XML and PBF alike. From the file
come:

``roads``
    named ``highway`` ways as lines: ``name_zh``, ``name_en``, ``highway``, ``ref``, ``osm_id``,
    ``length_m`` (measured in the metric CRS);
``osm_areas``
    named ``amenity=university``, ``landuse=*`` and ``leisure=park`` polygons (closed ways and
    multipolygon relations, assembled by libosmium);
``street_nodes`` / ``street_edges`` and ``drive_nodes`` / ``drive_edges``
    the walk and drive graphs: the ways that osmnx's own ``walk`` / ``drive`` network filter keeps
    are written with the nodes they use to a temporary OSM XML file (pyosmium's
    ``BackReferenceWriter``) and read by ``osmnx.graph_from_xml``, which builds, simplifies and
    measures the graph exactly as it does for a download. The walk graph is stored undirected,
    the drive graph directed (one-way streets kept).

The snapshot date is the newest element's timestamp. A file that is not OSM, is truncated, holds
no ways, or lies entirely outside the district is refused with a
:class:`~baoshan_gis._errors.DataImportError`.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from baoshan_gis import settings
from baoshan_gis._errors import DataImportError

#: File endings read as OSM data.
SUFFIXES: tuple[str, ...] = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")
#: Street graphs built from an extract, by osmnx network type, with their layer names.
GRAPH_LAYERS: dict[str, tuple[str, str]] = {
    "walk": ("street_nodes", "street_edges"),
    "drive": ("drive_nodes", "drive_edges"),
}
#: Tags that make a named closed way or multipolygon an ``osm_areas`` feature.
AREA_KEYS: tuple[tuple[str, str | None], ...] = (
    ("amenity", "university"),
    ("landuse", None),
    ("leisure", "park"),
)


@dataclass
class OSMExtract:
    """Layers read from one OSM file (all WGS84)."""

    path: Path
    snapshot: str
    bbox: tuple[float, float, float, float]
    roads: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    graphs: dict[str, tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]] = field(default_factory=dict)
    skipped_ways: int = 0

    @property
    def source(self) -> str:
        """How features from this file are cited."""
        return f"OpenStreetMap extract {self.path.name} (snapshot {self.snapshot})"


def is_osm_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has one of the OSM :data:`SUFFIXES`."""
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in SUFFIXES)


def _network_conditions(network_type: str) -> list[tuple[str, str, str]]:
    """osmnx's own Overpass filter for ``network_type``, as ``(key, op, regex)`` triples."""
    import osmnx as ox

    query = ox._overpass._get_network_filter(network_type)
    return re.findall(r'\["([^"]+)"(?:(!?~)"([^"]*)")?\]', query)


def _passes(tags: dict[str, str], conditions: list[tuple[str, str, str]]) -> bool:
    for key, op, rx in conditions:
        value = tags.get(key)
        if not op and value is None:
            return False
        if op == "!~" and value is not None and re.search(rx, value):
            return False
        if op == "~" and (value is None or not re.search(rx, value)):
            return False
    return True


def _area_kind(tags: dict[str, str]) -> str | None:
    for key, value in AREA_KEYS:
        if key in tags and (value is None or tags[key] == value):
            return f"{key}={tags[key]}"
    return None


def _open_error(path: Path, exc: BaseException) -> DataImportError:
    return DataImportError(
        f"{path.name!r} cannot be read as OpenStreetMap data ({str(exc).strip() or type(exc)}): "
        "give an OSM XML (.osm, .osm.bz2, .osm.gz) or PBF (.osm.pbf) extract, complete "
        "(a truncated download cannot be read)"
    )


def _scan(path: Path) -> dict[str, Any]:
    """One pass: named highway lines, named areas, newest timestamp, header box."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    roads: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    newest = None
    n_ways = 0
    skipped = 0
    try:
        header_box = osmium.io.Reader(str(path)).header().box()
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        obj: Any
        for obj in processor:
            if obj.timestamp is not None and obj.timestamp.year > 1970:
                newest = obj.timestamp if newest is None else max(newest, obj.timestamp)
            if obj.is_way():
                n_ways += 1
                tags = dict(obj.tags)
                if "highway" not in tags or "name" not in tags or tags.get("area") == "yes":
                    continue
                try:
                    coords = [(n.lon, n.lat) for n in obj.nodes]
                except osmium.InvalidLocationError:
                    skipped += 1
                    continue
                if len(coords) < 2:
                    skipped += 1
                    continue
                roads.append({
                    "osm_id": int(obj.id),
                    "name_zh": tags.get("name:zh") or tags["name"],
                    "name_en": tags.get("name:en", ""),
                    "highway": tags["highway"],
                    "ref": tags.get("ref", ""),
                    "geometry": shapely.LineString(coords),
                })
            elif obj.is_area():
                tags = dict(obj.tags)
                kind = _area_kind(tags)
                if kind is None or "name" not in tags:
                    continue
                try:
                    geom = shapely.from_wkb(bytes.fromhex(wkb.create_multipolygon(obj)))
                except RuntimeError:
                    skipped += 1
                    continue
                areas.append({
                    "osm_id": int(obj.orig_id()),
                    "osm_type": "way" if obj.from_way() else "relation",
                    "name_zh": tags.get("name:zh") or tags["name"],
                    "name_en": tags.get("name:en", ""),
                    "category": kind.split("=", 1)[1] if kind.startswith("amenity") else kind,
                    "geometry": geom,
                })
    except RuntimeError as exc:
        raise _open_error(path, exc) from exc
    return {"roads": roads, "areas": areas, "newest": newest, "n_ways": n_ways,
            "skipped": skipped, "header_box": header_box}


def _join(value: Any) -> Any:
    """osmnx keeps lists where simplification merged ways: store them as ``a;b``."""
    if isinstance(value, list):
        return ";".join(str(v) for v in dict.fromkeys(value))
    return value


def graph_frames(graph: Any, network_type: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Nodes and edges of an osmnx graph as flat frames (WGS84), ready for a GeoPackage.

    Walk graphs are made undirected (one edge per street segment); drive graphs keep direction.
    Edges carry ``u``, ``v``, ``key``, ``osmid``, ``name``, ``highway``, ``oneway`` and ``length``
    (metres, from osmnx); nodes carry ``osmid``.
    """
    import osmnx as ox

    if network_type == "walk":
        graph = ox.convert.to_undirected(graph)
    nodes, edges = ox.graph_to_gdfs(graph)
    nodes = nodes.reset_index()[["osmid", "geometry"]]
    edges = edges.reset_index()
    keep = ["u", "v", "key", "osmid", "name", "highway", "oneway", "length", "geometry"]
    for col in keep:
        if col not in edges.columns:
            edges[col] = None
    edges = edges[keep].copy()
    for col in ("osmid", "name", "highway"):
        edges[col] = edges[col].map(_join).astype(object).where(edges[col].notna(), "")
        edges[col] = edges[col].astype(str)
    edges["oneway"] = edges["oneway"].fillna(False).astype(bool)
    edges["length"] = edges["length"].astype(float)
    nodes = gpd.GeoDataFrame(nodes, geometry="geometry", crs=settings.WGS84)
    edges = gpd.GeoDataFrame(edges, geometry="geometry", crs=settings.WGS84)
    return nodes, edges


def _graph(path: Path, network_type: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame] | None:
    import osmium
    import osmnx as ox

    conditions = _network_conditions(network_type)
    with tempfile.TemporaryDirectory(prefix="baoshan-osm-") as tmp:
        filtered = Path(tmp) / f"{network_type}.osm"
        n = 0
        with osmium.BackReferenceWriter(str(filtered), ref_src=str(path), overwrite=True) as w:
            for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
                if "highway" in way.tags and _passes(dict(way.tags), conditions):
                    w.add_way(way)
                    n += 1
        if n == 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)  # osmnx notes on retain_all
            try:
                graph = ox.graph_from_xml(filtered, bidirectional=network_type == "walk",
                                          simplify=True, retain_all=False)
            except Exception as exc:  # osmnx raises plain errors on empty graphs
                raise DataImportError(
                    f"no {network_type} network could be built from {path.name!r}: {exc}"
                ) from exc
    if graph.number_of_edges() == 0:
        return None
    return graph_frames(graph, network_type)


def _metric_length(frame: gpd.GeoDataFrame) -> np.ndarray:
    if frame.empty:
        return np.empty(0)
    return frame.geometry.to_crs(settings.METRIC_CRS).length.to_numpy()


def read_osm_extract(
    path: str | os.PathLike[str],
    *,
    district: shapely.Geometry | None = None,
    network_types: tuple[str, ...] = ("walk", "drive"),
) -> OSMExtract:
    """Read roads, named areas and street graphs from an OSM file.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    district
        WGS84 outline the extract must overlap (default: no check).
    network_types
        osmnx network types to build graphs for (``walk``, ``drive``).
    """
    src = Path(path)
    if not src.is_file():
        raise DataImportError(f"OSM file {str(src)!r} does not exist")
    if not is_osm_file(src):
        raise DataImportError(
            f"{src.name!r} is not named like an OSM extract; expected one of {', '.join(SUFFIXES)}"
        )
    unknown = [t for t in network_types if t not in GRAPH_LAYERS]
    if unknown:
        raise DataImportError(
            f"unknown network type(s) {unknown}; valid: {', '.join(GRAPH_LAYERS)}")
    scan = _scan(src)
    if scan["n_ways"] == 0:
        raise DataImportError(
            f"{src.name!r} holds no OSM ways (is it an OSM extract, and complete?): "
            "nothing to import"
        )
    roads = gpd.GeoDataFrame(scan["roads"], geometry="geometry", crs=settings.WGS84) \
        if scan["roads"] else _empty(["osm_id", "name_zh", "name_en", "highway", "ref"])
    roads["length_m"] = _metric_length(roads)
    areas = gpd.GeoDataFrame(scan["areas"], geometry="geometry", crs=settings.WGS84) \
        if scan["areas"] else _empty(["osm_id", "osm_type", "name_zh", "name_en", "category"])
    graphs = {}
    for kind in network_types:
        built = _graph(src, kind)
        if built is not None:
            graphs[kind] = built
    extent = _extent(scan["header_box"], roads, areas, graphs)
    if district is not None and not shapely.box(*extent).intersects(district):
        raise DataImportError(
            f"{src.name!r} covers {_fmt_box(extent)}, which has no part in the district "
            f"(bounds {_fmt_box(shapely.bounds(district))}): nothing imported"
        )
    snapshot = scan["newest"].date().isoformat() if scan["newest"] is not None else "unknown"
    return OSMExtract(path=src, snapshot=snapshot, bbox=extent, roads=roads, areas=areas,
                      graphs=graphs, skipped_ways=scan["skipped"])


def _empty(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                            geometry=gpd.GeoSeries([], crs=settings.WGS84), crs=settings.WGS84)


def _extent(header_box: Any, roads: gpd.GeoDataFrame, areas: gpd.GeoDataFrame,
            graphs: dict[str, tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]]
            ) -> tuple[float, float, float, float]:
    with contextlib.suppress(Exception):
        if header_box.valid():
            bl, tr = header_box.bottom_left, header_box.top_right
            return (float(bl.lon), float(bl.lat), float(tr.lon), float(tr.lat))
    parts = [f.geometry for f in (roads, areas) if not f.empty]
    parts += [edges.geometry for _n, edges in graphs.values()]
    if not parts:
        raise DataImportError("the OSM file holds no roads, named areas or streets")
    b = np.array([p.total_bounds for p in parts])
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def _fmt_box(b: Any) -> str:
    return f"{b[0]:.4f},{b[1]:.4f} – {b[2]:.4f},{b[3]:.4f}"
