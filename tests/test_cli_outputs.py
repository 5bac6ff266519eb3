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
def reported(plan: Path) -> Path:
    from baoshan_gis.analysis.report import write_report

    out = plan.parent / "report"
    write_report(plan, out, kde_cell=200)
    return out


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
    assert "other solutions" in res.output
    md = (reported / "report.md").read_text(encoding="utf-8")
    assert "where_km2" in md and "analysis_sites_where" in md
