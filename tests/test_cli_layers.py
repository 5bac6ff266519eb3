"""``baoshan-gis build`` and ``layers list|info`` through click's runner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from baoshan_gis.cli import main


def test_build_then_list_and_info(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "x.gpkg"
    res = runner.invoke(main, ["build", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "Built" in res.output and "carriers" in res.output and out.is_file()
    res = runner.invoke(main, ["layers", "list", "--gpkg", str(out)])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    row = next(line for line in lines if line.startswith("carriers "))
    assert "POINT" in row and "科创载体" in row
    row = next(line for line in lines if line.startswith("indicators "))
    assert " 11 " in row
    res = runner.invoke(main, ["layers", "info", "metro_stations", "--gpkg", str(out)])
    assert res.exit_code == 0
    assert "© OpenStreetMap contributors" in res.output and "osm_id" in res.output


def test_unknown_layer_exits_2_with_the_list(built_gpkg: Path) -> None:
    res = CliRunner().invoke(main, ["layers", "info", "nope", "--gpkg", str(built_gpkg)])
    assert res.exit_code == 2
    assert "error: no layer named 'nope'" in res.output and "carriers" in res.output


def test_missing_gpkg_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["layers", "list", "--gpkg", str(tmp_path / "none.gpkg")])
    assert res.exit_code == 2 and "baoshan-gis build" in res.output


def test_bad_output_name_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "must end in .gpkg" in res.output
