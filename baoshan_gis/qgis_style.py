"""QGIS default styles (QML and SLD) generated from the layers' ``[style]`` tables.

Stored in the GeoPackage's ``layer_styles`` table, so QGIS opens every layer styled as on the
project's print maps: single-symbol or categorised renderers; schematic layers dashed (the print
maps' dash pattern) and, for polygons, hatched; labels from ``name_zh`` in the font the project
installs (Noto Sans SC). Analysis outputs (``analysis_*``) get styles of their own: graduated
shares and densities, red gaps, suggested sites as stars.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from baoshan_gis.style import SCHEMATIC_DASH, category_label

_PT_TO_MM = 0.3528
#: Font family of the labels: Noto Sans SC, installed by ``pylopdf-fonts-zh-cn`` (OFL 1.1).
LABEL_FONT = "Noto Sans SC"
#: Hatch of schematic polygons (QGIS brush style; SLD ``shape://`` mark).
SCHEMATIC_HATCH = "f_diagonal"


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def _opt(name: str, value: Any) -> str:
    return f'<Option name="{name}" type="QString" value={quoteattr(str(value))}/>'


def _layer(layer_class: str, opts: list[str]) -> str:
    return (
        f'<layer class="{layer_class}" enabled="1" pass="0" locked="0"><Option type="Map">'
        + "".join(opts)
        + "</Option></layer>"
    )


def _dash_opts(style: dict[str, Any], schematic: bool, prefix: str) -> list[str]:
    pattern = SCHEMATIC_DASH if schematic else style.get("dash")
    if not pattern:
        return [_opt(f"{prefix}_style", "solid")]
    dashes = ";".join(f"{float(v) * _PT_TO_MM:.3f}" for v in pattern)
    if prefix == "line":
        return [
            _opt("line_style", "dash"),
            _opt("use_custom_dash", "1"),
            _opt("customdash", dashes),
            _opt("customdash_unit", "MM"),
        ]
    return [_opt(f"{prefix}_style", "dash")]


def _symbol(style: dict[str, Any], colour: str, name: str, schematic: bool) -> str:
    kind = style["kind"]
    width_mm = round(float(style["width"]) * _PT_TO_MM, 3)
    layers = []
    if kind == "point":
        opts = [
            _opt("name", style.get("marker", "circle")),
            _opt("color", _rgba(colour)),
            _opt("outline_color", _rgba(style["color"])),
            _opt("outline_width", width_mm),
            _opt("size", round(float(style["size"]) * _PT_TO_MM, 3)),
        ]
        layers.append(_layer("SimpleMarker", opts))
        sym_type = "marker"
    elif kind == "line":
        opts = [
            _opt("line_color", _rgba(colour)),
            _opt("line_width", width_mm),
            *_dash_opts(style, schematic, "line"),
            _opt("capstyle", "round"),
        ]
        layers.append(_layer("SimpleLine", opts))
        sym_type = "line"
    else:
        fill = colour if style.get("categories") else style["fill"]
        opts = [
            _opt("color", _rgba(fill, float(style["fill_opacity"]))),
            _opt("outline_color", _rgba(colour)),
            _opt("outline_width", width_mm),
            *_dash_opts(style, schematic, "outline"),
            _opt("style", "solid"),
        ]
        layers.append(_layer("SimpleFill", opts))
        if schematic:  # hatch on top, no outline of its own: the print maps' schematic look
            layers.append(
                _layer(
                    "SimpleFill",
                    [
                        _opt("color", _rgba(colour, 0.8)),
                        _opt("style", SCHEMATIC_HATCH),
                        _opt("outline_style", "no"),
                        _opt("outline_width", 0),
                        _opt("outline_color", _rgba(colour, 0.0)),
                    ],
                )
            )
        sym_type = "fill"
    return (
        f'<symbol type="{sym_type}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        + "".join(layers)
        + "</symbol>"
    )


def _graduated(style: dict[str, Any], schematic: bool) -> str:
    grad = style["graduated"]
    attr = quoteattr(grad["field"])
    symbols, ranges = [], []
    for i, (lo, hi, colour, label) in enumerate(grad["classes"]):
        symbols.append(_symbol({**style, "fill": colour}, style["color"], str(i), schematic))
        ranges.append(
            f'<range symbol="{i}" lower="{lo}" upper="{hi}" label={quoteattr(label)} '
            'render="true"/>'
        )
    return (
        f'<renderer-v2 type="graduatedSymbol" attr={attr} graduatedMethod="GraduatedColor" '
        'symbollevels="0" enableorderby="0" forceraster="0">'
        f"<ranges>{''.join(ranges)}</ranges><symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )


def qml_for(style: dict[str, Any], *, schematic: bool = False) -> str:
    """A QGIS QML document for a complete style (see :func:`baoshan_gis.style.layer_style`).

    ``schematic``: the layer's features are schematic (dashed, and hatched when polygons).
    """
    cats = style.get("categories")
    if style.get("graduated"):
        renderer = _graduated(style, schematic)
    elif cats:
        values = cats.get("values") or {}
        symbols = "".join(
            _symbol(style, c, str(i), schematic) for i, c in enumerate(values.values())
        )
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
            f"<symbols>{_symbol(style, colour, '0', schematic)}</symbols></renderer-v2>"
        )
    label = style.get("label_field") or "name_zh"
    labeling = (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(label)} fontSize="8" '
        f"fontFamily={quoteattr(LABEL_FONT)} "
        'textColor="40,40,40,255"><text-buffer bufferDraw="1" bufferSize="0.8" '
        'bufferColor="255,255,255,255"/></text-style></settings></labeling>'
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.34.0" styleCategories="Symbology|Labeling">'
        f"{renderer}{labeling}</qgis>\n"
    )


def _css(name: str, value: Any) -> str:
    return f'<se:SvgParameter name="{name}">{escape(str(value))}</se:SvgParameter>'


def _sld_symbolizer(style: dict[str, Any], colour: str, fill: str, schematic: bool) -> str:
    kind = style["kind"]
    width_px = round(float(style["width"]) * 96 / 72, 2)
    pattern = SCHEMATIC_DASH if schematic else style.get("dash")
    dash = _css("stroke-dasharray", " ".join(f"{float(v):g}" for v in pattern)) if pattern else ""
    stroke = (
        f"<se:Stroke>{_css('stroke', colour)}{_css('stroke-width', width_px)}{dash}</se:Stroke>"
    )
    if kind == "point":
        size = round(float(style["size"]) * 96 / 72, 2)
        return (
            "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle"
            f"</se:WellKnownName><se:Fill>{_css('fill', fill)}</se:Fill>{stroke}</se:Mark>"
            f"<se:Size>{size}</se:Size></se:Graphic></se:PointSymbolizer>"
        )
    if kind == "line":
        return f"<se:LineSymbolizer>{stroke}</se:LineSymbolizer>"
    out = (
        f"<se:PolygonSymbolizer><se:Fill>{_css('fill', fill)}"
        f"{_css('fill-opacity', style['fill_opacity'])}</se:Fill>{stroke}</se:PolygonSymbolizer>"
    )
    if schematic:
        out += (
            "<se:PolygonSymbolizer><se:Fill><se:GraphicFill><se:Graphic><se:Mark>"
            "<se:WellKnownName>shape://slash</se:WellKnownName><se:Stroke>"
            f"{_css('stroke', colour)}{_css('stroke-width', 0.6)}</se:Stroke></se:Mark>"
            "<se:Size>6</se:Size></se:Graphic></se:GraphicFill></se:Fill></se:PolygonSymbolizer>"
        )
    return out


def sld_for(style: dict[str, Any], layer: str, *, schematic: bool = False) -> str:
    """An SLD 1.1 document equivalent to :func:`qml_for` (for GeoServer and other SLD readers)."""
    rules = []
    cats = style.get("categories")
    if style.get("graduated"):
        g = style["graduated"]
        for lo, hi, colour, label in g["classes"]:
            flt = (
                "<ogc:Filter><ogc:And><ogc:PropertyIsGreaterThanOrEqualTo>"
                f"<ogc:PropertyName>{escape(g['field'])}</ogc:PropertyName>"
                f"<ogc:Literal>{lo}</ogc:Literal></ogc:PropertyIsGreaterThanOrEqualTo>"
                "<ogc:PropertyIsLessThan>"
                f"<ogc:PropertyName>{escape(g['field'])}</ogc:PropertyName>"
                f"<ogc:Literal>{hi}</ogc:Literal></ogc:PropertyIsLessThan></ogc:And></ogc:Filter>"
            )
            sym = _sld_symbolizer(style, style["color"], colour, schematic)
            rules.append(f"<se:Rule><se:Name>{escape(label)}</se:Name>{flt}{sym}</se:Rule>")
    elif cats:
        field = cats.get("field", "category")
        for value, colour in (cats.get("values") or {}).items():
            flt = (
                "<ogc:Filter><ogc:PropertyIsEqualTo>"
                f"<ogc:PropertyName>{escape(field)}</ogc:PropertyName>"
                f"<ogc:Literal>{escape(str(value))}</ogc:Literal></ogc:PropertyIsEqualTo>"
                "</ogc:Filter>"
            )
            sym = _sld_symbolizer(style, colour, colour, schematic)
            name = escape(category_label(style, value))
            rules.append(f"<se:Rule><se:Name>{name}</se:Name>{flt}{sym}</se:Rule>")
    else:
        colour = style["fill"] if style["kind"] == "point" else style["color"]
        stroke = style["color"] if style["kind"] == "point" else colour
        sym = _sld_symbolizer(style, stroke, style["fill"], schematic)
        rules.append(f"<se:Rule><se:Name>{escape(layer)}</se:Name>{sym}</se:Rule>")
    label = escape(style.get("label_field") or "name_zh")
    rules.append(
        "<se:Rule><se:TextSymbolizer><se:Label>"
        f"<ogc:PropertyName>{label}</ogc:PropertyName></se:Label><se:Font>"
        f"{_css('font-family', LABEL_FONT)}{_css('font-size', 11)}</se:Font>"
        "</se:TextSymbolizer></se:Rule>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:xlink="http://www.w3.org/1999/xlink">'
        f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(layer)}"
        f"</se:Name><se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle>"
        "</NamedLayer></StyledLayerDescriptor>\n"
    )


_SHARE_CLASSES = [
    (0.0, 0.2, "#fee5d9", "0–20 %"),
    (0.2, 0.4, "#fcae91", "20–40 %"),
    (0.4, 0.6, "#fb6a4a", "40–60 %"),
    (0.6, 0.8, "#de2d26", "60–80 %"),
    (0.8, 1.000001, "#a50f15", "80–100 %"),
]
_DENSITY_CLASSES = [
    (0.0, 0.25, "#eff3ff", "0–0.25 /km²"),
    (0.25, 0.5, "#bdd7e7", "0.25–0.5 /km²"),
    (0.5, 1.0, "#6baed6", "0.5–1 /km²"),
    (1.0, 2.0, "#3182bd", "1–2 /km²"),
    (2.0, 1e9, "#08519c", "≥ 2 /km²"),
]


def analysis_style(name: str, geometry_type: str | None) -> dict[str, Any] | None:
    """The style of an ``analysis_*`` layer (``None`` for other names)."""
    if not name.startswith("analysis_"):
        return None
    base = {
        "color": "#444444",
        "fill": "#999999",
        "fill_opacity": 0.6,
        "width": 0.5,
        "size": 7.0,
        "dash": None,
        "label_field": "name_zh",
        "categories": None,
    }
    if "Point" in (geometry_type or ""):
        if name.startswith("analysis_sites"):
            return {
                **base,
                "kind": "point",
                "marker": "star",
                "fill": "#e31a1c",
                "color": "#ffffff",
                "label_field": "rank",
            }
        return {**base, "kind": "point"}
    if "Line" in (geometry_type or ""):
        return {**base, "kind": "line"}
    if name.startswith("analysis_gaps"):
        return {
            **base,
            "kind": "fill",
            "fill": "#e31a1c",
            "color": "#99000d",
            "fill_opacity": 0.45,
            "label_field": "rank_area",
        }
    if name.startswith("analysis_sites"):  # robustness areas of suggested sites
        return {
            **base,
            "kind": "fill",
            "fill": "#fd8d3c",
            "color": "#e31a1c",
            "fill_opacity": 0.35,
            "label_field": "rank",
        }
    if "coverage" in name:
        return {
            **base,
            "kind": "fill",
            "graduated": {"field": "covered_share", "classes": _SHARE_CLASSES},
        }
    if "density" in name:
        label = "name_zh" if "zones" in name else "count"
        return {
            **base,
            "kind": "fill",
            "label_field": label,
            "graduated": {"field": "per_km2", "classes": _DENSITY_CLASSES},
        }
    return {**base, "kind": "fill"}
