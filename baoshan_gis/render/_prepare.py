"""Data of a map, ready to draw: features, merged styles, legend entries, notes, attribution.

Both renderers (print and Folium) go through :func:`prepare_map`, so a map looks the same on
paper and on screen: symbols come from :func:`baoshan_gis.style.layer_style` with the map's
overrides on top, colours from :func:`baoshan_gis.style.feature_color`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis import gpkg as gp
from baoshan_gis._errors import CatalogueError, LayerNotFound
from baoshan_gis.render.mapdefs import MapDef, MapLayer, get_map
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION, WGS84
from baoshan_gis.style import SCHEMATIC_DASH, category_label, feature_color, layer_style

#: Note printed on every map that shows a schematic feature.
SCHEMATIC_NOTE = (
    "虚线/斜线表示示意范围或示意线位，非精确边界。"
    "Dashed/hatched: schematic extents and lines, not surveyed boundaries."
)
#: Note on approximately placed points.
APPROXIMATE_NOTE = (
    "部分载体按所在园区近似定位（见要素精度 accuracy_m）。"
    "Some carriers are placed approximately at their parent area (see accuracy_m)."
)
#: Note on the accuracy circles drawn around approximately placed points.
ACCURACY_NOTE = (
    "浅色虚线圆表示近似定位要素可能所在的范围（半径 = 定位精度 accuracy_m）。"
    "Faint dashed circles: where an approximately placed point may lie (radius = accuracy_m)."
)
#: Note on co-located points drawn as one group symbol.
#: A point layer with more symbols than this is drawn as counts per hexagon.
AGGREGATE_ABOVE: int = 2000
#: Hexagon size (metres, flat-to-flat) of aggregated point layers.
AGGREGATE_CELL_M: float = 1000.0
#: At most this many accuracy circles are drawn on one layer.
MAX_ACCURACY_CIRCLES: int = 2000
AGGREGATE_NOTE = (
    "点数过多的图层按约 1 km 六边形格网计数表示，规划点名的载体单独标出。"
    "Layers with thousands of "
    "points are shown as counts per hexagon of about 1 km; the carriers the plan names are drawn "
    "on top."
)
CIRCLES_OMITTED_NOTE = (
    "定位精度圈从略（点数过多，无法辨读），精度见属性 accuracy_m。"
    "Accuracy circles are left out where thousands of them could not be read; "
    "see each feature's accuracy_m."
)
GROUP_NOTE = (
    "位于同一位置的多个要素合为一个环形符号（中心数字为个数），并列出全部名称。"
    "Points sharing one position are drawn as one ring symbol (number = count) listing every "
    "name."
)
#: Colour of the accuracy circles (a map layer may set ``style.accuracy_color``).
ACCURACY_COLOR = "#4f6272"
#: The hint given when the analysis outputs a map needs are missing.
REPORT_HINT = "run 'baoshan-gis report --gpkg PATH' first to write the analysis outputs"

_DEFAULT_PALETTE = (
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
)


@dataclass
class LegendEntry:
    """One line of a legend."""

    label: str
    kind: str  # point | line | fill | raster
    color: str
    fill: str | None = None
    fill_opacity: float = 0.3
    width: float = 1.0
    size: float = 5.0
    dashed: bool = False
    schematic: bool = False
    colormap: str | None = None
    #: Colours of a group symbol's segments (``kind == "group"``).
    colors: tuple[str, ...] = ()


def colocated_groups(frame: gpd.GeoDataFrame, *, within_m: float = 1.0
                     ) -> list[tuple[int, ...]]:
    """Groups of points lying within ``within_m`` metres of each other (transitively).

    Returns tuples of positional indices into ``frame``, each sorted, in the order of their first
    member; a point on its own is a group of one. Distances are measured in the metric CRS
    (``within_m <= 0`` puts every point in a group of its own).

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> f = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(5, 5), Point(0, 0.5), Point(0, 0)],
    ...                      crs=32651)
    >>> colocated_groups(f)
    [(0, 2, 3), (1,)]
    """
    import shapely

    n = len(frame)
    if n == 0:
        return []
    geoms = frame.geometry
    if geoms.crs is not None and geoms.crs != METRIC_CRS:
        geoms = geoms.to_crs(METRIC_CRS)
    arr = geoms.representative_point().to_numpy()
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if within_m > 0:
        tree = shapely.STRtree(arr)
        left, right = tree.query(arr, predicate="dwithin", distance=within_m)
        for a, b in zip(left.tolist(), right.tolist(), strict=True):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [tuple(g) for g in sorted(groups.values(), key=lambda g: g[0])]


def accuracy_text(metres: float) -> str:
    """``"±4.9 km"`` or ``"±800 m"``: a position accuracy as printed on maps.

    >>> accuracy_text(4900.0), accuracy_text(750.0)
    ('±4.9 km', '±750 m')
    """
    if metres >= 1000:
        return f"±{metres / 1000:.1f} km"
    return f"±{metres:.0f} m"


def member_noun(source: str) -> tuple[str, str]:
    """How the members of a group symbol are called: ``("载体", "carriers")`` or features."""
    return ("载体", "carriers") if source == "carriers" else ("要素", "features")


@dataclass
class LayerData:
    """One map layer with its features (WGS84) and its final style."""

    spec: MapLayer
    title: str
    style: dict[str, Any]
    frame: gpd.GeoDataFrame | None = None
    raster_path: Path | None = None
    legend: list[LegendEntry] = field(default_factory=list)
    attribution: str = ""
    schematic: bool = False
    approximate: bool = False
    #: Whether faint accuracy circles are drawn around approximately placed points.
    accuracy_circles: bool = False
    #: Co-located point groups (positional indices into ``frame``); see :func:`colocated_groups`.
    groups: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``point``, ``line``, ``fill`` or ``raster``."""
        return "raster" if self.spec.kind == "raster" else str(self.style["kind"])

    def colors(self) -> list[str]:
        """Colour of every feature (category colour or the layer's colour)."""
        assert self.frame is not None
        props = self.frame.drop(columns=self.frame.geometry.name).to_dict("records")
        return [feature_color(self.style, p) for p in props]

    def is_schematic(self) -> list[bool]:
        """Per feature: whether its geometry is schematic."""
        assert self.frame is not None
        if "geometry_quality" not in self.frame.columns:
            return [False] * len(self.frame)
        return [q == "schematic" for q in self.frame["geometry_quality"]]

    @property
    def label_field(self) -> str:
        """Field used for labels and group member names (default ``name_zh``)."""
        return str(self.spec.label_field or self.style.get("label_field") or "name_zh")

    def member_names(self, group: tuple[int, ...]) -> list[str]:
        """Distinct label texts of a group's members, in frame order."""
        assert self.frame is not None
        fld = self.label_field
        if fld not in self.frame.columns:
            return []
        values = self.frame[fld].iloc[list(group)].tolist()
        return list(dict.fromkeys(str(v) for v in values if v is not None and v == v))

    def is_multi(self, group: tuple[int, ...]) -> bool:
        """Whether a group is drawn as a group symbol (members with different names).

        Co-located points of one name (an interchange station on two lines) stay one plain
        symbol with one label.
        """
        return len(group) > 1 and len(self.member_names(group)) > 1

    def max_accuracy(self, group: tuple[int, ...]) -> float | None:
        """Largest finite, positive ``accuracy_m`` of the approximately placed members."""
        radii = self._approx_radii(group)
        return max(radii) if radii else None

    def _radii(self) -> np.ndarray:
        """Per feature: ``accuracy_m`` of approximately placed points, else NaN (cached)."""
        cached = getattr(self, "_radii_cache", None)
        if cached is not None and len(cached) == len(self.frame):  # type: ignore[arg-type]
            return cached
        assert self.frame is not None
        n = len(self.frame)
        out = np.full(n, np.nan)
        if "accuracy_m" in self.frame.columns and "geometry_quality" in self.frame.columns:
            acc = pd.to_numeric(self.frame["accuracy_m"], errors="coerce").to_numpy(float)
            ok = ((self.frame["geometry_quality"] == "approximate").to_numpy()
                  & np.isfinite(acc) & (acc > 0))
            out[ok] = acc[ok]
        object.__setattr__(self, "_radii_cache", out)
        return out

    def _approx_radii(self, group: tuple[int, ...]) -> list[float]:
        r = self._radii()[list(group)]
        return [float(v) for v in r[np.isfinite(r)]]

    @property
    def n_circles(self) -> int:
        """How many accuracy circles the layer would draw (before :data:`MAX_ACCURACY_CIRCLES`)."""
        if not self.accuracy_circles or self.kind != "point":
            return 0
        return sum(len(set(self._approx_radii(g))) if len(g) > 1 else
                   int(np.isfinite(self._radii()[g[0]])) for g in self.groups)

    def circles(self) -> list[tuple[int, float]]:
        """Accuracy circles to draw: ``(group index, radius_m)``, one per distinct radius.

        Empty unless :attr:`accuracy_circles` is on, and when there would be more than
        :data:`MAX_ACCURACY_CIRCLES` (thousands of overlapping circles cannot be read; the map
        says so in a note). The centre is the group's first point.
        """
        if not self.accuracy_circles or self.kind != "point":
            return []
        if self.n_circles > MAX_ACCURACY_CIRCLES:
            return []
        radii = self._radii()
        out: list[tuple[int, float]] = []
        for gi, group in enumerate(self.groups):
            if len(group) == 1:
                if np.isfinite(radii[group[0]]):
                    out.append((gi, float(radii[group[0]])))
                continue
            for r in sorted(set(self._approx_radii(group)), reverse=True):
                out.append((gi, r))
        return out

    @property
    def aggregated(self) -> bool:
        """Whether the layer's single points are too many to draw one by one: they are drawn
        as counts per hexagon (:data:`AGGREGATE_ABOVE`), plan-named features on top."""
        return self.kind == "point" and len(self.groups) > AGGREGATE_ABOVE

    def group_xy(self, crs: str = WGS84) -> np.ndarray:
        """``(n_groups, 2)`` coordinates of each group's first point in ``crs``."""
        assert self.frame is not None
        frame = self.frame if crs == WGS84 else self.frame.to_crs(crs)
        pts = frame.geometry.representative_point()
        first = np.array([g[0] for g in self.groups], dtype=np.int64)
        return np.column_stack([pts.x.to_numpy()[first], pts.y.to_numpy()[first]]
                               ).astype("float64").reshape(-1, 2)


@dataclass
class PreparedMap:
    """Everything a renderer needs to draw one map."""

    mapdef: MapDef
    layers: list[LayerData]
    #: Extent to show, (minx, miny, maxx, maxy) in WGS84, before padding.
    extent: tuple[float, float, float, float]
    notes: list[str]
    attributions: list[str]

    @property
    def has_schematic(self) -> bool:
        """Whether any drawn feature is schematic."""
        return any(ld.schematic for ld in self.layers)


def _geometry_type(frame: gpd.GeoDataFrame) -> str:
    types = frame.geometry.geom_type.dropna()
    return str(types.iloc[0]) if len(types) else "Polygon"


def _resolve_style(spec: MapLayer, frame: gpd.GeoDataFrame | None) -> dict[str, Any]:
    gtype = _geometry_type(frame) if frame is not None else "Polygon"
    style = layer_style(spec.source, gtype)
    override = dict(spec.style)
    by = override.pop("by", None)
    palette = override.pop("palette", None)
    style.update(override)
    if by and frame is not None:
        if by not in frame.columns:
            raise CatalogueError(
                f"map layer {spec.source!r}: style.by field {by!r} is not a column; "
                f"columns: {', '.join(map(str, frame.columns))}"
            )
        colours = list(palette or _DEFAULT_PALETTE)
        values = [v for v in dict.fromkeys(frame[by].tolist()) if v is not None]
        style["categories"] = {
            "field": by,
            "values": {v: colours[i % len(colours)] for i, v in enumerate(values)},
            "labels": {v: str(v) for v in values},
        }
    return style


def _title(spec: MapLayer, meta: dict[str, Any]) -> str:
    if spec.title:
        return spec.title
    row = meta.get(spec.source, {})
    if row.get("title_zh"):
        return f"{row['title_zh']} {row.get('title_en', '')}".strip()
    try:
        from baoshan_gis.catalogue import get_layer_def

        return get_layer_def(spec.source).title
    except KeyError:
        return spec.source


def _attribution(spec: MapLayer, meta: dict[str, Any]) -> str:
    row = meta.get(spec.source, {})
    if row.get("attribution"):
        return str(row["attribution"])
    try:
        from baoshan_gis.catalogue import get_layer_def

        return get_layer_def(spec.source).attribution
    except KeyError:
        return ""


def _legend(ld: LayerData) -> list[LegendEntry]:
    st = ld.style
    kind = ld.kind
    if kind == "raster":
        return [LegendEntry(f"{ld.title}（低→高 low→high）", "raster", "#000000",
                            colormap=ld.spec.colormap)]
    dashed = bool(st.get("dash")) or ld.schematic
    fill_opacity = float(st.get("fill_opacity", 0.3))
    width, size = float(st.get("width", 1.0)), float(st.get("size", 5.0))
    schematic = ld.schematic and bool(st.get("hatch", True))

    def entry(label: str, color: str, fill: str | None) -> LegendEntry:
        return LegendEntry(label, kind, color, fill=fill, fill_opacity=fill_opacity,
                           width=width, size=size, dashed=dashed, schematic=schematic)

    cats = st.get("categories")
    assert ld.frame is not None
    if cats and cats.get("field") in ld.frame.columns:
        present = set(ld.frame[cats["field"]].dropna().tolist())
        out = []
        for value, colour in (cats.get("values") or {}).items():
            if value not in present:
                continue
            label = category_label(st, value)
            fill = colour if kind == "fill" else (colour if kind == "point" else None)
            stroke = st["color"] if kind == "point" else colour
            out.append(entry(label, stroke, fill))
        others = present - set(cats.get("values") or {})
        if others:
            fill = st["fill"] if kind != "line" else None
            out.append(entry(f"{ld.title}（其他 other）", st["color"], fill))
        return out
    return [entry(ld.title, st["color"], st.get("fill"))]


def _point_extras(ld: LayerData) -> list[LegendEntry]:
    """Legend entries of the group symbol and the accuracy circle, when the layer shows them."""
    if ld.kind != "point" or ld.frame is None:
        return []
    zh, en = member_noun(ld.spec.source)
    out = []
    multi = [g for g in ld.groups if ld.is_multi(g)]
    if multi:
        colours = ld.colors()
        seg = tuple(dict.fromkeys(colours[i] for g in multi for i in g))[:4]
        out.append(LegendEntry(f"同一位置多个{zh}（数字为个数）Co-located {en} (count)", "group",
                               color=str(ld.style["color"]), fill=str(ld.style["fill"]),
                               size=float(ld.style.get("size", 5.0)),
                               colors=seg if len(seg) > 1 else (*seg, "#bdbdbd")))
    if ld.aggregated:
        out.append(LegendEntry(f"{zh}数量（每约 1 km 六边形）{en.capitalize()} per hexagon of "
                               "about 1 km", "gradient",
                               color=str(ld.style["color"]),
                               colormap=str(ld.style.get("aggregate_colormap", "Blues"))))
    if ld.circles():
        out.append(LegendEntry("近似定位范围（半径 = 定位精度）Approximate position (radius = "
                               "accuracy)", "accuracy",
                               color=str(ld.style.get("accuracy_color", ACCURACY_COLOR))))
    return out


def legend_in_view(ld: LayerData, bbox: tuple[float, float, float, float]) -> list[LegendEntry]:
    """Legend entries of the features of ``ld`` that intersect ``bbox`` (WGS84)."""
    if ld.frame is None or not len(ld.frame):
        return ld.legend
    sub = ld.frame.cx[bbox[0]:bbox[2], bbox[1]:bbox[3]]
    if not len(sub):
        return []
    view = LayerData(spec=ld.spec, title=ld.title, style=ld.style, frame=sub,
                     schematic=ld.schematic, accuracy_circles=ld.accuracy_circles)
    if view.kind == "point":
        view.groups = colocated_groups(sub, within_m=ld.spec.group_within_m)
    return _legend(view) + _point_extras(view)


def _apply_filter(frame: gpd.GeoDataFrame, spec: MapLayer) -> gpd.GeoDataFrame:
    if not spec.filter:
        return frame
    fld = spec.filter["field"]
    if fld not in frame.columns:
        raise CatalogueError(
            f"map layer {spec.source!r}: filter field {fld!r} is not a column; "
            f"columns: {', '.join(map(str, frame.columns))}"
        )
    return frame[frame[fld].isin(spec.filter["values"])]


def _missing(mapdef: MapDef, spec: MapLayer, gpkg: Path, known: list[str]) -> LayerNotFound:
    hint = spec.hint or (REPORT_HINT if spec.source.startswith(("analysis_", "carrier_density"))
                         else "rebuild it with 'baoshan-gis build --out PATH'")
    what = "raster" if spec.kind == "raster" else "layer"
    return LayerNotFound(
        f"map {mapdef.name!r} needs the {what} {spec.source!r}, which {gpkg.name!r} does not "
        f"hold; {hint} (it has: {', '.join(known) or 'nothing'})"
    )


def prepare_map(
    mapdef: MapDef | str,
    gpkg: str | os.PathLike[str],
) -> PreparedMap:
    """Read the layers of a map from the GeoPackage and resolve styles, legend and notes.

    Parameters
    ----------
    mapdef
        A :class:`MapDef` or the name of one in ``maps/``.
    gpkg
        Path of the plan GeoPackage (with the analysis outputs for maps that show them).

    Raises
    ------
    LayerNotFound
        A required layer or raster is missing; the message says which command writes it.
    """
    if isinstance(mapdef, str):
        mapdef = get_map(mapdef)
    path = Path(gpkg)
    names = gp.layer_names(path)
    rasters = gp.raster_layers(path)
    meta = gp.read_meta(path)
    notes: list[str] = []
    layers: list[LayerData] = []
    for spec in mapdef.layers:
        if spec.kind == "raster":
            if spec.source not in rasters or not rasters[spec.source].is_file():
                if spec.required:
                    raise _missing(mapdef, spec, path, sorted(rasters))
                if spec.note_if_missing:
                    notes.append(spec.note_if_missing)
                continue
            ld = LayerData(spec=spec, title=_title(spec, meta), style={"kind": "raster"},
                           raster_path=rasters[spec.source],
                           attribution=_attribution(spec, meta))
            ld.legend = _legend(ld)
            layers.append(ld)
            continue
        if spec.source not in names:
            if spec.required:
                raise _missing(mapdef, spec, path, names)
            if spec.note_if_missing:
                notes.append(spec.note_if_missing)
            continue
        frame = gp.read_layer(path, spec.source)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise CatalogueError(
                f"map {mapdef.name!r}: layer {spec.source!r} is an attribute table, not a map layer"
            )
        frame = frame.to_crs(WGS84) if frame.crs and frame.crs != WGS84 else frame
        frame = _apply_filter(frame, spec)
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].copy()
        style = _resolve_style(spec, frame)
        ld = LayerData(spec=spec, title=_title(spec, meta), style=style, frame=frame,
                       attribution=_attribution(spec, meta))
        ld.schematic = any(ld.is_schematic())
        if "geometry_quality" in frame.columns:
            ld.approximate = bool((frame["geometry_quality"] == "approximate").any()) and (
                ld.kind == "point"
            )
        if ld.schematic:
            ld.style = {**ld.style, "schematic_dash": list(SCHEMATIC_DASH)}
        if ld.kind == "point":
            ld.groups = colocated_groups(frame, within_m=spec.group_within_m)
            ld.accuracy_circles = spec.draws_accuracy_circles
        ld.legend = (_legend(ld) + _point_extras(ld)) if len(frame) else []
        layers.append(ld)
    extent = _extent(mapdef, layers, path, names)
    if any(ld.schematic for ld in layers):
        notes.insert(0, SCHEMATIC_NOTE)
    if any(ld.approximate for ld in layers):
        notes.append(APPROXIMATE_NOTE)
    if any(ld.circles() for ld in layers):
        notes.append(ACCURACY_NOTE)
    if any(ld.n_circles > MAX_ACCURACY_CIRCLES for ld in layers):
        notes.append(CIRCLES_OMITTED_NOTE)
    if any(ld.aggregated for ld in layers):
        notes.append(AGGREGATE_NOTE)
    if any(ld.is_multi(g) for ld in layers for g in ld.groups):
        notes.append(GROUP_NOTE)
    notes.extend(mapdef.notes)
    attributions: list[str] = []
    for ld in layers:
        for part in _split_attribution(ld.attribution):
            if part and part not in attributions:
                attributions.append(part)
    # OSM-derived layers must always show the exact OSM attribution string.
    if any("openstreetmap" in ld.attribution.lower() for ld in layers) and (
        OSM_ATTRIBUTION not in attributions
    ):
        attributions.insert(0, OSM_ATTRIBUTION)
    return PreparedMap(mapdef=mapdef, layers=layers, extent=extent, notes=notes,
                       attributions=attributions)


def _split_attribution(text: str) -> list[str]:
    return [p.strip() for p in text.replace("；", ";").split(";") if p.strip()]


def _extent(
    mapdef: MapDef, layers: list[LayerData], path: Path, names: list[str]
) -> tuple[float, float, float, float]:
    ext = mapdef.extent
    if isinstance(ext, tuple):
        return ext
    for ld in layers:
        if ld.spec.source == ext and ld.frame is not None and len(ld.frame):
            return tuple(float(v) for v in ld.frame.total_bounds)  # type: ignore[return-value]
    if ext in names:
        frame = gp.read_layer(path, ext)
        if isinstance(frame, gpd.GeoDataFrame) and len(frame):
            return tuple(float(v) for v in frame.to_crs(WGS84).total_bounds)  # type: ignore[return-value]
    bounds = [ld.frame.total_bounds for ld in layers if ld.frame is not None and len(ld.frame)]
    if not bounds:
        raise CatalogueError(f"map {mapdef.name!r}: nothing to draw and no extent")
    return (min(b[0] for b in bounds), min(b[1] for b in bounds),
            max(b[2] for b in bounds), max(b[3] for b in bounds))
