"""Tile arithmetic and validation (baoshan_gis.tiles.grid)."""

from __future__ import annotations

import math

import mercantile
import pytest

from baoshan_gis._errors import InvalidBBox, InvalidTile
from baoshan_gis.tiles.grid import (
    Tile,
    parse_bbox,
    parse_tile,
    parse_zoom_range,
    tile_bounds_3857,
    tiles_for_bounds,
)


@pytest.mark.parametrize(
    ("z", "x", "y", "message"),
    [
        ("3", "8", "0", "0..7"),
        ("3", "0", "8", "0..7"),
        ("-1", "0", "0", "0..24"),
        ("25", "0", "0", "0..24"),
        ("2", "-1", "0", "0..3"),
        ("1.5", "0", "0", "not an integer"),
        ("2", "1e1", "0", "not an integer"),
        ("2", "0", "", "not an integer"),
        ("٣", "0", "0", "not an integer"),  # Arabic-Indic digit: not ASCII
    ],
)
def test_parse_tile_rejects(z: str, x: str, y: str, message: str) -> None:
    with pytest.raises(InvalidTile, match=message):
        parse_tile(z, x, y)


def test_parse_tile_accepts_edges() -> None:
    assert parse_tile("0", "0", "0") == Tile(0, 0, 0)
    assert parse_tile(24, 2**24 - 1, 0) == Tile(24, 2**24 - 1, 0)


@pytest.mark.parametrize("tile", [Tile(0, 0, 0), Tile(10, 857, 417), Tile(16, 54890, 26760)])
def test_bounds_match_mercantile(tile: Tile) -> None:
    ours = tile_bounds_3857(tile)
    ref = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    assert ours == pytest.approx((ref.left, ref.bottom, ref.right, ref.top), abs=1e-6)


def test_tiles_for_bounds_cover_box_exactly() -> None:
    box = (121.2954, 31.2671, 121.5211, 31.5139)
    tiles = tiles_for_bounds(box, range(10, 13))
    for z in (10, 11, 12):
        ref = {(t.x, t.y) for t in mercantile.tiles(*box, zooms=z)}
        assert {(t.x, t.y) for t in tiles if t.z == z} == ref


@pytest.mark.parametrize(
    ("text", "ok"),
    [("1,2,3", False), ("3,0,1,1", False), ("0,0,1,nan", False), ("0,-91,1,1", False),
     ("0,0,181,1", False), ("a,b,c,d", False), ("121.3,31.2,121.5,31.5", True)],
)
def test_parse_bbox(text: str, ok: bool) -> None:
    if ok:
        assert parse_bbox(text) == tuple(float(v) for v in text.split(","))
    else:
        with pytest.raises(InvalidBBox):
            parse_bbox(text)


def test_parse_zoom_range() -> None:
    assert list(parse_zoom_range("10-12")) == [10, 11, 12]
    assert list(parse_zoom_range("7")) == [7]
    for bad in ("12-10", "10-30", "x", "1-2-3"):
        with pytest.raises(InvalidTile):
            parse_zoom_range(bad)
    assert not math.isnan(tile_bounds_3857(Tile(1, 1, 1))[0])
