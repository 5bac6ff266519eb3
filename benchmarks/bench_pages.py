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

Run: ``python benchmarks/bench_pages.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import os
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


def _explore(gpkg: Path, out: Path) -> float:
    from baoshan_gis.gpkg import read_layer

    t0 = time.perf_counter()
    m = read_layer(gpkg, "district").explore(name="district")
    read_layer(gpkg, "innovation_belt").explore(m=m, name="innovation_belt")
    read_layer(gpkg, "metro_lines").explore(m=m, name="metro_lines")
    read_layer(gpkg, "carriers").explore(m=m, column="category", name="carriers")
    m.save(out)
    return time.perf_counter() - t0


def _ours(gpkg: Path, out: Path) -> float:
    from baoshan_gis.render import write_page

    t0 = time.perf_counter()
    write_page("carriers_overview", gpkg, out, assets=False)
    return time.perf_counter() - t0


def _best(fn, *args: object, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    return min(fn(*args) for _ in range(repeat))


def main() -> None:
    from baoshan_gis.build import build_geopackage

    work = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    built = work / "plan.gpkg"
    build_geopackage(built)
    scaled = _scaled_copy(built, work / "scaled.gpkg")
    print(f"nproc={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    print("| data | explore() bytes | ours bytes | ratio | explore() s | ours s |")
    print("|---|---|---|---|---|---|")
    for label, gp in (("built", built), ("scaled (2,000 carriers)", scaled)):
        te = _best(_explore, gp, work / f"explore_{gp.stem}.html")
        to = _best(_ours, gp, work / f"ours_{gp.stem}.html")
        be = (work / f"explore_{gp.stem}.html").stat().st_size
        bo = (work / f"ours_{gp.stem}.html").stat().st_size
        print(f"| {label} | {be:,} | {bo:,} | {bo / be:.2f}x | {te:.3f} | {to:.3f} |")

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
