"""Print maps: every map in every format, page size, text in SVG/PDF, a true scale bar, labels."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import matplotlib
import pytest

from baoshan_gis._errors import LayerNotFound
from baoshan_gis.render import load_maps
from baoshan_gis.render._fonts import rc_params
from baoshan_gis.render._labels import LabelRequest, place_labels
from baoshan_gis.render._prepare import SCHEMATIC_NOTE, prepare_map
from baoshan_gis.render.print_map import draw_map, render_print
from baoshan_gis.settings import METRIC_CRS, OSM_ATTRIBUTION, WGS84
from tests._render_data import make_gpkg

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
