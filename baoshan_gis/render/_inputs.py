"""Analysis outputs a map needs: computed on demand, so a freshly built GeoPackage maps at once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from baoshan_gis import gpkg as gp
from baoshan_gis.render.mapdefs import MapDef, get_map

_ANALYSIS_PREFIXES = ("analysis_", "carrier_density")


def missing_analysis(mapdef: MapDef | str, gpkg: str | os.PathLike[str]) -> list[str]:
    """Required layers and rasters of the map that the report writes and the file lacks."""
    md = get_map(mapdef) if isinstance(mapdef, str) else mapdef
    have = set(gp.layer_names(gpkg)) | set(gp.raster_layers(gpkg))
    return [
        s.source
        for s in md.layers
        if s.required and s.source.startswith(_ANALYSIS_PREFIXES) and s.source not in have
    ]


def ensure_analysis(
    mapdef: MapDef | str,
    gpkg: str | os.PathLike[str],
    *,
    progress: Callable[[str], None] | None = None,
) -> Path | None:
    """Run the standard report (``baoshan-gis report``) when the map needs its outputs.

    The report goes to ``report/`` beside the GeoPackage and its layers into the GeoPackage
    (atomically). Returns the report folder, or ``None`` when nothing was missing.
    """
    if not missing_analysis(mapdef, gpkg):
        return None
    from baoshan_gis.analysis.report import write_report

    out = Path(gpkg).resolve().parent / "report"
    write_report(gpkg, out, progress=progress)
    return out
