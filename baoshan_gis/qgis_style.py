"""QGIS default styles (QML) generated from the layers' ``[style]`` tables.

Stored in the GeoPackage's ``layer_styles`` table, so QGIS opens every layer styled as on the
project's maps: single-symbol or categorised renderers, dashed outlines for schematic shapes, and
labels from ``name_zh``.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from baoshan_gis.style import category_label

_PT_TO_MM = 0.3528


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _opt(name: str, value: Any) -> str:
    return f'<Option name="{name}" type="QString" value={quoteattr(str(value))}/>'


def _symbol(style: dict[str, Any], colour: str, name: str) -> str:
    kind = style["kind"]
    width_mm = round(float(style["width"]) * _PT_TO_MM, 3)
    dash = style.get("dash")
    if kind == "point":
        opts = [
            _opt("name", "circle"),
            _opt("color", _rgba(colour)),
            _opt("outline_color", _rgba(style["color"])),
            _opt("outline_width", width_mm),
            _opt("size", round(float(style["size"]) * _PT_TO_MM, 3)),
        ]
        layer_class, sym_type = "SimpleMarker", "marker"
    elif kind == "line":
        opts = [
            _opt("line_color", _rgba(colour)),
            _opt("line_width", width_mm),
            _opt("line_style", "dash" if dash else "solid"),
            _opt("capstyle", "round"),
        ]
        layer_class, sym_type = "SimpleLine", "line"
    else:
        fill = colour if style.get("categories") else style["fill"]
        opts = [
            _opt("color", _rgba(fill, float(style["fill_opacity"]))),
            _opt("outline_color", _rgba(colour)),
            _opt("outline_width", width_mm),
            _opt("outline_style", "dash" if dash else "solid"),
            _opt("style", "solid"),
        ]
        layer_class, sym_type = "SimpleFill", "fill"
    return (
        f'<symbol type="{sym_type}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{layer_class}" enabled="1" pass="0" locked="0"><Option type="Map">'
        + "".join(opts)
        + "</Option></layer></symbol>"
    )


def qml_for(style: dict[str, Any]) -> str:
    """A QGIS QML document for a complete style (see :func:`baoshan_gis.style.layer_style`)."""
    cats = style.get("categories")
    if cats:
        values = cats.get("values") or {}
        symbols = "".join(_symbol(style, c, str(i)) for i, c in enumerate(values.values()))
        categories = "".join(
            f'<category symbol="{i}" value={quoteattr(str(v))} '
            f'label={quoteattr(category_label(style, v))} render="true"/>'
            for i, v in enumerate(values)
        )
        attr = quoteattr(cats.get("field", "category"))
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr={attr} '
            f'symbollevels="0" enableorderby="0" forceraster="0"><categories>{categories}'
            f"</categories><symbols>{symbols}</symbols></renderer-v2>"
        )
    else:
        colour = style["fill"] if style["kind"] == "point" else style["color"]
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<symbols>{_symbol(style, colour, '0')}</symbols></renderer-v2>"
        )
    label = style.get("label_field") or "name_zh"
    labeling = (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(label)} fontSize="8" fontFamily="Noto Sans CJK SC" '
        'textColor="40,40,40,255"><text-buffer bufferDraw="1" bufferSize="0.8" '
        'bufferColor="255,255,255,255"/></text-style></settings></labeling>'
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.34.0" styleCategories="Symbology|Labeling">'
        f"{renderer}{labeling}</qgis>\n"
    )
