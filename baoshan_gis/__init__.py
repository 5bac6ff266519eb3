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
from baoshan_gis.catalogue import get_layer_def, load_catalogue
from baoshan_gis.gpkg import layer_info, list_layers, read_layer

__all__ = [
    "BaoshanGISError",
    "CRSError",
    "DataImportError",
    "EncodingProblem",
    "InvalidInput",
    "LayerExists",
    "LayerNotFound",
    "MapNotFound",
    "get_layer_def",
    "layer_info",
    "list_layers",
    "load_catalogue",
    "read_layer",
]
__version__ = "0.1.0"
