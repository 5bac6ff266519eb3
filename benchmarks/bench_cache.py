"""Warm cache: the service's in-memory tile cache vs Starlette StaticFiles serving the same bytes.

Both run on the same stack (uvicorn, one worker, loopback). The service first renders every tile
of the list once (filling its byte-bounded LRU cache); the same bytes are written as files and
served by ``starlette.staticfiles.StaticFiles``. Then each server gets the same URL list:
sequentially over one keep-alive connection, and under ``wrk`` (if installed) with 32
connections. Prints tiles/s and the ratio (target >= 0.8x).

    python benchmarks/bench_cache.py [--district PATH] [--zooms 10-16] [--wrk-seconds 10]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service_common import (
    DEFAULT_DISTRICT,
    fetch_all,
    load_info,
    prepare_service_data,
    run_wrk,
    uvicorn_server,
    wrk_script,
)

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=DEFAULT_DISTRICT)
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--wrk-seconds", type=int, default=10)
    args = ap.parse_args()

    import httpx

    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds

    tmp = Path(tempfile.mkdtemp(prefix="bench_cache_"))
    gpkg, _, bounds, _ = prepare_service_data(args.district, tmp)
    tiles = tiles_for_bounds(bounds, parse_zoom_range(args.zooms))
    candidates = [f"/tiles/density/{t.z}/{t.x}/{t.y}.png" for t in tiles] + [
        f"/tiles/carriers/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
    static_dir = tmp / "static"
    results = {}
    with uvicorn_server("api.app:create_app", env={"BAOSHAN_GPKG": str(gpkg)}) as base:
        paths = []
        with httpx.Client() as c:
            for p in candidates:  # fill the cache; keep the tiles that have data
                r = c.get(base + p)
                if r.status_code == 200:
                    paths.append(p)
                    f = static_dir / p.removeprefix("/tiles/")
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_bytes(r.content)
        print(f"{len(paths)} tiles with data (PNG density + MVT carriers, z{args.zooms}); "
              f"{load_info()}")
        results["cache seq"] = fetch_all([base + p for p in paths])
        if shutil.which("wrk"):
            script = wrk_script(paths, tmp / "paths.lua")
            results["cache wrk"] = run_wrk(base, script, seconds=args.wrk_seconds,
                                           connections=32)
    with uvicorn_server("_service_common:static_app", app_dir=HERE,
                        env={"BENCH_STATIC_DIR": str(static_dir)}) as base:
        results["static seq"] = fetch_all([base + p for p in paths])
        if shutil.which("wrk"):
            results["static wrk"] = run_wrk(base, script, seconds=args.wrk_seconds,
                                            connections=32)
    seq = results["cache seq"]["tiles_per_s"] / results["static seq"]["tiles_per_s"]
    print(f"sequential: cache {results['cache seq']['tiles_per_s']:.0f} tiles/s "
          f"(median {results['cache seq']['median_ms']:.2f} ms), StaticFiles "
          f"{results['static seq']['tiles_per_s']:.0f} tiles/s (median "
          f"{results['static seq']['median_ms']:.2f} ms): ratio {seq:.2f}x (target >= 0.8x)")
    if "cache wrk" in results:
        a, b = results["cache wrk"], results["static wrk"]
        print(f"wrk -c32 {args.wrk_seconds}s: cache {a['rps']:.0f} req/s (p50 {a['p50_ms']:.2f} "
              f"ms, p99 {a['p99_ms']:.2f} ms, errors {a['errors']}, non-2xx {a['non2xx']}), "
              f"StaticFiles {b['rps']:.0f} req/s (p50 {b['p50_ms']:.2f} ms, p99 "
              f"{b['p99_ms']:.2f} ms): ratio {a['rps'] / b['rps']:.2f}x")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
