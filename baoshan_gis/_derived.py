"""Truth fields of derived (analysis) features: what they were computed from and how well.

Used by :func:`baoshan_gis.gpkg.write_analysis_layers`, so every feature of every ``analysis_*``
layer says its source, geometry quality and accuracy radius, like the plan layers do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from baoshan_gis import settings


class DerivedTruth:
    """Truth fields of analysis results, from the layers they were computed from.

    A derived feature is no better placed than its inputs: ``geometry_quality`` is the worst
    quality among the input layers' features (surveyed < approximate < schematic) and
    ``accuracy_m`` the largest input accuracy radius, an honest bound on how far a derived
    boundary (a reach circle, a gap's edge, a suggested site) may be off; ``source`` names the
    analysis and its inputs. Columns a result already has (zone tables keep their zone's truth
    fields) are left as they are.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        from baoshan_gis.gpkg import layer_names

        self.names = set(layer_names(path)) if path.exists() else set()
        self.cache: dict[str, tuple[str | None, float | None]] = {}

    def _of(self, layer: str) -> tuple[str | None, float | None]:
        if layer not in self.cache:
            quality: str | None = None
            accuracy: float | None = None
            if layer in self.names:  # feature and attribute tables; rasters have no truth
                from baoshan_gis.gpkg import read_layer

                f = read_layer(self.path, layer)
                order = settings.GEOMETRY_QUALITIES
                qs = [q for q in f.get("geometry_quality", pd.Series(dtype=str)).dropna()
                      if q in order]
                quality = max(qs, key=order.index) if qs else None
                acc = pd.to_numeric(f.get("accuracy_m", pd.Series(dtype=float)),
                                    errors="coerce").dropna()
                accuracy = float(acc.max()) if len(acc) else None
            self.cache[layer] = (quality, accuracy)
        return self.cache[layer]

    def add(self, frame: Any, inputs: Sequence[str], source: str) -> Any:
        if not isinstance(frame, gpd.GeoDataFrame):
            return frame
        missing = [c for c in ("source", "geometry_quality", "accuracy_m") if c not in frame]
        if not missing:
            return frame
        found = [self._of(str(n)) for n in inputs]
        order = settings.GEOMETRY_QUALITIES
        qs = [q for q, _ in found if q is not None]
        accs = [a for _, a in found if a is not None]
        out = frame.copy()
        if "source" in missing:
            out["source"] = f"{source} (from {', '.join(map(str, inputs))})"
        if "geometry_quality" in missing:
            out["geometry_quality"] = max(qs, key=order.index) if qs else "approximate"
        if "accuracy_m" in missing:
            out["accuracy_m"] = max(accs) if accs else np.nan
        return out
