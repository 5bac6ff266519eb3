"""Safe extraction of the zip archives given to ``layers import``.

Limits (``settings.ARCHIVE_MAX_BYTES``, ``settings.ARCHIVE_MAX_MEMBERS``) are checked on the
declared sizes and the member count before anything is extracted, and on the actual bytes while
streaming (a header can lie). Members go to a private temporary folder that is always removed
(``finally``); a folder left by a writer that was killed (``kill -9`` runs no ``finally``) is
removed by the next import, once its process no longer exists.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from baoshan_gis import settings
from baoshan_gis._errors import DataImportError

_PREFIX = "baoshan-import-"
_CHUNK = 1024 * 1024


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_extractions(base: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove extraction folders whose process (pid in the name) no longer runs."""
    root = Path(base or tempfile.gettempdir())
    removed = []
    for d in root.glob(f"{_PREFIX}*"):
        try:
            pid = int(d.name[len(_PREFIX) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid) and d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _mb(n: float) -> str:
    return f"{n / 1024**2:,.1f} MiB"


def check_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive whose member count or declared uncompressed size exceeds the limits."""
    if len(members) > settings.ARCHIVE_MAX_MEMBERS:
        raise DataImportError(
            f"{path.name!r} holds {len(members):,} files, more than the limit of "
            f"{settings.ARCHIVE_MAX_MEMBERS:,}; zip only the layer to import"
        )
    declared = sum(m.file_size for m in members)
    if declared > settings.ARCHIVE_MAX_BYTES:
        raise DataImportError(
            f"{path.name!r} would unpack to {_mb(declared)}, more than the limit of "
            f"{_mb(settings.ARCHIVE_MAX_BYTES)} (baoshan_gis.settings.ARCHIVE_MAX_BYTES); "
            "import the file unzipped or split it"
        )


@contextlib.contextmanager
def extraction_dir() -> Iterator[Path]:
    """A private temporary folder (named with this pid), removed on exit whatever happens."""
    remove_stale_extractions()
    tmp = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    try:
        yield tmp.resolve()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract(zf: zipfile.ZipFile, path: Path, wanted: list[zipfile.ZipInfo], root: Path) -> None:
    """Stream ``wanted`` members into ``root``, counting actual bytes against the limit."""
    total = 0
    limit = settings.ARCHIVE_MAX_BYTES
    for m in wanted:
        target = (root / Path(m.filename).name).resolve()
        if target.parent != root:  # no path tricks
            raise DataImportError(f"{path.name!r} has an unsafe member {m.filename!r}")
        try:
            with zf.open(m) as src, open(target, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise DataImportError(
                            f"{path.name!r} unpacks to more than the limit of {_mb(limit)} "
                            f"(at member {m.filename!r}; its header declared "
                            f"{_mb(m.file_size)}); import the file unzipped or split it"
                        )
                    dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise DataImportError(
                f"{path.name!r} is damaged or uses an unsupported compression ({exc}) at "
                f"member {m.filename!r}"
            ) from None


def read_zip(
    path: Path,
    *,
    read_member: Callable[[Path], Any],
    supported: tuple[str, ...],
    layer: str | None,
) -> Any:
    """Read the one data file of the zip ``path`` (a shapefile with its sidecars, or another
    supported file, or the one whose stem is ``layer``) with ``read_member``, within the limits."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataImportError(f"{path.name!r} is not a readable zip file") from None
    with zf, extraction_dir() as root:
        members = [m for m in zf.infolist() if not m.is_dir() and "__MACOSX" not in m.filename]
        check_members(path, members)
        data = [
            m
            for m in members
            if Path(m.filename).suffix.lower() in supported
            and Path(m.filename).suffix.lower() not in (".zip", ".txt")
        ]
        shps = [m for m in data if m.filename.lower().endswith(".shp")]
        choices = shps or data
        if layer is not None:
            choices = [m for m in choices if Path(m.filename).stem == layer]
        if len(choices) != 1:
            found = ", ".join(m.filename for m in (shps or data)) or "none"
            if not choices:
                what = (
                    f"no {layer!r} in it" if layer else "no shapefile, GeoJSON, GeoPackage or CSV"
                )
                raise DataImportError(f"cannot import {path.name!r}: {what} (found: {found})")
            raise DataImportError(
                f"{path.name!r} holds several data files ({found}); choose one with --layer STEM"
            )
        chosen = choices[0]
        stem_prefix = chosen.filename[: -len(Path(chosen.filename).suffix)]
        wanted = [
            m
            for m in members
            if m is chosen
            or (shps and m.filename[: -len(Path(m.filename).suffix) or None] == stem_prefix)
        ]
        extract(zf, path, wanted, root)
        # the readers return in-memory frames: nothing refers to the temporary files afterwards
        return read_member(root / Path(chosen.filename).name)
