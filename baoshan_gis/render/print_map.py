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
    LegendEntry,
    PreparedMap,
    legend_in_view,
    prepare_map,
)
from baoshan_gis.render.mapdefs import PAPER_SIZES_MM, MapDef
from baoshan_gis.settings import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox
    from matplotlib.typing import LineStyleType

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


def _text_width_mm(text: str, size_pt: float) -> float:
    em = size_pt * 0.3528
    return sum(em if ord(c) >= 0x2E80 else em * 0.55 for c in text)


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
    place_labels(ax, requests, renderer=renderer, obstacles=obstacles + symbol_boxes)

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


#: Outer radius of a group symbol, as a multiple of the layer's marker radius.
GROUP_RADIUS_FACTOR = 1.6


def group_radius_pt(style: dict[str, Any]) -> float:
    """Outer radius (points) of the ring symbol of co-located points."""
    return max(float(style["size"]) / 2 * GROUP_RADIUS_FACTOR, 4.5)


def _pt_to_data(ax: Axes) -> float:
    """Data units (metres) per typographic point at the map's current scale."""
    (x0, _), (x1, _) = ax.transData.transform([(0.0, 0.0), (1.0, 0.0)])
    return (ax.figure.dpi / 72.0) / abs(x1 - x0)


def _utm_scale(x: Any, y: Any) -> Any:
    """Point scale factor of UTM 51N at metric points ``(x, y)`` (map metres per true metre);
    scalars or arrays."""
    from pyproj import Proj, Transformer

    lon, lat = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True).transform(x, y)
    k = Proj(METRIC_CRS).get_factors(lon, lat).meridional_scale
    return float(k) if np.ndim(k) == 0 else np.asarray(k, dtype=float)


def plan_named(frame: Any) -> np.ndarray:
    """Per feature: whether it is one the plan names (built from the plan text), which city-scale
    maps draw and label individually on top of aggregated points."""
    if "source" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame["source"].fillna("").astype(str).str.startswith("plan text").to_numpy()


def _draw_aggregated(ax: Axes, ld: LayerData, frame: Any, colours: list[str], base_z: float
                     ) -> None:
    """Counts per hexagon of about AGGREGATE_CELL_M, then the plan-named points on top."""
    from baoshan_gis.render._prepare import AGGREGATE_CELL_M

    st = ld.style
    pts = frame.geometry.representative_point()
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    x0, x1 = ax.get_xlim()
    grid = max(round((x1 - x0) / AGGREGATE_CELL_M), 1)
    ax.hexbin(x, y, gridsize=grid, extent=(*ax.get_xlim(), *ax.get_ylim()), mincnt=1,
              cmap=str(st.get("aggregate_colormap", "Blues")), linewidths=0.2,
              edgecolors="white", zorder=base_z, gid="point-aggregate")
    named = plan_named(frame)
    if named.any():
        ax.scatter(x[named], y[named], s=float(st["size"]) ** 2,
                   c=[colours[i] for i in np.flatnonzero(named)], edgecolors=st["color"],
                   linewidths=float(st["width"]) * 0.8, zorder=base_z + 5,
                   marker=st.get("marker", "o"), gid="point-markers")


def _draw_points(ax: Axes, ld: LayerData, frame: Any, colours: list[str], base_z: float
                 ) -> None:
    """Accuracy circles, then one symbol per co-located group (a ring for several names)."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Circle, Wedge

    if ld.aggregated:
        _draw_aggregated(ax, ld, frame, colours, base_z)
        return
    st = ld.style
    xy = ld.group_xy(METRIC_CRS)
    acc_colour = str(st.get("accuracy_color", "#4f6272"))
    circles = ld.circles()
    if circles:
        at = np.array([xy[gi] for gi, _r in circles])
        scales = np.atleast_1d(_utm_scale(at[:, 0], at[:, 1]))
        face, edge = to_rgba(acc_colour, 0.05), to_rgba(acc_colour, 0.55)
        for (_gi, radius), (x, y), kk in zip(circles, at, scales, strict=True):
            ax.add_patch(Circle((x, y), radius * kk, facecolor=face, edgecolor=edge, lw=0.6,
                                linestyle=(0, (3, 2)), zorder=base_z + 1, gid="accuracy-circle"))
    single = [gi for gi, g in enumerate(ld.groups) if not ld.is_multi(g)]
    if single:
        ax.scatter(xy[single, 0], xy[single, 1], s=float(st["size"]) ** 2,
                   c=[colours[ld.groups[gi][0]] for gi in single], edgecolors=st["color"],
                   linewidths=float(st["width"]) * 0.8, zorder=base_z + 5,
                   marker=st.get("marker", "o"), gid="point-markers")
    per_pt = _pt_to_data(ax)
    r_out = group_radius_pt(st) * per_pt
    for gi, group in enumerate(ld.groups):
        if not ld.is_multi(group):
            continue
        x, y = xy[gi]
        members = [colours[i] for i in group]
        order = list(dict.fromkeys(members))
        members.sort(key=order.index)
        step = 360.0 / len(members)
        for k, c in enumerate(members):
            ax.add_patch(Wedge((x, y), r_out, 90 - (k + 1) * step, 90 - k * step,
                               width=r_out * 0.48, facecolor=c, edgecolor=st["color"],
                               lw=0.45, zorder=base_z + 5, gid="group-marker"))
        ax.add_patch(Circle((x, y), r_out * 0.52, facecolor="white", edgecolor="none",
                            zorder=base_z + 5.1))
        ax.add_patch(Circle((x, y), r_out, facecolor="none", edgecolor=_INK, lw=0.4,
                            zorder=base_z + 5.2))
        ax.text(x, y, str(len(group)), ha="center", va="center_baseline",
                fontsize=group_radius_pt(st) * 0.95, color=_INK,
                zorder=base_z + 5.3, gid="group-count")


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


#: Places tried for a legend inside the frame, as fractions of the free width and height.
LEGEND_SPOTS: tuple[tuple[float, float], ...] = tuple(
    (fx, fy) for fy in (0.0, 0.25, 0.5, 0.75, 1.0) for fx in (0.0, 0.5, 1.0))


def _legend(ax: Axes, renderer: Any, pm: PreparedMap, drawn: list[Any], main: list[Any],
            scale: float, *, place: str = "inside"
            ) -> tuple[Bbox, float, dict[int, tuple[float, float]]]:
    """Draw the legend where it covers the least data: the main layers' features first, then
    context outlines. ``place="right"`` puts it right of the frame (top-aligned), ``"below"``
    under it in two columns.

    Returns its box (display pixels), the area (m²) of main features under it and its size
    (mm) in one and in two columns."""
    from matplotlib.patches import FancyBboxPatch, Rectangle
    from matplotlib.transforms import Bbox
    from pyproj import Transformer
    from shapely.geometry import box as sbox
    from shapely.ops import unary_union

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True).transform_bounds(
        x0, y0, x1, y1)
    entries: list[LegendEntry] = [
        e for ld in pm.layers if ld.spec.legend
        for e in (ld.legend if ld.kind == "raster" else legend_in_view(ld, view))
    ]
    fig = ax.figure
    px_per_mm = fig.dpi / 25.4
    size = 7.0 * scale
    row = 4.6 * scale
    sw = 7.0 * scale
    widths = []
    for e in entries:
        t = fig.text(0, 0, e.label, fontsize=size)
        widths.append(t.get_window_extent(renderer).width / px_per_mm)
        t.remove()
    head = fig.text(0, 0, pm.mapdef.legend_title, fontsize=size * 1.1)
    head_w = head.get_window_extent(renderer).width / px_per_mm
    head.remove()
    pad = 2.5 * scale
    col_w = max([0.0, *(sw + 2 * scale + w for w in widths)])
    gap_mm = 4.0 * scale

    def size_for(cols: int) -> tuple[float, float]:
        rows = math.ceil(len(entries) / cols) if entries else 0
        return (max(head_w, cols * col_w + (cols - 1) * gap_mm) + 2 * pad,
                row * (rows + 1) + 2 * pad - 0.6 * scale)

    sizes = {1: size_for(1), 2: size_for(2)}
    ncols = 2 if place == "below" else 1
    w_mm, h_mm = sizes[ncols]
    per_col = math.ceil(len(entries) / ncols) if entries else 1
    frame = ax.get_window_extent(renderer)
    inset = 2.5 * scale * px_per_mm
    wpx, hpx = w_mm * px_per_mm, h_mm * px_per_mm
    arrow_h = 24 * scale * px_per_mm
    inv = ax.transData.inverted()
    geoms = unary_union(drawn) if drawn else None
    main_geoms = unary_union(main) if main else None
    # keep clear of the north arrow (top right) and the scale bar (bottom left)
    furniture = [Bbox.from_extents(frame.x1 - 18 * scale * px_per_mm, frame.y1 - arrow_h,
                                   frame.x1, frame.y1),
                 Bbox.from_extents(frame.x0, frame.y0, frame.x0 + 60 * scale * px_per_mm,
                                   frame.y0 + 16 * scale * px_per_mm)]

    def covered(x: float, y: float, what: Any) -> float:
        (dx0, dy0), (dx1, dy1) = inv.transform([(x, y), (x + wpx, y + hpx)])
        return float(what.intersection(sbox(dx0, dy0, dx1, dy1)).area) if what else 0.0

    if place == "right":
        x, y = frame.x1 + 3.0 * scale * px_per_mm, frame.y1 - hpx
        best_main = 0.0
    elif place == "below":
        x, y = frame.x0, frame.y0 - 3.0 * scale * px_per_mm - hpx
        best_main = 0.0
    else:
        spots = []
        for fx, fy in LEGEND_SPOTS:
            x = frame.x0 + inset + fx * (frame.width - 2 * inset - wpx)
            y = frame.y0 + inset + fy * (frame.height - 2 * inset - hpx)
            box = Bbox.from_bounds(x, y, wpx, hpx)
            if any(box.overlaps(f) for f in furniture):
                continue
            spots.append((covered(x, y, main_geoms), covered(x, y, geoms), fx != 1.0, x, y))
        if not spots:  # a legend too large for any free spot: beside the frame
            spots = [(float("inf"), 0.0, False, frame.x1 - inset - wpx, frame.y0 + inset)]
        best_main, _other, _pref, x, y = min(spots)
    bx, by = fig.transFigure.inverted().transform((x, y))
    lax = fig.add_axes((bx, by, wpx / fig.bbox.width, hpx / fig.bbox.height), zorder=40)
    lax.set_xlim(0, w_mm)
    lax.set_ylim(0, h_mm)
    lax.set_axis_off()
    lax.set_gid("map-legend")
    lax.add_patch(FancyBboxPatch((0.3, 0.3), w_mm - 0.6, h_mm - 0.6,
                                 boxstyle="square,pad=0", facecolor="white", alpha=0.92,
                                 edgecolor=_INK, lw=0.6))
    ytop = h_mm - pad - row * 0.5
    lax.text(pad, ytop, pm.mapdef.legend_title, fontsize=size * 1.1,
             va="center", color=_INK)
    for i, e in enumerate(entries):
        col, r = divmod(i, per_col)
        xc = pad + col * (col_w + gap_mm)
        yc = ytop - row * (r + 1)
        _swatch(lax, e, xc, yc, sw, row * 0.62, scale)
        lax.text(xc + sw + 2 * scale, yc, e.label, fontsize=size, va="center", color=_INK)
    del Rectangle
    return Bbox.from_bounds(x, y, wpx, hpx), best_main, sizes


def _swatch(lax: Axes, e: LegendEntry, x: float, yc: float, w: float, h: float,
            scale: float) -> None:
    from matplotlib import colormaps
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    ls: LineStyleType = (0, (4.0, 2.0)) if e.dashed else "solid"
    if e.kind == "fill":
        lax.add_patch(Rectangle((x, yc - h / 2), w, h, facecolor=e.fill or e.color,
                                alpha=e.fill_opacity, edgecolor="none"))
        if e.schematic:
            lax.add_patch(Rectangle((x, yc - h / 2), w, h, facecolor="none", lw=0,
                                    hatch="///", edgecolor=to_rgba(e.color, 0.4)))
        lax.add_patch(Rectangle((x, yc - h / 2), w, h, facecolor="none", edgecolor=e.color,
                                lw=e.width, linestyle=ls))
    elif e.kind == "line":
        lax.add_line(Line2D([x, x + w], [yc, yc], color=e.color, lw=e.width, linestyle=ls))
    elif e.kind == "accuracy":
        from matplotlib.patches import Circle

        lax.add_patch(Circle((x + w / 2, yc), h * 0.62, facecolor=to_rgba(e.color, 0.08),
                             edgecolor=to_rgba(e.color, 0.7), lw=0.6, linestyle=(0, (3, 2))))
        lax.add_line(Line2D([x + w / 2], [yc], marker="o", markersize=2.2,
                            markerfacecolor=_MUTED, markeredgecolor="none", linestyle="none"))
    elif e.kind == "group":
        from matplotlib.patches import Circle, Wedge

        r = h * 0.6
        cols = e.colors or (e.fill or e.color,)
        step = 360 / len(cols)
        for k, c in enumerate(cols):
            lax.add_patch(Wedge((x + w / 2, yc), r, 90 - (k + 1) * step, 90 - k * step,
                                width=r * 0.48, facecolor=c, edgecolor="white", lw=0.4))
        lax.add_patch(Circle((x + w / 2, yc), r, facecolor="none", edgecolor=_INK, lw=0.4))
        lax.text(x + w / 2, yc, "n", ha="center", va="center_baseline", fontsize=r * 1.9,
                 color=_INK)
    elif e.kind == "point":
        lax.add_line(Line2D([x + w / 2], [yc], marker="o", markersize=e.size,
                            markerfacecolor=e.fill or e.color, markeredgecolor=e.color,
                            markeredgewidth=0.6, linestyle="none"))
    else:
        grad = np.linspace(0.05, 1, 64)[None, :]
        lax.imshow(grad, extent=(x, x + w, yc - h / 2, yc + h / 2), aspect="auto",
                   cmap=colormaps[e.colormap or "YlOrRd"], vmin=0, vmax=1, zorder=3)


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
            else:
                p = geom.interpolate(0.5, normalized=True)
                requests.append(LabelRequest(
                    str(text), p.x, p.y, size=ld.spec.label_size * scale,
                    priority=ld.spec.label_priority, area=True,
                    color=_darker(colours[i], 0.6), weight="normal"))
    return requests, boxes


#: Width of a callout's name column, in ems; a name up to ``+ CALLOUT_SLACK_EM`` stays whole.
CALLOUT_WIDTH_EM = 16.0
CALLOUT_SLACK_EM = 2.5
_BREAK_AFTER = "、，,；;：:）)·/ "


def wrap_name(name: str, *, width_em: float = CALLOUT_WIDTH_EM,
              slack_em: float = CALLOUT_SLACK_EM) -> list[str]:
    """Break a (Chinese) name into lines of about ``width_em``, after punctuation if near.

    >>> wrap_name("复旦大学新工科创新学院、双创学院、技术转移中心")
    ['复旦大学新工科创新学院、', '双创学院、技术转移中心']
    >>> wrap_name("同济创园")
    ['同济创园']
    """

    def ems(t: str) -> float:
        return _text_width_mm(t, 10.0) / (10.0 * 0.3528)

    lines: list[str] = []
    rest = name.strip()
    while rest and ems(rest) > width_em + slack_em:
        cut = 1
        while cut < len(rest) and ems(rest[: cut + 1]) <= width_em:
            cut += 1
        for j in range(cut, max(cut - 6, 1), -1):
            if rest[j - 1] in _BREAK_AFTER:
                cut = j
                break
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        lines.append(rest)
    return lines


def callout_text(ld: LayerData, group: tuple[int, ...]) -> str:
    """Text of a group's callout: a header (count, position accuracy) and every member name."""
    from baoshan_gis.render._prepare import accuracy_text, member_noun

    names = ld.member_names(group)
    zh, _ = member_noun(ld.spec.source)
    acc = ld.max_accuracy(group)
    head = (f"位置近似 {accuracy_text(acc)} · {len(names)} 个{zh}" if acc is not None
            else f"同一位置 {len(names)} 个{zh}")
    lines = [head]
    for name in names:
        wrapped = wrap_name(name)
        lines += ["· " + wrapped[0], *("  " + w for w in wrapped[1:])]
    return "\n".join(lines)


def _point_labels(ax: Axes, ld: LayerData, scale: float, boxes: list[Bbox]
                  ) -> list[LabelRequest]:
    """Symbol boxes (appended to ``boxes``) and label requests of a point layer."""
    from matplotlib.transforms import Bbox

    st = ld.style
    px_per_pt = ax.figure.dpi / 72
    r_single = float(st["size"]) / 2
    r_group = group_radius_pt(st)
    out: list[LabelRequest] = []
    if ld.aggregated:  # only the plan-named points are drawn, and labelled first
        assert ld.frame is not None
        named = np.flatnonzero(plan_named(ld.frame))
        pts = ld.frame.iloc[named].to_crs(METRIC_CRS).geometry.representative_point()
        names = ld.frame.iloc[named][ld.label_field].astype(str).tolist()
        for px, py, name in zip(pts.x, pts.y, names, strict=True):
            x, y = ax.transData.transform((px, py))
            r = r_single * px_per_pt
            boxes.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
            if ld.spec.labels:
                out.append(LabelRequest(name, float(px), float(py),
                                        size=ld.spec.label_size * scale,
                                        priority=ld.spec.label_priority - 1, area=False,
                                        gap=r_single + 1.6, color=_INK))
        return out
    xy = ld.group_xy(METRIC_CRS)
    for gi, group in enumerate(ld.groups):
        multi = ld.is_multi(group)
        r = (r_group if multi else r_single) * px_per_pt
        x, y = ax.transData.transform(xy[gi])
        boxes.append(Bbox.from_extents(x - r, y - r, x + r, y + r))
        if not ld.spec.labels:
            continue
        names = ld.member_names(group)
        if not names:
            continue
        size = ld.spec.label_size * scale
        if multi:
            out.append(LabelRequest(callout_text(ld, group), float(xy[gi, 0]), float(xy[gi, 1]),
                                    size=size,
                                    priority=ld.spec.label_priority, callout=True,
                                    gap=r_group + 1.6, color=_INK))
        else:
            out.append(LabelRequest(names[0], float(xy[gi, 0]), float(xy[gi, 1]), size=size,
                                    priority=ld.spec.label_priority, area=False,
                                    gap=r_single + 1.6, color=_INK))
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
