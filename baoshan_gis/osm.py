"""Refresh the OpenStreetMap-derived data through osmnx (needs internet).

``baoshan-gis fetch-osm`` (or :func:`refresh_osm`) downloads, for the district outline grown by
``buffer_m`` (stations "in and next to Baoshan"):

``metro_stations.csv``
    metro stations (``railway=station`` with ``subway=yes`` or ``station=subway``) in the same
    columns as the embedded default ``layers/data/metro_stations.csv``: ``osm_id, line_no, line,
    seq, name_zh, name_en, lon, lat``; an interchange station has one row per line;
``metro_tracks.geojson``
    the real track geometry (``railway=subway`` ways, sidings and yards left out) with the line
    parsed from the way's ``name``/``ref``/``line`` tags and the project's truth fields;
``walk.graphml``, ``drive.graphml``
    the street networks for network analysis (``osmnx.save_graphml``).

OSM station nodes carry no line tag, so a station is put on every line whose track runs within
:data:`STATION_TRACK_M` of it. ``seq`` is the order along the line inside the fetched area; when
the embedded default is given as ``reference`` (the CLI does this) the numbering is turned and
shifted to agree with it, so unchanged stations keep their numbers and new ones slot in between.

Every file is written only after all downloads succeeded (each through a temporary file and one
rename), so an interrupted refresh leaves the previous files intact. Without internet the first
step fails fast with :class:`~baoshan_gis._errors.OfflineError` (no 60-second osmnx retries).
Data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis._errors import DataImportError, InvalidInput, OfflineError
from baoshan_gis._files import atomic_path
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION, WGS84, layers_dir

if TYPE_CHECKING:
    import networkx as nx
    from shapely.geometry.base import BaseGeometry

#: Columns of the metro stations table (same as the embedded ``layers/data/metro_stations.csv``).
STATION_COLUMNS: tuple[str, ...] = (
    "osm_id", "line_no", "line", "seq", "name_zh", "name_en", "lon", "lat",
)
#: A station belongs to a line whose track passes within this many metres.
STATION_TRACK_M: float = 150.0
#: Default growth of the district outline, so that stations just outside it are included.
DEFAULT_BUFFER_M: float = 1500.0
#: Street networks saved as GraphML.
NETWORK_TYPES: tuple[str, ...] = ("walk", "drive")
#: Estimated positional accuracy of OSM track geometry traced from imagery in Shanghai (metres).
TRACK_ACCURACY_M: float = 10.0

_LINE_PATTERNS = (
    re.compile(r"(\d+)\s*号线"),
    re.compile(r"\bline\s*(\d+)\b", re.IGNORECASE),
    re.compile(r"^\s*[Ll]?\s*(\d+)\s*$"),
)
_TRACK_TAGS = ("line", "ref", "name:zh", "name", "name:en")


@dataclass
class OSMRefresh:
    """What :func:`refresh_osm` wrote."""

    out_dir: Path
    stations_csv: Path
    tracks: Path
    graphs: dict[str, Path] = field(default_factory=dict)
    n_stations: int = 0
    n_rows: int = 0
    n_tracks: int = 0
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        """A few lines for the terminal."""
        lines = [
            f"{self.n_stations} metro stations ({self.n_rows} station-line rows) -> "
            f"{self.stations_csv}",
            f"{self.n_tracks} track ways -> {self.tracks}",
        ]
        lines += [f"{kind} network -> {path}" for kind, path in self.graphs.items()]
        lines.append(f"Data {OSM_ATTRIBUTION}, ODbL 1.0")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# area


def district_polygon(gpkg: str | os.PathLike[str] | None = None) -> BaseGeometry:
    """The district outline: the ``district`` layer of ``gpkg``, else the embedded GeoJSON."""
    if gpkg is not None:
        from baoshan_gis.gpkg import read_layer

        frame = read_layer(gpkg, "district")
    else:
        path = layers_dir() / "data" / "district.geojson"
        if not path.is_file():
            raise InvalidInput(
                f"no district outline at {path.name!r}; pass --gpkg PATH of a built GeoPackage"
            )
        frame = gpd.read_file(path)
    frame = frame.to_crs(WGS84) if frame.crs is not None else frame.set_crs(WGS84)
    return frame.geometry.union_all()


def _grow(polygon: BaseGeometry, buffer_m: float) -> BaseGeometry:
    if buffer_m < 0:
        raise InvalidInput(f"buffer_m must be >= 0, got {buffer_m!r}")
    series = gpd.GeoSeries([polygon], crs=WGS84)
    if buffer_m:
        series = series.to_crs(METRIC_CRS).buffer(buffer_m).to_crs(WGS84)
    return series.iloc[0]


# ----------------------------------------------------------------------------------------------
# network access


def check_overpass_reachable(*, timeout: float = 5.0) -> None:
    """Fail fast with :class:`OfflineError` when the Overpass API host cannot be reached.

    osmnx itself waits 60 s and retries when its status check fails; this resolves the host and
    opens one TCP connection with a short timeout instead.
    """
    import osmnx as ox

    parsed = urlparse(str(ox.settings.overpass_url))
    host = parsed.hostname or "overpass-api.de"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise OfflineError(
            f"cannot reach the OpenStreetMap Overpass API at {host!r} ({_short(exc)}); "
            "fetch-osm needs internet: the embedded defaults keep working offline"
        ) from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


@contextlib.contextmanager
def _online(what: str) -> Iterator[None]:
    """Turn the network errors of osmnx/requests into a one-line :class:`OfflineError`."""
    from osmnx._errors import ResponseStatusCodeError

    try:
        yield
    except ResponseStatusCodeError as exc:
        raise OfflineError(
            f"the Overpass API refused the {what} request ({_short(exc)}); try again later"
        ) from None
    except OSError as exc:  # requests' ConnectionError/Timeout and socket errors are OSErrors
        raise OfflineError(
            f"could not download {what} from OpenStreetMap ({type(exc).__name__}: "
            f"{_short(exc)}); fetch-osm needs internet: the embedded defaults keep working offline"
        ) from None


@contextlib.contextmanager
def _osmnx_cache(folder: Path | None) -> Iterator[None]:
    """Point osmnx's HTTP cache at ``folder`` (not the current directory) for the duration."""
    import osmnx as ox

    old = ox.settings.cache_folder
    if folder is not None:
        ox.settings.cache_folder = str(folder)
    try:
        yield
    finally:
        ox.settings.cache_folder = old


# ----------------------------------------------------------------------------------------------
# metro


def _osm_ids(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(element type, id) of each row of an osmnx features frame."""
    index = frame.index
    if isinstance(index, pd.MultiIndex) and {"element", "id"} <= set(index.names):
        return (np.asarray(index.get_level_values("element"), dtype=object),
                np.asarray(index.get_level_values("id"), dtype="int64"))
    kinds = np.asarray(frame["element"], dtype=object) if "element" in frame.columns \
        else np.full(len(frame), "node", dtype=object)
    ids = frame["osmid"] if "osmid" in frame.columns else pd.Series(index, index=index)
    return kinds, np.asarray(ids, dtype="int64")


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    if key in frame.columns:
        return frame[key]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def parse_line_no(*values: Any) -> int | None:
    """Line number from OSM tag values such as ``"上海地铁7号线"``, ``"Line 7"`` or ``"7"``."""
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        for pattern in _LINE_PATTERNS:
            m = pattern.search(str(value))
            if m:
                return int(m.group(1))
    return None


def subway_stations(raw: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Metro station nodes from an osmnx ``railway=station`` features frame."""
    warnings: list[str] = []
    kinds, ids = _osm_ids(raw)
    is_subway = (_tag(raw, "subway").astype(str) == "yes") | (
        _tag(raw, "station").astype(str) == "subway")
    is_node = kinds == "node"
    skipped = int((is_subway & ~is_node).sum())
    if skipped:
        warnings.append(f"{skipped} metro station(s) mapped only as areas, not nodes, left out")
    keep = np.asarray(is_subway & is_node)
    sel = raw.loc[keep]
    name = _tag(sel, "name").astype(object)
    name_zh = _tag(sel, "name:zh").astype(object).where(lambda s: s.notna(), name)
    out = gpd.GeoDataFrame(
        {
            "osm_id": ids[keep],
            "name_zh": name_zh.to_numpy(),
            "name_en": _tag(sel, "name:en").to_numpy(),
        },
        geometry=sel.geometry.to_numpy(), crs=raw.crs or WGS84,
    ).to_crs(WGS84)
    return out.reset_index(drop=True), warnings


def subway_tracks(raw: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Main-line subway track ways (no sidings, yards, crossovers) with their line number."""
    kinds, ids = _osm_ids(raw)
    lineal = raw.geometry.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
    service = _tag(raw, "service")
    main = service.isna().to_numpy()
    keep = (kinds == "way") & lineal & main
    sel = raw.loc[keep]
    line_nos = [
        parse_line_no(*(row.get(t) for t in _TRACK_TAGS))
        for _, row in pd.DataFrame({t: _tag(sel, t) for t in _TRACK_TAGS}).iterrows()
    ]
    line_no = pd.array(line_nos, dtype="Int64")
    line = [f"{n}号线" if n is not pd.NA else None for n in line_no]
    out = gpd.GeoDataFrame(
        {
            "osm_id": ids[keep],
            "line_no": line_no,
            "line": line,
            "name_zh": [ln or nm for ln, nm in zip(line, _tag(sel, "name"), strict=True)],
            "name_en": [f"Metro Line {n}" if n is not pd.NA else None for n in line_no],
            "category": "metro_track",
            "plan_ref": "四(二)4(2)",
            "status": "existing",
            "source": [f"OpenStreetMap way {i}" for i in ids[keep]],
            "geometry_quality": "surveyed",
            "accuracy_m": TRACK_ACCURACY_M,
        },
        geometry=sel.geometry.to_numpy(), crs=raw.crs or WGS84,
    ).to_crs(WGS84)
    return out.reset_index(drop=True)


def _order_along(points: np.ndarray, track: BaseGeometry | None) -> np.ndarray:
    """Order (0..n-1) of metric ``points`` along a line: by track position, else by chaining."""
    import shapely

    n = len(points)
    if n <= 1:
        return np.zeros(n, dtype=int)
    if track is not None:
        merged = shapely.line_merge(track)
        if merged.geom_type == "LineString":
            pos = shapely.line_locate_point(merged, shapely.points(points))
            return np.argsort(np.argsort(pos, kind="stable"), kind="stable")
    # chain from the station farthest from the others' mean, always to the nearest unvisited one
    start = int(np.argmax(np.hypot(*(points - points.mean(axis=0)).T)))
    order = [start]
    left = set(range(n)) - {start}
    while left:
        last = points[order[-1]]
        nxt = min(left, key=lambda j: float(np.hypot(*(points[j] - last))))
        order.append(nxt)
        left.remove(nxt)
    rank = np.empty(n, dtype=int)
    rank[np.asarray(order)] = np.arange(n)
    return rank


def _align_seq(local: np.ndarray, osm_ids: np.ndarray, ref: pd.DataFrame | None) -> np.ndarray:
    """1-based ``local`` order, turned and shifted to agree with ``ref`` (osm_id -> seq)."""
    seq = local + 1
    if ref is None or ref.empty:
        return seq
    ref_seq = dict(zip(ref["osm_id"].astype("int64"), ref["seq"].astype("int64"), strict=True))
    matched = [(s, ref_seq[i]) for s, i in zip(seq, osm_ids, strict=True) if i in ref_seq]
    if len(matched) >= 2:
        ours, theirs = np.array(matched).T
        if np.corrcoef(ours, theirs)[0, 1] < 0:
            seq = len(seq) + 1 - seq
            matched = [(s, ref_seq[i]) for s, i in zip(seq, osm_ids, strict=True)
                       if i in ref_seq]
    if matched:
        ours, theirs = np.array(matched).T
        seq = seq + int(np.round(np.median(theirs - ours)))
    return seq


def station_table(
    stations: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame, *, reference: pd.DataFrame | None = None,
    max_distance_m: float = STATION_TRACK_M,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per station and line, in the embedded CSV's columns.

    Parameters
    ----------
    stations
        From :func:`subway_stations`.
    tracks
        From :func:`subway_tracks`; only tracks with a line number are used.
    reference
        The embedded default table: its ``seq`` numbering is followed where stations match.
    max_distance_m
        Distance from a station to a line's track within which it is counted on that line.
    """
    warnings: list[str] = []
    st_m = stations.to_crs(METRIC_CRS)
    tr_m = tracks.loc[tracks["line_no"].notna()].to_crs(METRIC_CRS)
    rows: list[pd.DataFrame] = []
    on_a_line = np.zeros(len(stations), dtype=bool)
    for line_no, group in tr_m.groupby("line_no", sort=True):
        track = group.geometry.union_all()
        near = (st_m.distance(track) <= max_distance_m).to_numpy()
        if not near.any():
            continue
        on_a_line |= near
        pts = np.column_stack([st_m.geometry.x.to_numpy()[near], st_m.geometry.y.to_numpy()[near]])
        ids = stations["osm_id"].to_numpy()[near]
        ref = None
        if reference is not None and not reference.empty:
            ref = reference.loc[reference["line_no"].astype("int64") == int(line_no)]
        seq = _align_seq(_order_along(pts, track), ids, ref)
        sub = stations.loc[near]
        rows.append(pd.DataFrame({
            "osm_id": ids,
            "line_no": int(line_no),
            "line": f"{int(line_no)}号线",
            "seq": seq,
            "name_zh": sub["name_zh"].to_numpy(),
            "name_en": sub["name_en"].to_numpy(),
            "lon": np.round(sub.geometry.x.to_numpy(), 7),
            "lat": np.round(sub.geometry.y.to_numpy(), 7),
        }))
    lost = stations.loc[~on_a_line, "name_zh"].astype(str).tolist()
    if lost:
        warnings.append(
            f"{len(lost)} station(s) with no numbered track within {max_distance_m:g} m left out "
            f"(under construction or untagged track?): {', '.join(lost[:10])}"
        )
    if not rows:
        return pd.DataFrame(columns=list(STATION_COLUMNS)), warnings
    table = pd.concat(rows, ignore_index=True)
    table = table.sort_values(["line_no", "seq", "osm_id"], kind="stable").reset_index(drop=True)
    return table[list(STATION_COLUMNS)], warnings


def fetch_metro(
    polygon: BaseGeometry, *, buffer_m: float = DEFAULT_BUFFER_M,
    reference: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, list[str]]:
    """Download metro stations and tracks in ``polygon`` grown by ``buffer_m`` metres.

    Returns
    -------
    stations, tracks, warnings
        The station table (see :func:`station_table`), the track GeoDataFrame (EPSG:4326) and
        notes for the user.
    """
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    area = _grow(polygon, buffer_m)
    with _online("metro stations"):
        try:
            raw_stations = ox.features_from_polygon(area, {"railway": "station"})
        except InsufficientResponseError:
            raw_stations = gpd.GeoDataFrame(geometry=[], crs=WGS84)
    with _online("metro tracks"):
        try:
            raw_tracks = ox.features_from_polygon(area, {"railway": "subway"})
        except InsufficientResponseError:
            raw_tracks = gpd.GeoDataFrame(geometry=[], crs=WGS84)
    stations, warnings = subway_stations(raw_stations)
    if stations.empty:
        raise DataImportError(
            "OpenStreetMap returned no metro stations in the district area; nothing was written"
        )
    tracks = subway_tracks(raw_tracks)
    if tracks.empty:
        raise DataImportError(
            "OpenStreetMap returned no subway track in the district area; nothing was written"
        )
    unnumbered = int(tracks["line_no"].isna().sum())
    if unnumbered:
        warnings.append(f"{unnumbered} track way(s) without a line number in their tags "
                        "(kept in the track file, not used to assign stations)")
    table, more = station_table(stations, tracks, reference=reference)
    return table, tracks, warnings + more


def fetch_graphs(
    polygon: BaseGeometry, *, buffer_m: float = DEFAULT_BUFFER_M,
    network_types: tuple[str, ...] = NETWORK_TYPES,
) -> dict[str, nx.MultiDiGraph]:
    """Download the street networks of ``polygon`` grown by ``buffer_m`` metres."""
    import osmnx as ox

    area = _grow(polygon, buffer_m)
    graphs = {}
    for kind in network_types:
        with _online(f"the {kind} network"):
            graphs[kind] = ox.graph_from_polygon(area, network_type=kind)
    return graphs


# ----------------------------------------------------------------------------------------------
# writing


def _replace_into(target: Path, write: Any) -> None:
    with atomic_path(target, copy_existing=False) as tmp:
        write(tmp)


def default_reference() -> pd.DataFrame | None:
    """The embedded ``layers/data/metro_stations.csv`` (``None`` when it is missing)."""
    path = layers_dir() / "data" / "metro_stations.csv"
    return pd.read_csv(path) if path.is_file() else None


def refresh_osm(
    out_dir: str | os.PathLike[str],
    *,
    polygon: BaseGeometry | None = None,
    gpkg: str | os.PathLike[str] | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
    graphs: bool = True,
    reference: pd.DataFrame | None = None,
    check_online: bool = True,
) -> OSMRefresh:
    """Download stations, tracks and (optionally) street graphs; write them into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder for ``metro_stations.csv``, ``metro_tracks.geojson``, ``walk.graphml`` and
        ``drive.graphml`` (created if needed; existing files are replaced only on success).
    polygon
        Area of interest in WGS84; default: the district outline from ``gpkg`` or the embedded
        ``layers/data/district.geojson``.
    buffer_m
        Growth of the area in metres, to include stations and streets just outside it.
    graphs
        Also download the walk and drive networks.
    reference
        Station table whose ``seq`` numbering to follow (default: the embedded CSV).
    check_online
        Fail fast when the Overpass API is unreachable (see :func:`check_overpass_reachable`).
    """
    out = Path(out_dir)
    area = polygon if polygon is not None else district_polygon(gpkg)
    if reference is None:
        reference = default_reference()
    if check_online:
        check_overpass_reachable()
    with _osmnx_cache(out / ".osmnx-cache"):
        table, tracks, warnings = fetch_metro(area, buffer_m=buffer_m, reference=reference)
        nets = fetch_graphs(area, buffer_m=buffer_m) if graphs else {}
    out.mkdir(parents=True, exist_ok=True)
    import osmnx as ox

    result = OSMRefresh(
        out_dir=out, stations_csv=out / "metro_stations.csv", tracks=out / "metro_tracks.geojson",
        n_stations=int(table["osm_id"].nunique()), n_rows=len(table), n_tracks=len(tracks),
        warnings=warnings,
    )
    _replace_into(result.stations_csv,
                  lambda p: table.to_csv(p, index=False, encoding="utf-8", lineterminator="\n"))
    _replace_into(result.tracks, lambda p: tracks.to_file(p, driver="GeoJSON"))
    for kind, graph in nets.items():
        target = out / f"{kind}.graphml"
        _replace_into(target, lambda p, g=graph: ox.save_graphml(g, p))
        result.graphs[kind] = target
    return result
