"""Coverage circles of many carriers: the union of their 500 m / 2,000 m discs.

baoshan_gis: ``reach_areas(points, radius=r)`` (discs of 32 segments a quarter circle; the discs
other points' grid cells already hold are left out and the cells united instead; unions in
strips on the cores there are). Anchor: what a planner writes with geopandas,
``points.to_crs(32651).buffer(r, quad_segs=32).union_all()`` (GEOS's cascaded union). Both
return the same polygon (the area is compared and printed).

Uniform random points (generated test points, not places) in the district's bounding box.
Every measurement is a fresh process (imports before timing), the two sides interleaved, three
rounds; median, spread and the ratio are printed.

Run: ``python benchmarks/bench_coverage.py [--sizes 10000,100000] [--radii 500,2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np, geopandas as gpd
n, r, side = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rng = np.random.default_rng(0)
pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(121.30, 121.60, n),
                                                   rng.uniform(31.25, 31.50, n)), crs=4326)
if side == "baoshan_gis":
    from baoshan_gis.analysis.coverage import reach_areas
    t0 = time.perf_counter()
    geom = reach_areas(pts, radius=r).geometry.iloc[0]
else:
    t0 = time.perf_counter()
    geom = pts.to_crs(32651).buffer(r, quad_segs=32).union_all()
print(json.dumps({"s": time.perf_counter() - t0, "area": geom.area}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--radii", default="500,2000")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sides = ["baoshan_gis", "geopandas"]
    print(f"nproc={os.cpu_count()}; load at start {os.getloadavg()[0]:.2f}")
    for n in [int(v) for v in args.sizes.split(",")]:
        for r in [float(v) for v in args.radii.split(",")]:
            res: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
            for k in range(args.rounds):
                for side in sides[k % 2 :] + sides[: k % 2]:  # interleaved, order alternating
                    out = subprocess.run(
                        [sys.executable, "-c", CHILD, str(n), str(r), side],
                        capture_output=True,
                        text=True,
                        check=True,
                    ).stdout
                    res[side].append(json.loads(out.splitlines()[-1]))
            med = {s: statistics.median(x["s"] for x in res[s]) for s in sides}
            spread = {s: (min(x["s"] for x in res[s]), max(x["s"] for x in res[s])) for s in sides}
            per = [
                g["s"] / o["s"] for g, o in zip(res["geopandas"], res["baoshan_gis"], strict=True)
            ]
            diff = abs(res["baoshan_gis"][0]["area"] - res["geopandas"][0]["area"])
            ours, theirs = spread["baoshan_gis"], spread["geopandas"]
            ratio = med["geopandas"] / med["baoshan_gis"]
            rel = diff / res["geopandas"][0]["area"]
            print(
                f"{n:>7,} points, {r:g} m: baoshan_gis {med['baoshan_gis']:.2f} s "
                f"({ours[0]:.2f}-{ours[1]:.2f}), geopandas {med['geopandas']:.2f} s "
                f"({theirs[0]:.2f}-{theirs[1]:.2f}); ratio {ratio:.1f}x (rounds "
                f"{min(per):.1f}-{max(per):.1f}x); area difference {rel:.1e} relative; "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
