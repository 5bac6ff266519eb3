"""Print maps: PNG, PDF and SVG figures for policy documents, drawn with matplotlib.

Every map is drawn in UTM 51N (EPSG:32651), so one data unit is one metre and the scale bar
(matplotlib-scalebar) is true at Baoshan's latitude. The page holds a bilingual title, the map
frame with a north arrow (pointing to true north), a scale bar and a legend placed in the emptiest
corner, labels placed without overlaps (:mod:`baoshan_gis.render._labels`), and a footer with the
data-quality notes, the attributions, the ratio scale and the CRS.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from baoshan_gis._errors import InvalidInput
from baoshan_gis.render._labels import LabelRequest, place_labels
from baoshan_gis.render._prepare import (
    LayerData,
    PreparedMap,
    prepare_map,
)
from baoshan_gis.render._print_legend import _legend
from baoshan_gis.render._print_points import _draw_points, _point_labels, _text_width_mm
from baoshan_gis.render.mapdefs import PAPER_SIZES_MM, MapDef
from baoshan_gis.settings import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

#: Output formats of print maps.
PRINT_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
_MM = 1 / 25.4
_INK = "#222222"
_MUTED = "#5a5a5a"
_OUTSIDE = "#eeeeea"


def page_size_mm(paper: str, landscape: bool) -> tuple[float, float]:
    """Page width and height in millimetres."""
    if paper not in PAPER_SIZES_MM:
        raise InvalidInput(f"paper {paper!r} is not one of {', '.join(PAPER_SIZES_MM)}")
    w, h = PAPER_SIZES_MM[paper]
    return (h, w) if landscape else (w, h)


def _wrap(text: str, size_pt: float, width_mm: float) -> list[str]:
    lines: list[str] = []
    cur = ""
    for token in _tokens(text):
        if cur and _text_width_mm(cur + token, size_pt) > width_mm:
            lines.append(cur.rstrip())
            cur = token.lstrip()
        else:
            cur += token
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for c in text:
        if ord(c) >= 0x2E80:
            if word:
                out.append(word)
                word = ""
            out.append(c)
        elif c == " ":
            out.append(word + " ")
            word = ""
        else:
            word += c
    if word:
        out.append(word)
    return out


def _polygon_path(geom: Any) -> Any:
    from matplotlib.path import Path as MPath

    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    polys = getattr(geom, "geoms", [geom])
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0] = MPath.MOVETO
            c[-1] = MPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MPath(np.concatenate(verts), np.concatenate(codes))


def _darker(colour: str, factor: float = 0.6) -> str:
    from matplotlib.colors import to_hex, to_rgb

    r, g, b = to_rgb(colour)
    return to_hex((r * factor, g * factor, b * factor))


def _dash(style: dict[str, Any], schematic: bool) -> Any:
    if schematic:
        return (0, tuple(style.get("schematic_dash") or (4.0, 2.0)))
    if style.get("dash"):
        return (0, tuple(style["dash"]))
    return "solid"


def _metric_extent(pm: PreparedMap) -> tuple[float, float, float, float]:
    from pyproj import Transformer

    tr = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    x0, y0, x1, y1 = tr.transform_bounds(*pm.extent, densify_pts=21)
    pad = pm.mapdef.padding * max(x1 - x0, y1 - y0)
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _fit_aspect(ext: tuple[float, float, float, float], box_w: float, box_h: float
                ) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = ext
    w, h = x1 - x0, y1 - y0
    target = box_h / box_w
    if h / w < target:
        h2 = w * target
        cy = (y0 + y1) / 2
        return x0, cy - h2 / 2, x1, cy + h2 / 2
    w2 = h / target
    cx = (x0 + x1) / 2
    return cx - w2 / 2, y0, cx + w2 / 2, y1


def true_north_angle(x: float, y: float) -> float:
    """Angle (degrees, clockwise from grid north) of true north at metric point ``(x, y)``."""
    from pyproj import Transformer

    to_ll = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)
    to_m = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    lon, lat = to_ll.transform(x, y)
    x2, y2 = to_m.transform(lon, lat + 0.01)
    return math.degrees(math.atan2(x2 - x, y2 - y))


class _Page:
    """Page geometry in millimetres and helpers to place things on it."""

    def __init__(self, fig: Figure, w: float, h: float, scale: float) -> None:
        self.fig, self.w, self.h, self.s = fig, w, h, scale

    def fx(self, mm: float) -> float:
        return mm / self.w

    def fy(self, mm: float) -> float:
        return mm / self.h

    def text(self, x: float, y: float, s: str, size: float, **kw: Any) -> Any:
        return self.fig.text(self.fx(x), self.fy(y), s, fontsize=size * self.s, **kw)


def draw_map(
    pm: PreparedMap,
    *,
    paper: str | None = None,
    landscape: bool | None = None,
    dpi: float = 300,
) -> Figure:
    """Draw a prepared map on a page; return the matplotlib figure (not yet saved).

    The legend goes in the place inside the frame where it covers the least of the map's main
    (non-context) layers; when every such place covers some of them, the map frame is narrowed
    and the legend stands beside it, so it never hides data.
    Call inside ``matplotlib.rc_context(_fonts.rc_params())`` (as :func:`render_print` does).
    """
    fig, overlap, sizes = _compose(pm, paper=paper, landscape=landscape, dpi=dpi)
    if overlap > 0:
        W, H = fig.get_size_inches()
        if W > H:  # landscape: a column right of the frame
            fig, _o, _s = _compose(pm, paper=paper, landscape=landscape, dpi=dpi,
                                   legend_place="right", legend_mm=sizes[1])
        else:  # portrait: a strip under the frame, two columns of entries (smaller if need be)
            fig, _o, _s = _compose(pm, paper=paper, landscape=landscape, dpi=dpi,
                                   legend_place="below", legend_mm=sizes[2])
    return fig


def _compose(
    pm: PreparedMap,
    *,
    paper: str | None,
    landscape: bool | None,
    dpi: float,
    legend_place: str = "inside",
    legend_mm: tuple[float, float] = (0.0, 0.0),
) -> tuple[Figure, float, dict[int, tuple[float, float]]]:
    """One layout of the page: the figure, the area (m²) of main-layer features the legend
    covers, and the legend's size (mm) in one and two columns. ``legend_place`` ``"right"`` or
    ``"below"`` reserves room of ``legend_mm`` (width, height) beside or under the frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    md = pm.mapdef
    paper = paper or md.paper
    landscape = md.landscape if landscape is None else landscape
    W, H = page_size_mm(paper, landscape)
    scale = 1.0 if paper == "A4" else 1.3
    fig = Figure(figsize=(W * _MM, H * _MM), dpi=dpi)
    renderer = FigureCanvasAgg(fig).get_renderer()
    page = _Page(fig, W, H, scale)
    margin = 12.0 * scale

    # Footer first: its height decides the map frame's.
    notes_size, attr_size = 6.4, 6.0
    text_w = W - 2 * margin
    note_lines: list[str] = []
    for i, note in enumerate(pm.notes):
        prefix = "注：" if i == 0 else "　　"
        note_lines += _wrap(prefix + note, notes_size * scale, text_w * 0.98)
    attr = "数据来源 Data: " + "; ".join(pm.attributions) if pm.attributions else ""
    attr_lines = _wrap(attr, attr_size * scale, text_w * 0.98) if attr else []
    line_mm = 3.1 * scale
    footer_h = (len(note_lines) + len(attr_lines) + 1) * line_mm + 3.0
    title_h = 19.0 * scale + (5.0 * scale if md.subtitle else 0.0)

    column = legend_mm[0] + 3.0 * scale if legend_place == "right" else 0.0
    strip = 0.0
    if legend_place == "below":
        fit = min(1.0, (W - 2 * margin) / legend_mm[0]) if legend_mm[0] else 1.0
        strip = legend_mm[1] * fit + 3.0 * scale
    map_x0, map_x1 = margin, W - margin - column
    map_y0, map_y1 = margin + footer_h + strip, H - margin - title_h
    ax = fig.add_axes((page.fx(map_x0), page.fy(map_y0), page.fx(map_x1 - map_x0),
                       page.fy(map_y1 - map_y0)))
    ax.set_facecolor("white")
    ext = _fit_aspect(_metric_extent(pm), map_x1 - map_x0, map_y1 - map_y0)
    ax.set_xlim(ext[0], ext[2])
    ax.set_ylim(ext[1], ext[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.9)
        spine.set_color(_INK)
        spine.set_zorder(30)

    drawn, main = _draw_layers(ax, pm, ext)
    map_scale = (ext[2] - ext[0]) / ((map_x1 - map_x0) / 1000.0)

    # Title block.
    top = H - margin
    page.text(margin, top - 8.0 * scale, md.title_zh, 17, color=_INK,
              va="baseline", gid="map-title")
    page.text(margin, top - 14.0 * scale, md.title_en, 9.5, color=_MUTED, va="baseline",
              gid="map-title-en")
    if md.subtitle:
        page.text(margin, top - 19.0 * scale, md.subtitle, 8, color=_MUTED, va="baseline")
    if md.plan_ref:
        page.text(W - margin, top - 8.0 * scale, f"规划依据 Plan §{md.plan_ref}", 7.5,
                  color=_MUTED, ha="right", va="baseline")
    rule_y = map_y1 + 2.2 * scale
    fig.add_artist(_hline(page, margin, W - margin, rule_y, 0.8, _INK))
    fig.add_artist(_hline(page, margin, margin + 28 * scale, rule_y, 2.6, "#9e1b20"))

    # Map furniture: north arrow (top right), scale bar (bottom left), legend (emptiest corner).
    obstacles: list[Bbox] = []
    obstacles.append(_north_arrow(ax, renderer, ext, scale))
    obstacles.append(_scale_bar(ax, renderer, scale))
    legend_scale = scale
    if legend_place == "below" and legend_mm[0] > map_x1 - map_x0:
        legend_scale = scale * (map_x1 - map_x0) / legend_mm[0]
    legend_box, overlap, sizes = _legend(ax, renderer, pm, drawn, main, legend_scale,
                                         place=legend_place)
    obstacles.append(legend_box)
    if legend_place == "inside" and overlap > 0:
        return fig, overlap, sizes  # draw_map lays the page out again with the legend outside

    # Labels last, avoiding symbols and furniture.
    requests, symbol_boxes = _label_requests(ax, renderer, pm, scale)
    place_labels(ax, requests, renderer=renderer, obstacles=obstacles + symbol_boxes,
                 lines=_main_lines(pm))

    # Footer.
    y = map_y0 - strip - 4.0 * scale
    for i, line in enumerate(note_lines):
        page.text(margin, y - i * line_mm, line, notes_size, color=_INK, va="top")
    y -= len(note_lines) * line_mm
    for i, line in enumerate(attr_lines):
        page.text(margin, y - i * line_mm, line, attr_size, color=_MUTED, va="top",
                  gid="map-attribution")
    y -= len(attr_lines) * line_mm
    stamp = _dt.date.today().strftime("%Y-%m")
    page.text(margin, y, f"比例尺 Scale 1:{_round_scale(map_scale):,}（{paper}）· 坐标系 CRS "
              f"WGS 84 / UTM 51N (EPSG:32651) · 制图 baoshan-gis {stamp}", attr_size,
              color=_MUTED, va="top")
    return fig, overlap, sizes


def _round_scale(s: float) -> int:
    mag = 10 ** max(int(math.log10(s)) - 1, 0)
    return int(round(s / mag) * mag)


def _hline(page: _Page, x0: float, x1: float, y: float, lw: float, colour: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([page.fx(x0), page.fx(x1)], [page.fy(y), page.fy(y)], lw=lw * page.s,
                  color=colour, transform=page.fig.transFigure, solid_capstyle="butt")


def _draw_layers(ax: Axes, pm: PreparedMap, ext: tuple[float, float, float, float]
                 ) -> tuple[list[Any], list[Any]]:
    """Draw every layer; return the metric geometries drawn (for legend placement): all of
    them, and those of the main (non-context) layers."""
    from matplotlib.collections import LineCollection
    from matplotlib.patches import PathPatch
    from shapely.geometry import box

    geoms: list[Any] = []
    main: list[Any] = []
    clip = None
    for z, ld in enumerate(pm.layers, start=1):
        first = len(geoms)
        base_z = 2 + z
        if ld.kind == "raster":
            _draw_raster(ax, ld, ext, base_z, clip)
            continue
        assert ld.frame is not None
        if not len(ld.frame):
            continue
        frame = ld.frame.to_crs(METRIC_CRS)
        st = ld.style
        colours = ld.colors()
        schem = ld.is_schematic()
        if ld.kind == "fill":
            order = np.argsort(-frame.geometry.area.to_numpy(), kind="stable")
            if ld.spec.context:
                inside = frame.geometry.union_all()
                path = _polygon_path(box(*ext).difference(inside))
                if path is not None:
                    ax.add_patch(PathPatch(path, facecolor=_OUTSIDE, edgecolor="none",
                                           zorder=1))
                clip = _polygon_path(inside)
            for i in order:
                geom = frame.geometry.iloc[i]
                path = _polygon_path(geom)
                if path is None:
                    continue
                # Legend placement avoids features, and only the outline of context areas.
                geoms.append(geom.boundary.buffer(150) if ld.spec.context else geom.buffer(0))
                c = colours[i]
                fill = st["fill"] if not st.get("categories") else c
                ax.add_patch(PathPatch(path, facecolor=fill, alpha=float(st["fill_opacity"]),
                                       edgecolor="none", zorder=base_z))
                if schem[i] and st.get("hatch", True):
                    from matplotlib.colors import to_rgba

                    ax.add_patch(PathPatch(path, facecolor="none", hatch="///", lw=0,
                                           edgecolor=to_rgba(c, 0.32), zorder=base_z + 0.05))
                ax.add_patch(PathPatch(
                    path, facecolor="none", edgecolor=c, lw=float(st["width"]),
                    linestyle=_dash(st, schem[i]),
                    zorder=(19.0 if ld.spec.context else base_z + 0.1),
                ))
        elif ld.kind == "line":
            for i, geom in enumerate(frame.geometry):
                parts = getattr(geom, "geoms", [geom])
                segs = [np.asarray(p.coords)[:, :2] for p in parts if not p.is_empty]
                geoms.append(geom.buffer(50))
                ax.add_collection(LineCollection(
                    segs, colors=colours[i], linewidths=float(st["width"]),
                    linestyles=_dash(st, schem[i]), zorder=base_z, capstyle="round",
                ))
        else:
            geoms.extend(g.buffer(100) for g in frame.geometry)
            _draw_points(ax, ld, frame, colours, base_z)
        if not ld.spec.context:
            main.extend(geoms[first:])
    return geoms, main


def _draw_raster(ax: Axes, ld: LayerData, ext: tuple[float, float, float, float],
                 z: float, clip: Any = None) -> None:
    from matplotlib import colormaps

    arr, bounds = read_raster_metric(ld.raster_path)  # type: ignore[arg-type]
    cmap = colormaps[ld.spec.colormap].with_extremes(bad=(0, 0, 0, 0))
    im = ax.imshow(arr, extent=(bounds[0], bounds[2], bounds[1], bounds[3]), origin="upper",
                   cmap=cmap, alpha=ld.spec.opacity, zorder=z, interpolation="bilinear")
    if clip is not None:
        im.set_clip_path(clip, ax.transData)


def read_raster_metric(path: str | os.PathLike[str]
                       ) -> tuple[np.ma.MaskedArray, tuple[float, float, float, float]]:
    """Band 1 of a raster in EPSG:32651, masked where nodata or below 2% of the maximum."""
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    with warnings.catch_warnings(), rasterio.open(path) as src:
        # rasterio calls affine's deprecated '*' operator; not ours to fix.
        warnings.filterwarnings("ignore", message="Use `@` matmul",
                                category=PendingDeprecationWarning)
        data = src.read(1, masked=True).astype("float64")
        if src.crs is not None and src.crs.to_string() != METRIC_CRS and (
            src.crs.to_epsg() != 32651
        ):
            tr, w, h = calculate_default_transform(src.crs, METRIC_CRS, src.width, src.height,
                                                   *src.bounds)
            out = np.full((h, w), np.nan)
            reproject(data.filled(np.nan), out, src_transform=src.transform, src_crs=src.crs,
                      dst_transform=tr, dst_crs=METRIC_CRS, resampling=Resampling.bilinear,
                      src_nodata=np.nan, dst_nodata=np.nan)
            from rasterio.transform import array_bounds

            b = array_bounds(h, w, tr)
            data = np.ma.masked_invalid(out)
            bounds = (b[0], b[1], b[2], b[3])
        else:
            bounds = tuple(src.bounds)  # type: ignore[assignment]
    data = np.ma.masked_invalid(data)
    if data.count():
        data = np.ma.masked_less(data, 0.02 * float(data.max()))
    return data, bounds


def _north_arrow(ax: Axes, renderer: Any, ext: tuple[float, float, float, float],
                 scale: float) -> Bbox:
    from matplotlib.patches import Polygon
    from matplotlib.transforms import Affine2D, offset_copy

    angle = true_north_angle((ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2)
    fig = cast("Figure", ax.figure)  # always a top-level Figure (draw_map), never a SubFigure
    # Arrow in points, anchored 11 mm from the top-right corner of the frame.
    base = offset_copy(ax.transAxes, fig=fig, x=-11 * scale / 25.4 * 72,
                       y=-13 * scale / 25.4 * 72, units="points")
    s = 72 / 25.4 * scale  # 1 mm in points
    rot = Affine2D().rotate_deg(-angle).scale(s * fig.dpi / 72)
    tr = rot + Affine2D().translate(*base.transform((1, 1)))
    left = Polygon([(0, 6), (-2.6, -3.2), (0, -1.6)], closed=True, facecolor=_INK,
                   edgecolor=_INK, lw=0.6, transform=tr, zorder=25)
    right = Polygon([(0, 6), (2.6, -3.2), (0, -1.6)], closed=True, facecolor="white",
                    edgecolor=_INK, lw=0.6, transform=tr, zorder=25)
    ax.add_patch(left)
    ax.add_patch(right)
    lab = ax.text(0, 9.2, "N 北", transform=tr, ha="center", va="center", fontsize=8 * scale,
                  color=_INK, zorder=25, gid="north-arrow")
    boxes = [p.get_window_extent(renderer) for p in (left, right)]
    boxes.append(lab.get_window_extent(renderer))
    from matplotlib.transforms import Bbox

    return Bbox.union(boxes).expanded(1.25, 1.15)


def _scale_bar(ax: Axes, renderer: Any, scale: float) -> Bbox:
    from matplotlib_scalebar.scalebar import ScaleBar

    sb = ScaleBar(1.0, "m", location="lower left", length_fraction=0.22, width_fraction=0.006,
                  box_alpha=0.85, box_color="white", color=_INK, scale_loc="top",
                  border_pad=0.8, pad=0.5, sep=2.5, font_properties={"size": 7.5 * scale},
                  label="比例尺 Scale", label_loc="bottom")
    sb.set_gid("scale-bar")
    sb.set_zorder(26)
    ax.add_artist(sb)
    sb.draw(renderer)
    return sb._info.window_extent.expanded(1.05, 1.1)  # type: ignore[union-attr]


def _label_requests(ax: Axes, renderer: Any, pm: PreparedMap, scale: float
                    ) -> tuple[list[LabelRequest], list[Bbox]]:
    from shapely.ops import polylabel

    requests: list[LabelRequest] = []
    boxes: list[Bbox] = []
    for ld in pm.layers:
        if ld.kind == "raster" or ld.frame is None or not len(ld.frame):
            continue
        frame = ld.frame.to_crs(METRIC_CRS)
        if ld.kind == "point":
            requests.extend(_point_labels(ax, ld, scale, boxes))
            continue
        if not ld.spec.labels:
            continue
        fld = ld.label_field
        if fld not in frame.columns:
            continue
        colours = ld.colors()
        for i, (geom, text) in enumerate(zip(frame.geometry, frame[fld], strict=True)):
            if text is None or geom is None or geom.is_empty:
                continue
            if ld.kind == "fill":
                part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
                p = polylabel(part, tolerance=20.0)
                requests.append(LabelRequest(
                    str(text), p.x, p.y, size=ld.spec.label_size * scale,
                    priority=ld.spec.label_priority, area=True,
                    color=_darker(colours[i], 0.55), weight="normal"))
            else:  # beside the line, never on its stroke
                p = geom.interpolate(0.5, normalized=True)
                requests.append(LabelRequest(
                    str(text), p.x, p.y, size=ld.spec.label_size * scale,
                    priority=ld.spec.label_priority, area=True,
                    color=_darker(colours[i], 0.6), weight="normal",
                    line=geom, line_width=float(ld.style["width"])))
    return requests, boxes


def _main_lines(pm: PreparedMap) -> list[tuple[Any, float]]:
    """The strokes of the main (non-context) line layers, metric: labels keep off them."""
    out: list[tuple[Any, float]] = []
    for ld in pm.layers:
        if ld.kind != "line" or ld.spec.context or ld.frame is None or not len(ld.frame):
            continue
        width = float(ld.style["width"])
        out.extend((g, width) for g in ld.frame.to_crs(METRIC_CRS).geometry
                   if g is not None and not g.is_empty)
    return out


def render_print(
    mapdef: MapDef | str,
    gpkg: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    dpi: float = 300,
    paper: str | None = None,
    landscape: bool | None = None,
) -> Path:
    """Write a print map to ``out`` as PNG, PDF or SVG.

    Parameters
    ----------
    mapdef
        Map definition or its name (see ``baoshan-gis map list``).
    gpkg
        The plan GeoPackage.
    out
        Output file; its suffix gives the format unless ``fmt`` is given.
    fmt
        ``"png"``, ``"pdf"`` or ``"svg"``.
    dpi
        Resolution of PNG output (and of rasters embedded in PDF/SVG); default 300.
    paper, landscape
        Paper size (``"A4"`` or ``"A3"``) and orientation; default from the map definition.

    Returns
    -------
    Path
        The file written.
    """
    import matplotlib

    from baoshan_gis.gpkg import atomic_path
    from baoshan_gis.render._fonts import rc_params

    out = Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in PRINT_FORMATS:
        raise InvalidInput(f"print format {fmt!r} is not one of {', '.join(PRINT_FORMATS)}")
    if not 30 <= dpi <= 1200:
        raise InvalidInput(f"dpi {dpi!r} is outside 30..1200")
    pm = prepare_map(mapdef, gpkg)
    with matplotlib.rc_context(rc_params()):
        fig = draw_map(pm, paper=paper, landscape=landscape, dpi=dpi)
        meta = {"Title": pm.mapdef.title} if fmt in ("pdf", "svg") else {
            "Title": pm.mapdef.title, "Software": "baoshan-gis"}
        with atomic_path(out, copy_existing=False) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
    return out
