"""Atomic file replacement, shared by every writer of the project's files.

GeoPackages, the density COG and the files of ``fetch-osm`` are all written to a temporary file
beside the target and moved over it in one ``os.replace``; a failure leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, copy_existing: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it over ``target`` only on success.

    With ``copy_existing`` the temporary file starts as a copy of ``target`` (for updates);
    otherwise it does not exist yet (for builds from scratch). On any exception the temporary file
    is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.tmp-", suffix=target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if copy_existing and target.exists():
            shutil.copyfile(target, tmp)
        else:
            tmp.unlink()
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        for sidecar in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
