"""Point density beyond memory: ``density_partitioned`` (dask-geopandas on a local cluster) on N
generated points in partitioned GeoParquet over the district, against the in-memory
``carrier_density`` / ``grid_density`` where it fits.

Points are uniform over the district's bounding box in EPSG:4326 with a ``category`` column,
written part by part (``--parts`` files), so generating never holds all points either. Zone sets:
``plan``, the built GeoPackage's placed plan zones (``ZONE_LAYERS``: 15 in the current build);
``grid5km``, the district outline plus a 5 km grid clipped to it (25 polygons, the "plan" zones of
``bench_density.py``); ``grid1km``, a 1 km grid over the district; and ``coverage``, the points of
each plan zone within 1 km of a carrier of the GeoPackage (``point_coverage_partitioned``).
The Dask run uses a ``LocalCluster`` of 2 worker *processes*, 1 thread each, so the peak RSS of the
client and of each worker can be read apart (``VmHWM``, reset just before the run). The in-memory
run reads every part with ``geopandas.read_parquet`` in a fresh subprocess; its peak is the
process's ``VmHWM`` rise from its start. Counts of the two must be equal (checked).

Run: ``python benchmarks/bench_partitioned.py --gpkg PATH [--points 5000000] [--parts 20]
[--dir DIR] [--no-memory]`` (``--no-memory`` skips the in-memory side, e.g. at 50 M points).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

CATS = np.array(["lab", "incubator", "park", "platform"], dtype=object)


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> int:
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS:")


def _peak() -> int:
    return _status("VmHWM:")


def zones(gpkg: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    from baoshan_gis.analysis.report import ZONE_LAYERS
    from baoshan_gis.gpkg import read_layer

    frames = [read_layer(gpkg, n)[["name_zh", "geometry"]] for n in ZONE_LAYERS]
    crs = frames[0].crs
    z = gpd.GeoDataFrame(pd.concat([f.to_crs(crs) for f in frames], ignore_index=True), crs=crs)
    z = z[~(z.geometry.isna() | z.geometry.is_empty)].reset_index(drop=True)
    return z, read_layer(gpkg, "district")


def grid_zones(district: gpd.GeoDataFrame, size: float) -> gpd.GeoDataFrame:
    from baoshan_gis.analysis import square_grid
    from baoshan_gis.settings import METRIC_CRS

    d = district.to_crs(METRIC_CRS)
    grid = square_grid(d, cell_size=size, clip=True)[["cell_id", "geometry"]]
    grid = pd.concat([d[["geometry"]].assign(cell_id="district"), grid], ignore_index=True)
    return gpd.GeoDataFrame(grid, crs=METRIC_CRS)


def run_kind(kind: str, source: object, gpkg: str, client: object = None) -> gpd.GeoDataFrame:
    """One zone set, on partitioned points (``client`` given) or an in-memory frame."""
    from baoshan_gis.analysis import carrier_density, grid_density
    from baoshan_gis.analysis.coverage import point_coverage
    from baoshan_gis.analysis.partitioned import density_partitioned, point_coverage_partitioned
    from baoshan_gis.gpkg import read_layer

    z, district = zones(gpkg)
    if kind == "grid5km":
        z = grid_zones(district, 5000)
    if client is not None:
        if kind == "grid1km":
            return density_partitioned(source, district, grid=1000, client=client)
        if kind == "coverage":
            return point_coverage_partitioned(source, z, read_layer(gpkg, "carriers"), 1000,
                                              client=client)
        return density_partitioned(source, z, client=client)
    if kind == "grid1km":
        return grid_density(source, area=district, cell_size=1000)
    if kind == "coverage":
        return point_coverage(z, source, read_layer(gpkg, "carriers"), radius=1000)
    return carrier_density(z, source)


def _counts(res: gpd.GeoDataFrame) -> list[int]:
    col = "count" if "count" in res else "points"
    out = res[col].astype(int).tolist()
    return out + (res["covered_points"].astype(int).tolist() if "covered_points" in res else [])


def generate(district: gpd.GeoDataFrame, n: int, parts: int, folder: Path) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    minx, miny, maxx, maxy = district.to_crs(4326).total_bounds
    rng = np.random.default_rng(50)
    t0 = time.perf_counter()
    for i, size in enumerate(np.diff(np.linspace(0, n, parts + 1).astype(np.int64))):
        x = rng.uniform(minx, maxx, size)
        y = rng.uniform(miny, maxy, size)
        frame = gpd.GeoDataFrame(
            {"category": rng.choice(CATS, size)}, geometry=gpd.points_from_xy(x, y), crs=4326
        )
        frame.to_parquet(folder / f"part.{i:04d}.parquet")
    return time.perf_counter() - t0


def in_memory(folder: str, gpkg: str, kind: str) -> None:
    base = _reset_peak()
    t0 = time.perf_counter()
    pts = gpd.read_parquet(folder)
    t_read = time.perf_counter() - t0
    res = run_kind(kind, pts, gpkg)
    dt = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "time": dt,
                "read": t_read,
                "peak": _peak() - base,
                "counts": _counts(res),
            }
        )
    )


def partitioned(folder: Path, gpkg: str, kind: str, scheduler: str | None) -> dict:
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler, timeout=10)
    else:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit="2GiB",
        )
        client = Client(cluster)
    try:
        client.run(_reset_peak)
        base = _reset_peak()
        t0 = time.perf_counter()
        res = run_kind(kind, folder, gpkg, client)
        dt = time.perf_counter() - t0
        workers = client.run(_peak)
        return {
            "time": dt,
            "client_peak": _peak(),
            "client_rise": _peak() - base,
            "worker_peaks": sorted(workers.values()),
            "zones": len(res),
            "counts": _counts(res),
        }
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=5_000_000)
    ap.add_argument("--parts", type=int, default=20)
    ap.add_argument("--gpkg", required=True)
    ap.add_argument("--dir", default=None, help="Folder for the GeoParquet parts (kept).")
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("FOLDER", "ZONES"))
    ap.add_argument("--kinds", default="plan,grid5km,grid1km,coverage",
                    help="Zone sets to run, comma-separated (default: all four).")
    args = ap.parse_args()
    if args.worker:
        in_memory(args.worker[0], args.gpkg, args.worker[1])
        return
    tmp = None
    if args.dir:
        folder = Path(args.dir)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name) / "points.parquet"
    _, district = zones(args.gpkg)
    if not folder.exists() or not any(folder.glob("*.parquet")):
        gen = generate(district, args.points, args.parts, folder)
        print(f"generated {args.points:,} points in {args.parts} parts in {gen:.1f} s")
    size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
    print(
        f"nproc={os.cpu_count()}; load={os.getloadavg()[0]:.2f}; {args.points:,} points; "
        f"{size / 2**20:.0f} MB of GeoParquet in {len(list(folder.glob('*.parquet')))} parts"
    )
    mb = 2**20
    for kind in args.kinds.split(","):
        d = partitioned(folder, args.gpkg, kind, args.scheduler)
        print(
            f"{kind} ({d['zones']} zones) dask 2 workers: {d['time']:.1f} s; client peak RSS "
            f"{d['client_peak'] / mb:.0f} MB (rise {d['client_rise'] / mb:.0f} MB); worker peak "
            f"RSS {', '.join(f'{w / mb:.0f}' for w in d['worker_peaks'])} MB"
        )
        if args.no_memory:
            continue
        out = subprocess.run(
            [sys.executable, __file__, "--gpkg", args.gpkg, "--worker", str(folder), kind],
            check=True,
            capture_output=True,
            text=True,
        )
        m = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{kind} in memory: {m['time']:.1f} s (read {m['read']:.1f} s); peak RSS rise "
            f"{m['peak'] / mb:.0f} MB; same counts: {m['counts'] == d['counts']}"
        )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
