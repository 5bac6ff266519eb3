"""Load on loopback with wrk: peak tiles/s, latency at 75% of peak, RSS across a soak.

The service (uvicorn, ``--workers`` processes, default 1) serves PNG tiles of a 50 m density
COG and MVT tiles of 2,000 carriers, zooms 10-16 over the district (tiles without data answer
204; wrk counts any non-2xx/3xx answer or socket error as an error). Steps:

1. warm-up: every URL once;
2. peak: wrk with 8, 32 and 64 connections for ``--peak-seconds`` each; peak = best req/s;
3. 75 % of peak for ``--seconds`` (60): wrk offering exactly that rate (requests on a fixed
   schedule, ``_service_common.wrk_script(rate=...)``); reports p50/p90/p99 latency and errors;
4. soak: the same rate for ``--soak-seconds`` (300); server RSS before and after.

    apt-get install -y wrk
    python benchmarks/bench_load.py [--district PATH] [--workers 1] [--soak-seconds 300]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _service_common as common


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=common.DEFAULT_DISTRICT)
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--peak-seconds", type=int, default=10)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--soak-seconds", type=int, default=300)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk)")

    import httpx

    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds

    tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
    gpkg, _, bounds, _ = common.prepare_service_data(args.district, tmp)
    tiles = tiles_for_bounds(bounds, parse_zoom_range(args.zooms))
    paths = [f"/tiles/density/{t.z}/{t.x}/{t.y}.png" for t in tiles] + [
        f"/tiles/carriers/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
    script = common.wrk_script(paths, tmp / "all.lua")
    print(f"{len(paths)} tile URLs, workers={args.workers}; {common.load_info()}")
    out: dict[str, object] = {"urls": len(paths), "workers": args.workers}
    with common.uvicorn_server("api.app:create_app", env={"BAOSHAN_GPKG": str(gpkg)},
                               workers=args.workers) as base:
        pid = common.LAST_PID
        with httpx.Client() as c:
            codes = {}
            for p in paths:
                s = c.get(base + p).status_code
                codes[s] = codes.get(s, 0) + 1
        print(f"warm-up statuses: {codes}")
        peak = 0.0
        for conns in (8, 32, 64):
            r = common.run_wrk(base, script, seconds=args.peak_seconds, connections=conns)
            print(f"peak probe c={conns}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
                  f"p99 {r['p99_ms']:.2f} ms, errors {r['errors']}, non-2xx {r['non2xx']}")
            peak = max(peak, r["rps"])
        target = 0.75 * peak
        c = args.connections
        # a fixed offered rate: requests on a schedule of 1/target s (see wrk_script)
        rated = common.wrk_script(paths, tmp / "rated.lua", rate=target)
        r75 = common.run_wrk(base, rated, seconds=args.seconds, connections=c)
        print(f"75% of peak ({target:.0f} req/s target) for {args.seconds} s: {r75['rps']:.0f} "
              f"req/s, p50 {r75['p50_ms']:.2f} ms, p90 {r75['p90_ms']:.2f} ms, p99 "
              f"{r75['p99_ms']:.2f} ms, errors {r75['errors']}, non-2xx {r75['non2xx']}")
        rss0 = common.rss_mb(pid)
        soak = common.run_wrk(base, rated, seconds=args.soak_seconds, connections=c)
        rss1 = common.rss_mb(pid)
        print(f"soak {args.soak_seconds} s at {soak['rps']:.0f} req/s: {soak['requests']} "
              f"requests, errors {soak['errors']}, non-2xx {soak['non2xx']}, p99 "
              f"{soak['p99_ms']:.2f} ms; server RSS {rss0:.0f} MiB before, {rss1:.0f} MiB after")
        out.update(peak_rps=round(peak), r75=r75, soak=soak, rss_before_mib=round(rss0, 1),
                   rss_after_mib=round(rss1, 1))
    print(json.dumps(out))
    print(common.load_info())
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
