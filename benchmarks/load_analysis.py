"""Load on the analysis endpoints: 30 concurrent heavy requests plus slow readers (issue 9).

Serves a synthetic GeoPackage (20,000 carriers, and a 200,000-point layer for the coverage case)
with uvicorn on 127.0.0.1 (one worker, default settings), then, in bounded phases:

1. 30 identical ``/analysis/density?cell_size=100`` at once (the issue's case: 2.2 GB before);
2. 30 different heavy density grids at once (cell_size 100..129 m: no two share a cache entry);
3. ``/analysis/coverage`` with the 200,000-point layer as facilities;
4. 20 slow readers of the largest GeoJSON answer (reading 4 KiB every 50 ms) while 30 more
   heavy analyses arrive.

Prints the status codes of each phase, the time, and the server's peak RSS (``VmHWM`` from
/proc) and RSS after the run. Every request has a 60 s timeout and the whole run a 300 s
budget. Not a test. Run from the repository root: ``python benchmarks/load_analysis.py``.
"""

from __future__ import annotations

import collections
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _service_common
from _service_common import load_info, uvicorn_server

BUDGET_S = 300.0
T0 = time.monotonic()


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def make_gpkg(folder: Path) -> Path:
    """The sample layers with 20,000 carriers, plus ``many_points`` (200,000 points)."""
    import geopandas as gpd
    import numpy as np

    from baoshan_gis.gpkg import write_frame
    from baoshan_gis.settings import DISTRICT_BOUNDS
    from baoshan_gis.tiles._sample import write_sample_gpkg

    gpkg = write_sample_gpkg(folder / "load.gpkg", n_carriers=20_000, with_density=False)
    w, s, e, n = DISTRICT_BOUNDS
    rng = np.random.default_rng(9)
    k = 200_000
    pts = gpd.GeoDataFrame(
        {"name_zh": [f"点{i}" for i in range(k)], "name_en": [f"point {i}" for i in range(k)],
         "category": "synthetic", "plan_ref": "test", "status": "existing",
         "source": "synthetic load fixture", "geometry_quality": "schematic",
         "accuracy_m": 0.0},
        geometry=gpd.points_from_xy(rng.uniform(w, e, k), rng.uniform(s, n, k)), crs=4326)
    write_frame(gpkg, pts, "many_points")
    return gpkg


def burst(base: str, urls: list[str]) -> tuple[collections.Counter[int | str], float]:
    import httpx

    def one(url: str) -> int | str:
        try:
            return httpx.get(base + url, timeout=60.0).status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__

    t = time.perf_counter()
    with ThreadPoolExecutor(len(urls)) as pool:
        codes = collections.Counter(pool.map(one, urls))
    return codes, time.perf_counter() - t


def slow_reader(port: int, path: str, stop: threading.Event, got: list[int]) -> None:
    """GET ``path`` and read the answer 4 KiB every 50 ms until done or ``stop``."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        n = 0
        while not stop.is_set() and time.monotonic() - T0 < BUDGET_S:
            chunk = sock.recv(4096)
            if not chunk:
                break
            n += len(chunk)
            time.sleep(0.05)
        got.append(n)


def main() -> None:
    print(f"load_analysis: {load_info()}")
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = make_gpkg(Path(tmp))
        env = {"BAOSHAN_GPKG": str(gpkg)}
        with uvicorn_server("api.app:create_app", env=env) as base:
            pid = _service_common.LAST_PID
            port = int(base.rsplit(":", 1)[1])
            rss0 = _status_kb(pid, "VmRSS") / 1024
            print(f"server pid {pid}: RSS after start {rss0:.0f} MiB")
            phases = [
                ("30 x identical density cell_size=100", ["/analysis/density?cell_size=100"] * 30),
                ("30 x different density grids 100..129 m",
                 [f"/analysis/density?cell_size={100 + i}" for i in range(30)]),
                ("coverage, 200,000 facilities",
                 ["/analysis/coverage?facilities=many_points&radius=1000"]),
            ]
            for title, urls in phases:
                codes, secs = burst(base, urls)
                print(f"{title}: {dict(codes)} in {secs:.1f} s; "
                      f"peak RSS so far {_status_kb(pid, 'VmHWM') / 1024:.0f} MiB")
            stop = threading.Event()
            got: list[int] = []
            readers = [threading.Thread(target=slow_reader, daemon=True,
                                        args=(port, "/layers/carriers?limit=10000", stop, got))
                       for _ in range(20)]
            for r in readers:
                r.start()
            time.sleep(1.0)
            codes, secs = burst(base, [f"/analysis/density?cell_size={130 + i}&area=belt_zones"
                                       for i in range(30)])
            rss_mid = _status_kb(pid, "VmRSS") / 1024
            stop.set()
            for r in readers:
                r.join(10)
            print(f"20 slow readers + 30 heavy analyses: {dict(codes)} in {secs:.1f} s; "
                  f"RSS during {rss_mid:.0f} MiB; readers got {min(got or [0]):,}-"
                  f"{max(got or [0]):,} bytes each")
            time.sleep(1.0)
            print(f"peak RSS (VmHWM) {_status_kb(pid, 'VmHWM') / 1024:.0f} MiB; RSS after "
                  f"{_status_kb(pid, 'VmRSS') / 1024:.0f} MiB; total {time.monotonic() - T0:.0f} s")


if __name__ == "__main__":
    main()
