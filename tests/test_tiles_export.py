"""Static export to MBTiles and PMTiles (baoshan_gis.tiles.export) and the CLI commands."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import mapbox_vector_tile
import mercantile
import pytest
from click.testing import CliRunner

from baoshan_gis._errors import InvalidInput, LayerNotFound
from baoshan_gis.cli import main
from baoshan_gis.gpkg import read_layer
from baoshan_gis.tiles._sample import write_sample_gpkg
from baoshan_gis.tiles.export import export_tiles
from baoshan_gis.tiles.grid import Tile, tiles_for_bounds
from baoshan_gis.tiles.mvt import render_mvt
from baoshan_gis.tiles.source import VectorSource


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_gpkg(tmp_path_factory.mktemp("exp") / "sample.gpkg")


def _expected(gpkg: Path, layer: str, zooms: range) -> dict[Tile, bytes]:
    frame = read_layer(gpkg, layer)
    src = VectorSource.from_frame(layer, frame)
    out = {}
    for t in tiles_for_bounds(src.bounds, zooms):
        body = render_mvt(src, t)
        if body:
            out[t] = body
    return out


def test_mbtiles_round_trip(gpkg: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    out = export_tiles(gpkg, "carriers", zooms="10-13", to=tmp_path / "c.mbtiles",
                       progress=lambda d, t: calls.append((d, t)))
    expected = _expected(gpkg, "carriers", range(10, 14))
    with sqlite3.connect(out) as con:
        meta = dict(con.execute("SELECT name, value FROM metadata"))
        rows = con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
                           ).fetchall()
    assert meta["format"] == "pbf" and meta["minzoom"] == "10" and meta["maxzoom"] == "13"
    assert '"vector_layers"' in meta["json"] and meta["name"] == "carriers"
    assert [float(v) for v in meta["bounds"].split(",")] == pytest.approx(
        list(read_layer(gpkg, "carriers").total_bounds), abs=1e-5)
    got = {Tile(z, x, (1 << z) - 1 - row): gzip.decompress(d) for z, x, row, d in rows}
    assert got == expected  # TMS rows flipped back give the service's tiles, byte for byte
    ids = {f["id"] for t, b in got.items() if t.z == 10
           for f in mapbox_vector_tile.decode(b)["carriers"]["features"]}
    assert ids == set(range(1, 41))  # every carrier once (some also in a neighbour's buffer)
    assert calls and calls[-1][0] == calls[-1][1] and len(calls) == calls[-1][1]


def test_pmtiles_round_trip(gpkg: Path, tmp_path: Path) -> None:
    from pmtiles.reader import MmapSource, Reader, all_tiles

    out = export_tiles(gpkg, "belt_zones", zooms=range(9, 12), to=tmp_path / "z.pmtiles")
    expected = _expected(gpkg, "belt_zones", range(9, 12))
    with open(out, "rb") as fh:
        reader = Reader(MmapSource(fh))
        header = reader.header()
        meta = reader.metadata()
        got = {Tile(*zxy): gzip.decompress(data) for zxy, data in all_tiles(reader.get_bytes)}
        some = next(iter(expected))
        assert gzip.decompress(reader.get(*some)) == expected[some]
    assert got == expected
    assert header["min_zoom"] == 9 and header["max_zoom"] == 11
    assert meta["vector_layers"][0]["id"] == "belt_zones"


def test_raster_export_is_png(gpkg: Path, tmp_path: Path) -> None:
    out = export_tiles(gpkg, "carrier_density", zooms="10-11", to=tmp_path / "d.mbtiles")
    with sqlite3.connect(out) as con:
        fmt = con.execute("SELECT value FROM metadata WHERE name='format'").fetchone()[0]
        data = con.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()[0]
    assert fmt == "png" and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_errors_leave_nothing(gpkg: Path, tmp_path: Path) -> None:
    with pytest.raises(LayerNotFound, match="carriers"):
        export_tiles(gpkg, "nope", zooms="10", to=tmp_path / "x.mbtiles")
    with pytest.raises(InvalidInput, match=r"\.pmtiles"):
        export_tiles(gpkg, "carriers", zooms="10", to=tmp_path / "x.zip")
    with pytest.raises(InvalidInput, match="attribute table"):
        export_tiles(gpkg, "indicators", zooms="10", to=tmp_path / "x.mbtiles")
    assert list(tmp_path.iterdir()) == []


def test_cli_tiles_export_and_serve_errors(gpkg: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "c.pmtiles"
    r = runner.invoke(main, ["tiles", "export", "carriers", "--gpkg", str(gpkg),
                             "--zoom", "10-12", "--to", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "wrote" in r.output
    bad = runner.invoke(main, ["tiles", "export", "carriers", "--gpkg", str(gpkg),
                               "--zoom", "16-10", "--to", str(out)])
    assert bad.exit_code == 2 and "ZMIN <= ZMAX" in bad.output
    missing = runner.invoke(main, ["serve", "--gpkg", str(tmp_path / "none.gpkg")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    helptext = runner.invoke(main, ["serve", "--help"]).output
    assert "--workers" in helptext and "--port" in helptext
    assert mercantile.tile(121.4, 31.4, 10).z == 10
