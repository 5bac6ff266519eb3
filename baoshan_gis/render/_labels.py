"""Greedy label placement: labels never overlap each other or the point symbols they avoid.

Labels are tried in priority order. Each has a few candidate positions around its anchor (for a
point: right, left, above, below and the diagonals; for an area: its inner centre, then nudged);
the first candidate whose text box (in display pixels, with a small margin) stays inside the map
frame and meets no box already taken is kept. A label with no free candidate is left out, as a
cartographer would, rather than printed over another.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def place_labels(
    ax: Axes,
    requests: list[LabelRequest],
    *,
    renderer: RendererBase,
    obstacles: list[Bbox] | None = None,
    margin_px: float = 2.0,
    halo: bool = True,
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
    """
    from matplotlib import patheffects

    placed: list[Bbox] = []
    avoid = list(obstacles or [])
    frame = ax.get_window_extent(renderer)
    dpi_scale = ax.figure.dpi / 72.0
    kept: list[Text] = []
    effects = [patheffects.withStroke(linewidth=2.4, foreground="white")] if halo else None
    seen: set[str] = set()
    for req in sorted(requests, key=lambda r: (r.priority, -len(r.text))):
        if not req.text or req.text in seen:
            continue
        anchor = ax.transData.transform((req.x, req.y))
        if not frame.contains(*anchor):
            continue
        cands = AREA_CANDIDATES if req.area else POINT_CANDIDATES
        for dx, dy, ha, va in cands:
            step = (req.size * 1.1) if req.area else req.gap
            off = (dx * step * dpi_scale, dy * step * dpi_scale)
            pos = ax.transData.inverted().transform((anchor[0] + off[0], anchor[1] + off[1]))
            text = ax.text(pos[0], pos[1], req.text, fontsize=req.size, ha=ha, va=va,
                           color=req.color, fontweight=req.weight, zorder=20, gid="map-label",
                           path_effects=effects, clip_on=False)
            box = text.get_window_extent(renderer).expanded(1.0, 1.0)
            box = Bbox.from_extents(box.x0 - margin_px, box.y0 - margin_px,
                                    box.x1 + margin_px, box.y1 + margin_px)
            inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                      and box.y1 <= frame.y1)
            if inside and not any(box.overlaps(b) for b in placed) and not any(
                box.overlaps(b) for b in avoid
            ):
                placed.append(box)
                kept.append(text)
                seen.add(req.text)
                break
            text.remove()
    return kept
