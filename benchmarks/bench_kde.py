"""Kernel density on a 50 m grid over Baoshan: baoshan_gis.analysis.kernel_density against
``scipy.stats.gaussian_kde`` evaluated at every cell centre with the same isotropic bandwidth.

Method (issue 11, item 6): every measurement is a FRESH Python process per side, point count and
round (cold: imports and reading the outline and the points before timing; then the first call
is the cold figure, then warm repeats in the same process: 5 for baoshan_gis, ``--anchor-warm``
(default 1) for scipy, which takes seconds per call). The two sides' processes are interleaved
(the order alternates each round), three rounds by default; the script prints median and
spread (min-max) per side and the scipy / baoshan_gis ratios, cold first. Both sides use the same
random points inside the district outline; the scipy process also computes the largest
difference from baoshan_gis's surface as a share of the peak (over the cells inside the
district; that process calls ``kernel_density`` once, untimed, before timing scipy, to get the
grid and the surface to compare). The district outline is read at run time from
``<shared data>/district/baoshan_district_wgs84.geojson`` (``--data DIR``, else
``$BAOSHAN_SHARED_DATA``, else ``../shared/data`` beside the repository), or from a built
GeoPackage (``--gpkg PATH``).

Run: ``python benchmarks/bench_kde.py [--points 2000 20000] [--bandwidth 500] [--cell 50]
[--rounds 3] [--anchor-warm 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.stats import gaussian_kde

from baoshan_gis.analysis import kernel_density
from baoshan_gis.settings import METRIC_CRS, shared_data_dir


class IsotropicKDE(gaussian_kde):
    """``gaussian_kde`` with a fixed isotropic standard deviation ``sigma`` (metres)."""

    def __init__(self, dataset: np.ndarray, sigma: float) -> None:
        self._sigma = float(sigma)
        super().__init__(dataset)

    def _compute_covariance(self) -> None:
        d = self.d
        self.factor = 1.0
        self._data_covariance = np.eye(d) * self._sigma**2
        self._data_cho_cov = np.eye(d) * self._sigma
        self.covariance = self._data_covariance
        self.cho_cov = self._data_cho_cov
        self.log_det = 2 * np.log(np.diag(self.cho_cov * np.sqrt(2 * np.pi))).sum()


def district(args: argparse.Namespace) -> gpd.GeoDataFrame:
    if args.gpkg:
        from baoshan_gis.gpkg import read_layer

        return read_layer(args.gpkg, "district").to_crs(METRIC_CRS)
    data = Path(args.data) if args.data else shared_data_dir()
    return gpd.read_file(data / "district" / "baoshan_district_wgs84.geojson").to_crs(METRIC_CRS)


def random_points(area: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    poly = shapely.union_all(area.geometry.to_numpy())
    minx, miny, maxx, maxy = poly.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    while got < n:
        x = rng.uniform(minx, maxx, 2 * n)
        y = rng.uniform(miny, maxy, 2 * n)
        ok = shapely.contains_xy(poly, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
    x = np.concatenate(xs)[:n]
    y = np.concatenate(ys)[:n]
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS)


WARM_REPEATS = 5


def child(args: argparse.Namespace) -> None:
    """One cold measurement of one side for one point count; prints one RESULT line."""
    area = district(args)
    n = args.points[0]
    pts = random_points(area, n, seed=n)
    out: dict[str, float | str | int] = {"side": args.child, "points": n}
    if args.child == "baoshan_gis":
        # kernel_density imports these lazily; import them before timing, as scipy.stats is
        import affine
        import rasterio.features
        import scipy.fft

        assert affine and rasterio.features and scipy.fft

        def run() -> object:
            return kernel_density(pts, bandwidth=args.bandwidth, cell_size=args.cell, area=area)

        repeats = WARM_REPEATS
    else:
        surf = kernel_density(pts, bandwidth=args.bandwidth, cell_size=args.cell, area=area)
        ny, nx = surf.values.shape
        t = surf.transform
        cx = t.c + (np.arange(nx) + 0.5) * t.a
        cy = t.f + (np.arange(ny) + 0.5) * t.e
        gx, gy = np.meshgrid(cx, cy)
        cells = np.vstack([gx.ravel(), gy.ravel()])
        data = np.vstack([pts.geometry.x, pts.geometry.y])

        def run() -> object:
            kde = IsotropicKDE(data, args.bandwidth)
            return kde(cells).reshape(ny, nx) * n * 1e6  # per km²

        repeats = args.anchor_warm
    t0 = time.perf_counter()
    res = run()
    out["cold"] = time.perf_counter() - t0
    warm = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        warm.append(time.perf_counter() - t0)
    out["warm"] = statistics.median(warm) if warm else float("nan")
    if args.child == "baoshan_gis":
        out["cells"] = int(res.values.size)  # type: ignore[attr-defined]
        out["mass"] = float(res.total())  # type: ignore[attr-defined]
    else:
        valid = surf.valid()
        ref = np.asarray(res)
        out["diff_pct"] = float(
            np.abs(surf.values[valid] - ref[valid]).max() / ref[valid].max() * 100
        )
    out["load"] = os.getloadavg()[0]
    print("RESULT " + json.dumps(out), flush=True)


def fmt(values: list[float], scale: float, digits: int) -> str:
    return (
        f"{statistics.median(values) * scale:,.{digits}f} ({min(values) * scale:,.{digits}f}"
        f"-{max(values) * scale:,.{digits}f})"
    )


def ratio(anchor: list[float], ours: list[float]) -> str:
    per = [a / o for a, o in zip(anchor, ours, strict=True)]
    return (
        f"{statistics.median(anchor) / statistics.median(ours):,.0f}x "
        f"(rounds {min(per):,.0f}-{max(per):,.0f}x)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--bandwidth", type=float, default=500.0)
    ap.add_argument("--cell", type=float, default=50.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--anchor-warm",
        type=int,
        default=1,
        help="warm repeats of scipy in each of its processes (each takes seconds)",
    )
    ap.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--gpkg", default=None, help="read the district from a built GeoPackage")
    ap.add_argument("--child", choices=("baoshan_gis", "scipy"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    print(
        f"nproc={os.cpu_count()}; load at start {os.getloadavg()[0]:.2f}; bandwidth "
        f"{args.bandwidth:g} m, cell {args.cell:g} m; {args.rounds} rounds, fresh process per "
        "side, point count and round",
        flush=True,
    )
    base = [
        sys.executable,
        os.path.abspath(__file__),
        "--bandwidth",
        str(args.bandwidth),
        "--cell",
        str(args.cell),
        "--anchor-warm",
        str(args.anchor_warm),
    ]
    base += ["--data", args.data] if args.data else []
    base += ["--gpkg", args.gpkg] if args.gpkg else []
    res: dict[tuple[int, str], list[dict]] = {}
    for r in range(args.rounds):
        for n in args.points:
            order = ["baoshan_gis", "scipy"] if r % 2 == 0 else ["scipy", "baoshan_gis"]
            for side in order:
                p = subprocess.run(
                    [*base, "--points", str(n), "--child", side],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row = json.loads(p.stdout.rsplit("RESULT ", 1)[1].splitlines()[0])
                res.setdefault((n, side), []).append(row)
                print(
                    f"  round {r + 1} {n:>6,} points {side:11s} cold {row['cold']:8.3f} s  "
                    f"warm {row['warm']:8.3f} s  load {row['load']:.2f}",
                    flush=True,
                )
    loads = [row["load"] for rows in res.values() for row in rows]
    print(f"\nload average during the runs: {min(loads):.2f}-{max(loads):.2f}")
    print("median (min-max) over rounds; cold = first call in a fresh process")
    print(
        f"{'points':>7} {'cells':>8} {'scipy cold s':>20} {'ours cold ms':>20} "
        f"{'cold speed-up':>22} {'scipy warm s':>20} {'ours warm ms':>20} "
        f"{'warm speed-up':>22} {'max diff % of peak':>19} {'mass':>8}"
    )
    for n in args.points:
        ours, theirs = res[(n, "baoshan_gis")], res[(n, "scipy")]
        oc, tc = [x["cold"] for x in ours], [x["cold"] for x in theirs]
        ow, tw = [x["warm"] for x in ours], [x["warm"] for x in theirs]
        diff = max(x["diff_pct"] for x in theirs)
        print(
            f"{n:>7,} {ours[0]['cells']:>8,} {fmt(tc, 1, 2):>20} {fmt(oc, 1e3, 1):>20} "
            f"{ratio(tc, oc):>22} {fmt(tw, 1, 2):>20} {fmt(ow, 1e3, 1):>20} "
            f"{ratio(tw, ow):>22} {diff:>18.3f}% {ours[0]['mass']:>8.1f}"
        )


if __name__ == "__main__":
    main()
