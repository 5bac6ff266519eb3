"""Greedy label placement: labels never overlap each other or the point symbols they avoid.

Labels are tried in priority order. Each has a few candidate positions around its anchor (for a
point: right, left, above, below and the diagonals; for an area: its inner centre, then nudged);
the first candidate whose text box (in display pixels, with a small margin) stays inside the map
frame and meets no box already taken is kept. A label with no free candidate is left out, as a
cartographer would, rather than printed over another.

A line's label goes *beside* the line, never on it: candidates at several places along the line
(middle first), offset perpendicular to it on either side by half the stroke width plus a gap,
and a candidate is kept only if its box stays clear of the line's stroke in display pixels.
Other labels keep off the strokes of the map's main lines where they can (``lines``): a
candidate clear of them is preferred, and one over a line is used only when no clear one is free.

A *callout* (the names of several points sharing one position) is a multi-line text in a framed
box. Its candidates go round the anchor at growing distances; beyond the first ring a thin leader
line joins the box to the symbol. Neither the box nor the leader may cross a label, a leader or
an obstacle already placed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.text import Text
from matplotlib.transforms import Bbox

#: Candidate offsets (points) and alignments around a point symbol, in order of preference.
POINT_CANDIDATES: tuple[tuple[float, float, str, str], ...] = (
    (1, 0, "left", "center"),
    (-1, 0, "right", "center"),
    (0, 1, "center", "bottom"),
    (0, -1, "center", "top"),
    (0.8, 0.8, "left", "bottom"),
    (-0.8, 0.8, "right", "bottom"),
    (0.8, -0.8, "left", "top"),
    (-0.8, -0.8, "right", "top"),
)
#: Candidates for an area label: centred on the inner point, then nudged.
AREA_CANDIDATES: tuple[tuple[float, float, str, str], ...] = (
    (0, 0, "center", "center"),
    (0, 1.6, "center", "center"),
    (0, -1.6, "center", "center"),
    (1.6, 0, "center", "center"),
    (-1.6, 0, "center", "center"),
)
#: Directions (unit-ish vectors) tried for a callout box, in order of preference.
CALLOUT_DIRECTIONS: tuple[tuple[float, float], ...] = (
    (1, 0), (-1, 0), (0.8, 0.8), (-0.8, 0.8), (0.8, -0.8), (-0.8, -0.8), (0, 1), (0, -1),
)
#: Places along a line (fractions of its length) tried for its label, in order of preference.
LINE_POSITIONS: tuple[float, ...] = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.12, 0.88)
#: Clearance between a line's stroke and its label, in points.
LINE_GAP_PT = 1.5
#: Extra distances (points, beyond the symbol's gap) tried for a callout box.
CALLOUT_DISTANCES: tuple[float, ...] = (0.0, 10.0, 22.0, 36.0, 54.0, 76.0, 104.0, 140.0)
#: Padding inside a callout's frame, as a fraction of its font size.
CALLOUT_PAD = 0.4
#: At most this many point labels are tried on one map (in priority order): on a map of
#: thousands of points only the first ones can be read anyway, and each try costs a text layout.
MAX_POINT_LABELS = 300
#: A point label that finds no room beside its point moves off with a leader only on maps with
#: at most this many label requests (a crowded city-scale map leaves it out).
MAX_LEADER_FALLBACK = 200


class BoxIndex:
    """Boxes (display pixels) in a uniform grid, for fast overlap queries."""

    def __init__(self, cell: float = 48.0) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[Bbox]] = {}
        self.boxes: list[Bbox] = []

    def _keys(self, box: Bbox) -> list[tuple[int, int]]:
        c = self.cell
        return [(i, j) for i in range(math.floor(box.x0 / c), math.floor(box.x1 / c) + 1)
                for j in range(math.floor(box.y0 / c), math.floor(box.y1 / c) + 1)]

    def add(self, box: Bbox) -> None:
        self.boxes.append(box)
        for key in self._keys(box):
            self.cells.setdefault(key, []).append(box)

    def hits(self, box: Bbox) -> bool:
        """Whether ``box`` overlaps any box in the index."""
        return any(b.overlaps(box) for key in self._keys(box) for b in self.cells.get(key, ()))

    def near(self, x0: float, y0: float, x1: float, y1: float) -> list[Bbox]:
        """Boxes in the grid cells that the rectangle ``x0, y0, x1, y1`` touches."""
        span = Bbox.from_extents(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        seen: dict[int, Bbox] = {}
        for key in self._keys(span):
            for b in self.cells.get(key, ()):
                seen[id(b)] = b
        return list(seen.values())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.boxes)

    def __contains__(self, box: object) -> bool:
        return any(b is box for b in self.boxes)


@dataclass
class LabelRequest:
    """A label to place: text, anchor in data coordinates, style and priority (lower first)."""

    text: str
    x: float
    y: float
    size: float = 7.5
    priority: int = 50
    area: bool = False
    #: Radius of the symbol at the anchor, in points (labels start this far from the anchor).
    gap: float = 3.0
    color: str = "#222222"
    weight: str = "normal"
    #: A multi-line framed box with a leader line to the anchor (see the module docstring).
    callout: bool = False
    #: Frame colour of a callout.
    edgecolor: str = "#7a7a7a"
    #: For a line's label: the line (data coordinates). The label goes beside it, never on it.
    line: Any = None
    #: Stroke width of that line, in points.
    line_width: float = 1.0


class _Strokes:
    """Line strokes in display pixels, for "does this box touch a line?" queries."""

    def __init__(self, ax: Axes, lines: Sequence[tuple[Any, float]], margin_px: float) -> None:
        self.items: list[tuple[Any, float]] = []
        px_per_pt = ax.figure.dpi / 72.0
        by_width: dict[float, list[Any]] = {}
        for geom, width in lines:
            if geom is not None and not geom.is_empty:
                by_width.setdefault(float(width), []).append(geom)
        for width, geoms in by_width.items():
            merged = to_display(ax, shapely.union_all(geoms))
            shapely.prepare(merged)
            self.items.append((merged, width * px_per_pt / 2 + margin_px))

    def hits(self, box: Bbox) -> bool:
        if not self.items:
            return False
        poly = shapely.box(box.x0, box.y0, box.x1, box.y1)
        return any(bool(shapely.dwithin(g, poly, d)) for g, d in self.items)


def to_display(ax: Axes, geom: Any) -> Any:
    """``geom`` (data coordinates) in display pixels."""
    return shapely.transform(geom, lambda xy: ax.transData.transform(xy))


def place_labels(
    ax: Axes,
    requests: list[LabelRequest],
    *,
    renderer: RendererBase,
    obstacles: list[Bbox] | None = None,
    margin_px: float = 2.0,
    halo: bool = True,
    lines: Sequence[tuple[Any, float]] = (),
) -> list[Text]:
    """Place labels greedily; return the Text artists kept (tagged with gid ``"map-label"``).

    Parameters
    ----------
    ax
        Map axes (its limits must be final).
    requests
        Labels to place.
    renderer
        The figure's renderer, used to measure text.
    obstacles
        Boxes in display coordinates that labels must avoid (legend, scale bar, point symbols).
    margin_px
        Clearance kept around every label.
    lines
        ``(geometry, width in points)`` of the lines labels keep off where they can (the
        strokes of the map's main line layers, in data coordinates).
    """
    from matplotlib import patheffects

    placed = BoxIndex()
    leaders: list[tuple[float, float, float, float]] = []
    avoid = BoxIndex()
    for box in obstacles or []:
        avoid.add(box)
    frame = ax.get_window_extent(renderer)
    dpi_scale = ax.figure.dpi / 72.0
    kept: list[Text] = []
    effects = [patheffects.withStroke(linewidth=2.4, foreground="white")] if halo else None
    seen: set[str] = set()

    strokes = _Strokes(ax, lines, 0.5)

    def free(box: Bbox) -> bool:
        inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                  and box.y1 <= frame.y1)
        return inside and not placed.hits(box) and not avoid.hits(box) and not any(
            _segment_hits_box(seg, box) for seg in leaders)

    def clear(box: Bbox) -> bool:
        return free(box) and not strokes.hits(box)

    def callout(req: LabelRequest, anchor: Any) -> None:
        """Place ``req`` as a framed label with a leader, if any spot is free (one clear of
        the lines first)."""
        got = None
        for test in ((clear, free) if strokes.items else (free,)):
            got = _place_callout(ax, req, (float(anchor[0]), float(anchor[1])),
                                 renderer=renderer, free=test,
                                 placed=placed, avoid=avoid, margin_px=margin_px)
            if got is not None:
                break
        if got is not None:
            text, box, seg = got
            placed.add(box)
            if seg is not None:
                leaders.append(seg)
            kept.append(text)
            seen.add(req.text)

    n_points = 0
    leader_fallback = len(requests) <= MAX_LEADER_FALLBACK
    for req in sorted(requests, key=lambda r: (r.priority, -int(r.callout), -len(r.text))):
        if not req.text or req.text in seen:
            continue
        if not req.area and not req.callout:
            n_points += 1
            if n_points > MAX_POINT_LABELS:
                continue
        if req.line is not None:
            got = _place_beside_line(ax, req, renderer=renderer, clear=clear, free=free,
                                     margin_px=margin_px, effects=effects)
            if got is not None:
                placed.add(got[1])
                kept.append(got[0])
                seen.add(req.text)
            continue
        anchor = ax.transData.transform((req.x, req.y))
        if not frame.contains(*anchor):
            continue
        if req.callout:
            callout(req, anchor)
            continue
        cands = AREA_CANDIDATES if req.area else POINT_CANDIDATES
        # measured once; each candidate's box follows from its offset and alignment
        text = ax.text(0, 0, req.text, fontsize=req.size, ha="left", va="bottom",
                       multialignment="center" if req.area else "left",
                       color=req.color, fontweight=req.weight, zorder=20, gid="map-label",
                       path_effects=effects, clip_on=False)
        ext = text.get_window_extent(renderer)
        w, h = ext.width, ext.height
        step = ((req.size * 1.1) if req.area else req.gap) * dpi_scale
        fallback: tuple[float, float, Bbox] | None = None  # free, but over a line
        chosen = None
        for dx, dy, ha, va in cands:
            # the text's lower-left corner for this offset and alignment
            x0 = anchor[0] + dx * step - {"left": 0.0, "center": w / 2, "right": w}[ha]
            y0 = anchor[1] + dy * step - {"bottom": 0.0, "center": h / 2, "top": h}[va]
            box = Bbox.from_extents(x0 - margin_px, y0 - margin_px,
                                    x0 + w + margin_px, y0 + h + margin_px)
            if free(box):
                if not strokes.hits(box):
                    chosen = (x0, y0, box)
                    break
                if fallback is None:
                    fallback = (x0, y0, box)
        chosen = chosen or fallback
        if chosen is not None:
            x0, y0, box = chosen
            x, y = ax.transData.inverted().transform((x0, y0))
            text.set_position((float(x), float(y)))
            placed.add(box)
            kept.append(text)
            seen.add(req.text)
            continue
        text.remove()
        if not req.area and leader_fallback:
            # no free spot beside the point: a framed label farther off, with a leader line
            callout(req, anchor)
    return kept


def _place_beside_line(
    ax: Axes,
    req: LabelRequest,
    *,
    renderer: RendererBase,
    clear: Callable[[Bbox], bool],
    free: Callable[[Bbox], bool],
    margin_px: float,
    effects: Any,
) -> tuple[Text, Bbox] | None:
    """A line's label beside the line: the first candidate (along the line, either side) whose
    box is free and clear of the line's own stroke, preferring one clear of every line."""
    px_per_pt = ax.figure.dpi / 72.0
    line = to_display(ax, req.line)
    parts = [p for p in getattr(line, "geoms", [line]) if p.length > 0]
    if not parts:
        return None
    own = shapely.union_all(parts)
    shapely.prepare(own)
    half = req.line_width * px_per_pt / 2
    text = ax.text(0, 0, req.text, fontsize=req.size, ha="center", va="center",
                   color=req.color, fontweight=req.weight, zorder=20, gid="map-label",
                   path_effects=effects, clip_on=False)
    ext = text.get_window_extent(renderer)
    w, h = ext.width, ext.height
    gap = half + LINE_GAP_PT * px_per_pt + margin_px
    boxes: list[tuple[float, float, Bbox]] = []
    for part in sorted(parts, key=lambda p: -p.length):
        step = min(4.0, part.length / 4)
        for f in LINE_POSITIONS:
            at = f * part.length
            a = part.interpolate(max(at - step, 0.0))
            b = part.interpolate(min(at + step, part.length))
            tx, ty = b.x - a.x, b.y - a.y
            norm = math.hypot(tx, ty)
            if norm == 0:
                continue
            nx, ny = -ty / norm, tx / norm
            if ny < 0 or (ny == 0 and nx < 0):  # above (or right of) the line first
                nx, ny = -nx, -ny
            p = part.interpolate(at)
            d = gap + (abs(nx) * w + abs(ny) * h) / 2
            for side in (1.0, -1.0):
                cx, cy = p.x + side * nx * d, p.y + side * ny * d
                box = Bbox.from_extents(cx - w / 2 - margin_px, cy - h / 2 - margin_px,
                                        cx + w / 2 + margin_px, cy + h / 2 + margin_px)
                boxes.append((cx, cy, box))
    off_own = [(cx, cy, box) for cx, cy, box in boxes
               if not shapely.dwithin(own, shapely.box(box.x0, box.y0, box.x1, box.y1), half)]
    for test in (clear, free):
        for cx, cy, box in off_own:
            if test(box):
                x, y = ax.transData.inverted().transform((cx, cy))
                text.set_position((float(x), float(y)))
                return text, box
    text.remove()
    return None


def callout_box(text: Text, renderer: RendererBase) -> Bbox:
    """Display box of a callout's frame (the text extent plus the frame's padding)."""
    box = text.get_window_extent(renderer)
    size = float(text.get_fontsize())
    pad = CALLOUT_PAD * size * text.figure.dpi / 72.0  # type: ignore[union-attr]
    return Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)


def _place_callout(
    ax: Axes,
    req: LabelRequest,
    anchor: tuple[float, float],
    *,
    renderer: RendererBase,
    free: Callable[[Bbox], bool],
    placed: BoxIndex,
    avoid: BoxIndex,
    margin_px: float,
) -> tuple[Text, Bbox, tuple[float, float, float, float] | None] | None:
    """Try the callout candidates; keep the first free one with its leader line."""
    from matplotlib.lines import Line2D

    dpi_scale = ax.figure.dpi / 72.0
    pad_px = CALLOUT_PAD * req.size * dpi_scale
    frame_style = {"boxstyle": f"round,pad={CALLOUT_PAD},rounding_size=0.3",
                   "facecolor": "white", "edgecolor": req.edgecolor, "linewidth": 0.5,
                   "alpha": 0.93}
    text = ax.text(0, 0, req.text, fontsize=req.size, color=req.color, fontweight=req.weight,
                   zorder=21, gid="map-label", bbox=frame_style, clip_on=False,
                   linespacing=1.3, ha="left", va="bottom")
    ext = text.get_window_extent(renderer)
    w, h = ext.width + 2 * pad_px, ext.height + 2 * pad_px
    gap = req.gap * dpi_scale
    # Obstacles that hold the anchor (the symbol itself) may be crossed by its own leader.
    own = [b for b in avoid.near(anchor[0], anchor[1], anchor[0], anchor[1])
           if b.contains(*anchor)]
    for dist in CALLOUT_DISTANCES:
        d = gap + dist * dpi_scale
        for ux, uy in CALLOUT_DIRECTIONS:
            # The frame's nearest side/corner sits at distance d from the anchor along (ux, uy).
            cx = anchor[0] + ux * d + (w / 2 if ux > 0 else -w / 2 if ux < 0 else 0)
            cy = anchor[1] + uy * d + (h / 2 if uy > 0 else -h / 2 if uy < 0 else 0)
            box = Bbox.from_extents(cx - w / 2 - margin_px, cy - h / 2 - margin_px,
                                    cx + w / 2 + margin_px, cy + h / 2 + margin_px)
            if not free(box):
                continue
            seg = None
            if dist > 0:
                # Leader: from the symbol's edge to the nearest point of the frame.
                nx = min(max(anchor[0], cx - w / 2), cx + w / 2)
                ny = min(max(anchor[1], cy - h / 2), cy + h / 2)
                length = math.hypot(nx - anchor[0], ny - anchor[1])
                if length <= gap:
                    continue
                sx = anchor[0] + (nx - anchor[0]) * (gap * 0.8) / length
                sy = anchor[1] + (ny - anchor[1]) * (gap * 0.8) / length
                seg = (sx, sy, nx, ny)
                if any(_segment_hits_box(seg, b) for b in placed.near(*seg)) or any(
                    _segment_hits_box(seg, b) for b in avoid.near(*seg) if b not in own
                ):
                    continue
            inv = ax.transData.inverted()
            x, y = inv.transform((cx - w / 2 + pad_px, cy - h / 2 + pad_px))
            text.set_position((x, y))
            if seg is not None:
                (x0, y0), (x1, y1) = inv.transform([(seg[0], seg[1]), (seg[2], seg[3])])
                ax.add_line(Line2D([x0, x1], [y0, y1], lw=0.55, color=req.edgecolor,
                                   zorder=20.5, gid="map-leader", solid_capstyle="round"))
            return text, box, seg
    text.remove()
    return None


def _segment_hits_box(seg: tuple[float, float, float, float], box: Bbox) -> bool:
    """Whether segment ``(x0, y0, x1, y1)`` meets ``box`` (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = seg
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - box.x0), (dx, box.x1 - x0), (-dy, y0 - box.y0), (dy, box.y1 - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True
