"""Helpers shared by the service benchmarks: test data, servers on loopback, HTTP timing.

Not a test module. Servers are started as subprocesses (uvicorn, one worker) on 127.0.0.1 and
stopped at the end of each benchmark.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LAST_PID = 0
#: The uvicorn stack of every benchmark server (the same for the project and its anchors).
UVICORN_LOOP = "asyncio"
UVICORN_HTTP = "h11"
DEFAULT_DISTRICT = REPO.parent / "shared" / "data" / "district" / "baoshan_district_wgs84.geojson"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_density_cog(district: Path, out: Path, *, cell_m: float = 50.0) -> Path:
    """A 50 m density-like COG over the district (EPSG:32651), nodata outside the outline.

    The values are a smooth synthetic surface (sum of Gaussian bumps on a regular pattern), used
    only to time tile serving; they are not an analysis result.
    """
    import geopandas as gpd
    import rasterio
    from affine import Affine
    from rasterio.features import geometry_mask

    outline = gpd.read_file(district).to_crs(32651)
    minx, miny, maxx, maxy = outline.total_bounds
    x0, y1 = np.floor(minx / cell_m) * cell_m, np.ceil(maxy / cell_m) * cell_m
    width = int(np.ceil((maxx - x0) / cell_m))
    height = int(np.ceil((y1 - miny) / cell_m))
    transform = Affine(cell_m, 0, x0, 0, -cell_m, y1)
    yy, xx = np.mgrid[0:height, 0:width].astype("float64")
    data = np.zeros((height, width))
    for cy in np.linspace(0.15, 0.85, 4):
        for cx in np.linspace(0.2, 0.8, 3):
            data += np.exp(-(((xx / width - cx) / 0.08) ** 2 + ((yy / height - cy) / 0.07) ** 2))
    outside = geometry_mask(outline.geometry, out_shape=(height, width), transform=transform)
    data = data.astype("float32")
    data[outside] = -9999.0
    with rasterio.open(out, "w", driver="COG", width=width, height=height, count=1,
                       dtype="float32", crs="EPSG:32651", transform=transform, nodata=-9999.0,
                       compress="DEFLATE", blocksize=256, overview_resampling="average") as dst:
        dst.write(data, 1)
    return out


def titiler_app():  # type: ignore[no-untyped-def]
    """TiTiler's COG endpoints (titiler.core TilerFactory) as the anchor server."""
    from fastapi import FastAPI
    from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
    from titiler.core.factory import TilerFactory

    app = FastAPI()
    app.include_router(TilerFactory().router, prefix="/cog")
    add_exception_handlers(app, DEFAULT_STATUS_CODES)
    return app


@contextlib.contextmanager
def uvicorn_server(target: str, *, env: dict[str, str] | None = None,
                   app_dir: Path | None = None, workers: int = 1,
                   loop: str = UVICORN_LOOP, http: str = UVICORN_HTTP) -> Iterator[str]:
    """Run ``uvicorn --factory target`` on a free loopback port; yield its base URL.

    The event loop and HTTP implementation are pinned (``--loop``/``--http``, default
    ``asyncio``/``h11``) so that every server of a comparison runs the same stack whatever
    optional packages (uvloop, httptools) happen to be installed. The server's process id is in
    the module global ``LAST_PID`` while it runs.
    """
    global LAST_PID
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--loop", loop, "--http", http,
           "--log-level", "warning",
           "--no-access-log"]
    if app_dir is not None:
        cmd += ["--app-dir", str(app_dir)]
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=REPO)
    LAST_PID = proc.pid
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(base + "/docs", timeout=1.0)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"server {target} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def fetch_all(urls: list[str]) -> dict[str, float]:
    """GET every URL once, in order, over one keep-alive connection; timing summary."""
    import httpx

    times = []
    codes = []
    statuses: dict[int, int] = {}
    nbytes = 0
    with httpx.Client(timeout=30.0) as client:
        t0 = time.perf_counter()
        for url in urls:
            t = time.perf_counter()
            r = client.get(url)
            times.append(time.perf_counter() - t)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            codes.append(r.status_code)
            nbytes += len(r.content)
        total = time.perf_counter() - t0
    return {
        "n": len(urls), "seconds": total, "tiles_per_s": len(urls) / total,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": float(np.percentile(times, 95) * 1000), "bytes": nbytes,
        "statuses": statuses,  # type: ignore[dict-item]
        "_times": times, "_codes": codes,  # type: ignore[dict-item]
    }


def load_info() -> str:
    """``nproc`` and the load average, to print with the figures."""
    return f"nproc={os.cpu_count()}, loadavg={os.getloadavg()[0]:.2f}"


Bounds = tuple[float, float, float, float]


def prepare_service_data(district: Path, tmp: Path, *, cog: Path | None = None
                         ) -> tuple[Path, Path, Bounds, tuple[float, float]]:
    """Sample GeoPackage with a ``density`` raster layer: ``(gpkg, cog, wgs84 bounds, range)``."""
    import rasterio
    from rasterio.warp import transform_bounds

    from baoshan_gis.gpkg import write_meta
    from baoshan_gis.tiles._sample import write_sample_gpkg

    cog = cog or make_density_cog(district, tmp / "density.tif")
    with rasterio.open(cog) as src:
        data = src.read(1, masked=True)
        value_range = (float(data.min()), float(data.max()))
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    gpkg = write_sample_gpkg(tmp / "bench.gpkg", n_carriers=2000, with_density=False)
    write_meta(gpkg, "density", title_zh="核密度", title_en="Density", kind="raster",
               parameters={"path": str(Path(cog).resolve())})
    return gpkg, cog, bounds, value_range  # type: ignore[return-value]


def static_app():  # type: ignore[no-untyped-def]
    """Starlette StaticFiles over ``$BENCH_STATIC_DIR`` (the anchor for warm-cache serving)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    return Starlette(routes=[Mount("/tiles", app=StaticFiles(directory=os.environ[
        "BENCH_STATIC_DIR"]))])


def wrk_script(paths: list[str], out: Path, *, delay_ms: float | None = None,
               rate: float | None = None) -> Path:
    """A wrk Lua script cycling through ``paths`` in order.

    ``rate`` (requests per second, per wrk thread) paces the requests on a fixed schedule: each
    request takes the next slot of ``1/rate`` seconds on a monotonic clock (LuaJIT's FFI
    ``clock_gettime``) and waits for it (wrk's ``delay`` hook, 1 ms resolution), so the offered
    rate does not depend on the server's latency as long as the server keeps up; a connection
    that fell behind sends at once until it is back on schedule. Latency is measured by wrk from
    the actual send. ``delay_ms`` instead pauses a fixed time after each answer.
    ``done`` prints one ``JSON {...}`` line with the request count, duration, p50/p90/p99/max
    latency (ms), non-2xx answers and socket errors.
    """
    lines = ["paths = {", *[f'  "{p}",' for p in paths], "}",
             "local i = 0",
             "request = function()",
             "  i = i + 1",
             "  if i > #paths then i = 1 end",
             '  return wrk.format("GET", paths[i])',
             "end"]
    if rate is not None:
        lines += ['local ffi = require("ffi")',
                  'ffi.cdef[[ typedef struct { long s; long ns; } bench_ts; '
                  "int clock_gettime(int clk, bench_ts *tp); ]]",
                  'local ts = ffi.new("bench_ts")',
                  "local function now_ms()",
                  "  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC",
                  "  return tonumber(ts.s) * 1000 + tonumber(ts.ns) / 1e6",
                  "end",
                  f"local interval = {1000.0 / rate:.6f}",
                  "local slot = nil",
                  "delay = function()",
                  "  local t = now_ms()",
                  "  if slot == nil then slot = t end",
                  "  slot = slot + interval",
                  "  local d = slot - t",
                  "  if d < 0.5 then return 0 end",
                  "  return math.floor(d + 0.5)",
                  "end"]
    elif delay_ms is not None:
        lines += ["delay = function()", f"  return {delay_ms:.3f}", "end"]
    lines += ["done = function(summary, latency, requests)",
              "  local e = summary.errors",
              '  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %.3f, '
              '\\"p50_ms\\": %.3f, \\"p90_ms\\": %.3f, \\"p99_ms\\": %.3f, '
              '\\"max_ms\\": %.3f, \\"mean_ms\\": %.3f, \\"non2xx\\": %d, '
              '\\"errors\\": %d}\\n", summary.requests, summary.duration / 1e6, '
              "latency:percentile(50) / 1000, latency:percentile(90) / 1000, "
              "latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, "
              "e.status, e.connect + e.read + e.write + e.timeout))",
              "end"]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def run_wrk(base: str, script: Path, *, seconds: int, connections: int, threads: int = 1
            ) -> dict[str, float]:
    """Run wrk against ``base`` and parse the JSON line of the script's ``done``."""
    import json

    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "-s", str(script), base]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON "))
    res = json.loads(line[5:])
    res["rps"] = res["requests"] / res["seconds"]
    return res


def rss_mb(pid: int) -> float:
    """Resident set size of a process and its children (MiB), from /proc."""
    total = 0
    pids = [pid]
    with contextlib.suppress(FileNotFoundError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024
