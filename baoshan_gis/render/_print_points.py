"""Point layers of print maps: accuracy circles, symbols, co-located group rings, and the
hexagon counts that stand in for city-scale layers (see :mod:`baoshan_gis.render.print_map`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from baoshan_gis.render._labels import LabelRequest
from baoshan_gis.render._prepare import LayerData
from baoshan_gis.settings import METRIC_CRS, WGS84

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.transforms import Bbox

_INK = "#222222"
_MUTED = "#5a5a5a"


def _text_width_mm(text: str, size_pt: float) -> float:
    """Estimated width of ``text`` on paper (CJK characters one em, others about half)."""
    em = size_pt * 0.3528
    return sum(em if ord(c) >= 0x2E80 else em * 0.55 for c in text)


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
