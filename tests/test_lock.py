"""Issue 9 (1): concurrent writers of one GeoPackage, with real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from baoshan_gis import gpkg
from baoshan_gis._errors import GeoPackageLocked
from baoshan_gis._lock import lock_path, write_lock

CLI = [sys.executable, "-c", "from baoshan_gis.cli import main; main()"]


def _csv(tmp: Path, name: str, lon: float) -> Path:
    p = tmp / f"{name}.csv"
    p.write_text(f"name,lon,lat\n{name},{lon},31.35\n", encoding="utf-8")
    return p


def _hold_lock(target: Path, seconds: float) -> subprocess.Popen[str]:
    """A real process that holds the write lock of ``target`` for ``seconds``."""
    code = textwrap.dedent(f"""
        import sys, time
        from baoshan_gis._lock import write_lock
        with write_lock({str(target)!r}, timeout=0):
            print("locked", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "holder-cmd"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture()
def plan(tmp_path: Path, built_gpkg: Path) -> Path:
    target = tmp_path / "plan.gpkg"
    shutil.copyfile(built_gpkg, target)
    return target


def test_parallel_imports_both_survive(plan: Path, tmp_path: Path) -> None:
    """Today: both exit 0 and one layer is lost (copy-and-rename, last one wins)."""
    names = [f"inc_{i}" for i in range(4)]
    procs = [
        subprocess.Popen(
            [
                *CLI,
                "layers",
                "import",
                str(_csv(tmp_path, n, 121.40 + i / 100)),
                "--gpkg",
                str(plan),
                "--name",
                n,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, n in enumerate(names)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, results
    layers = gpkg.layer_names(plan)
    assert set(names) <= set(layers)
    assert {"district", "carriers", "belt_zones"} <= set(layers)
    assert not lock_path(plan).exists()  # removed by the last holder
    assert sorted(p.name for p in tmp_path.glob(".plan.gpkg.tmp-*")) == []


def test_second_writer_times_out_naming_the_holder(plan: Path, tmp_path: Path) -> None:
    before = plan.read_bytes()
    holder = _hold_lock(plan, 30)
    try:
        t0 = time.monotonic()
        res = subprocess.run(
            [
                *CLI,
                "--lock-timeout",
                "1",
                "layers",
                "import",
                str(_csv(tmp_path, "late", 121.4)),
                "--gpkg",
                str(plan),
                "--name",
                "late",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - t0
    finally:
        _stop(holder)
    assert res.returncode == 2
    assert res.stderr.startswith("error: 'plan.gpkg' is locked by pid ")
    assert f"pid {holder.pid} on " in res.stderr and "holder-cmd" in res.stderr
    assert "waited 1 s" in res.stderr and "Traceback" not in res.stderr
    assert waited >= 1.0
    assert plan.read_bytes() == before


def test_env_timeout_and_kill_releases(plan: Path, tmp_path: Path) -> None:
    """A writer killed with SIGKILL never leaves the lock held: the next one proceeds."""
    holder = _hold_lock(plan, 60)
    _stop(holder)
    assert lock_path(plan).exists()  # left behind by the killed holder, but not held
    env = {**os.environ, "BAOSHAN_LOCK_TIMEOUT": "0"}
    res = subprocess.run(
        [
            *CLI,
            "layers",
            "import",
            str(_csv(tmp_path, "after", 121.4)),
            "--gpkg",
            str(plan),
            "--name",
            "after",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "after" in gpkg.layer_names(plan)


def test_waiting_writer_proceeds_and_rereads(plan: Path, tmp_path: Path) -> None:
    """A writer that waits re-reads the file inside the lock: the holder's change survives."""
    code = textwrap.dedent(f"""
        import time
        from baoshan_gis.importer import import_layer
        from baoshan_gis._lock import write_lock
        with write_lock({str(plan)!r}, timeout=0):
            print("locked", flush=True)
            time.sleep(1.5)
            import_layer({str(plan)!r}, {str(_csv(tmp_path, "first", 121.4))!r}, name="first")
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    res = subprocess.run(
        [
            *CLI,
            "layers",
            "import",
            str(_csv(tmp_path, "second", 121.41)),
            "--gpkg",
            str(plan),
            "--name",
            "second",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    holder.wait(timeout=60)
    _stop(holder)
    assert holder.returncode == 0 and res.returncode == 0, res.stderr
    assert {"first", "second"} <= set(gpkg.layer_names(plan))


def test_same_name_race_refused_not_lost(plan: Path, tmp_path: Path) -> None:
    """Two imports of one name without --replace: one wins, the other is refused (exit 2)."""
    procs = [
        subprocess.Popen(
            [
                *CLI,
                "layers",
                "import",
                str(_csv(tmp_path, f"dup{i}", 121.4 + i / 100)),
                "--gpkg",
                str(plan),
                "--name",
                "dup",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    out = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], out
    refused = next(err for p, (_o, err) in zip(procs, out, strict=True) if p.returncode == 2)
    assert "layer 'dup' already exists" in refused


def test_write_lock_is_reentrant_and_records_holder(tmp_path: Path) -> None:
    target = tmp_path / "x.gpkg"
    with write_lock(target, timeout=0) as lp, write_lock(target, timeout=0):
        info = json.loads(lp.read_text())
        assert info["pid"] == os.getpid() and info["host"]
    assert not lp.exists()


def test_other_thread_waits_then_fails(tmp_path: Path) -> None:
    import threading

    target = tmp_path / "x.gpkg"
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with write_lock(target, timeout=0.2):
                pass
        except GeoPackageLocked as exc:
            errors.append(exc)

    with write_lock(target, timeout=0):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and "another thread of this process" in str(errors[0])


@pytest.mark.parametrize("raw", ["abc", "-1", "nan", "inf"])
def test_bad_env_timeout(
    raw: str, plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from baoshan_gis.cli import main

    monkeypatch.setenv("BAOSHAN_LOCK_TIMEOUT", raw)
    before = plan.read_bytes()
    res = CliRunner().invoke(
        main,
        ["layers", "import", str(_csv(tmp_path, "e", 121.4)), "--gpkg", str(plan), "--name", "e"],
    )
    assert res.exit_code == 2
    assert f"BAOSHAN_LOCK_TIMEOUT={raw!r} is not a number of seconds" in res.stderr
    assert plan.read_bytes() == before


def test_concurrent_appends_into_one_layer_keep_every_row(plan: Path, tmp_path: Path) -> None:
    """Two planners append to the same layer at once: both rows land (the layer is read under
    the lock, not before it). Both imports start while a third process holds the lock, so both
    have read the GeoPackage before either can write."""
    seed = _csv(tmp_path, "seed", 121.40)
    assert subprocess.run([*CLI, "layers", "import", str(seed), "--gpkg", str(plan),
                           "--name", "shared"], capture_output=True).returncode == 0
    holder = _hold_lock(plan, 60)
    try:
        procs = [
            subprocess.Popen(
                [*CLI, "layers", "import", str(_csv(tmp_path, f"add{i}", 121.41 + i / 100)),
                 "--gpkg", str(plan), "--name", "shared", "--append"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            for i in range(2)
        ]
        time.sleep(6)  # both have read their input and wait for the lock
        assert all(p.poll() is None for p in procs)
    finally:
        _stop(holder)
    out = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], out
    names = sorted(gpkg.read_layer(plan, "shared")["name_zh"])
    assert names == ["add0", "add1", "seed"]
