"""Points per zone for 1,000,000 random points: baoshan_gis.analysis.carrier_density against
geopandas ``sjoin(predicate="intersects")`` + ``groupby``, time and peak memory.

Two zone sets over the district outline (read at run time, see ``bench_kde.py`` for ``--data`` /
``--gpkg``): "plan zones" (the built GeoPackage's zone layers with ``--gpkg``; otherwise the
district plus a 5 km grid clipped to it, a few dozen polygons) and a 1 km grid clipped to the
district (several hundred polygons). Each method runs in a fresh subprocess; peak memory is the
rise of the process's peak resident set (``VmHWM``, reset after the inputs are made, freed heap
first handed back with ``malloc_trim``) while the method runs. Both methods get the same
GeoDataFrame of points in the zones' metric CRS and must return the same counts (checked).

Run: ``python benchmarks/bench_density.py [--points 1000000] [--gpkg PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def zones_for(kind: str, args: argparse.Namespace) -> gpd.GeoDataFrame:
    sys.path.insert(0, str(HERE))
    from bench_kde import district

    from baoshan_gis.analysis import square_grid
    from baoshan_gis.settings import METRIC_CRS

    d = district(args)
    if kind == "plan" and args.gpkg:
        from baoshan_gis.analysis.report import ZONE_LAYERS
        from baoshan_gis.gpkg import read_layer

        frames = [read_layer(args.gpkg, n)[["name_zh", "geometry"]] for n in ZONE_LAYERS]
        z = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326).to_crs(METRIC_CRS)
        return z[~(z.geometry.isna() | z.geometry.is_empty)].reset_index(drop=True)
    size = 5000 if kind == "plan" else 1000
    grid = square_grid(d, cell_size=size, clip=True)[["cell_id", "geometry"]]
    if kind == "plan":
        grid = pd.concat([d[["geometry"]].assign(cell_id="district"), grid], ignore_index=True)
    return gpd.GeoDataFrame(grid, crs=METRIC_CRS)


def worker(method: str, kind: str, args: argparse.Namespace) -> None:
    zones = zones_for(kind, args)
    b = zones.total_bounds
    rng = np.random.default_rng(0)
    n = args.points
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(b[0], b[2], n),
                                                       rng.uniform(b[1], b[3], n)),
                           crs=zones.crs)
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap back, so reuse shows as growth
    base = _status("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to now
    t0 = time.perf_counter()
    if method == "ours":
        from baoshan_gis.analysis import carrier_density

        counts = carrier_density(zones, pts, by=None)["count"].to_numpy()
    else:
        j = gpd.sjoin(pts, zones, predicate="intersects")
        counts = j.groupby("index_right").size().reindex(zones.index, fill_value=0).to_numpy()
    dt = time.perf_counter() - t0
    peak = _status("VmHWM:") - base
    print(json.dumps({"time": dt, "peak": peak, "zones": len(zones),
                      "counts": counts.astype(int).tolist()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--data", default=None)
    ap.add_argument("--gpkg", default=None)
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "ZONES"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args)
        return
    print(f"nproc={os.cpu_count()}; load={os.getloadavg()[0]:.2f}; {args.points:,} points")
    print(f"{'zones':<22}{'method':<28}{'time s':>8}{'peak MB':>9}")
    extra = [a for k, v in (("--data", args.data), ("--gpkg", args.gpkg)) if v for a in (k, v)]
    for kind in ("plan", "grid1km"):
        res = {}
        for method in ("sjoin", "ours"):
            out = subprocess.run(
                [sys.executable, __file__, "--points", str(args.points), *extra,
                 "--worker", method, kind], check=True, capture_output=True, text=True)
            res[method] = json.loads(out.stdout.strip().splitlines()[-1])
        same = res["sjoin"]["counts"] == res["ours"]["counts"]
        label = f"{kind} ({res['ours']['zones']} zones)"
        for method, name in (("sjoin", "geopandas sjoin + groupby"),
                             ("ours", "baoshan_gis carrier_density")):
            r = res[method]
            print(f"{label:<22}{name:<28}{r['time']:>8.2f}{r['peak'] / 2**20:>9.0f}")
        print(f"{'':<22}ratio: {res['sjoin']['time'] / res['ours']['time']:.1f}x faster, "
              f"{res['sjoin']['peak'] / max(res['ours']['peak'], 1):.1f}x less peak memory; "
              f"same counts: {same}")


if __name__ == "__main__":
    main()
