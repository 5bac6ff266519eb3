"""Atomic file replacement, shared by every writer of the project's files.

GeoPackages, the density COG, maps and the files of ``fetch-osm`` are all written to a temporary
file beside the target and moved over it in one ``os.replace``; a failure leaves the target as it
was. On top of that :func:`atomic_path`

* takes the GeoPackage's exclusive write lock (:func:`baoshan_gis._lock.write_lock`) for ``.gpkg``
  targets, and makes the temporary copy *inside* the lock, so concurrent writers queue instead of
  losing each other's layers;
* writes through a symlink to its target, and keeps the original file's mode and owner;
* removes temporary copies a killed writer left behind (under the lock);
* turns "disk full", "read-only file system" and "permission denied" into
  :class:`~baoshan_gis._errors.StorageError` saying what is missing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from baoshan_gis._errors import BaoshanGISError, StorageError

_STORAGE_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "no permission to write there",
    errno.EPERM: "no permission to write there",
}
_STORAGE_TEXT = {
    "no space left": errno.ENOSPC,
    "disk is full": errno.ENOSPC,
    "disk quota": errno.EDQUOT,
    "read-only file system": errno.EROFS,
    "readonly database": errno.EROFS,
    "permission denied": errno.EACCES,
}
_SIDECARS = ("", "-journal", "-wal", "-shm")


def _storage_errno(exc: BaseException) -> int | None:
    if isinstance(exc, BaoshanGISError):
        return None
    if isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS:
        return exc.errno
    if isinstance(exc, OSError | sqlite3.OperationalError | RuntimeError):
        text = str(exc).lower()
        for needle, code in _STORAGE_TEXT.items():
            if needle in text:
                return code
    return None


def _temp_prefix(real: Path) -> str:
    return f".{real.name}.tmp-"


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary copies of ``target`` left by killed writers (call under its lock)."""
    real = Path(os.path.realpath(target))
    removed = []
    patterns = [_temp_prefix(real) + "*", f".{real.stem}.tmp-*{real.suffix}*"]  # old naming
    for pattern in patterns:
        for p in real.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if p.is_file():
                    p.unlink()
                    removed.append(p)
    return removed


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str],
    *,
    copy_existing: bool = True,
    lock: bool | None = None,
    lock_timeout: float | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it over ``target`` only on success.

    Parameters
    ----------
    target
        File to replace. A symlink is followed: its target is replaced, the link stays.
    copy_existing
        The temporary file starts as a copy of the current ``target`` (for updates, made under
        the lock so no other writer's change is lost); otherwise it does not exist yet (builds).
    lock
        Hold :func:`baoshan_gis._lock.write_lock` for the whole write; default: for ``.gpkg``.
    lock_timeout
        Seconds to wait for the lock (default from the settings).

    On any exception the temporary file is removed and ``target`` is untouched. The new file gets
    the mode and owner of the one it replaces (or the umask's default for a new file).
    """
    from baoshan_gis._lock import write_lock

    shown = Path(target)
    real = Path(os.path.realpath(target))
    use_lock = real.suffix.lower() == ".gpkg" if lock is None else lock
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        with write_lock(real, timeout=lock_timeout) if use_lock else contextlib.nullcontext():
            if use_lock:
                remove_stale_temporaries(real)
            fd, tmp_name = tempfile.mkstemp(
                prefix=_temp_prefix(real), suffix=real.suffix, dir=real.parent
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                old = real.stat() if real.exists() else None
                if copy_existing and old is not None:
                    shutil.copyfile(real, tmp)
                else:
                    tmp.unlink()
                yield tmp
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else _default_mode())
                if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(PermissionError):
                        os.chown(tmp, old.st_uid, old.st_gid)
                os.replace(tmp, real)
            finally:
                for suffix in _SIDECARS:
                    with contextlib.suppress(FileNotFoundError):
                        Path(f"{tmp}{suffix}").unlink()
    except Exception as exc:
        code = _storage_errno(exc)
        if code is None:
            raise
        what = _STORAGE_ERRNOS[code]
        need = ""
        if code in (errno.ENOSPC, errno.EDQUOT) and real.exists():
            need = f" (about {real.stat().st_size / 1e6:.1f} MB free is needed for the new copy)"
        state = f"{shown.name!r} is unchanged" if real.exists() else "nothing was written"
        raise StorageError(
            f"cannot write {shown.name!r} in folder {str(real.parent)!r}: {what}{need}; {state}. "
            "Free space, or choose a writable location"
        ) from None
