"""Print maps: every map in every format, page size, text in SVG/PDF, a true scale bar, labels."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.transforms import Bbox

from baoshan_gis import settings
from baoshan_gis._errors import LayerNotFound
from baoshan_gis.render import load_maps
from baoshan_gis.render._fonts import rc_params
from baoshan_gis.render._labels import LabelRequest, place_labels
from baoshan_gis.render._prepare import SCHEMATIC_NOTE, prepare_map
from baoshan_gis.render.mapdefs import MapDef, MapLayer
from baoshan_gis.render.print_map import draw_map, render_print
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION, WGS84
from tests._render_data import COLOCATED, make_colocated_gpkg, make_gpkg

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_gpkg(tmp_path_factory.mktemp("render") / "syn.gpkg")


@pytest.mark.parametrize("name", sorted(load_maps()))
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_every_map_renders_in_every_format(gpkg: Path, tmp_path: Path, name: str,
                                           fmt: str) -> None:
    out = render_print(name, gpkg, tmp_path / f"{name}.{fmt}", dpi=40)
    data = out.read_bytes()
    magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}[fmt]
    assert data.startswith(magic)
    assert len(data) > 5_000


@pytest.mark.parametrize(("paper", "landscape", "dpi", "size_mm"), [
    ("A4", False, 72, (210, 297)),
    ("A3", True, 50, (420, 297)),
])
def test_png_pixel_size_and_dpi(gpkg: Path, tmp_path: Path, paper: str, landscape: bool,
                                dpi: int, size_mm: tuple[int, int]) -> None:
    from PIL import Image

    out = render_print("wusong", gpkg, tmp_path / "m.png", dpi=dpi, paper=paper,
                       landscape=landscape)
    with Image.open(out) as img:
        w, h = img.size
        got_dpi = img.info["dpi"]
    assert abs(w - size_mm[0] / 25.4 * dpi) <= 1
    assert abs(h - size_mm[1] / 25.4 * dpi) <= 1
    assert round(got_dpi[0]) == dpi and round(got_dpi[1]) == dpi


def test_svg_and_pdf_hold_the_chinese_title_as_text(gpkg: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    title = load_maps()["zhangjiang_park"].title_zh
    svg = render_print("zhangjiang_park", gpkg, tmp_path / "m.svg").read_text(encoding="utf-8")
    assert f">{title}<" in svg.replace("&#8220;", "“").replace("&#8221;", "”")
    pdf = render_print("zhangjiang_park", gpkg, tmp_path / "m.pdf")
    text = PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text()
    assert title in text.replace(" ", "")


def _figure(gpkg: Path, name: str, **kw: object) -> matplotlib.figure.Figure:
    pm = prepare_map(name, gpkg)
    with matplotlib.rc_context(rc_params()):
        fig = draw_map(pm, dpi=100, **kw)  # type: ignore[arg-type]
        fig.canvas.draw()
    return fig


def test_scale_bar_matches_geodesic_distance(gpkg: Path) -> None:
    from matplotlib_scalebar.scalebar import ScaleBar
    from pyproj import Geod, Transformer

    fig = _figure(gpkg, "innovation_belt")
    ax = fig.axes[0]
    bars = [a for a in ax.artists if isinstance(a, ScaleBar)]
    assert len(bars) == 1
    info = bars[0]._info
    metres = info.value * {"m": 1.0, "km": 1000.0}[info.units]
    # The bar's data length in UTM metres, at the bar's place on the map.
    x0, y0 = ax.transData.inverted().transform((info.window_extent.x0, info.window_extent.y0))
    x1 = x0 + info.length_px
    to_ll = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([x0, x1], [y0, y0])
    _, _, dist = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    assert abs(dist - metres) / metres < 0.01
    # And the bar drawn on the page has the length of those metres at the map's scale.
    px = ax.transData.transform((x1, y0))[0] - ax.transData.transform((x0, y0))[0]
    frame = ax.get_window_extent()
    assert px == pytest.approx(info.length_px / (ax.get_xlim()[1] - ax.get_xlim()[0])
                               * frame.width, rel=1e-6)


def test_labels_do_not_overlap(gpkg: Path) -> None:
    fig = _figure(gpkg, "carriers_overview")
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "map-label"]
    assert len(labels) >= 8
    boxes = [t.get_window_extent(renderer) for t in labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_greedy_placement_drops_labels_that_cannot_fit() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 3), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    reqs = [LabelRequest(f"标签{i}", 50, 50, size=9) for i in range(20)]
    with matplotlib.rc_context(rc_params()):
        kept = place_labels(ax, reqs, renderer=renderer)
    assert 2 <= len(kept) <= 8  # at most one per candidate position around the point
    boxes = [t.get_window_extent(renderer) for t in kept]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    assert len(ax.texts) == len(kept)  # rejected candidates are removed


def test_notes_and_attribution(gpkg: Path) -> None:
    pm = prepare_map("metro_corridors", gpkg)
    assert pm.notes[0] == SCHEMATIC_NOTE
    assert OSM_ATTRIBUTION in pm.attributions
    fig = _figure(gpkg, "metro_corridors")
    texts = " ".join(t.get_text() for t in fig.texts)
    assert OSM_ATTRIBUTION in texts
    assert "示意" in texts and "19" in texts


def test_missing_analysis_outputs_name_the_report_command(tmp_path: Path) -> None:
    plain = make_gpkg(tmp_path / "plain.gpkg", analysis=False)
    with pytest.raises(LayerNotFound) as exc:
        render_print("density_coverage", plain, tmp_path / "d.png", dpi=40)
    assert "baoshan-gis report" in str(exc.value)
    assert not (tmp_path / "d.png").exists()


@pytest.mark.slow
def test_real_build_renders(built_gpkg: Path, tmp_path: Path) -> None:
    from PIL import Image

    out = render_print("innovation_belt", built_gpkg, tmp_path / "belt.png", dpi=60)
    with Image.open(out) as img:
        assert abs(img.size[0] - 210 / 25.4 * 60) <= 1
        assert abs(img.size[1] - 297 / 25.4 * 60) <= 1
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 200


# --- co-located points, callouts and accuracy circles -------------------------------------------

def _colocated_map(**carriers: object) -> MapDef:
    layer = {"labels": True, "label_size": 6.5, **carriers}
    return MapDef(name="colocated", title_zh="测试同位", title_en="Co-located test",
                  description="test", extent="carriers", padding=0.6,
                  layers=(MapLayer("district", context=True), MapLayer("carriers", **layer)))


@pytest.fixture(scope="module")
def colocated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_colocated_gpkg(tmp_path_factory.mktemp("coloc") / "coloc.gpkg")


def _draw(mapdef: MapDef | str, gpkg: Path) -> matplotlib.figure.Figure:
    pm = prepare_map(mapdef, gpkg)
    with matplotlib.rc_context(rc_params()):
        fig = draw_map(pm, dpi=100)
        fig.canvas.draw()
    return fig


def _flat(text: str) -> str:
    return "".join(line.strip().removeprefix("· ") for line in text.splitlines())


def test_colocated_points_get_one_symbol_and_one_callout(colocated: Path) -> None:
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_hex

    from baoshan_gis.style import layer_style

    fig = _draw(_colocated_map(), colocated)
    ax = fig.axes[0]
    singles = [c for c in ax.collections
               if isinstance(c, PathCollection) and c.get_gid() == "point-markers"]
    counts = [t for t in ax.texts if t.get_gid() == "group-count"]
    assert sum(len(c.get_offsets()) for c in singles) + len(counts) == 2
    assert [t.get_text() for t in counts] == ["3"]
    # The ring has one segment per member, in the members' category colours.
    wedges = [p for p in ax.patches if p.get_gid() == "group-marker"]
    cats = layer_style("carriers")["categories"]["values"]
    assert sorted(to_hex(w.get_facecolor()) for w in wedges) == sorted(
        cats[c] for c in ("lab", "university_science_park", "innovation_platform"))
    labels = [t for t in ax.texts if t.get_gid() == "map-label"]
    assert len(labels) == 2
    callout = next(t for t in labels if "\n" in t.get_text())
    flat = _flat(callout.get_text())
    for name in COLOCATED:
        assert name in flat
    assert "测试独立载体" not in flat
    # Header: the members' largest accuracy (4.9 km), and the count.
    assert callout.get_text().splitlines()[0] == "位置近似 ±4.9 km · 3 个载体"
    # Long names are wrapped.
    assert max(len(line) for line in callout.get_text().splitlines()) < len(COLOCATED[2])
    assert any(t.get_text() == "测试独立载体" for t in labels)


def test_callout_and_labels_do_not_overlap(colocated: Path) -> None:
    from baoshan_gis.render._labels import callout_box

    fig = _draw(_colocated_map(), colocated)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_gid() == "map-label"]
    boxes = [callout_box(t, renderer) if "\n" in t.get_text() else t.get_window_extent(renderer)
             for t in labels]
    # The frame drawn around the callout is the box the placer reserved.
    callout = next(t for t in labels if "\n" in t.get_text())
    drawn = callout.get_bbox_patch().get_window_extent(renderer)
    assert drawn.x0 >= callout_box(callout, renderer).x0 - 1.5
    assert drawn.x1 <= callout_box(callout, renderer).x1 + 1.5
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    # No label covers a symbol.
    xy = ax.transData.transform(np.array(
        prepare_map(_colocated_map(), colocated).layers[1].group_xy(METRIC_CRS)))
    for box in boxes:
        for x, y in xy:
            assert not box.contains(x, y)


def _circle_radii(ax: matplotlib.axes.Axes) -> list[tuple[float, float, float]]:
    out = []
    for p in ax.patches:
        if p.get_gid() != "accuracy-circle":
            continue
        verts = p.get_patch_transform().transform(p.get_path().vertices)
        x0, y0 = verts.min(axis=0)
        x1, y1 = verts.max(axis=0)
        assert x1 - x0 == pytest.approx(y1 - y0, rel=1e-6)  # round in the metric CRS
        out.append(((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2))
    return out


def test_accuracy_circles_have_the_radius_of_accuracy_m(colocated: Path) -> None:
    from pyproj import Geod, Transformer

    fig = _draw(_colocated_map(), colocated)
    circles = _circle_radii(fig.axes[0])
    to_ll = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)
    geod = Geod(ellps="WGS84")
    got = []
    for cx, cy, r in circles:
        # The circle's radius, measured on the ellipsoid, east and north of its centre.
        lon0, lat0 = to_ll.transform(cx, cy)
        for ex, ey in ((cx + r, cy), (cx, cy + r)):
            lon1, lat1 = to_ll.transform(ex, ey)
            got.append(geod.inv(lon0, lat0, lon1, lat1)[2])
    # One circle per distinct accuracy at the shared point (4900, 3000), one for the other.
    assert sorted(round(r, -1) for r in got[::2]) == [800.0, 3000.0, 4900.0]
    for expected, true_m in zip(sorted(got[::2]), [800.0, 3000.0, 4900.0], strict=True):
        assert expected == pytest.approx(true_m, rel=0.01)
    # Centred on the points.
    frame = prepare_map(_colocated_map(), colocated).layers[1].frame.to_crs(METRIC_CRS)
    far = frame.geometry.iloc[3]
    assert any(abs(cx - far.x) < 1 and abs(cy - far.y) < 1 and r < 1000 for cx, cy, r in circles)


@pytest.mark.parametrize(("setting", "source", "expected"), [
    (None, "carriers", 3),  # on by default for carriers
    (False, "carriers", 0),
])
def test_accuracy_circles_are_configurable(colocated: Path, setting: bool | None, source: str,
                                           expected: int) -> None:
    md = _colocated_map(accuracy_circles=setting)
    pm = prepare_map(md, colocated)
    fig = _draw(md, colocated)
    assert len(_circle_radii(fig.axes[0])) == expected
    notes = " ".join(pm.notes)
    assert ("accuracy_m" in notes and "浅色虚线圆" in notes) == bool(expected)
    kinds = [e.kind for e in pm.layers[1].legend]
    assert ("accuracy" in kinds) == bool(expected)
    assert "group" in kinds


def test_other_point_layers_have_no_circles_by_default() -> None:
    assert not MapLayer("metro_stations").draws_accuracy_circles
    assert MapLayer("metro_stations", accuracy_circles=True).draws_accuracy_circles
    assert MapLayer("carriers").draws_accuracy_circles


def test_grouping_can_be_switched_off(colocated: Path) -> None:
    from matplotlib.collections import PathCollection

    fig = _draw(_colocated_map(group_within_m=0.0), colocated)
    ax = fig.axes[0]
    assert not [t for t in ax.texts if t.get_gid() == "group-count"]
    pts = sum(len(c.get_offsets()) for c in ax.collections
              if isinstance(c, PathCollection) and c.get_gid() == "point-markers")
    assert pts == 4


def test_points_of_one_name_stay_one_plain_symbol(tmp_path: Path) -> None:
    """An interchange station (two lines, one name, one point) keeps one marker and label."""
    import geopandas as gpd
    from shapely.geometry import Point

    from baoshan_gis.gpkg import write_frame

    path = tmp_path / "st.gpkg"
    pts = gpd.GeoSeries([Point(121.40, 31.33), Point(121.40, 31.33), Point(121.43, 31.35)],
                        crs=4326)
    write_frame(path, gpd.GeoDataFrame({"name_zh": ["换乘站", "换乘站", "普通站"],
                                        "geometry_quality": "surveyed", "accuracy_m": 5.0},
                                       geometry=pts), "metro_stations")
    md = MapDef(name="st", title_zh="站", title_en="Stations", description="t",
                extent="metro_stations", padding=0.5,
                layers=(MapLayer("metro_stations", labels=True),))
    ax = _draw(md, path).axes[0]
    assert not [t for t in ax.texts if t.get_gid() == "group-count"]
    assert sorted(t.get_text() for t in ax.texts if t.get_gid() == "map-label") == [
        "换乘站", "普通站"]


def test_colocated_groups_use_metres_in_any_crs() -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from baoshan_gis.render._prepare import colocated_groups

    base = gpd.GeoSeries([Point(340_000, 3_468_000)], crs=32651)
    offsets = [(0, 0), (0.6, 0), (50, 0), (0.6, 0.7), (2.5, 0)]
    pts = gpd.GeoSeries([Point(base.x[0] + dx, base.y[0] + dy) for dx, dy in offsets],
                        crs=32651).to_crs(4326)
    frame = gpd.GeoDataFrame(geometry=pts)
    # 0-1 are 0.6 m apart, 1-3 0.7 m: one group (transitive); 4 is 1.9 m from 1.
    assert colocated_groups(frame) == [(0, 1, 3), (2,), (4,)]
    assert colocated_groups(frame, within_m=2.0) == [(0, 1, 3, 4), (2,)]
    assert colocated_groups(frame, within_m=0) == [(0,), (1,), (2,), (3,), (4,)]


def test_callouts_use_leader_lines_and_avoid_each_other() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from baoshan_gis.render._labels import _segment_hits_box, callout_box

    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    text = "位置近似 ±1.5 km · 4 个载体\n· 甲\n· 乙\n· 丙\n· 丁"
    reqs = [*[LabelRequest(text.replace("甲", f"甲{i}"), 44 + 3 * i, 50, size=7, callout=True,
                           gap=6) for i in range(5)],
            *[LabelRequest(f"标签{i}", 50 + i, 46, size=7) for i in range(6)]]
    # The symbols are obstacles, as on a map: no label may cover another point.
    symbols = [Bbox.from_extents(x - 4, y - 4, x + 4, y + 4)
               for x, y in ax.transData.transform([(r.x, r.y) for r in reqs])]
    with matplotlib.rc_context(rc_params()):
        kept = place_labels(ax, reqs, renderer=renderer, obstacles=symbols)
    callouts = [t for t in kept if "\n" in t.get_text()]
    assert len(callouts) == 5
    # point labels with no free spot beside their point are framed and led, like callouts
    boxes = [callout_box(t, renderer) if t.get_bbox_patch() is not None
             else t.get_window_extent(renderer) for t in kept]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    leaders = [ln for ln in ax.lines if ln.get_gid() == "map-leader"]
    assert leaders  # callouts that had to move away are joined to their point by a leader
    inner = [Bbox.from_extents(b.x0 + 1, b.y0 + 1, b.x1 - 1, b.y1 - 1) for b in boxes]
    for ln in leaders:
        (x0, y0), (x1, y1) = ax.transData.transform(np.column_stack(ln.get_data()))
        # A leader crosses no label and ends on the frame of its own callout.
        assert not any(_segment_hits_box((x0, y0, x1, y1), b) for b in inner)
        assert any(b.expanded(1.02, 1.02).contains(x1, y1) for b in boxes)
    assert _segment_hits_box((0, 0, 10, 10), Bbox.from_extents(4, 4, 6, 6))
    assert not _segment_hits_box((0, 0, 10, 0), Bbox.from_extents(4, 1, 6, 6))


@pytest.mark.slow
def test_real_carriers_overview_names_every_carrier(built_gpkg: Path) -> None:
    """On the real data every carrier's name is on the overview map (in a label or callout)."""
    import geopandas as gpd

    fig = _draw("carriers_overview", built_gpkg)
    text = "".join(_flat(t.get_text()) for t in fig.axes[0].texts if t.get_gid() == "map-label")
    names = gpd.read_file(built_gpkg, layer="carriers")["name_zh"].tolist()
    missing = [n for n in names if n not in text]
    assert not missing


def test_a_crowded_point_label_moves_off_with_a_leader() -> None:
    """A point whose neighbours leave no spot beside it is still named, farther off and led."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    from baoshan_gis.render._fonts import rc_params
    from baoshan_gis.render._labels import LabelRequest, place_labels

    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    renderer = FigureCanvasAgg(fig).get_renderer()
    # neighbouring symbols on every side of the point leave no room for a label beside it
    x, y = ax.transData.transform((50, 50))
    ring = [Bbox.from_extents(x + dx - 5, y + dy - 5, x + dx + 5, y + dy + 5)
            for dx in (-30, -15, 15, 30) for dy in (-24, -12, 0, 12, 24)]
    with matplotlib.rc_context(rc_params()):
        kept = place_labels(ax, [LabelRequest("宝山高新区南区", 50, 50, size=7)],
                            renderer=renderer, obstacles=ring)
    assert [t.get_text() for t in kept] == ["宝山高新区南区"]
    assert [ln for ln in ax.lines if ln.get_gid() == "map-leader"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wusong", "carriers_overview", "innovation_belt",
                                  "metro_corridors", "zhangjiang_park"])
def test_no_legend_covers_the_main_layers(built_gpkg: Path, name: str) -> None:
    """The legend hides none of the features of the map's main (non-context) layers, and stays
    on the page."""
    from shapely.geometry import box as sbox

    from baoshan_gis.render._prepare import prepare_map

    pm = prepare_map(name, built_gpkg)
    fig = _draw(name, built_gpkg)
    ax = fig.axes[0]
    legend = next(a for a in fig.axes if a.get_gid() == "map-legend")
    renderer = fig.canvas.get_renderer()
    lb = legend.get_window_extent(renderer)
    assert fig.bbox.x0 <= lb.x0 and lb.x1 <= fig.bbox.x1 + 0.5
    assert fig.bbox.y0 <= lb.y0 and lb.y1 <= fig.bbox.y1 + 0.5
    (x0, y0), (x1, y1) = ax.transData.inverted().transform([(lb.x0, lb.y0), (lb.x1, lb.y1)])
    under = sbox(x0, y0, x1, y1)
    for ld in pm.layers:
        if ld.kind == "raster" or ld.spec.context or ld.frame is None or not len(ld.frame):
            continue
        geoms = ld.frame.to_crs(settings.METRIC_CRS).geometry
        assert not geoms.intersects(under).any(), (name, ld.spec.source)


@pytest.mark.slow
def test_city_scale_points_are_aggregated(built_gpkg: Path, tmp_path: Path) -> None:
    """Thousands of points: counts per hexagon (all of them counted), the plan-named carriers on
    top and labelled, no unreadable mass of accuracy circles, and notes that say so."""
    import geopandas as gpd
    import pandas as pd
    import shapely
    from matplotlib.collections import PathCollection, PolyCollection

    from baoshan_gis import read_layer
    from baoshan_gis.gpkg import atomic_path, write_frame
    from baoshan_gis.render._prepare import (
        AGGREGATE_ABOVE,
        AGGREGATE_NOTE,
        CIRCLES_OMITTED_NOTE,
        prepare_map,
    )

    gpkg = tmp_path / "city.gpkg"
    gpkg.write_bytes(built_gpkg.read_bytes())
    plan = read_layer(gpkg, "carriers")
    district = read_layer(gpkg, "district").to_crs(settings.METRIC_CRS).geometry.iloc[0]
    rng = np.random.default_rng(7)
    n = AGGREGATE_ABOVE + 500
    x0, y0, x1, y1 = district.bounds
    xy = rng.uniform((x0, y0), (x1, y1), (4 * n, 2))
    pts = shapely.points(xy)
    pts = pts[shapely.contains(district, pts)][:n]
    gen = gpd.GeoDataFrame({
        "name_zh": [f"企业{i}" for i in range(n)], "name_en": [f"firm {i}" for i in range(n)],
        "category": "industrial_park", "plan_ref": "import", "status": "existing",
        "source": "generated test points", "geometry_quality": "approximate",
        "accuracy_m": 200.0}, geometry=pts, crs=settings.METRIC_CRS).to_crs(4326)
    both = gpd.GeoDataFrame(pd.concat([plan, gen], ignore_index=True), crs=4326)
    with atomic_path(gpkg) as tmp:
        write_frame(tmp, both, "carriers")
    pm = prepare_map("carriers_overview", gpkg)
    assert AGGREGATE_NOTE in pm.notes and CIRCLES_OMITTED_NOTE in pm.notes
    fig = _draw("carriers_overview", gpkg)
    ax = fig.axes[0]
    hexes = [c for c in ax.collections if isinstance(c, PolyCollection)
             and c.get_gid() == "point-aggregate"]
    assert len(hexes) == 1 and hexes[0].get_array().sum() == len(both)
    markers = [c for c in ax.collections if isinstance(c, PathCollection)
               and c.get_gid() == "point-markers"]
    assert sum(len(c.get_offsets()) for c in markers) == len(plan)
    assert not [p for p in ax.patches if p.get_gid() == "accuracy-circle"]
    labels = "".join(_flat(t.get_text()) for t in ax.texts if t.get_gid() == "map-label")
    assert "企业" not in labels  # generated points are counted, not named
    assert sum(name in labels for name in plan.name_zh) >= 10


def test_suggested_sites_are_drawn_as_their_where_areas_not_pins(gpkg: Path) -> None:
    from matplotlib.collections import PathCollection
    from matplotlib.patches import PathPatch

    from baoshan_gis import read_layer

    pm = prepare_map("density_coverage", gpkg)
    assert "analysis_sites" not in [ld.spec.source for ld in pm.layers]
    where_ld = next(ld for ld in pm.layers if ld.spec.source == "analysis_sites_where")
    assert where_ld.spec.legend and where_ld.legend  # the legend explains the area
    sites = read_layer(gpkg, "analysis_sites").to_crs(METRIC_CRS)
    where = read_layer(gpkg, "analysis_sites_where").to_crs(METRIC_CRS)
    assert len(sites) == len(where) == 2
    fig = _figure(gpkg, "density_coverage")
    ax = fig.axes[0]
    # no point symbol at any suggested site
    offsets = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    xy = np.vstack(offsets) if offsets else np.empty((0, 2))
    for p in sites.geometry:
        assert not (np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y) < 1.0).any()
    # each where polygon drawn as an area, labelled "建议选址 <rank>" inside it
    patches = [a.get_path().get_extents() for a in ax.patches if isinstance(a, PathPatch)]
    labels = {t.get_text().replace("\n", ""): t.get_position() for t in ax.texts
              if t.get_gid() == "map-label"}
    from shapely.geometry import Point

    for rank, poly in zip(where["rank"], where.geometry, strict=True):
        x0, y0, x1, y1 = poly.bounds
        assert any(abs(b.x0 - x0) < 1 and abs(b.y0 - y0) < 1 and abs(b.x1 - x1) < 1
                   and abs(b.y1 - y1) < 1 for b in patches), rank
        text = f"建议选址 {rank}"
        assert text in labels, labels.keys()
        assert poly.buffer(1.0).contains(Point(*labels[text]))


def _stroke_px(ax, geom, width_pt: float):  # type: ignore[no-untyped-def]
    """A line's stroke in display pixels: its path through transData, buffered by half the
    line width (flat ends)."""
    import shapely

    px = shapely.transform(geom, lambda xy: ax.transData.transform(xy))
    return px.buffer(width_pt * ax.figure.dpi / 72 / 2, cap_style="flat")


@pytest.fixture(scope="module")
def reported_gpkg(built_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built GeoPackage with the report's analysis layers (density_coverage draws them)."""
    from baoshan_gis.analysis.report import write_report

    path = tmp_path_factory.mktemp("labels") / "plan.gpkg"
    path.write_bytes(built_gpkg.read_bytes())
    write_report(path, path.parent / "report", n_sites=2, kde_cell=200)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(load_maps()))
def test_no_label_is_drawn_on_its_own_line(reported_gpkg: Path, name: str) -> None:
    """On every default A4 map, a line's label stays off the line's stroke (in display space),
    and every labelled line inside the frame keeps its label."""
    from shapely.geometry import box as sbox

    pm = prepare_map(name, reported_gpkg)
    fig = _draw(name, reported_gpkg)
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_gid() == "map-label"]
    frame = ax.get_window_extent(renderer)
    frame_px = sbox(frame.x0, frame.y0, frame.x1, frame.y1)
    checked = 0
    for ld in pm.layers:
        if ld.kind != "line" or not ld.spec.labels or ld.frame is None:
            continue
        frame_m = ld.frame.to_crs(METRIC_CRS)
        for geom, label in zip(frame_m.geometry, frame_m[ld.label_field], strict=True):
            stroke = _stroke_px(ax, geom, float(ld.style["width"]))
            mine = [t for t in texts if t.get_text() == str(label)]
            if stroke.intersection(frame_px).length > 200:  # well inside the map: labelled
                assert mine, (name, label)
            for t in mine:
                b = t.get_window_extent(renderer)
                assert not stroke.intersects(sbox(b.x0, b.y0, b.x1, b.y1)), (name, label)
                checked += 1
    if name == "metro_corridors":
        assert checked >= 5  # Lines 1, 3, 7, 15, 18 at least


def _axes_100() -> tuple[matplotlib.figure.Figure, matplotlib.axes.Axes, object]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 3), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    return fig, ax, FigureCanvasAgg(fig).get_renderer()


def test_a_point_label_moves_off_a_line_beside_its_point() -> None:
    from shapely.geometry import LineString, box

    _fig, ax, renderer = _axes_100()
    line = LineString([(55, 0), (55, 100)])  # just right of the point: the first candidate
    req = LabelRequest("车站名称", 50, 50, size=7)
    with matplotlib.rc_context(rc_params()):
        (alone,) = place_labels(ax, [LabelRequest("车站名称", 50, 50, size=7)],
                                renderer=renderer)
        assert alone.get_position()[0] > 50  # to the right, without the line
        alone.remove()
        (kept,) = place_labels(ax, [req], renderer=renderer, lines=[(line, 1.5)])
    b = kept.get_window_extent(renderer)
    stroke = _stroke_px(ax, line, 1.5)
    assert not stroke.intersects(box(b.x0, b.y0, b.x1, b.y1))
    # lines boxed in on every side: the label still shows (over a line), not dropped
    cage = [LineString([(x, 0), (x, 100)]) for x in (47, 53)] + \
        [LineString([(0, y), (100, y)]) for y in (47, 53)]
    with matplotlib.rc_context(rc_params()):
        again = place_labels(ax, [LabelRequest("车站名称", 50, 50, size=7)], renderer=renderer,
                             lines=[(g, 1.5) for g in cage])
    assert [t.get_text() for t in again] == ["车站名称"]


@pytest.mark.parametrize("coords", [
    [(0, 50), (100, 50)],  # horizontal: the label above it
    [(50, 0), (50, 100)],  # vertical: beside it
    [(0, 0), (100, 100)],  # diagonal
    [(10, 10), (50, 60), (90, 10)],  # bent
])
def test_a_line_label_goes_beside_its_line(coords: list[tuple[float, float]]) -> None:
    from shapely.geometry import LineString, box

    _fig, ax, renderer = _axes_100()
    line = LineString(coords)
    mid = line.interpolate(0.5, normalized=True)
    with matplotlib.rc_context(rc_params()):
        kept = place_labels(ax, [LabelRequest("18号线", mid.x, mid.y, size=8, area=True,
                                              line=line, line_width=3.0)], renderer=renderer)
    assert [t.get_text() for t in kept] == ["18号线"]
    b = kept[0].get_window_extent(renderer)
    label = box(b.x0, b.y0, b.x1, b.y1)
    stroke = _stroke_px(ax, line, 3.0)
    assert not stroke.intersects(label)
    # and beside it, not far off: within two label heights of the stroke
    assert stroke.distance(label) < 2 * b.height
