"""The layer catalogue: one declarative TOML definition per layer in ``layers/``.

A definition names the layer and says what it holds (Chinese and English title, geometry type,
fields, plan section, source, licence and attribution), how the build produces its features
(``[build]``) and how it is drawn by default (``[style]``, shared by QGIS styles, print maps,
Folium pages and PNG tiles). See ``layers/README.md`` for the format.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from baoshan_gis import settings
from baoshan_gis._errors import CatalogueError, LayerNotFound

GEOMETRY_TYPES = ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "None")
_REQUIRED = (
    "name",
    "title_zh",
    "title_en",
    "geometry_type",
    "plan_ref",
    "source",
    "licence",
    "attribution",
    "description",
)


@dataclass(frozen=True)
class FieldDef:
    """A field beyond the truth fields."""

    name: str
    type: str
    description: str


@dataclass(frozen=True)
class LayerDef:
    """One layer of the catalogue, as declared in ``layers/<name>.toml``."""

    name: str
    title_zh: str
    title_en: str
    geometry_type: str
    plan_ref: str
    source: str
    licence: str
    attribution: str
    description: str
    order: int = 100
    fields: tuple[FieldDef, ...] = ()
    style: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] = field(default_factory=dict)
    features: tuple[dict[str, Any], ...] = ()
    path: Path | None = None

    @property
    def is_spatial(self) -> bool:
        """Whether the layer has geometry (the indicator table does not)."""
        return self.geometry_type != "None"

    @property
    def title(self) -> str:
        """Bilingual title, as shown in legends and layer lists."""
        return f"{self.title_zh} {self.title_en}"


def _parse(path: Path) -> LayerDef:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"layer definition {path.name!r} is not valid TOML: {exc}") from exc
    problems = [f"missing key {k!r}" for k in _REQUIRED if k not in raw]
    gtype = raw.get("geometry_type")
    if gtype is not None and gtype not in GEOMETRY_TYPES:
        problems.append(f"geometry_type {gtype!r} is not one of {', '.join(GEOMETRY_TYPES)}")
    if raw.get("name") is not None and raw["name"] != path.stem:
        problems.append(f"name {raw['name']!r} differs from the file name {path.stem!r}")
    fields = []
    for fname, spec in (raw.get("fields") or {}).items():
        if not isinstance(spec, dict) or "type" not in spec:
            problems.append(f"field {fname!r} needs a table with 'type' and 'description'")
            continue
        fields.append(FieldDef(fname, str(spec["type"]), str(spec.get("description", ""))))
    if problems:
        raise CatalogueError(f"layer definition {path.name!r}: " + "; ".join(problems))
    return LayerDef(
        name=raw["name"],
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        geometry_type=raw["geometry_type"],
        plan_ref=raw["plan_ref"],
        source=raw["source"],
        licence=raw["licence"],
        attribution=raw["attribution"],
        description=raw["description"].strip(),
        order=int(raw.get("order", 100)),
        fields=tuple(fields),
        style=dict(raw.get("style") or {}),
        build=dict(raw.get("build") or {}),
        features=tuple(raw.get("features") or ()),
        path=path,
    )


@lru_cache(maxsize=8)
def _load(folder: str) -> dict[str, LayerDef]:
    defs = [_parse(p) for p in sorted(Path(folder).glob("*.toml"))]
    defs.sort(key=lambda d: (d.order, d.name))
    return {d.name: d for d in defs}


def load_catalogue(folder: Path | None = None) -> dict[str, LayerDef]:
    """All layer definitions, in build and drawing order.

    Parameters
    ----------
    folder
        Folder of ``*.toml`` definitions; default :func:`baoshan_gis.settings.layers_dir`.
    """
    return dict(_load(str(folder or settings.layers_dir())))


def get_layer_def(name: str, folder: Path | None = None) -> LayerDef:
    """The definition of one layer; :class:`LayerNotFound` lists the known names."""
    cat = load_catalogue(folder)
    if name not in cat:
        raise LayerNotFound(
            f"no layer named {name!r} in the catalogue; known layers: {', '.join(cat)}"
        )
    return cat[name]


def unplaced_rows(ldef: LayerDef) -> Any:
    """The features of a layer built with ``recipe = "unplaced"``, as its ``<name>_unplaced``
    attribute table: the truth fields (no geometry, so no quality or accuracy), the layer's fields
    and the ``reason`` they are not placed."""
    import pandas as pd

    cols = [*settings.TRUTH_FIELDS, *(f.name for f in ldef.fields), "reason"]
    rows = []
    for feat in ldef.features:
        row = {c: feat.get(c) for c in cols}
        row["plan_ref"] = feat.get("plan_ref") or ldef.plan_ref
        row["source"] = feat.get("source") or f"plan text {row['plan_ref']}"
        row["geometry_quality"], row["accuracy_m"] = None, None
        row["reason"] = feat.get("reason") or "the plan gives no address and none is known offline"
        rows.append(row)
    frame = pd.DataFrame(rows, columns=cols)
    frame["accuracy_m"] = frame["accuracy_m"].astype("float64")
    for f in ldef.fields:
        if f.type == "int":
            frame[f.name] = frame[f.name].astype("Int64")
    return frame


def unplaced_layer(ldef: LayerDef) -> Any:
    """The (empty) feature layer of a ``recipe = "unplaced"`` definition, with its columns."""
    import geopandas as gpd

    table = unplaced_rows(ldef).drop(columns=["reason"]).iloc[0:0]
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries([], crs=settings.WGS84))
