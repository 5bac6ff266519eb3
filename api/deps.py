"""Read-only access to the GeoPackage, shared safely by every thread and worker process.

The service never keeps a SQLite or GDAL handle open: when the app is created, and again when
the file changes (see :class:`ServiceState`), each layer is read once (each read opens and closes
its own connection) into memory — GeoDataFrames in WGS84 for GeoJSON and analysis, projected and
indexed :class:`~baoshan_gis.tiles.source.VectorSource` objects for tiles,
:class:`~baoshan_gis.tiles.png.RasterSource` objects for raster outputs — and these objects are
never modified afterwards (a changed file gives a new :class:`Snapshot`). Every uvicorn worker
process builds its own copy. Requests only look names up in dictionaries built when the file was
read, so a name that is not in the catalogue (``../x``, ``%2e%2e%2f``, a NUL byte) is answered 404
without touching the file system.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.limits import AnalysisRunner, BytesLRU, result_cache
from api.settings import ApiSettings
from baoshan_gis._errors import BaoshanGISError, InvalidInput, LayerNotFound

log = logging.getLogger("baoshan_gis.api")


@dataclass
class LayerEntry:
    """Everything the service knows about one layer."""

    name: str
    info: dict[str, Any]  # catalogue entry (JSON-ready)
    frame: Any = None  # GeoDataFrame / DataFrame, WGS84; None for rasters
    vector: Any = None  # VectorSource
    raster: Any = None  # RasterSource
    tree: shapely.STRtree | None = None  # WGS84 index of frame geometries
    fids: Any = None  # GeoPackage fid of each row of frame (numpy int64); None for rasters
    style: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``"vector"``, ``"raster"`` or ``"table"``."""
        if self.raster is not None:
            return "raster"
        return "vector" if self.vector is not None else "table"


FileIdentity = tuple[tuple[str, int, int, int, int], ...]


def file_identity(paths: list[Path]) -> FileIdentity:
    """``(name, st_dev, st_ino, st_mtime_ns, st_size)`` of each file (zeros when missing).

    A writer that replaces the GeoPackage by rename (the project's atomic writes) gives it a
    new inode, which SQLite's ``PRAGMA data_version`` cannot see; an in-place write changes its
    mtime or size. One ``stat`` per file: cheap enough for every request.
    """
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((p.name, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((p.name, 0, 0, 0, 0))
    return tuple(out)


class Snapshot:
    """The layers read from one version of the GeoPackage, with the caches built from them.

    Never modified after it is built: a changed file gives a new snapshot, and the caches (tiles,
    pages, analysis results) go with the old one, so nothing stale is served after a reload.
    """

    def __init__(self, settings: ApiSettings, generation: int = 0) -> None:
        from baoshan_gis import gpkg as gp
        from baoshan_gis.tiles.cache import TileCache

        path = settings.gpkg
        self.generation = generation
        self.watched = [path, path.with_name(path.name + "-wal")]
        before = file_identity(self.watched)  # taken before reading: a later change is seen
        self.cache = TileCache(settings.cache_bytes)
        self.pages: dict[tuple[str, str], bytes] = {}
        self.results = result_cache()  # analysis answers (bounded by the runner)
        self.geojson = BytesLRU(settings.cache_bytes // 2)  # GeoJSON answers
        self.layers: dict[str, LayerEntry] = {}
        for info in gp.list_layers(path):
            self.layers[info.name] = _vector_entry(path, info)
        meta = gp.read_meta(path)
        for name, tif in gp.raster_layers(path).items():
            if name in self.layers:
                continue
            self.watched.append(tif)
            if not tif.is_file():
                log.warning("raster layer %r: file %s is missing; not served", name, tif.name)
                continue
            self.layers[name] = _raster_entry(name, tif, meta.get(name, {}), settings)
        self.identity = before + file_identity(self.watched[2:])

    def layer(self, name: str) -> LayerEntry:
        """The layer called ``name``; :class:`LayerNotFound` lists the layers otherwise."""
        entry = self.layers.get(name)
        if entry is None:
            raise LayerNotFound(
                f"no layer named {name!r}; layers: {', '.join(self.layers)}"
            )
        return entry

    def names(self) -> list[str]:
        """Layer names in catalogue order."""
        return list(self.layers)


def _vector_entry(path: Path, info: Any) -> LayerEntry:
    from baoshan_gis import gpkg as gp
    from baoshan_gis.style import layer_style
    from baoshan_gis.tiles.source import VectorSource

    entry = LayerEntry(name=info.name, info=_info_json(info))
    frame = gp.read_layer(path, info.name)
    if getattr(frame, "crs", None) is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)  # GeoJSON, bbox filters and tiles are WGS84
    entry.frame = frame
    entry.fids = gp.read_fids(path, info.name)
    if info.data_type == "features" and hasattr(frame, "geometry"):
        entry.vector = VectorSource.from_frame(info.name, frame)
        if entry.vector.bounds is not None:  # exact lon/lat bounds of the features
            entry.info["bounds"] = list(entry.vector.bounds)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        entry.tree = shapely.STRtree(geoms)
        entry.tree.query(shapely.box(0, 0, 0, 0))  # built before threads share it
        entry.style = layer_style(info.name, info.geometry_type)
        entry.info["tiles"] = ["mvt", "png"]
    else:
        entry.info["tiles"] = []
    return entry


def _raster_entry(name: str, tif: Path, m: dict[str, Any], settings: ApiSettings) -> LayerEntry:
    from baoshan_gis.tiles.png import RasterSource

    try:
        raster = RasterSource.from_file(tif, name=name, colormap=settings.raster_colormap)
    except BaoshanGISError:
        raise
    except Exception as exc:  # rasterio's own errors: say which layer
        raise InvalidInput(f"raster layer {name!r} ({tif.name}) cannot be read: "
                           f"{type(exc).__name__}") from exc
    return LayerEntry(
        name=name, raster=raster,
        info={"name": name, "title_zh": m.get("title_zh", ""),
              "title_en": m.get("title_en", ""), "kind": "raster",
              "data_type": "raster", "geometry_type": None, "count": None,
              "bounds": list(raster.bounds) if raster.bounds else None,
              "attribution": m.get("attribution") or m.get("source", ""),
              "description": "",
              "plan_ref": m.get("plan_ref", ""), "source": m.get("source", ""),
              "licence": m.get("licence", ""), "tiles": ["png"]},
    )


class ServiceState:
    """The settings and the current :class:`Snapshot` of one app instance.

    :meth:`refresh` (run by :func:`get_state` and the warm-tile path at most every
    ``BAOSHAN_RELOAD_CHECK_MS``) notices a changed GeoPackage (replaced, written in place, a
    new layer) or raster file, reads it into a new snapshot and swaps it in with one assignment:
    a request sees either the old catalogue with its caches or the new one, never a mix. A file
    that cannot be read (e.g. half-written by a foreign tool) leaves the old snapshot in service
    and is retried at the next check.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.snapshot = Snapshot(settings)
        self.runner = AnalysisRunner(concurrency=settings.analysis_concurrency,
                                     timeout_s=settings.analysis_timeout_s,
                                     cache_bytes=settings.analysis_cache_bytes)
        self._checked = time.monotonic()
        self._reload_lock = threading.Lock()
        self.reloads = 0

    # the current snapshot's catalogue, for the routers
    @property
    def layers(self) -> dict[str, LayerEntry]:
        return self.snapshot.layers

    @property
    def cache(self) -> Any:
        return self.snapshot.cache

    def names(self) -> list[str]:
        """Layer names in catalogue order."""
        return self.snapshot.names()

    def layer(self, name: str) -> LayerEntry:
        """The layer called ``name``; :class:`LayerNotFound` lists the layers otherwise."""
        return self.snapshot.layer(name)

    def refresh_due(self) -> bool:
        """Whether ``BAOSHAN_RELOAD_CHECK_MS`` has passed since the files were last checked."""
        return (time.monotonic() - self._checked) * 1000 >= self.settings.reload_check_ms

    def refresh(self, *, force: bool = False) -> bool:
        """Reload when the files changed; True when a new snapshot was swapped in."""
        now = time.monotonic()
        if not force and (now - self._checked) * 1000 < self.settings.reload_check_ms:
            return False
        self._checked = now
        snap = self.snapshot
        if file_identity(snap.watched) == snap.identity:
            return False
        if not self._reload_lock.acquire(blocking=False):
            return False  # another request is reloading: serve the current snapshot meanwhile
        try:
            if self.snapshot is not snap:
                return False
            if not self.settings.gpkg.is_file():
                log.warning("GeoPackage %s is missing; serving the last version read",
                            self.settings.gpkg.name)
                return False
            try:
                new = Snapshot(self.settings, generation=snap.generation + 1)
            except Exception as exc:
                log.warning("GeoPackage %s changed but cannot be read (%s); serving the last "
                            "version read", self.settings.gpkg.name, type(exc).__name__)
                return False
            if file_identity(new.watched) != new.identity:
                return False  # changed again while being read: take it at the next check
            self.snapshot = new
            self.reloads += 1
            log.info("reloaded %s (generation %d)", self.settings.gpkg.name, new.generation)
            return True
        finally:
            self._reload_lock.release()


def _info_json(info: Any) -> dict[str, Any]:
    return {
        "name": info.name,
        "title_zh": info.title_zh,
        "title_en": info.title_en,
        "kind": info.kind,
        "data_type": info.data_type,
        "geometry_type": info.geometry_type,
        "count": info.count,
        "bounds": list(info.bounds) if info.bounds else None,
        "attribution": info.attribution or info.source,
        "description": info.description,
        "plan_ref": info.plan_ref,
        "source": info.source,
        "licence": info.licence,
    }


async def get_state(request: Request) -> ServiceState:
    """FastAPI dependency: the app's :class:`ServiceState`, refreshed when the file changed.

    Asynchronous, so that a request does not hop to a worker thread for it: only when a check
    of the files is due (at most every ``BAOSHAN_RELOAD_CHECK_MS``) does
    :meth:`ServiceState.refresh` run, in the thread pool, since it may read a new snapshot.
    """
    state: ServiceState = request.app.state.service
    if state.refresh_due():
        await run_in_threadpool(state.refresh)
    return state


#: Annotated dependency of every endpoint that needs the service state.
State = Annotated[ServiceState, Depends(get_state)]
