"""Issue 9 (2, 3, 4, 9, 10, 11): clean refusals that leave the GeoPackage byte-identical.

One parametrised table per group; each case asserts the exit code, the message and the file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import sqlite3
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _faults import gpkg_with_m, shapefile_point_m, zip_with_lying_header
from click.testing import CliRunner

from baoshan_gis import gpkg, settings
from baoshan_gis.cli import main


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.stderr + res.stdout


@pytest.fixture()
def plan(tmp_path: Path, built_gpkg: Path) -> Path:
    target = tmp_path / "plan.gpkg"
    shutil.copyfile(built_gpkg, target)
    with sqlite3.connect(target) as con:  # what 'report' registers: a raster beside the file
        con.execute(
            "INSERT INTO baoshan_layer_meta (layer, title_zh, title_en, kind, "
            "parameters, inputs) VALUES ('carrier_density', '核密度', 'KDE', 'raster', "
            "'{\"path\": \"carrier_density.tif\"}', '[]')"
        )
    return target


def _csv(tmp: Path, text: str = "name,lon,lat\nA,121.40,31.35\n", name: str = "in.csv") -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def _geojson(tmp: Path, lon: float, lat: float) -> Path:
    p = tmp / "far.geojson"
    p.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        f'{{"name":"a"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}]}}',
        encoding="utf-8",
    )
    return p


# ---------------------------------------------------------------------------------------------
# 2. what --write-layer and import may replace

REPLACE_CASES = [
    (
        "write-layer over plan carriers",
        lambda t: ["density", "--write-layer", "carriers"],
        "'carriers' is the plan layer 'carriers' (21 features",
    ),
    (
        "write-layer over plan district",
        lambda t: ["coverage", "--radius", "800", "--write-layer", "district"],
        "analysis results only replace analysis layers",
    ),
    (
        "import over the raster's name",
        lambda t: ["layers", "import", _csv(t), "--name", "carrier_density"],
        "'carrier_density' is taken in 'plan.gpkg': it is the raster 'carrier_density' "
        "(carrier_density.tif); use --replace",
    ),
    (
        "import over a plan layer",
        lambda t: ["layers", "import", _csv(t), "--name", "carriers"],
        "layer 'carriers' already exists in 'plan.gpkg': it is the plan layer",
    ),
    (
        "replace district by points",
        lambda t: ["layers", "import", _csv(t), "--name", "district", "--replace"],
        "cannot replace the plan layer 'district' (1 features: 宝山区行政区界 Baoshan District "
        "outline) with point "
        "geometries: the maps, analyses and recipes that use 'district' need polygon features",
    ),
    (
        "replace zones by points",
        lambda t: ["layers", "import", _csv(t), "--name", "belt_zones", "--replace"],
        "need polygon features (MultiPolygon)",
    ),
]


@pytest.mark.parametrize(
    ("case", "args", "message"), REPLACE_CASES, ids=[c[0] for c in REPLACE_CASES]
)
def test_replace_refused(
    case: str, args: Callable[[Path], list[str]], message: str, plan: Path, tmp_path: Path
) -> None:
    before = _digest(plan)
    code, out = _run(*args(tmp_path), "--gpkg", plan)
    assert code == 2, out
    assert out.startswith("error: ") and message in out, out
    assert _digest(plan) == before


def test_write_layer_with_replace_and_over_analysis(plan: Path) -> None:
    code, out = _run("density", "--gpkg", plan, "--write-layer", "analysis_mine")
    assert code == 0, out
    code, out = _run("density", "--gpkg", plan, "--write-layer", "analysis_mine")  # no --replace
    assert code == 0, out
    code, out = _run("density", "--gpkg", plan, "--write-layer", "carriers", "--replace")
    assert code == 0, out
    assert gpkg.read_meta(plan)["carriers"]["kind"] == "analysis"
    assert "per_km2" in gpkg.read_layer(plan, "carriers").columns


# ---------------------------------------------------------------------------------------------
# 3. archive limits, temporary files


def _zip_big(t: Path) -> Path:
    p = t / "bomb.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", "name,lon,lat\n" + "A,121.40,31.35\n" * 200_000)  # 3 MB
    return p


def _zip_many(t: Path) -> Path:
    p = t / "many.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for i in range(30):
            zf.writestr(f"f{i}.txt", "x")
        zf.writestr("a.csv", "name,lon,lat\nA,121.4,31.35\n")
    return p


def _zip_lying(t: Path) -> Path:
    data = ("name,lon,lat\n" + "A,121.40,31.35\n" * 200_000).encode()
    return zip_with_lying_header(t / "liar.zip", "big.csv", data, declared=100)


ARCHIVE_CASES = [
    (
        "declared size",
        _zip_big,
        "'bomb.zip' would unpack to 2.9 MiB, more than the limit of 1.0 MiB",
    ),
    ("member count", _zip_many, "'many.zip' holds 31 files, more than the limit of 20"),
    ("lying header", _zip_lying, "'liar.zip' is damaged"),
]


@pytest.mark.parametrize(
    ("case", "make", "message"), ARCHIVE_CASES, ids=[c[0] for c in ARCHIVE_CASES]
)
def test_archive_limits(
    case: str,
    make: Callable[[Path], Path],
    message: str,
    plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    monkeypatch.setattr(settings, "ARCHIVE_MAX_BYTES", 1024**2)
    monkeypatch.setattr(settings, "ARCHIVE_MAX_MEMBERS", 20)
    before = _digest(plan)
    code, out = _run("layers", "import", make(tmp_path), "--gpkg", plan, "--name", "z")
    assert code == 2, out
    assert out.startswith("error: ") and message in out, out
    assert _digest(plan) == before
    assert list(scratch.iterdir()) == []  # no temporary folder left


def test_actual_bytes_counted_while_streaming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member longer than the limit is stopped while streaming (header checks passed)."""
    from baoshan_gis import _archive
    from baoshan_gis._errors import DataImportError

    p = _zip_big(tmp_path)
    monkeypatch.setattr(settings, "ARCHIVE_MAX_BYTES", 1024**2)
    with zipfile.ZipFile(p) as zf, _archive.extraction_dir() as root:
        with pytest.raises(DataImportError, match=r"unpacks to more than the limit of 1\.0 MiB"):
            _archive.extract(zf, p, zf.infolist(), root)
        assert (root / "big.csv").stat().st_size <= 1024**2


def test_stale_temporaries_cleaned_by_next_writer(
    plan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "baoshan-import-99999999-dead").mkdir(parents=True)
    (scratch / f"baoshan-import-{os.getpid()}-mine").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    stale = [
        tmp_path / ".plan.gpkg.tmp-killed.gpkg",
        tmp_path / ".plan.gpkg.tmp-killed.gpkg-journal",
        tmp_path / ".plan.tmp-oldname.gpkg",
    ]
    for s in stale:
        s.write_bytes(b"half-written")
    z = tmp_path / "ok.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("ok.csv", "name,lon,lat\nA,121.4,31.35\n")
    code, out = _run("layers", "import", z, "--gpkg", plan, "--name", "ok")
    assert code == 0, out
    assert not any(s.exists() for s in stale)
    assert sorted(p.name for p in scratch.iterdir()) == [f"baoshan-import-{os.getpid()}-mine"]


# ---------------------------------------------------------------------------------------------
# 4. files keep what they are

WRITERS = [
    ("import", lambda t, g: ["layers", "import", _csv(t), "--gpkg", g, "--name", "mine"]),
    ("write-layer", lambda t, g: ["density", "--gpkg", g, "--write-layer", "analysis_x"]),
]


@pytest.mark.parametrize(("case", "args"), WRITERS, ids=[w[0] for w in WRITERS])
def test_symlink_mode_and_owner_kept(
    case: str, args: Callable[[Path, Path], list[str]], plan: Path, tmp_path: Path
) -> None:
    os.chmod(plan, 0o644)
    os.chown(plan, 1234, 2345)
    link = tmp_path / "link.gpkg"
    link.symlink_to(plan)
    code, out = _run(*args(tmp_path, link))
    assert code == 0, out
    assert link.is_symlink() and link.resolve() == plan.resolve()
    assert ("mine" if case == "import" else "analysis_x") in gpkg.layer_names(plan)
    st = plan.stat()
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert (st.st_uid, st.st_gid) == (1234, 2345)


# ---------------------------------------------------------------------------------------------
# 9. not a GeoPackage; disk full, read-only


def _text(t: Path) -> Path:
    p = t / "notes.gpkg"
    p.write_text("not a database\n", encoding="utf-8")
    return p


def _sqlite(t: Path) -> Path:
    p = t / "other.gpkg"
    with sqlite3.connect(p) as con:
        con.execute("CREATE TABLE t (x)")
    return p


def _empty(t: Path) -> Path:
    p = t / "empty.gpkg"
    p.write_bytes(b"")
    return p


COMMANDS = [
    ["layers", "list", "--gpkg"],
    ["density", "--gpkg"],
    ["map", "wusong", "--out", "x.png", "--gpkg"],
    ["serve", "--port", "1", "--gpkg"],
    ["report", "--out", "rep", "--gpkg"],
    ["tiles", "export", "carriers", "--to", "c.pmtiles", "--gpkg"],
    ["coverage", "--radius", "800", "--gpkg"],
]
FILES = [
    (_text, "is not a GeoPackage (not an SQLite file)"),
    (_sqlite, "is an SQLite database but not a GeoPackage (no gpkg_contents table)"),
    (_empty, "is not a GeoPackage (not an SQLite file)"),
]


@pytest.mark.parametrize(
    "command",
    COMMANDS,
    ids=[c[0] + (c[1] if c[0] in ("layers", "tiles") else "") for c in COMMANDS],
)
@pytest.mark.parametrize(("make", "message"), FILES, ids=["text", "sqlite", "empty"])
def test_not_a_geopackage(
    command: list[str],
    make: Callable[[Path], Path],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = make(tmp_path)
    before = _digest(bad)
    code, out = _run(*command, bad)
    assert code == 2, out
    assert out.startswith(f"error: {bad.name!r} {message}"), out
    assert _digest(bad) == before


def _fail(code: int) -> Callable[..., None]:
    def raiser(*_a: object, **_k: object) -> None:
        raise OSError(code, os.strerror(code))

    return raiser


STORAGE = [
    (
        "import ENOSPC",
        "shutil.copyfile",
        errno.ENOSPC,
        lambda t, g: ["layers", "import", _csv(t), "--gpkg", g, "--name", "n"],
        "no space left on the device (about ",
    ),
    (
        "import EROFS",
        "os.replace",
        errno.EROFS,
        lambda t, g: ["layers", "import", _csv(t), "--gpkg", g, "--name", "n"],
        "the file system is read-only; 'plan.gpkg' is unchanged",
    ),
    (
        "write-layer EACCES",
        "tempfile.mkstemp",
        errno.EACCES,
        lambda t, g: ["density", "--gpkg", g, "--write-layer", "analysis_n"],
        "no permission to write there; 'plan.gpkg' is unchanged",
    ),
    (
        "write-layer ENOSPC",
        "os.fsync",
        errno.ENOSPC,
        lambda t, g: ["density", "--gpkg", g, "--write-layer", "analysis_n"],
        "no space left on the device",
    ),
    (
        "build EROFS",
        "os.replace",
        errno.EROFS,
        lambda t, g: ["build", "--out", g],
        "cannot write 'plan.gpkg' in folder",
    ),
    (
        "map ENOSPC",
        "os.replace",
        errno.ENOSPC,
        lambda t, g: ["map", "wusong", "--gpkg", g, "--dpi", "30", "--out", t / "keep.png"],
        "cannot write 'keep.png'",
    ),
]


@pytest.mark.parametrize(
    ("case", "target", "code", "args", "message"), STORAGE, ids=[s[0] for s in STORAGE]
)
def test_storage_errors(
    case: str,
    target: str,
    code: int,
    args: Callable[[Path, Path], list[str]],
    message: str,
    plan: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keep = tmp_path / "keep.png"
    keep.write_bytes(b"old map")
    before, before_map = _digest(plan), _digest(keep)
    argv = args(tmp_path, plan)
    monkeypatch.setattr(target, _fail(code))
    exit_code, out = _run(*argv)
    monkeypatch.undo()
    assert exit_code == 2, out
    assert out.startswith("error: ") and message in out, out
    assert "Traceback" not in out
    assert _digest(plan) == before and _digest(keep) == before_map
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ---------------------------------------------------------------------------------------------
# 10. import checks

IMPORTS = [
    (
        "XYM shapefile",
        lambda t: shapefile_point_m(t, "survey", z=False),
        0,
        "'survey.shp' has measure (M) values: dropped (X, Y and any Z kept)",
    ),
    (
        "XYZM shapefile",
        lambda t: shapefile_point_m(t, "survey", z=True),
        0,
        "'survey.shp' has measure (M) values: dropped",
    ),
    (
        "XYM GeoPackage",
        lambda t: gpkg_with_m(t, "gm", z=False),
        0,
        "'gm.gpkg' has measure (M) values: dropped",
    ),
    (
        "XYZM GeoPackage",
        lambda t: gpkg_with_m(t, "gm", z=True),
        0,
        "'gm.gpkg' has measure (M) values: dropped",
    ),
    (
        "GeoJSON out of lon range",
        lambda t: _geojson(t, 351234.0, 3470000.0),
        2,
        "error: the coordinates in 'far.geojson' are not lon/lat degrees (feature 1 at 351234, "
        "3.47e+06) although the file says EPSG:4326; give their real CRS with --crs",
    ),
    (
        "GeoJSON out of lat range",
        lambda t: _geojson(t, 121.4, 95.0),
        2,
        "are not lon/lat degrees (feature 1 at 121.4, 95)",
    ),
]


@pytest.mark.parametrize(("case", "make", "code", "message"), IMPORTS, ids=[c[0] for c in IMPORTS])
def test_import_checks(
    case: str, make: Callable[[Path], Path], code: int, message: str, plan: Path, tmp_path: Path
) -> None:
    before = _digest(plan)
    exit_code, out = _run("layers", "import", make(tmp_path), "--gpkg", plan, "--name", "m")
    assert exit_code == code, out
    assert message in out, out
    if code:
        assert _digest(plan) == before
    else:
        g = gpkg.read_layer(plan, "m").geometry.iloc[0]
        assert not g.has_m and (g.x, g.y) == (121.4, 31.35)
        assert g.has_z == ("XYZM" in case) and (not g.has_z or g.z == 4.0)


@pytest.mark.parametrize("name", ["incubators\n", "a\nb", "Incubators", "x" * 64, ""])
def test_layer_name_refused(name: str, plan: Path, tmp_path: Path) -> None:
    before = _digest(plan)
    code, out = _run("layers", "import", _csv(tmp_path), "--gpkg", plan, "--name", name)
    assert code == 2
    assert out.startswith(f"error: layer name {name!r} is not a safe identifier"), out
    assert _digest(plan) == before


# ---------------------------------------------------------------------------------------------
# 11. analyses

ANALYSES = [
    (["density", "--zones", "carriers"], r"zones must be polygons .* holds Point;"),
    (["density", "--grid", "1000", "--area", "metro_stations"], "area must be polygons"),
    (["coverage", "--zones", "metro_stations", "--radius", "800"], "zones must be polygons"),
    (["gaps", "--zones", "metro_lines"], "the layer holds LineString"),
    (["sites", "--zones", "carriers"], "zones must be polygons"),
    (["sites", "-n", "100000"], r"n_sites=100000 is more than the \d+ candidate sites"),
    (
        ["sites", "--candidates", "metro_stations", "-n", "58", "--write-layer", "analysis_s"],
        r"n_sites=58, but only ([1-4]\d|[1-9]) of the 58 candidate sites would cover any demand "
        r"the existing carriers leave uncovered; ask for at most \1$",
    ),
]


@pytest.mark.parametrize(("args", "message"), ANALYSES, ids=[" ".join(a[:3]) for a, _ in ANALYSES])
def test_analysis_inputs_refused(args: list[str], message: str, plan: Path) -> None:
    before = _digest(plan)
    code, out = _run(*args, "--gpkg", plan)
    assert code == 2, out
    assert re.search(r"^error: .*" + message, out, re.MULTILINE), out
    assert _digest(plan) == before
