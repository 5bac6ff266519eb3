"""Default symbols of the layers, shared by every renderer.

The ``[style]`` table of a layer definition is the one source of how a layer looks: QGIS styles in
the GeoPackage, print maps, Folium pages and PNG tiles all read it through :func:`layer_style`.

Keys (all optional):

``kind``          ``"point"``, ``"line"`` or ``"fill"`` (default from the geometry type)
``color``         stroke / marker colour, ``#rrggbb``
``fill``          fill colour of polygons and markers
``fill_opacity``  0..1
``width``         stroke width in points
``size``          marker diameter in points
``dash``          dash pattern in points, e.g. ``[4, 2]``; schematic features are always dashed
``label_field``   field used for labels (default ``name_zh``)
``categories``    ``{field = "category", values = {value = "#rrggbb"}, labels = {value = "..."}}``
"""

from __future__ import annotations

from typing import Any

from baoshan_gis.catalogue import get_layer_def

_DEFAULTS: dict[str, Any] = {
    "color": "#555555",
    "fill": "#999999",
    "fill_opacity": 0.25,
    "width": 0.8,
    "size": 5.0,
    "dash": None,
    "label_field": "name_zh",
    "categories": None,
}
#: Dash pattern used for every schematic feature, whatever the layer's own style.
SCHEMATIC_DASH: tuple[float, float] = (4.0, 2.0)


def _kind_for(geometry_type: str) -> str:
    if "Point" in geometry_type:
        return "point"
    if "Line" in geometry_type:
        return "line"
    return "fill"


def layer_style(name: str, geometry_type: str | None = None) -> dict[str, Any]:
    """The complete style of a catalogue layer (defaults filled in).

    Layers that are not in the catalogue (imports, analysis outputs) get a neutral style whose
    ``kind`` follows ``geometry_type``.
    """
    try:
        ldef = get_layer_def(name)
        style = {**_DEFAULTS, **ldef.style}
        style.setdefault("kind", _kind_for(ldef.geometry_type))
        if "kind" not in ldef.style:
            style["kind"] = _kind_for(ldef.geometry_type)
    except KeyError:
        style = {**_DEFAULTS, "kind": _kind_for(geometry_type or "Polygon")}
    return style


def feature_color(style: dict[str, Any], properties: dict[str, Any]) -> str:
    """Colour of one feature: its category colour when the style is categorised, else ``color``."""
    cats = style.get("categories")
    if cats:
        value = properties.get(cats.get("field", "category"))
        colour = (cats.get("values") or {}).get(value)
        if colour:
            return str(colour)
    return str(style["fill"] if style["kind"] == "point" else style["color"])


def category_label(style: dict[str, Any], value: str) -> str:
    """Legend label of a category value (falls back to the value itself)."""
    cats = style.get("categories") or {}
    return str((cats.get("labels") or {}).get(value, value))
