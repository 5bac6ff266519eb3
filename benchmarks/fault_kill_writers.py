"""Fault script: kill GeoPackage writers with SIGKILL at random moments and check the file.

Each round starts three writers on one GeoPackage at once (two ``layers import`` of a CSV and one
``density --write-layer``), SIGKILLs one of them after a random delay, lets the others finish,
then checks that the file still opens as a GeoPackage (``PRAGMA integrity_check``), that every
layer present before the round is still there with its feature count, and that the layer of
every writer that exited 0 is present. No writer may exit with anything but 0 (done) or 2
(refused with ``error:``). Stale temporary copies left by the killed writer must be gone after
the next round's writers.

    python benchmarks/fault_kill_writers.py [--rounds 30] [--seed 9] [--max-delay 4]

Exits 1 if any round lost or damaged anything.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from baoshan_gis.cli import main; main()"]


def _counts(gpkg: Path) -> dict[str, int]:
    from baoshan_gis import gpkg as g

    g.check_geopackage(gpkg)
    with contextlib.closing(sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)) as con:
        ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise RuntimeError(f"integrity_check: {ok}")
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features','attributes')"
            )
        ]
        return {n: con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def _holder_pid(gpkg: Path) -> int | None:
    import json

    try:
        return int(json.loads(gpkg.with_name(gpkg.name + ".lock").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _wait_for_holder(gpkg: Path, pids: set[int], limit: float) -> int | None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        pid = _holder_pid(gpkg)
        if pid in pids:
            return pid
        time.sleep(0.01)
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--max-delay", type=float, default=4.0, help="latest kill, seconds")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    from baoshan_gis.build import build_geopackage

    work = Path(tempfile.mkdtemp(prefix="baoshan-fault-"))
    gpkg = work / "plan.gpkg"
    build_geopackage(gpkg)
    problems: list[str] = []
    killed_during_write = exits = killed_in_lock = 0
    t_start = time.monotonic()
    for rnd in range(1, args.rounds + 1):
        before = _counts(gpkg)
        writers: list[tuple[str, subprocess.Popen[bytes]]] = []
        for k in range(2):
            name = f"r{rnd}_imp{k}"
            csv = work / f"{name}.csv"
            csv.write_text(f"name,lon,lat\n{name},{121.40 + k / 100},31.35\n", encoding="utf-8")
            writers.append(
                (
                    name,
                    subprocess.Popen(
                        [*CLI, "layers", "import", str(csv), "--gpkg", str(gpkg), "--name", name],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                    ),
                )
            )
        name = f"analysis_r{rnd}"
        writers.append(
            (
                name,
                subprocess.Popen(
                    [*CLI, "density", "--gpkg", str(gpkg), "--write-layer", name],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
            )
        )
        victim = rng.randrange(len(writers))
        if rnd % 2 == 0:  # kill whoever holds the lock, mid-write
            holder = _wait_for_holder(gpkg, {p.pid for _n, p in writers}, args.max_delay)
            victim = next((i for i, (_n, p) in enumerate(writers) if p.pid == holder), victim)
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            time.sleep(rng.uniform(0.1, args.max_delay))
        vname, vproc = writers[victim]
        in_lock = _holder_pid(gpkg) == vproc.pid
        if vproc.poll() is None:
            vproc.send_signal(signal.SIGKILL)
            killed_during_write += 1
            killed_in_lock += in_lock
        results = {}
        for wname, proc in writers:
            _out, err = proc.communicate(timeout=300)
            results[wname] = (proc.returncode, err.decode("utf-8", "replace").strip())
        try:
            after = _counts(gpkg)
        except Exception as exc:  # any failure to open is the finding
            problems.append(f"round {rnd}: the GeoPackage does not open: {exc}")
            break
        for layer, n in before.items():
            if after.get(layer) != n:
                problems.append(
                    f"round {rnd}: layer {layer!r} had {n} features, now {after.get(layer)}"
                )
        for wname, (code, err) in results.items():
            if code == 0:
                exits += 1
                if wname not in after:
                    problems.append(f"round {rnd}: {wname} exited 0 but its layer is missing")
            elif code == -signal.SIGKILL and wname == vname:
                continue
            elif code != 2 or not err.startswith("error:"):
                problems.append(f"round {rnd}: {wname} exited {code}: {err[-300:]}")
        stale = sorted(p.name for p in work.glob(".plan.gpkg.tmp-*"))
        print(
            f"round {rnd:2d}: killed {vname:<16} ({results[vname][0]}"
            f"{', holding the lock' if in_lock else ''}), layers "
            f"{len(before)} -> {len(after)}, temporaries left {len(stale)}",
            flush=True,
        )
    # one more writer: it must clean up whatever the last kill left behind
    csv = work / "final.csv"
    csv.write_text("name,lon,lat\nfinal,121.4,31.35\n", encoding="utf-8")
    final = subprocess.run(
        [*CLI, "layers", "import", str(csv), "--gpkg", str(gpkg), "--name", "final"],
        capture_output=True,
        text=True,
    )
    leftover = sorted(p.name for p in work.glob(".plan.gpkg.tmp-*"))
    if final.returncode != 0 or leftover:
        problems.append(f"final writer: exit {final.returncode}, temporaries {leftover}")
    total = _counts(gpkg)
    print(
        f"\n{args.rounds} rounds in {time.monotonic() - t_start:.0f} s: "
        f"{killed_during_write} writers killed while running ({killed_in_lock} of them while "
        f"holding the lock, mid-write), {exits} writers completed, "
        f"{len(total)} layers in the file, integrity ok, temporaries left: {len(leftover)}"
    )
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    print("no layer lost, no file damaged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
