"""The union of many buffers, on the cores there are.

GEOS runs without the GIL, so the buffers are made and united in west-to-east strips in
threads, and the strips then united. On 2 cores: the 24,775 corridor pieces of
``benchmarks/bench_network.py`` (50 m, 4 segments a quarter circle) 0.63 against 1.33 s for the
union alone, the same area. Many points' discs: see :func:`_inner_discs` (100,000 random points'
500 m circles 0.8 against 9.7 s for the plain union).
One core unites strips no faster than the whole (1.23-1.37 s for 2 to 16 strips of those
pieces), so with one core, or few geometries, it is one ``shapely.union_all``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

#: Below this many geometries one union on one core is quick enough (threads cost more).
PARALLEL_UNION_MIN = 2_000
#: Leave hidden discs out only where at least this share of them is hidden: 10,000 points
#: over 780 km² at 500 m (few hidden) took 0.67 s that way against 0.56 s for the plain union.
HIDDEN_MIN_SHARE = 0.25
#: At most this many threads.
MAX_WORKERS = 4


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _inner_discs(x: np.ndarray, y: np.ndarray, width: float, quad_segs: int
                 ) -> tuple[np.ndarray, Callable[[], np.ndarray]]:
    """Which discs the others hide, and the grid cells that stand in for them.

    Cells are squares small enough to lie inside the polygon disc of any point in them (the
    diagonal below the polygon's inradius), so a cell holding a point is inside the union. A
    disc whose every cell within its reach holds a point lies inside those cells: it can
    be left out when the cells holding points are united instead. The union is the same set:
    every disc is kept or inside the united cells, every cell is inside a disc. Returns
    ``(hidden, cells)``: a mask over the points and a function giving the boxes of the cells
    holding points (made only where they are used).
    """
    inradius = width * np.cos(np.pi / (4 * quad_segs))
    size = 0.999 * inradius / np.sqrt(2.0)
    x0, y0 = x.min(), y.min()
    i = np.floor((x - x0) / size).astype(np.int64)
    j = np.floor((y - y0) / size).astype(np.int64)
    ni, nj = int(i.max()) + 1, int(j.max()) + 1
    held = np.zeros((ni, nj), dtype=bool)  # the cells holding a point
    held[i, j] = True
    k = int(np.ceil(width / size))  # a disc reaches at most k cells from its own
    padded = np.zeros((ni + 2 * k, nj + 2 * k), dtype=bool)
    padded[k:k + ni, k:k + nj] = held
    full = np.ones((ni, nj), dtype=bool)  # every cell the disc may reach holds a point
    for di in range(-k, k + 1):
        for dj in range(-k, k + 1):
            gap_i, gap_j = max(abs(di) - 1, 0) * size, max(abs(dj) - 1, 0) * size
            if gap_i**2 + gap_j**2 > width**2:  # no point of this cell is within reach
                continue
            full &= padded[k + di:k + di + ni, k + dj:k + dj + nj]

    def cells() -> np.ndarray:
        ci, cj = np.nonzero(held)
        return shapely.box(x0 + ci * size, y0 + cj * size, x0 + (ci + 1) * size,
                           y0 + (cj + 1) * size)

    return full[i, j], cells


def buffered_union(geoms: np.ndarray, width: float, *, quad_segs: int) -> Any:
    """``shapely.union_all(shapely.buffer(geoms, width, quad_segs=quad_segs))``, in strips on up
    to :data:`MAX_WORKERS` cores at once. For many points, the discs that other points' discs
    hide are left out and grid cells inside the union stand in for them (:func:`_inner_discs`):
    the same set, with far fewer polygons to unite where points are dense."""
    geoms = np.asarray(geoms, dtype=object)
    if (len(geoms) >= PARALLEL_UNION_MIN and width > 0
            and bool((shapely.get_type_id(geoms) == 0).all())):
        xy = shapely.get_coordinates(geoms)
        if len(xy) == len(geoms):  # no empty point
            hidden, cells = _inner_discs(xy[:, 0], xy[:, 1], width, quad_segs)
            if hidden.mean() >= HIDDEN_MIN_SHARE:  # else the cells cost more than they save
                kept = buffered_union(geoms[~hidden], width, quad_segs=quad_segs)
                return shapely.union_all([kept, shapely.union_all(cells())])

    def unite(part: np.ndarray) -> Any:
        return shapely.union_all(shapely.buffer(part, width, quad_segs=quad_segs))

    workers = min(MAX_WORKERS, _cores())
    if workers < 2 or len(geoms) < PARALLEL_UNION_MIN:
        return unite(geoms)
    from concurrent.futures import ThreadPoolExecutor

    order = np.argsort(shapely.bounds(geoms)[:, 0], kind="stable")
    with ThreadPoolExecutor(workers, thread_name_prefix="union") as pool:
        parts = list(pool.map(unite, [geoms[rows] for rows in np.array_split(order, workers)]))
    return shapely.union_all(parts)
