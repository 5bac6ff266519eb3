"""Interactive page size/time against ``GeoDataFrame.explore()``, and time to render print maps.

Page: the ``carriers_overview`` map (district outline, innovation belt, metro lines, carriers) as
written by :func:`baoshan_gis.render.write_page`, against ``explore()`` of the same four layers
chained on one map (``m=``) and saved, in the same run. Two data sets:

* ``built``: the plan GeoPackage from ``build_geopackage`` (real outline, the carriers the plan
  names);
* ``scaled``: the same GeoPackage with 2,000 generated carrier points inside the district (the
  anchor's size; generated test points, not places).

Print maps: every map of ``maps/`` as a 300-dpi A4 PNG (``render_print``), on the built
GeoPackage with the analysis outputs of ``write_report``.

Fair measurement: every run is a fresh Python process (both sides cold: imports and first-call
costs included), runs of the two sides are interleaved, three of each; the table gives the median
with min-max spread and the ratio of medians.

Extra dependency: ``explore()`` needs ``mapclassify`` (``pip install mapclassify``), which
baoshan-gis itself does not use.

Run: ``python benchmarks/bench_pages.py`` (about two minutes on 2 cores);
``--pages-only`` skips the print maps.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np


def _scaled_copy(src: Path, dst: Path, n: int = 2000) -> Path:
    import shutil

    from baoshan_gis.gpkg import atomic_path, read_layer, write_frame

    shutil.copyfile(src, dst)
    district = read_layer(dst, "district").to_crs(32651)
    poly = district.geometry.union_all()
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = poly.bounds
    pts: list[object] = []
    from shapely.geometry import Point

    while len(pts) < n:
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if poly.contains(p):
            pts.append(p)
    cats = ["incubator", "university_science_park", "concept_verification_centre", "lab",
            "rnd_institution", "industrial_park", "innovation_platform"]
    frame = gpd.GeoDataFrame({
        "name_zh": [f"测试载体{i}" for i in range(n)],
        "name_en": [f"Generated carrier {i}" for i in range(n)],
        "category": [cats[i % len(cats)] for i in range(n)],
        "plan_ref": "benchmark", "status": "existing", "source": "generated for benchmark",
        "geometry_quality": "approximate", "accuracy_m": 500.0,
        "level": "", "area": "", "note": "",
    }, geometry=gpd.GeoSeries(pts, crs=32651).to_crs(4326))
    with atomic_path(dst) as tmp:
        write_frame(tmp, frame, "carriers")
    return dst


_EXPLORE = """
import sys, time
t0 = time.perf_counter()
from baoshan_gis.gpkg import read_layer
gpkg, out = sys.argv[1], sys.argv[2]
m = read_layer(gpkg, "district").explore(name="district")
read_layer(gpkg, "innovation_belt").explore(m=m, name="innovation_belt")
read_layer(gpkg, "metro_lines").explore(m=m, name="metro_lines")
read_layer(gpkg, "carriers").explore(m=m, column="category", name="carriers")
m.save(out)
print(time.perf_counter() - t0)
"""
_OURS = """
import sys, time
t0 = time.perf_counter()
from baoshan_gis.render import write_page
write_page("carriers_overview", sys.argv[1], sys.argv[2], assets=False)
print(time.perf_counter() - t0)
"""


def _cold(code: str, gpkg: Path, out: Path) -> float:
    """Seconds of one cold run (a fresh interpreter; imports included, start-up not)."""
    res = subprocess.run([sys.executable, "-c", code, str(gpkg), str(out)], check=True,
                         capture_output=True, text=True)
    return float(res.stdout.strip().splitlines()[-1])


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main() -> None:
    from baoshan_gis.build import build_geopackage

    work = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    built = work / "plan.gpkg"
    build_geopackage(built)
    scaled = _scaled_copy(built, work / "scaled.gpkg")
    print(f"nproc={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    try:
        import mapclassify  # noqa: F401  (explore() needs it)
    except ImportError:
        sys.exit("bench_pages needs mapclassify for explore(): pip install mapclassify")
    print("| data | explore() bytes | ours bytes | bytes ratio | explore() s | ours s | "
          "time ratio |")
    print("|---|---|---|---|---|---|---|")
    for label, gp in (("built", built), ("scaled (2,000 carriers)", scaled)):
        te: list[float] = []
        to: list[float] = []
        for _ in range(3):  # interleaved
            te.append(_cold(_EXPLORE, gp, work / f"explore_{gp.stem}.html"))
            to.append(_cold(_OURS, gp, work / f"ours_{gp.stem}.html"))
        be = (work / f"explore_{gp.stem}.html").stat().st_size
        bo = (work / f"ours_{gp.stem}.html").stat().st_size
        ratio = statistics.median(to) / statistics.median(te)
        print(f"| {label} | {be:,} | {bo:,} | {bo / be:.2f}x | {_spread(te)} | {_spread(to)} | "
              f"{ratio:.2f}x |")
    if "--pages-only" in sys.argv:
        return

    from baoshan_gis.analysis.report import write_report
    from baoshan_gis.render import load_maps, render_print

    t0 = time.perf_counter()
    write_report(built, work / "report")
    print(f"(report for the density map: {time.perf_counter() - t0:.1f} s, not counted)")
    times = {}
    t_all = time.perf_counter()
    for name in load_maps():
        t0 = time.perf_counter()
        render_print(name, built, work / f"{name}.png", dpi=300)
        times[name] = time.perf_counter() - t0
    total = time.perf_counter() - t_all
    print("| map (A4, 300 dpi PNG) | seconds |")
    print("|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.2f} |")
    print(f"| all {len(times)} print maps | {total:.2f} |")


if __name__ == "__main__":
    main()
