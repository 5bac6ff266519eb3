"""GCJ-02 / BD-09 conversion: baoshan_gis.coords (numpy) against coord-convert (per point).

coord-convert (PyPI ``coord-convert``) is the small pure-Python converter a planner would likely
pick instead. Both run in the same process on the same random points in Shanghai; the script prints
times, the speed ratio and the round-trip error of each library's GCJ-02 -> WGS84 inverse.

Run: ``pip install coord-convert`` (not a project dependency), then
``python benchmarks/bench_coords.py [N]`` (default N = 200,000 points).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from pyproj import Geod

from baoshan_gis import coords


def _best(func, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(n: int) -> None:
    try:
        from coord_convert import transform as cc
    except ImportError:
        sys.exit("coord-convert is not installed: pip install coord-convert")
    rng = np.random.default_rng(1)
    lon = rng.uniform(120.85, 122.0, n)
    lat = rng.uniform(30.65, 31.9, n)
    geod = Geod(ellps="WGS84")
    lon_l, lat_l = lon.tolist(), lat.tolist()
    print(f"{n:,} points in Shanghai; nproc={os.cpu_count()}; load={os.getloadavg()[0]:.2f}")
    print(f"{'conversion':<16}{'coord-convert s':>17}{'baoshan_gis s':>15}{'speed-up':>10}")
    rows = [
        ("wgs84->gcj02", lambda: [cc.wgs2gcj(x, y) for x, y in zip(lon_l, lat_l, strict=True)],
         lambda: coords.wgs84_to_gcj02(lon, lat)),
        ("gcj02->wgs84", lambda: [cc.gcj2wgs(x, y) for x, y in zip(lon_l, lat_l, strict=True)],
         lambda: coords.gcj02_to_wgs84(lon, lat)),
        ("wgs84->bd09", lambda: [cc.wgs2bd(x, y) for x, y in zip(lon_l, lat_l, strict=True)],
         lambda: coords.wgs84_to_bd09(lon, lat)),
        ("bd09->wgs84", lambda: [cc.bd2wgs(x, y) for x, y in zip(lon_l, lat_l, strict=True)],
         lambda: coords.bd09_to_wgs84(lon, lat)),
    ]
    for name, theirs, ours in rows:
        t_theirs, _ = _best(theirs, repeat=2)
        t_ours, _ = _best(ours)
        print(f"{name:<16}{t_theirs:>17.3f}{t_ours:>15.3f}{t_theirs / t_ours:>9.0f}x")
    # accuracy of the inverse: WGS84 -> GCJ-02 -> WGS84 with each library's own pair
    gx, gy = coords.wgs84_to_gcj02(lon, lat)
    ox, oy = coords.gcj02_to_wgs84(gx, gy)
    theirs = np.array([cc.gcj2wgs(x, y) for x, y in zip(gx.tolist(), gy.tolist(), strict=True)])
    err_ours = geod.inv(lon, lat, ox, oy)[2]
    err_theirs = geod.inv(lon, lat, theirs[:, 0], theirs[:, 1])[2]
    print(f"gcj02->wgs84 round-trip error, max / median metres: coord-convert "
          f"{np.max(err_theirs):.2e} / {np.median(err_theirs):.2e}; baoshan_gis "
          f"{np.max(err_ours):.2e} / {np.median(err_ours):.2e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
