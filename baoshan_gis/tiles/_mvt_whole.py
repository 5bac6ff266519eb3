"""Polygon features that a tile can take whole: GEOS's clip and simplification leave them as
they are.

A polygon tile cuts every candidate feature to the buffered tile (``shapely.clip_by_rect``) and
simplifies it by one tile unit (``shapely.simplify``, topology preserved) before snapping it to
the tile grid. Two facts make both steps no-ops for many features:

* GEOS's rectangle clip returns a feature whose envelope lies strictly within the rectangle
  unchanged (the same coordinates in the same order; a ring on the rectangle's edge may be
  rewritten, so touching does not count);
* Douglas-Peucker, and so GEOS's topology-preserving simplifier (which only refuses some of its
  removals), drops a vertex only when it lies within the tolerance of a chord between two other
  vertices of its ring. When every vertex is farther than the tolerance from the line through
  any two others (a line is never farther than its segment), nothing is dropped.

For one-ring polygons of 3 to :data:`WHOLE_MAX_VERTICES` distinct vertices, :func:`whole_rings`
computes that smallest vertex-to-line distance once per feature when the source is built; it
depends on the feature only, not on the zoom or the tile. A tile then takes such a feature as it
is when its envelope lies strictly within the buffered tile and the tile's tolerance is below that
distance: the same coordinates as the GEOS path, so the same bytes, without GEOS's work.
"""

from __future__ import annotations

import numpy as np
import shapely

#: Largest number of distinct vertices of a ring taken whole (the test's cost grows as its cube).
WHOLE_MAX_VERTICES: int = 8

#: Per feature: ``(tolerance below which simplification keeps it, minx, miny, maxx, maxy)`` in
#: EPSG:3857, or ``None`` (always clipped and simplified).
WholeRing = tuple[float, float, float, float, float]


def _triples(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(vertex, a, b)`` of a ring of ``k`` vertices with ``a < b`` and ``vertex`` not
    ``a`` or ``b``."""
    a, b = np.triu_indices(k, 1)
    every = np.broadcast_to(np.arange(k), (len(a), k))
    others = (every != a[:, None]) & (every != b[:, None])
    return every[others], np.repeat(a, k - 2), np.repeat(b, k - 2)


def unchanged_below(rings: np.ndarray) -> np.ndarray:
    """For rings of ``k`` distinct vertices (array ``(m, k, 2)``, not closed): the smallest
    distance from a vertex to the line through two others, less a margin for the rounding of
    GEOS's own arithmetic; 0 where two vertices coincide."""
    tv, ta, tb = _triples(rings.shape[1])
    d = rings[:, tb] - rings[:, ta]
    w = rings[:, tv] - rings[:, ta]
    length = np.hypot(d[..., 0], d[..., 1])
    cross = np.abs(d[..., 0] * w[..., 1] - d[..., 1] * w[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.where(length > 0, cross / length, 0.0)
    return dist.min(axis=1) * (1 - 1e-6)


def whole_rings(geoms: np.ndarray) -> list[WholeRing | None]:
    """:data:`WholeRing` of each feature of a polygon layer (EPSG:3857), ``None`` for the
    others (holes, several parts, more vertices, invalid, missing or empty)."""
    out: list[WholeRing | None] = [None] * len(geoms)
    if not len(geoms):
        return out
    n = shapely.get_num_coordinates(geoms)
    one = ((shapely.get_type_id(geoms) == 3) & (shapely.get_num_interior_rings(geoms) == 0)
           & (n >= 4) & (n <= WHOLE_MAX_VERTICES + 1))
    # invalid rings (self-intersecting) always take GEOS's path: its results are only relied
    # on for valid input
    one[one] = shapely.is_valid(geoms[one])
    bounds = shapely.bounds(geoms)
    for size in np.unique(n[one]).tolist():
        rows = np.flatnonzero(one & (n == size))
        xy = shapely.get_coordinates(geoms[rows]).reshape(len(rows), size, 2)
        below = unchanged_below(xy[:, :-1])
        for r, tol, b in zip(rows.tolist(), below.tolist(), bounds[rows].tolist(), strict=True):
            if tol > 0:
                out[r] = (tol, b[0], b[1], b[2], b[3])
    return out


def pick_whole(whole: list[WholeRing | None], rows: list[int],
               box: tuple[float, float, float, float], tolerance: float) -> list[int]:
    """Positions in ``rows`` of the features a tile with buffered ``box`` takes whole."""
    x0, y0, x1, y1 = box
    return [j for j, r in enumerate(rows)
            if (w := whole[r]) is not None and w[0] > tolerance and w[1] > x0 and w[2] > y0
            and w[3] < x1 and w[4] < y1]
