"""Map definitions: one declarative TOML file per figure or interactive theme in ``maps/``.

A definition says which layers a map draws and in what order, how each is symbolised (on top of
the layer's own style from :func:`baoshan_gis.style.layer_style`), which are labelled, the extent,
the bilingual title, the legend entries, notes on the data, and the paper defaults of the print
form. ``maps/README.md`` documents the format; :func:`load_maps` reads and validates every file in
one pass and reports all problems of a file together.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baoshan_gis import settings
from baoshan_gis._errors import CatalogueError, MapNotFound

#: Paper sizes in millimetres (portrait width, height).
PAPER_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}

_MAP_KEYS = {
    "name", "title_zh", "title_en", "subtitle", "plan_ref", "description", "paper", "landscape",
    "extent", "padding", "notes", "layers", "legend_title",
}
_LAYER_KEYS = {
    "layer", "raster", "title", "style", "labels", "label_field", "label_size", "label_priority",
    "legend", "filter", "required", "hint", "note_if_missing", "interactive", "colormap",
    "opacity", "context", "accuracy_circles", "group_within_m",
}
_REQUIRED_MAP_KEYS = ("name", "title_zh", "title_en", "description", "layers")


@dataclass(frozen=True)
class MapLayer:
    """One layer of a map, as drawn (bottom to top in :attr:`MapDef.layers`)."""

    source: str
    #: ``"vector"`` (a GeoPackage layer) or ``"raster"`` (a raster registered in the GeoPackage).
    kind: str = "vector"
    title: str | None = None
    style: dict[str, Any] = field(default_factory=dict)
    labels: bool = False
    label_field: str | None = None
    label_size: float = 7.5
    label_priority: int = 50
    legend: bool = True
    filter: dict[str, Any] | None = None
    required: bool = True
    hint: str | None = None
    note_if_missing: str | None = None
    interactive: bool = True
    colormap: str = "YlOrRd"
    opacity: float = 0.75
    context: bool = False
    #: Draw a faint circle of radius ``accuracy_m`` around approximately placed points;
    #: ``None`` (not given): on for the ``carriers`` layer, off for every other layer.
    accuracy_circles: bool | None = None
    #: Points of this layer closer than this (metres) are drawn as one group symbol listing
    #: every member; ``0`` draws every point on its own.
    group_within_m: float = 1.0

    @property
    def draws_accuracy_circles(self) -> bool:
        """Whether accuracy circles are drawn (the key, or its per-layer default)."""
        if self.accuracy_circles is None:
            return self.source == "carriers"
        return self.accuracy_circles


@dataclass(frozen=True)
class MapDef:
    """A map definition read from ``maps/<name>.toml``."""

    name: str
    title_zh: str
    title_en: str
    description: str
    layers: tuple[MapLayer, ...]
    subtitle: str = ""
    plan_ref: str = ""
    paper: str = "A4"
    landscape: bool = False
    extent: str | tuple[float, float, float, float] = "district"
    padding: float = 0.04
    notes: tuple[str, ...] = ()
    legend_title: str = "图例 Legend"
    path: Path | None = None

    @property
    def title(self) -> str:
        """Bilingual one-line title."""
        return f"{self.title_zh} {self.title_en}"

    def layer_names(self) -> list[str]:
        """Names of the vector and raster layers the map draws, in drawing order."""
        return [lyr.source for lyr in self.layers]


def _parse_layer(raw: Any, index: int, problems: list[str]) -> MapLayer | None:
    where = f"layers[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a table")
        return None
    unknown = sorted(set(raw) - _LAYER_KEYS)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                        f"valid: {', '.join(sorted(_LAYER_KEYS))}")
    if ("layer" in raw) == ("raster" in raw):
        problems.append(f"{where}: give exactly one of 'layer' (vector) or 'raster'")
        return None
    kind = "vector" if "layer" in raw else "raster"
    source = raw.get("layer") or raw.get("raster")
    if not isinstance(source, str) or not source:
        problems.append(f"{where}: layer name must be a non-empty string, got {source!r}")
        return None
    style = raw.get("style", {})
    if not isinstance(style, dict):
        problems.append(f"{where}: 'style' must be a table, got {style!r}")
        style = {}
    flt = raw.get("filter")
    if flt is not None and (
        not isinstance(flt, dict) or "field" not in flt or not isinstance(flt.get("values"), list)
    ):
        problems.append(f"{where}: 'filter' must be {{field = '...', values = [...]}}, got {flt!r}")
        flt = None
    opacity = raw.get("opacity", 0.75)
    if not isinstance(opacity, int | float) or not 0 <= opacity <= 1:
        problems.append(f"{where}: 'opacity' must be a number in 0..1, got {opacity!r}")
        opacity = 0.75
    circles = raw.get("accuracy_circles")
    if circles is not None and not isinstance(circles, bool):
        problems.append(f"{where}: 'accuracy_circles' must be true or false, got {circles!r}")
        circles = None
    within = raw.get("group_within_m", 1.0)
    if isinstance(within, bool) or not isinstance(within, int | float) or within < 0:
        problems.append(f"{where}: 'group_within_m' must be a number >= 0 (metres), "
                        f"got {within!r}")
        within = 1.0
    return MapLayer(
        source=source,
        kind=kind,
        title=raw.get("title"),
        style=dict(style),
        labels=bool(raw.get("labels", False)),
        label_field=raw.get("label_field"),
        label_size=float(raw.get("label_size", 7.5)),
        label_priority=int(raw.get("label_priority", 50)),
        legend=bool(raw.get("legend", True)),
        filter=flt,
        required=bool(raw.get("required", True)),
        hint=raw.get("hint"),
        note_if_missing=raw.get("note_if_missing"),
        interactive=bool(raw.get("interactive", True)),
        colormap=str(raw.get("colormap", "YlOrRd")),
        opacity=float(opacity),
        context=bool(raw.get("context", False)),
        accuracy_circles=circles,
        group_within_m=float(within),
    )


def parse_map(path: Path) -> MapDef:
    """Read and validate one map definition; :class:`CatalogueError` lists every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"map definition {path.name!r} is not valid TOML: {exc}") from exc
    problems = [f"missing key {k!r}" for k in _REQUIRED_MAP_KEYS if k not in raw]
    unknown = sorted(set(raw) - _MAP_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(map(repr, unknown))}; "
                        f"valid: {', '.join(sorted(_MAP_KEYS))}")
    if raw.get("name") is not None and raw["name"] != path.stem:
        problems.append(f"name {raw['name']!r} differs from the file name {path.stem!r}")
    paper = raw.get("paper", "A4")
    if paper not in PAPER_SIZES_MM:
        problems.append(f"paper {paper!r} is not one of {', '.join(PAPER_SIZES_MM)}")
    extent = raw.get("extent", "district")
    if isinstance(extent, list):
        if len(extent) != 4 or not all(isinstance(v, int | float) for v in extent) or not (
            extent[0] < extent[2] and extent[1] < extent[3]
        ):
            problems.append(f"extent {extent!r} must be [minx, miny, maxx, maxy] in WGS84")
        else:
            extent = tuple(float(v) for v in extent)
    elif not isinstance(extent, str):
        problems.append(f"extent {extent!r} must be a layer name or [minx, miny, maxx, maxy]")
    layers_raw = raw.get("layers", [])
    if not isinstance(layers_raw, list) or not layers_raw:
        problems.append("'layers' must be a non-empty array of tables ([[layers]])")
        layers_raw = []
    layers = [_parse_layer(item, i, problems) for i, item in enumerate(layers_raw)]
    notes = raw.get("notes", [])
    if isinstance(notes, str):
        notes = [notes]
    if problems:
        raise CatalogueError(f"map definition {path.name!r}: " + "; ".join(problems))
    return MapDef(
        name=raw["name"],
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        description=str(raw["description"]).strip(),
        layers=tuple(lyr for lyr in layers if lyr is not None),
        subtitle=str(raw.get("subtitle", "")),
        plan_ref=str(raw.get("plan_ref", "")),
        paper=paper,
        landscape=bool(raw.get("landscape", False)),
        extent=extent,
        padding=float(raw.get("padding", 0.04)),
        notes=tuple(str(n).strip() for n in notes),
        legend_title=str(raw.get("legend_title", "图例 Legend")),
        path=path,
    )


def load_maps(folder: Path | None = None) -> dict[str, MapDef]:
    """Every map definition in ``folder`` (default :func:`baoshan_gis.settings.maps_dir`), by name.

    Examples
    --------
    >>> maps = load_maps()
    >>> "innovation_belt" in maps
    True
    """
    folder = Path(folder or settings.maps_dir())
    return {p.stem: parse_map(p) for p in sorted(folder.glob("*.toml"))}


def get_map(name: str, folder: Path | None = None) -> MapDef:
    """One map definition; :class:`MapNotFound` lists the known names."""
    maps = load_maps(folder)
    if name not in maps:
        raise MapNotFound(f"no map named {name!r}; known maps: {', '.join(maps) or '(none)'}")
    return maps[name]
