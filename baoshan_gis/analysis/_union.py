"""The union of many buffers, on the cores there are.

GEOS runs without the GIL, so the buffers are made and united in west-to-east strips in
threads, and the strips then united. On 2 cores: the 24,775 corridor pieces of
``benchmarks/bench_network.py`` (50 m, 4 segments a quarter circle) 0.63 against 1.33 s for the
union alone, the same area; 100,000 carriers' 500 m circles (``reach_areas``) see the CHANGELOG.
One core unites strips no faster than the whole (1.23-1.37 s for 2 to 16 strips of those
pieces), so with one core, or few geometries, it is one ``shapely.union_all``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import shapely

#: Below this many geometries one union on one core is quick enough (threads cost more).
PARALLEL_UNION_MIN = 2_000
#: At most this many threads.
MAX_WORKERS = 4


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def buffered_union(geoms: np.ndarray, width: float, *, quad_segs: int) -> Any:
    """``shapely.union_all(shapely.buffer(geoms, width, quad_segs=quad_segs))``, in strips on up
    to :data:`MAX_WORKERS` cores at once."""
    geoms = np.asarray(geoms, dtype=object)

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
