"""``baoshan-gis map``: list, render each format, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from baoshan_gis.cli import main
from tests._render_data import make_gpkg


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_gpkg(tmp_path_factory.mktemp("cli") / "syn.gpkg")


def test_map_list_shows_every_map() -> None:
    res = CliRunner().invoke(main, ["map", "list"])
    assert res.exit_code == 0, res.output
    for name in ("innovation_belt", "wusong", "zhangjiang_park", "metro_corridors",
                 "carriers_overview", "density_coverage"):
        assert name in res.output
    assert "吴淞创新城" in res.output


@pytest.mark.parametrize("fmt", ["png", "svg", "html"])
def test_map_name_renders(gpkg: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"w.{fmt}"
    res = CliRunner().invoke(main, ["map", "wusong", "--gpkg", str(gpkg), "--format", fmt,
                                    "--out", str(out), "--dpi", "50", "--paper", "A4",
                                    "--landscape"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and out.stat().st_size > 1000
    if fmt == "png":
        from PIL import Image

        with Image.open(out) as img:
            assert img.size[0] > img.size[1]  # landscape


def test_unknown_map_exits_2_listing_maps(gpkg: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["map", "nope", "--gpkg", str(gpkg), "--out",
                                    str(tmp_path / "x.png")])
    assert res.exit_code == 2
    assert "no map named 'nope'" in res.output and "wusong" in res.output


def test_missing_report_outputs_say_which_command(tmp_path: Path) -> None:
    # the library says which command writes them (the CLI computes them: test_cli_outputs.py)
    from baoshan_gis._errors import LayerNotFound
    from baoshan_gis.render import render_map

    plain = make_gpkg(tmp_path / "plain.gpkg", analysis=False)
    with pytest.raises(LayerNotFound, match="baoshan-gis report"):
        render_map("density_coverage", plain, tmp_path / "d.png")


def test_render_all_writes_png_and_html(gpkg: Path, tmp_path: Path) -> None:
    from baoshan_gis.render import load_maps, render_all

    seen: list[str] = []
    files = render_all(gpkg, tmp_path / "maps", formats=("png", "html"), progress=seen.append,
                       dpi=30)
    names = set(load_maps())
    assert {p.name for p in files} == {f"{n}.{f}" for n in names for f in ("png", "html")}
    assert len(seen) == len(files)
    assert (tmp_path / "maps" / "assets" / "leaflet.js").is_file()
