"""Kernel density on a 50 m grid over Baoshan: baoshan_gis.analysis.kernel_density against
``scipy.stats.gaussian_kde`` evaluated at every cell centre with the same isotropic bandwidth.

Both run in the same process on the same random points inside the district outline; the script
prints times, the speed ratio and the largest difference as a share of the peak (over the cells
inside the district). The district outline is read at run time from
``<shared data>/district/baoshan_district_wgs84.geojson`` (``--data DIR``, else
``$BAOSHAN_SHARED_DATA``, else ``../shared/data`` beside the repository), or from a built
GeoPackage (``--gpkg PATH``).

Run: ``python benchmarks/bench_kde.py [--points 2000 20000] [--bandwidth 500] [--cell 50]``.
"""

from __future__ import annotations

import argparse
import os
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--bandwidth", type=float, default=500.0)
    ap.add_argument("--cell", type=float, default=50.0)
    ap.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--gpkg", default=None, help="read the district from a built GeoPackage")
    args = ap.parse_args()
    area = district(args)
    print(f"nproc={os.cpu_count()}; load={os.getloadavg()[0]:.2f}; bandwidth {args.bandwidth:g} m,"
          f" cell {args.cell:g} m")
    print(f"{'points':>8} {'cells':>9} {'scipy s':>9} {'ours ms':>9} {'speed-up':>9} "
          f"{'max diff % of peak':>19} {'mass':>9}")
    for n in args.points:
        pts = random_points(area, n, seed=n)
        kernel_density(pts, bandwidth=args.bandwidth, cell_size=args.cell, area=area)  # warm-up
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            surf = kernel_density(pts, bandwidth=args.bandwidth, cell_size=args.cell, area=area)
            times.append(time.perf_counter() - t0)
        ours = float(np.median(times))
        ny, nx = surf.values.shape
        t = surf.transform
        cx = t.c + (np.arange(nx) + 0.5) * t.a
        cy = t.f + (np.arange(ny) + 0.5) * t.e
        gx, gy = np.meshgrid(cx, cy)
        kde = IsotropicKDE(np.vstack([pts.geometry.x, pts.geometry.y]), args.bandwidth)
        t0 = time.perf_counter()
        ref = kde(np.vstack([gx.ravel(), gy.ravel()])).reshape(ny, nx) * n * 1e6  # per km²
        theirs = time.perf_counter() - t0
        valid = surf.valid()
        diff = np.abs(surf.values[valid] - ref[valid]).max() / ref[valid].max() * 100
        print(f"{n:>8,} {nx * ny:>9,} {theirs:>9.2f} {ours * 1e3:>9.1f} {theirs / ours:>8.0f}x "
              f"{diff:>18.3f}% {surf.total():>9.1f}")


if __name__ == "__main__":
    main()
