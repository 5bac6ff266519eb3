"""Print maps at city scale: the A4 ``carriers_overview`` PNG at 150 dpi with 1,000 / 10,000 /
100,000 generated carrier points (generated test points inside the district, not places) plus the
21 carriers the plan names, against the anchor a planner would otherwise write:
``GeoDataFrame.plot()`` of the same district outline and points saved to an A4 PNG at 150 dpi
(no legend, labels, scale bar or notes, so the anchor does less work than the project).

Both sides run in fresh processes (cold), interleaved, three times per size; the median, the
spread (min–max) and the ratio are printed. Targets (issue 11.5): under 15 s at 10,000 points and
under 60 s at 100,000.

Run: ``python benchmarks/bench_print_scale.py [--sizes 1000,10000,100000]`` (several minutes).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PROJECT = """
import sys
from baoshan_gis.render.print_map import render_print
render_print("carriers_overview", sys.argv[1], sys.argv[2], dpi=150)
"""
ANCHOR = """
import sys
import geopandas as gpd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
d = gpd.read_file(sys.argv[1], layer="district").to_crs(32651)
c = gpd.read_file(sys.argv[1], layer="carriers").to_crs(32651)
fig, ax = plt.subplots(figsize=(8.27, 11.69))
d.plot(ax=ax, facecolor="#fbfaf6", edgecolor="#4d4d4d")
c.plot(ax=ax, column="category", markersize=6)
ax.set_axis_off()
fig.savefig(sys.argv[2], dpi=150)
"""


def make_gpkg(base: Path, n: int, out: Path) -> Path:
    from baoshan_gis import read_layer
    from baoshan_gis.gpkg import atomic_path, write_frame

    out.write_bytes(base.read_bytes())
    plan = read_layer(out, "carriers")
    district = read_layer(out, "district").to_crs(32651).geometry.iloc[0]
    rng = np.random.default_rng(11)
    x0, y0, x1, y1 = district.bounds
    pts: list = []
    while len(pts) < n:
        cand = shapely.points(rng.uniform((x0, y0), (x1, y1), (n, 2)))
        pts += list(cand[shapely.contains(district, cand)])
    gen = gpd.GeoDataFrame({
        "name_zh": [f"企业{i}" for i in range(n)], "name_en": [f"firm {i}" for i in range(n)],
        "category": rng.choice(sorted(set(plan.category)), n), "plan_ref": "generated",
        "status": "existing", "source": "generated test points",
        "geometry_quality": "approximate", "accuracy_m": rng.uniform(50, 500, n)},
        geometry=pts[:n], crs=32651).to_crs(4326)
    both = gpd.GeoDataFrame(pd.concat([plan, gen], ignore_index=True), crs=4326)
    with atomic_path(out) as tmp:
        write_frame(tmp, both, "carriers")
    return out


def timed(code: str, gpkg: Path, png: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(gpkg), str(png)], check=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from baoshan_gis.build import build_geopackage

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = folder / "plan.gpkg"
        build_geopackage(base)
        print(f"{'points':>8} {'project s (min–max)':>22} {'plot() s (min–max)':>22} "
              f"{'ratio':>6}")
        for n in (int(v) for v in args.sizes.split(",")):
            gpkg = make_gpkg(base, n, folder / f"p{n}.gpkg")
            ours, theirs = [], []
            for _ in range(args.runs):
                ours.append(timed(PROJECT, gpkg, folder / "ours.png"))
                theirs.append(timed(ANCHOR, gpkg, folder / "theirs.png"))
            mo, mt = float(np.median(ours)), float(np.median(theirs))
            print(f"{n:>8} {mo:>8.1f} ({min(ours):.1f}–{max(ours):.1f}) "
                  f"{mt:>12.1f} ({min(theirs):.1f}–{max(theirs):.1f}) {mt / mo:>6.2f}")


if __name__ == "__main__":
    main()
