"""The legend of print maps: entries of the layers in view, placed where they hide no data of the
main layers (see :mod:`baoshan_gis.render.print_map`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from baoshan_gis.render._prepare import LegendEntry, PreparedMap, legend_in_view
from baoshan_gis.settings import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.transforms import Bbox
    from matplotlib.typing import LineStyleType

_INK = "#222222"
_MUTED = "#5a5a5a"


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
