"""The analysis CLI on the built GeoPackage: typos are errors, warnings are notes, tables teach."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from baoshan_gis.cli import main


@pytest.fixture(scope="module")
def plan(built_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "plan.gpkg"
    shutil.copy(built_gpkg, path)
    return path


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(
    "extra", [["--radius", "labs=500"], ["--radius", "500", "--category", "labs"]]
)
def test_unknown_category_exits_2_naming_the_valid_ones(plan: Path, extra: list[str]) -> None:
    res = _run("coverage", "--gpkg", str(plan), *extra)
    assert res.exit_code == 2, res.output
    assert "error: unknown category 'labs'" in res.output
    assert "lab," in res.output and "university_science_park" in res.output
    assert "Traceback" not in res.output and "Warning" not in res.output


def test_mapping_omitting_categories_says_which_are_excluded(plan: Path) -> None:
    res = _run("coverage", "--gpkg", str(plan), "--radius", "lab=500")
    assert res.exit_code == 0, res.output
    note = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(note) == 1 and "leaves out" in note[0] and "university_science_park" in note[0]
    assert "lab" not in note[0].split("leaves out", 1)[1].split(":")[0].split(", ")


def test_no_raw_warning_reaches_the_terminal(plan: Path, tmp_path: Path) -> None:
    from baoshan_gis import gpkg as g

    copy = tmp_path / "empty.gpkg"
    shutil.copy(plan, copy)
    carriers = g.read_layer(copy, "carriers")
    with g.atomic_path(copy) as tmp:
        g.write_frame(tmp, carriers.iloc[:0], "no_carriers")
    res = _run("coverage", "--gpkg", str(copy), "--carriers", "no_carriers", "--radius", "500")
    assert res.exit_code == 0, res.output
    assert "note: carrier layer is empty: every result is zero" in res.output
    assert "Warning" not in res.output and "warnings.warn" not in res.output


@pytest.fixture(scope="module")
def report_result(plan: Path):  # type: ignore[no-untyped-def]
    from baoshan_gis.analysis.report import write_report

    return write_report(plan, plan.parent / "report", kde_cell=200)


@pytest.fixture(scope="module")
def reported(report_result) -> Path:  # type: ignore[no-untyped-def]
    return report_result.out_dir


def test_cli_sites_and_the_report_give_one_answer(
    plan: Path, reported: Path, tmp_path: Path
) -> None:
    import math

    import pandas as pd

    csv = tmp_path / "sites.csv"
    res = _run("sites", "--gpkg", str(plan), "--csv", str(csv))
    assert res.exit_code == 0, res.output
    cli = pd.read_csv(csv)
    rep = pd.read_csv(reported / "sites.csv")
    assert len(cli) == len(rep) == 3
    assert cli[["lon", "lat"]].to_numpy().tolist() == rep[["lon", "lat"]].to_numpy().tolist()
    assert cli["marginal_gain_km2"].round(3).tolist() == rep["marginal_gain_km2"].tolist()
    assert (rep["marginal_gain_km2"] <= math.pi).all()
    md = (reported / "report.md").read_text(encoding="utf-8")
    assert "where_km2" in md and "analysis_sites_where" in md
    # the count of alternatives: one sentence, the same in the CLI and the report, saying
    # whether it is exact or a lower bound
    alt = [line for line in res.output.splitlines() if "Other solutions" in line]
    assert len(alt) == 1, res.output
    assert alt[0] in md.splitlines()
    assert "其他方案" in alt[0]
    assert ("(exact count)" in alt[0]) != ("lower bound" in alt[0])
    from baoshan_gis import gpkg as g

    params = g.read_meta(plan)["analysis_sites"]["parameters"]
    assert isinstance(params["alternatives_exact"], bool)
    assert str(params["alternatives_within_1pct"]) in alt[0].replace(",", "")


def _commands():  # type: ignore[no-untyped-def]
    import click

    out = []

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        out.append(path)
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(main, [])
    return out


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "main")
def test_every_help_ends_with_an_example(path: list[str]) -> None:
    res = _run(*path, "--help")
    assert res.exit_code == 0
    lines = [line.strip() for line in res.output.splitlines() if line.strip()]
    assert lines[-2] == "Example:"
    assert lines[-1].startswith("baoshan-gis " + " ".join(path).replace("map render", "map"))


def test_progress_prints_one_line_per_step_off_a_terminal() -> None:
    import io

    from baoshan_gis.cli._progress import progress_callback

    buf = io.StringIO()
    step, close = progress_callback(3, "run", stream=buf, lines=True)
    step("build: district")
    step("report: coverage 500 m")
    close()
    assert buf.getvalue().splitlines() == [
        "run [1/3] build: district",
        "run [2/3] report: coverage 500 m",
    ]
    quiet = io.StringIO()  # other commands keep 'error:' or the answer as their first line
    step, close = progress_callback(3, "report", stream=quiet)
    step("read layers")
    close()
    assert quiet.getvalue() == ""


def test_run_shows_its_steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import baoshan_gis.pipeline as pipeline

    class Done:
        def text(self) -> str:
            return "done"

    def fake_run_all(out, *, formats, progress):  # type: ignore[no-untyped-def]
        for label in ("build: district", "report: gaps", "map: wusong.png"):
            progress(label)
        return Done()

    monkeypatch.setattr(pipeline, "run_all", fake_run_all)
    res = _run("run", "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    assert "run [1/40] build: district" in res.output
    assert "run [3/40] map: wusong.png" in res.output


def test_gaps_table_carries_the_report_locations(
    plan: Path, reported: Path, tmp_path: Path
) -> None:
    import pandas as pd

    csv = tmp_path / "gaps.csv"
    res = _run("gaps", "--gpkg", str(plan), "--csv", str(csv))
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0].split()
    assert "lon" in header and "lat" in header
    cli, rep = pd.read_csv(csv), pd.read_csv(reported / "gaps.csv")
    assert cli[["lon", "lat"]].to_numpy().tolist() == rep[["lon", "lat"]].to_numpy().tolist()


def test_numbers_print_in_the_units_of_the_column(plan: Path, tmp_path: Path) -> None:
    import pandas as pd

    csv = tmp_path / "cov.csv"
    res = _run("coverage", "--gpkg", str(plan), "--radius", "1000", "--csv", str(csv))
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "covered_share (%)" in lines[0]
    raw = pd.read_csv(csv)
    row = raw[raw["name_zh"] == "环上大科创集聚区"].iloc[0]
    printed = next(line for line in lines if line.strip().startswith("环上大科创集聚区"))
    assert f"{row.covered_share * 100:.2f}" in printed.split()
    assert ".0000" not in res.output
    dens = _run("density", "--gpkg", str(plan))
    assert dens.exit_code == 0 and ".0000" not in dens.output


def test_report_lists_only_geopackage_layers_under_that_heading(report_result) -> None:  # type: ignore[no-untyped-def]
    text = report_result.text()
    layers_line = next(line for line in text.splitlines() if line.startswith("GeoPackage layers"))
    assert "carrier_density" not in layers_line and "analysis_gaps" in layers_line
    assert "carrier_density.tif" in text


def test_density_map_on_a_fresh_geopackage_computes_what_it_needs(
    built_gpkg: Path, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.gpkg"
    shutil.copy(built_gpkg, fresh)
    out = tmp_path / "density.png"
    res = _run(
        "map",
        "density_coverage",
        "--gpkg",
        str(fresh),
        "--format",
        "png",
        "--out",
        str(out),
        "--dpi",
        "40",
    )
    assert res.exit_code == 0, res.output
    assert out.is_file() and out.stat().st_size > 10_000
    assert "computing them with the standard report" in res.output
    from baoshan_gis import gpkg as g

    assert "analysis_gaps" in g.layer_names(fresh) and "carrier_density" in g.raster_layers(fresh)
