"""baoshan-gis: GIS toolkit for Baoshan District's S&T Innovation 15th Five-Year Plan (2026-2030).

The public Python API is what this module exports.
"""

from __future__ import annotations

from baoshan_gis._errors import (
    BaoshanGISError,
    CRSError,
    DataImportError,
    EncodingProblem,
    InvalidInput,
    LayerExists,
    LayerNotFound,
    MapNotFound,
)
from baoshan_gis.build import build_geopackage
from baoshan_gis.catalogue import get_layer_def, load_catalogue
from baoshan_gis.coords import convert, gcj02_to_wgs84, to_wgs84_from, wgs84_to_gcj02
from baoshan_gis.gpkg import layer_info, list_layers, read_layer
from baoshan_gis.importer import ImportReport, import_layer

__all__ = [
    "BaoshanGISError",
    "CRSError",
    "DataImportError",
    "EncodingProblem",
    "ImportReport",
    "InvalidInput",
    "LayerExists",
    "LayerNotFound",
    "MapNotFound",
    "build_geopackage",
    "convert",
    "gcj02_to_wgs84",
    "get_layer_def",
    "import_layer",
    "layer_info",
    "list_layers",
    "load_catalogue",
    "read_layer",
    "to_wgs84_from",
    "wgs84_to_gcj02",
]
__version__ = "0.1.0"

# Analyses and renderers pull in scipy, rasterio and matplotlib: loaded on first use.
_LAZY = {
    "carrier_density": "baoshan_gis.analysis",
    "coverage": "baoshan_gis.analysis",
    "euclidean_coverage": "baoshan_gis.analysis",
    "station_coverage": "baoshan_gis.analysis",
    "network_reach": "baoshan_gis.analysis",
    "network_coverage": "baoshan_gis.analysis",
    "coverage_gaps": "baoshan_gis.analysis",
    "suggest_sites": "baoshan_gis.analysis",
    "kernel_density": "baoshan_gis.analysis",
    "write_report": "baoshan_gis.analysis",
    "render_map": "baoshan_gis.render",
    "render_all": "baoshan_gis.render",
    "render_page_html": "baoshan_gis.render",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'baoshan_gis' has no attribute {name!r}")
