"""Interactive pages: one Folium (Leaflet) page per map definition, working offline.

The page draws the same layers and symbols as the print map (through
:func:`baoshan_gis.render._prepare.prepare_map`): a layer control, a legend, a bilingual title,
popups with the truth fields of every feature, schematic features dashed, fitted to the map's
extent. Leaflet's files come from an installed package (:mod:`baoshan_gis.render._assets`) at
relative URLs, never from a CDN.

Basemaps: ``none`` (the default: no tiles, works with no internet), ``osm`` (OpenStreetMap
tiles) and ``amap`` (高德 tiles, which are in GCJ-02: every overlay is shifted with
:func:`baoshan_gis.coords.wgs84_to_gcj02` so it lines up with them). Attribution is always shown.

Every attribute shown is HTML-escaped in the browser (``bgEsc``) and the data are embedded as
JSON with ``<``, ``>`` and ``&`` escaped, so imported text can never become markup or script.
"""

from __future__ import annotations

import html
import json
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from baoshan_gis._errors import InvalidInput
from baoshan_gis.render._assets import asset_url, write_assets
from baoshan_gis.render._prepare import (
    ACCURACY_COLOR,
    LayerData,
    PreparedMap,
    member_noun,
    prepare_map,
)
from baoshan_gis.render.mapdefs import MapDef
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION, WEB_MERCATOR, WGS84

if TYPE_CHECKING:
    import folium
    import geopandas as gpd
    from branca.element import Figure

#: Basemaps of the interactive pages.
BASEMAPS: tuple[str, ...] = ("none", "osm", "amap")
#: Basemaps whose tiles are in GCJ-02 (overlays are shifted to match).
GCJ02_BASEMAPS: frozenset[str] = frozenset({"amap"})
_AMAP_URL = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
             "&x={x}&y={y}&z={z}")
_AMAP_ATTRIBUTION = "底图 Basemap © 高德地图 AutoNavi (GCJ-02)"
#: Decimal places of coordinates in pages (1e-6 degree is about 0.1 m).
PAGE_PRECISION = 6
#: Simplification tolerance in metres (features stay within this of the stored geometry).
PAGE_SIMPLIFY_M = 0.5

_FIELD_LABELS: list[tuple[str, str]] = [
    ("name_zh", "名称"),
    ("name_en", "Name"),
    ("category", "类别 Category"),
    ("status", "状态 Status"),
    ("plan_ref", "规划依据 Plan ref."),
    ("geometry_quality", "几何质量 Geometry"),
    ("accuracy_m", "定位精度 Accuracy (m)"),
    ("source", "来源 Source"),
]
_VALUE_LABELS = {
    "status": {"existing": "现状 existing", "planned": "规划 planned",
               "under construction": "在建 under construction"},
    "geometry_quality": {"surveyed": "实测 surveyed", "approximate": "近似 approximate",
                         "schematic": "示意 schematic"},
}


def _page_file(name: str) -> str:
    return (Path(__file__).parent / "folium_page" / name).read_text(encoding="utf-8")


#: The page's own script (popups, tooltips, grouped markers; ``%(fields)s`` and ``%(values)s``
#: are filled with the bilingual field and value labels) and styles (title, legend, popups),
#: from ``folium_page/``, embedded in every page.
_HELPERS_JS = _page_file("helpers.js")
_CSS = _page_file("page.css")



def _js_json(value: Any) -> str:
    """Compact JSON safe to embed in a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def shift_to_gcj02(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of a WGS84 frame with every coordinate moved to GCJ-02 (for Amap basemaps)."""
    import shapely

    from baoshan_gis.coords import wgs84_to_gcj02

    def _shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    out = frame.copy()
    out[out.geometry.name] = shapely.transform(frame.geometry.to_numpy(), _shift)
    return out


def _page_geojson(ld: LayerData, *, basemap: str, precision: int, simplify_m: float
                  ) -> dict[str, Any]:
    import shapely

    assert ld.frame is not None
    frame = ld.frame
    if simplify_m > 0 and ld.kind != "point":
        metric = frame.to_crs(METRIC_CRS)
        metric[metric.geometry.name] = metric.geometry.simplify(simplify_m,
                                                                preserve_topology=True)
        frame = metric.to_crs(WGS84)
    if basemap in GCJ02_BASEMAPS:
        frame = shift_to_gcj02(frame)
    geoms = shapely.set_precision(frame.geometry.to_numpy(), 0)  # normalise empty parts
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, precision))
    props_frame = frame.drop(columns=frame.geometry.name)
    features = []
    for geom, rec in zip(geoms, props_frame.to_dict("records"), strict=True):
        props = {k: _plain(v) for k, v in rec.items()}
        features.append({"type": "Feature", "properties": props,
                         "geometry": json.loads(shapely.to_geojson(geom))})
    if ld.kind == "point" and len(ld.groups) < len(features):
        features = [_group_feature([features[i] for i in g]) for g in ld.groups]
    return {"type": "FeatureCollection", "features": features}


def _group_feature(members: list[dict[str, Any]]) -> dict[str, Any]:
    """One feature for co-located points: the first's properties plus ``_members`` (all)."""
    if len(members) == 1:
        return members[0]
    props = {**members[0]["properties"], "_n": len(members),
             "_members": [m["properties"] for m in members]}
    return {"type": "Feature", "properties": props, "geometry": members[0]["geometry"]}


def _delta(coords: Any, scale: float) -> list[int]:
    ints = np.rint(np.asarray(coords, dtype="float64").reshape(-1, 2) * scale).astype("int64")
    return np.diff(ints, axis=0, prepend=0).ravel().tolist()


def _encode_geometry(g: dict[str, Any], scale: float) -> dict[str, Any]:
    t = g["type"]
    c: Any = g.get("coordinates")  # None only for types returned unchanged below
    if t == "LineString":
        return {"t": t, "c": _delta(c, scale)}
    if t in ("Polygon", "MultiLineString"):
        return {"t": t, "c": [_delta(r, scale) for r in c]}
    if t == "MultiPolygon":
        return {"t": t, "c": [[_delta(r, scale) for r in p] for p in c]}
    return g


def columnar(fc: dict[str, Any], *, precision: int = PAGE_PRECISION) -> dict[str, Any]:
    """A compact, column-wise form of a FeatureCollection (decoded in the page by ``bgDecode``).

    Repeated values are stored once with an index per feature, constant columns once.
    Coordinates are integers in units of ``10**-precision`` degrees, each the difference from the
    previous one (point layers as one flat ``xy`` list), which keeps the precision of the rounded
    coordinates exactly while taking a third of the bytes.
    """
    scale = float(10**precision)
    feats = fc["features"]
    n = len(feats)
    keys = list(dict.fromkeys(k for f in feats for k in f["properties"]))
    cols: dict[str, Any] = {}
    for k in keys:
        values = [f["properties"].get(k) for f in feats]
        distinct = list(dict.fromkeys(json.dumps(v, ensure_ascii=False) for v in values))
        if len(distinct) == 1:
            cols[k] = {"c": values[0]}
        elif len(distinct) <= n / 2:
            pos = {d: i for i, d in enumerate(distinct)}
            cols[k] = {"d": [json.loads(d) for d in distinct],
                       "i": [pos[json.dumps(v, ensure_ascii=False)] for v in values]}
        else:
            cols[k] = values
    out: dict[str, Any] = {"n": n, "p": cols, "s": scale}
    if n and all(f["geometry"]["type"] == "Point" for f in feats):
        out["xy"] = _delta([f["geometry"]["coordinates"] for f in feats], scale)
    else:
        out["g"] = [_encode_geometry(f["geometry"], scale) for f in feats]
    return out


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool):
        return v
    return str(v)


def _layer_style_js(ld: LayerData) -> dict[str, Any]:
    st = ld.style
    dash = st.get("dash")
    return {
        "title": ld.title,
        "color": st["color"],
        "fill": st.get("fill", st["color"]),
        "fillOpacity": (0.9 if ld.kind == "point" else
                        min(float(st.get("fill_opacity", 0.3)), 0.35 if ld.spec.context else 1.0)
                        if ld.kind == "fill" else 0.0),
        "weight": float(st.get("width", 1.0)) * 1.3,
        "radius": float(st.get("size", 5.0)) * 0.9,
        "dash": " ".join(str(d * 1.3) for d in dash) if dash else None,
        "interactive": bool(ld.spec.interactive),
        "cats": dict((st.get("categories") or {}).get("labels") or {}),
        "catField": (st.get("categories") or {}).get("field"),
        "catColors": dict((st.get("categories") or {}).get("values") or {}),
        "accuracy": (str(st.get("accuracy_color", ACCURACY_COLOR))
                     if ld.accuracy_circles and ld.kind == "point" else None),
        "unitZh": member_noun(ld.spec.source)[0],
        "unitEn": member_noun(ld.spec.source)[1],
    }


def _legend_html(pm: PreparedMap, basemap: str) -> str:
    esc = html.escape
    rows = []
    for ld in pm.layers:
        if not ld.spec.legend:
            continue
        for e in ld.legend:
            border = "dashed" if e.dashed else "solid"
            if e.kind == "fill":
                sw = (f"<span class='sw' style='background:{esc(e.fill or e.color)}cc;"
                      f"border:2px {border} {esc(e.color)};opacity:.85'></span>")
            elif e.kind == "line":
                sw = (f"<span class='sw' style='height:0;border-top:3px {border} "
                      f"{esc(e.color)}'></span>")
            elif e.kind == "group":
                cols = list(e.colors or (e.fill or e.color,))
                step = 360 / len(cols)
                stops = ",".join(f"{esc(c)} {k * step:.0f}deg {(k + 1) * step:.0f}deg"
                                 for k, c in enumerate(cols))
                sw = f"<span class='sw grp' style='background:conic-gradient({stops})'></span>"
            elif e.kind == "accuracy":
                sw = (f"<span class='sw acc' style='background:{esc(e.color)}18;"
                      f"border-color:{esc(e.color)}'></span>")
            elif e.kind == "point":
                sw = (f"<span class='sw pt' style='background:{esc(e.fill or e.color)};"
                      f"border:1px solid {esc(e.color)}'></span>")
            else:
                sw = ("<span class='sw' style='background:linear-gradient(90deg,#ffffcc,"
                      "#fd8d3c,#bd0026)'></span>")
            rows.append(f"<div>{sw}{esc(e.label)}</div>")
    notes = list(pm.notes)
    if basemap in GCJ02_BASEMAPS:
        notes.append("叠加图层已转换为 GCJ-02 以对齐高德底图。Overlays shifted to GCJ-02 to match "
                     "the Amap basemap.")
    note_html = "".join(f"<div class='note'>{esc(n)}</div>" for n in notes)
    return (f"<div class='bg-legend' id='bg-legend'><b>{esc(pm.mapdef.legend_title)}</b>"
            f"{''.join(rows)}{note_html}</div>")


def build_page(
    mapdef: MapDef | str,
    gpkg: str | os.PathLike[str],
    *,
    basemap: str = "none",
    asset_url_prefix: str = "assets/",
    precision: int = PAGE_PRECISION,
    simplify_m: float = PAGE_SIMPLIFY_M,
    prepared: PreparedMap | None = None,
) -> folium.Map:
    """Build the Folium map of a map definition (see :func:`render_page_html`)."""
    import folium
    from branca.element import Element

    if basemap not in BASEMAPS:
        raise InvalidInput(f"basemap {basemap!r} is not one of {', '.join(BASEMAPS)}")
    pm = prepared or prepare_map(mapdef, gpkg)
    x0, y0, x1, y1 = pm.extent
    if basemap in GCJ02_BASEMAPS:
        from baoshan_gis.coords import wgs84_to_gcj02

        (x0, x1), (y0, y1) = wgs84_to_gcj02(np.array([x0, x1]), np.array([y0, y1]))
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=11, tiles=None,
                   control_scale=True, min_zoom=8, max_zoom=19)
    # Leaflet from the installed package, at relative URLs: no CDN, nothing else.
    m.default_js = [("leaflet", asset_url(asset_url_prefix, "leaflet.js"))]
    m.default_css = [("leaflet_css", asset_url(asset_url_prefix, "leaflet.css"))]
    fig = cast("Figure", m.get_root())  # a Map's root is always a branca Figure
    fig.header.add_child(Element(f"<title>{html.escape(pm.mapdef.title)}</title>"),
                         name="bg_title")
    # No favicon request (the page must load without a single failed request).
    fig.header.add_child(Element('<link rel="icon" href="data:,">'), name="bg_icon")
    # Chinese text uses the browser's CJK fonts: no 8 MB web font to download.
    fig.header.add_child(Element(f"<style>{_CSS}</style>"), name="bg_css")
    helpers = _HELPERS_JS % {"fields": _js_json(_FIELD_LABELS), "values": _js_json(_VALUE_LABELS)}
    fig.header.add_child(Element(f"<script>{helpers}</script>"), name="bg_helpers")

    if basemap == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap 底图", attr=OSM_ATTRIBUTION,
                         overlay=False, control=True).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(tiles=_AMAP_URL, attr=_AMAP_ATTRIBUTION, name="高德地图 Amap (GCJ-02)",
                         subdomains="1234", overlay=False, control=True, max_zoom=18).add_to(m)

    for ld in pm.layers:
        group = folium.FeatureGroup(name=html.escape(ld.title), overlay=True, control=True,
                                    show=True)
        if ld.kind == "raster":
            _add_raster(group, ld, basemap)
        elif ld.frame is not None and len(ld.frame):
            data = _page_geojson(ld, basemap=basemap, precision=precision,
                                 simplify_m=simplify_m)
            group.add_child(_GeoJsonLayer(columnar(data, precision=precision),
                                          _layer_style_js(ld)))
        group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    attributions = [*list(pm.attributions), "baoshan-gis"]
    if basemap == "osm" and OSM_ATTRIBUTION not in attributions:
        attributions.insert(0, OSM_ATTRIBUTION)
    fig.html.add_child(Element(
        f"<div class='bg-title'><h1>{html.escape(pm.mapdef.title_zh)}</h1>"
        f"<p>{html.escape(pm.mapdef.title_en)}</p></div>" + _legend_html(pm, basemap)))
    m.add_child(_Attribution(attributions))
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def _add_raster(group: folium.FeatureGroup, ld: LayerData, basemap: str) -> None:
    import base64
    import io

    import folium
    from matplotlib import colormaps
    from PIL import Image

    arr, bounds = _raster_web(ld.raster_path)  # type: ignore[arg-type]
    if basemap in GCJ02_BASEMAPS:
        from baoshan_gis.coords import wgs84_to_gcj02

        cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        gx, gy = wgs84_to_gcj02(cx, cy)
        dx, dy = gx - cx, gy - cy
        bounds = (bounds[0] + dx, bounds[1] + dy, bounds[2] + dx, bounds[3] + dy)
    vmax = float(arr.max()) if arr.count() else 1.0
    rgba = colormaps[ld.spec.colormap]((arr.filled(0) / (vmax or 1.0)), bytes=True)
    rgba[..., 3] = np.where(arr.mask, 0, int(255 * ld.spec.opacity))
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    folium.raster_layers.ImageOverlay(url, bounds=[[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
                                      interactive=False, zindex=1).add_to(group)


def _raster_web(path: Path) -> tuple[np.ma.MaskedArray, tuple[float, float, float, float]]:
    """The raster in Web Mercator (so Leaflet's image overlay is exact), bounds in WGS84."""
    import rasterio
    from rasterio.transform import array_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds

    with warnings.catch_warnings(), rasterio.open(path) as src:
        # rasterio calls affine's deprecated '*' operator; not ours to fix.
        warnings.filterwarnings("ignore", message="Use `@` matmul",
                                category=PendingDeprecationWarning)
        data = src.read(1, masked=True).astype("float64").filled(np.nan)
        tr, w, h = calculate_default_transform(src.crs, WEB_MERCATOR, src.width, src.height,
                                               *src.bounds)
        out = np.full((h, w), np.nan)
        reproject(data, out, src_transform=src.transform, src_crs=src.crs, dst_transform=tr,
                  dst_crs=WEB_MERCATOR, resampling=Resampling.bilinear, src_nodata=np.nan,
                  dst_nodata=np.nan)
    b = array_bounds(h, w, tr)
    west, south, east, north = transform_bounds(WEB_MERCATOR, WGS84, b[0], b[1], b[2], b[3])
    arr = np.ma.masked_invalid(out)
    if arr.count():
        arr = np.ma.masked_less(arr, 0.02 * float(arr.max()))
    return arr, (west, south, east, north)


def _macro(template: str) -> Any:
    from branca.element import MacroElement
    from jinja2 import Template

    class _M(MacroElement):
        _template = Template(template)

    return _M


class _GeoJsonLayer:
    """Factory of the compact GeoJSON layer element (a Folium MacroElement)."""

    _TEMPLATE = """{% macro script(this, kwargs) %}
    bgCircles(L.geoJson(bgDecode({{ this.data_js }}), {style: bgStyle({{ this.style_js }}),
        pointToLayer: bgPoint({{ this.style_js }}),
        onEachFeature: bgPopup({{ this.style_js }})}), {{ this.style_js }},
        {{ this._parent.get_name() }});
{% endmacro %}"""

    def __new__(cls, data: dict[str, Any], style: dict[str, Any]) -> Any:  # type: ignore[misc]
        el = _macro(cls._TEMPLATE)()
        el._name = "BgGeoJson"
        el.data_js = _js_json(data)
        el.style_js = _js_json(style)
        return el


class _Attribution:
    """Factory of the element adding the attributions to Leaflet's attribution control."""

    _TEMPLATE = """{% macro script(this, kwargs) %}
    {% for a in this.items %}{{ this._parent.get_name() }}.attributionControl.addAttribution(
        {{ a }});
    {% endfor %}
{% endmacro %}"""

    def __new__(cls, items: list[str]) -> Any:  # type: ignore[misc]
        el = _macro(cls._TEMPLATE)()
        el._name = "BgAttribution"
        el.items = [_js_json(html.escape(a)) for a in items]
        return el


def render_page_html(
    name: MapDef | str,
    gpkg: str | os.PathLike[str],
    *,
    asset_url_prefix: str = "assets/",
    basemap: str = "none",
) -> str:
    """The complete HTML of a map's interactive page.

    Parameters
    ----------
    name
        Map name (see ``baoshan-gis map list``) or definition.
    gpkg
        The plan GeoPackage.
    asset_url_prefix
        URL prefix under which Leaflet's files (:func:`baoshan_gis.render.asset_files`) are
        served: ``"assets/"`` for pages written with :func:`write_page`, or the service's route.
    basemap
        ``"none"`` (default; no tiles, works offline), ``"osm"`` or ``"amap"`` (GCJ-02; overlays
        are shifted to match).
    """
    m = build_page(name, gpkg, basemap=basemap, asset_url_prefix=asset_url_prefix)
    return m.get_root().render()


def write_page(
    name: MapDef | str,
    gpkg: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    basemap: str = "none",
    assets: bool = True,
) -> Path:
    """Write a map's page to ``out`` and Leaflet's files to ``assets/`` beside it."""
    from baoshan_gis.gpkg import atomic_path

    out = Path(out)
    text = render_page_html(name, gpkg, basemap=basemap, asset_url_prefix="assets/")
    with atomic_path(out, copy_existing=False) as tmp:
        tmp.write_text(text, encoding="utf-8")
    if assets:
        write_assets(out.parent / "assets")
    return out
