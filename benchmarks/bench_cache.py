"""Warm cache: the service's in-memory tile cache vs Starlette StaticFiles serving the same bytes.

Fair method (issue 11.6):

* Same stack: uvicorn, one worker, ``--loop asyncio --http h11`` (pinned), loopback; the
  StaticFiles app is a bare Starlette app, the service is the full app (its middleware included).
* Same bytes: a preparation server renders every tile of the list once; the tiles that have data
  are written as files for StaticFiles. Each measured server is checked to answer every URL of
  the list with the same bytes (digests compared); header differences are printed.
* Same warm-up: every measured server is started fresh and gets the whole list once, in the
  same order, before anything is timed (the service renders into its LRU; StaticFiles reads
  the files into the page cache).
* Same load, same rate: the same URLs in the same order, from one wrk thread. Peak throughput
  (wrk unpaced, 32 connections) of both sides is measured first; the fixed rate is
  ``--rate-fraction`` (0.6) of the slower side's peak unless ``--rate`` is given. wrk then
  offers exactly that rate to both sides (requests on a fixed schedule, see
  ``_service_common.wrk_script``) for ``--seconds`` with 16 connections: p50/p90/p99/max.
  After it, an unpaced run gives each side's peak again, and a sequential pass (one
  keep-alive connection, Python client) gives tiles/s.
* Interleaved: three rounds (``--rounds``), the side that goes first alternating per round.
  Median and range (min-max) over the rounds are printed, with the ratios cache/StaticFiles.

    apt-get install -y wrk
    python benchmarks/bench_cache.py [--district PATH] [--zooms 10-16] [--seconds 30]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _service_common as common

HERE = Path(__file__).resolve().parent
SIDES = ("cache", "static")
LABEL = {"cache": "baoshan-gis cache", "static": "StaticFiles"}


def _server(side: str, gpkg: Path, static_dir: Path) -> Any:
    if side == "cache":
        return common.uvicorn_server("api.app:create_app", env={"BAOSHAN_GPKG": str(gpkg)})
    return common.uvicorn_server("_service_common:static_app", app_dir=HERE,
                                 env={"BENCH_STATIC_DIR": str(static_dir)})


def _warm(base: str, paths: list[str]) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Every path once, in order: digests of the bodies and the headers of one PNG and one MVT."""
    import httpx

    digests: list[str] = []
    headers: dict[str, dict[str, str]] = {}
    with httpx.Client(timeout=60.0) as c:
        for p in paths:
            r = c.get(base + p)
            if r.status_code != 200:
                raise RuntimeError(f"{base}{p} answered {r.status_code} during the warm-up")
            digests.append(hashlib.blake2b(r.content, digest_size=16).hexdigest())
            ext = p.rsplit(".", 1)[-1]
            headers.setdefault(ext, dict(r.headers))
    return digests, headers


def _measure(side: str, gpkg: Path, static_dir: Path, paths: list[str], tmp: Path, *,
             rate: float | None, seconds: int, peak_seconds: int, connections: int
             ) -> dict[str, Any]:
    """Fresh server, warm-up pass, then [paced wrk], unpaced wrk (peak), sequential pass."""
    out: dict[str, Any] = {"loadavg_before": Path("/proc/loadavg").read_text().split()[0]}
    with _server(side, gpkg, static_dir) as base:
        t = time.perf_counter()
        out["digests"], out["headers"] = _warm(base, paths)
        out["warm_s"] = time.perf_counter() - t
        if rate is not None:
            paced = common.wrk_script(paths, tmp / f"paced_{side}.lua", rate=rate)
            out["paced"] = common.run_wrk(base, paced, seconds=seconds, connections=connections)
        plain = common.wrk_script(paths, tmp / f"plain_{side}.lua")
        out["peak"] = common.run_wrk(base, plain, seconds=peak_seconds, connections=32)
        seq = common.fetch_all([base + p for p in paths])
        out["seq_tiles_per_s"] = seq["tiles_per_s"]
        out["seq_median_ms"] = seq["median_ms"]
    out["loadavg_after"] = Path("/proc/loadavg").read_text().split()[0]
    return out


def _prepare(gpkg: Path, zooms: str, bounds: tuple[float, float, float, float],
             static_dir: Path) -> list[str]:
    """Render every candidate tile once on a preparation server; write those with data."""
    import httpx

    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds

    tiles = tiles_for_bounds(bounds, parse_zoom_range(zooms))
    candidates = [f"/tiles/density/{t.z}/{t.x}/{t.y}.png" for t in tiles] + [
        f"/tiles/carriers/{t.z}/{t.x}/{t.y}.mvt" for t in tiles]
    paths = []
    with _server("cache", gpkg, static_dir) as base, httpx.Client(timeout=60.0) as c:
        for p in candidates:
            r = c.get(base + p)
            if r.status_code == 200:  # 204 = no data: StaticFiles would answer 404
                paths.append(p)
                f = static_dir / p.removeprefix("/tiles/")
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(r.content)
    return paths


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _header_notes(headers: dict[str, dict[str, dict[str, str]]]) -> list[str]:
    notes = []
    for ext in sorted(headers["cache"]):
        a, b = headers["cache"][ext], headers["static"].get(ext, {})
        only_a = sorted(set(a) - set(b))
        only_b = sorted(set(b) - set(a))
        differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
        notes.append(f"  .{ext}: only the cache sends {only_a}; only StaticFiles sends {only_b}; "
                     f"both but different: {differ} (content-type: {a.get('content-type')} vs "
                     f"{b.get('content-type')}; content-encoding: "
                     f"{a.get('content-encoding', 'none')} vs {b.get('content-encoding', 'none')};"
                     f" ETag {a.get('etag')} vs {b.get('etag')})")
    return notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=common.DEFAULT_DISTRICT)
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=30, help="paced wrk run per side and round")
    ap.add_argument("--peak-seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16, help="connections of the paced run")
    ap.add_argument("--rate", type=float, default=None,
                    help="fixed request rate (req/s); default: --rate-fraction of the slower "
                         "side's peak, measured first")
    ap.add_argument("--rate-fraction", type=float, default=0.6)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("error: wrk is not installed (apt-get install -y wrk)")

    tmp = Path(tempfile.mkdtemp(prefix="bench_cache_"))
    gpkg, _, bounds, _ = common.prepare_service_data(args.district, tmp)
    static_dir = tmp / "static"
    paths = _prepare(gpkg, args.zooms, bounds, static_dir)
    print(f"{len(paths)} tiles with data (density PNG + carriers MVT, z{args.zooms}); uvicorn "
          f"1 worker, --loop {common.UVICORN_LOOP} --http {common.UVICORN_HTTP}; "
          f"{common.load_info()}")
    kw: dict[str, Any] = dict(seconds=args.seconds, peak_seconds=args.peak_seconds,
              connections=args.connections)

    rate = args.rate
    if rate is None:  # peak of both sides first (fresh, warmed), static first
        peaks = {}
        for side in ("static", "cache"):
            r = _measure(side, gpkg, static_dir, paths, tmp, rate=None, **kw)
            peaks[side] = r["peak"]["rps"]
            print(f"calibration {LABEL[side]}: peak {peaks[side]:.0f} req/s (wrk -c32 "
                  f"{args.peak_seconds} s), load {r['loadavg_before']}")
        slower = min(peaks, key=peaks.__getitem__)
        rate = round(args.rate_fraction * peaks[slower] / 10) * 10
        print(f"fixed rate: {rate:.0f} req/s = {args.rate_fraction:.0%} of the slower side's "
              f"peak ({LABEL[slower]}, {peaks[slower]:.0f} req/s)")

    rounds: list[dict[str, dict[str, Any]]] = []
    for i in range(args.rounds):
        order = SIDES if i % 2 == 0 else SIDES[::-1]
        res = {side: _measure(side, gpkg, static_dir, paths, tmp, rate=rate, **kw)
               for side in order}
        rounds.append(res)
        for side in order:
            r = res[side]
            p, k = r["paced"], r["peak"]
            print(f"round {i + 1} {LABEL[side]:>17} (load {r['loadavg_before']}→"
                  f"{r['loadavg_after']}): at {p['rps']:.0f} req/s p50 {p['p50_ms']:.2f} "
                  f"p90 {p['p90_ms']:.2f} p99 {p['p99_ms']:.2f} max {p['max_ms']:.1f} ms, "
                  f"errors {p['errors']}, non-2xx {p['non2xx']}; peak {k['rps']:.0f} req/s; "
                  f"sequential {r['seq_tiles_per_s']:.0f} tiles/s; warm-up {r['warm_s']:.1f} s")
        same = sum(a == b for a, b in zip(res["cache"]["digests"], res["static"]["digests"],
                                          strict=True))
        print(f"round {i + 1}: identical bodies {same}/{len(paths)}")
        if i == 0:
            print("headers (first .png / .mvt of the list):")
            print("\n".join(_header_notes({s: res[s]["headers"] for s in SIDES})))

    print(f"\nsummary over {args.rounds} rounds, fixed rate {rate:.0f} req/s, "
          f"{args.seconds} s each, {args.connections} connections: median (min–max)")
    summary: dict[str, Any] = {"rate": rate, "tiles": len(paths)}
    for metric in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "rps"):
        vals = {s: [float(r[s]["paced"][metric]) for r in rounds] for s in SIDES}
        ratios = [c / s for c, s in zip(vals["cache"], vals["static"], strict=True)]
        print(f"  paced {metric:>7}: cache {_spread(vals['cache'])}, StaticFiles "
              f"{_spread(vals['static'])}, cache/StaticFiles {_spread(ratios)}")
        summary[metric] = {**vals, "ratio": ratios}
    for metric, get in (("peak_rps", lambda r: r["peak"]["rps"]),
                        ("peak_p99_ms", lambda r: r["peak"]["p99_ms"]),
                        ("seq_tiles_per_s", lambda r: r["seq_tiles_per_s"])):
        vals = {s: [float(get(r[s])) for r in rounds] for s in SIDES}
        ratios = [c / s for c, s in zip(vals["cache"], vals["static"], strict=True)]
        print(f"  {metric:>15}: cache {_spread(vals['cache'], '{:.1f}')}, StaticFiles "
              f"{_spread(vals['static'], '{:.1f}')}, cache/StaticFiles {_spread(ratios)}")
        summary[metric] = {**vals, "ratio": ratios}
    p99 = summary["p99_ms"]["ratio"]
    print(f"target cache p99 <= StaticFiles p99 at the same rate: "
          f"{'met' if max(p99) <= 1 else 'NOT met'} (cache p99 <= StaticFiles p99 in "
          f"{sum(x <= 1 for x in p99)} of {len(p99)} rounds); {common.load_info()}")
    print("JSON " + json.dumps(summary))
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
