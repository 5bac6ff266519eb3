"""Read-only access to the GeoPackage, shared safely by every thread and worker process.

The service never keeps a SQLite or GDAL handle open: when the app is created, each layer is read
once (each read opens and closes its own connection) into memory — GeoDataFrames for GeoJSON and
analysis, projected and indexed :class:`~baoshan_gis.tiles.source.VectorSource` objects for tiles,
:class:`~baoshan_gis.tiles.png.RasterSource` objects for raster outputs — and these objects are
never modified afterwards. Every uvicorn worker process builds its own copy. Requests only look
names up in dictionaries built at start-up, so a name that is not in the catalogue (``../x``,
``%2e%2e%2f``, a NUL byte) is answered 404 without touching the file system.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import Depends, Request

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


class ServiceState:
    """The in-memory catalogue, layers, caches and settings of one app instance."""

    def __init__(self, settings: ApiSettings) -> None:
        from baoshan_gis import gpkg as gp
        from baoshan_gis.style import layer_style
        from baoshan_gis.tiles.cache import TileCache
        from baoshan_gis.tiles.png import RasterSource
        from baoshan_gis.tiles.source import VectorSource

        self.settings = settings
        self.cache = TileCache(settings.cache_bytes)
        self.layers: dict[str, LayerEntry] = {}
        path = settings.gpkg
        for info in gp.list_layers(path):
            entry = LayerEntry(name=info.name, info=_info_json(info))
            frame = gp.read_layer(path, info.name)
            entry.frame = frame
            entry.fids = gp.read_fids(path, info.name)
            if info.data_type == "features" and hasattr(frame, "geometry"):
                entry.vector = VectorSource.from_frame(info.name, frame)
                geoms = np.asarray(frame.geometry.values, dtype=object)
                entry.tree = shapely.STRtree(geoms)
                entry.tree.query(shapely.box(0, 0, 0, 0))  # built before threads share it
                entry.style = layer_style(info.name, info.geometry_type)
                entry.info["tiles"] = ["mvt", "png"]
            else:
                entry.info["tiles"] = []
            self.layers[info.name] = entry
        meta = gp.read_meta(path)
        for name, tif in gp.raster_layers(path).items():
            if name in self.layers:
                continue
            if not tif.is_file():
                log.warning("raster layer %r: file %s is missing; not served", name, tif.name)
                continue
            try:
                raster = RasterSource.from_file(tif, name=name,
                                                colormap=settings.raster_colormap)
            except BaoshanGISError:
                raise
            except Exception as exc:  # rasterio's own errors: say which layer
                raise InvalidInput(
                    f"raster layer {name!r} ({tif.name}) cannot be read: {exc}") from exc
            m = meta.get(name, {})
            self.layers[name] = LayerEntry(
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

    def names(self) -> list[str]:
        """Layer names in catalogue order."""
        return list(self.layers)

    def layer(self, name: str) -> LayerEntry:
        """The layer called ``name``; :class:`LayerNotFound` lists the layers otherwise."""
        entry = self.layers.get(name)
        if entry is None:
            raise LayerNotFound(
                f"no layer named {name!r}; layers: {', '.join(self.layers)}"
            )
        return entry


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


def get_state(request: Request) -> ServiceState:
    """FastAPI dependency: the app's :class:`ServiceState`."""
    return request.app.state.service  # type: ignore[no-any-return]


#: Annotated dependency of every endpoint that needs the service state.
State = Annotated[ServiceState, Depends(get_state)]
