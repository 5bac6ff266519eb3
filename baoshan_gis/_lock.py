"""An exclusive, process-safe write lock on a GeoPackage (a sidecar ``.lock`` file).

Every writer of a GeoPackage (build over an existing file, ``layers import``, ``--write-layer``,
the report's layers, any future importer) goes through :func:`write_lock`, which
:func:`baoshan_gis._files.atomic_path` takes for ``.gpkg`` targets, so two planners writing the
same file never silently lose a layer: the second waits up to a timeout, then gets
:class:`~baoshan_gis._errors.GeoPackageLocked` naming the holder.

The lock is ``fcntl.flock`` on ``<target>.lock`` (beside the symlink's target): the kernel releases
it when the holder exits, even on ``kill -9``, so a stale lock file never blocks anyone (a killed
holder leaves the file behind; the next writer reuses it). The holder writes its pid, host,
command and start time into the file for the error message and removes it when done. Re-entrant
within one thread (nested writes of the same file do not deadlock).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from baoshan_gis import settings
from baoshan_gis._errors import GeoPackageLocked

_POLL_S = 0.05
_guard = threading.Lock()
_thread_locks: dict[str, threading.RLock] = {}
_held: dict[str, list[int]] = {}  # lock path -> [fd, depth]


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of ``target`` (beside the real file when ``target`` is a symlink)."""
    real = Path(os.path.realpath(target))
    return real.with_name(real.name + ".lock")


def _holder_text(raw: str) -> str:
    try:
        info = json.loads(raw)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(info["since"])))
        return f"pid {info['pid']} on {info['host']} ({info['command']!r}, since {since})"
    except (ValueError, KeyError, TypeError):
        return "another process"


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        return _holder_text(os.read(fd, 4096).decode("utf-8", "replace"))
    return "another process"


def _resolve_timeout(timeout: float | None) -> float:
    value = timeout if timeout is not None else settings.lock_timeout()
    return max(0.0, float(value))


def _acquire(lpath: Path, target: str | os.PathLike[str], wait: float) -> int:
    """Open and flock ``lpath``; retry when the file was replaced (unlinked) meanwhile."""
    deadline = time.monotonic() + wait
    while True:
        fd = os.open(lpath, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise GeoPackageLocked(
                            f"{Path(target).name!r} is locked by {_read_holder(fd)}, which is "
                            f"writing it; waited {wait:g} s. Try again when it has finished, or "
                            "wait longer with --lock-timeout SECONDS (BAOSHAN_LOCK_TIMEOUT)"
                        ) from None
                    time.sleep(_POLL_S)
            try:
                same = os.fstat(fd).st_ino == os.stat(lpath).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)  # the holder removed this file when it finished: lock the new one


@contextlib.contextmanager
def write_lock(target: str | os.PathLike[str], *, timeout: float | None = None) -> Iterator[Path]:
    """Hold the exclusive write lock of ``target`` for the ``with`` block; yield the lock path.

    Parameters
    ----------
    target
        The GeoPackage (need not exist yet).
    timeout
        Seconds to wait for another writer; default :func:`baoshan_gis.settings.lock_timeout`
        (``BAOSHAN_LOCK_TIMEOUT``, or ``baoshan-gis --lock-timeout``). ``0`` fails at once.

    Raises
    ------
    GeoPackageLocked
        Another process (or thread) still held the lock after ``timeout`` seconds; the message
        names it (pid, host, command, since when).
    """
    lpath = lock_path(target)
    key = str(lpath)
    wait = _resolve_timeout(timeout)
    with _guard:
        rlock = _thread_locks.setdefault(key, threading.RLock())
    got = rlock.acquire(timeout=wait) if wait > 0 else rlock.acquire(blocking=False)
    if not got:
        raise GeoPackageLocked(
            f"{Path(target).name!r} is being written by another thread of this process (pid "
            f"{os.getpid()}); waited {wait:g} s: try again when it has finished"
        )
    try:
        with _guard:
            entry = _held.get(key)
        if entry is not None:  # re-entered by the same thread
            entry[1] += 1
            try:
                yield lpath
            finally:
                entry[1] -= 1
            return
        lpath.parent.mkdir(parents=True, exist_ok=True)
        fd = _acquire(lpath, target, wait)
        try:
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
                "since": time.time(),
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            with _guard:
                _held[key] = [fd, 1]
            try:
                yield lpath
            finally:
                with _guard:
                    del _held[key]
                # unlink while still holding it: waiters re-check the inode after locking
                with contextlib.suppress(OSError):
                    os.unlink(lpath)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        rlock.release()
