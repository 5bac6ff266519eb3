"""The compiled feature-record writer must write assemble_tile's Python bytes, tile for tile."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest

from baoshan_gis.tiles import _mvt_encode
from baoshan_gis.tiles._mvt_encode import AttributeTable, assemble_tile
from baoshan_gis.tiles._mvt_records import feature_records, point_records


def test_the_compiled_writer_is_what_tiles_use() -> None:
    # without a C compiler at install the Python loop would be used silently
    assert _mvt_encode._compiled_records is feature_records


def _table(rng: np.random.Generator, n: int) -> AttributeTable:
    """Rows with every kind of value, some with no tags at all, many distinct values."""
    rows = []
    for i in range(n):
        props: dict[str, object] = {}
        if i % 7:
            props["name_zh"] = f"载体{int(rng.integers(0, n))}"
            props["level"] = int(rng.integers(-300, 300))
            props["big"] = int(rng.integers(0, 2**40))
            props["share"] = float(rng.random())
            props["flag"] = bool(rng.integers(0, 2))
            props["note"] = None if i % 3 else "备注"
        if i % 11 == 0:
            props["extra"] = f"x{i}"
        rows.append(props)
    return AttributeTable(rows)


@pytest.mark.parametrize("seed", range(4))
def test_same_bytes_as_the_python_loop(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    table = _table(rng, 700)  # row ids above 127 and more than 127 values: multi-byte varints
    tiles = []
    for _ in range(30):
        count = int(rng.integers(1, 400))
        rows = rng.choice(700, count, replace=False)
        feats = [(int(r), bytes(rng.integers(0, 256, int(rng.integers(3, 300)), dtype=np.uint8)))
                 for r in rows]
        tiles.append((int(rng.integers(1, 4)), feats))
    fast = [assemble_tile("layer", g, f, table, 4096) for g, f in tiles]
    monkeypatch.setattr(_mvt_encode, "_compiled_records", None)
    slow = [assemble_tile("layer", g, f, table, 4096) for g, f in tiles]
    assert fast == slow


def test_a_tile_decodes_to_its_rows_and_attributes() -> None:
    table = AttributeTable([{"name_zh": "甲", "level": -2}, {}, {"name_zh": "乙", "ok": True}])
    point = b"\x09\x02\x04"  # MoveTo (1, 2)
    tile = mapbox_vector_tile.decode(assemble_tile("t", 1, [(2, point), (1, point)], table, 4096))
    feats = tile["t"]["features"]
    assert [f["id"] for f in feats] == [3, 2]
    assert feats[0]["properties"] == {"name_zh": "乙", "ok": True}
    assert feats[1]["properties"] == {}


def test_bad_arguments_say_what_was_wrong() -> None:
    t = AttributeTable([{"a": 1}])
    args = (t.ptr, t.tag_key, t.tag_val)
    with pytest.raises(ValueError, match="one geometry per row"):
        feature_records(np.array([0]), [], *args, 1)
    with pytest.raises(ValueError, match="outside the layer's 1 rows"):
        feature_records(np.array([1]), [b"\x09\x00\x00"], *args, 1)
    with pytest.raises(ValueError, match="gtype"):
        feature_records(np.array([0]), [b"\x09\x00\x00"], *args, 4)
    with pytest.raises(TypeError, match="bytes"):
        feature_records(np.array([0]), ["x"], *args, 1)


def test_point_tiles_are_the_same_with_and_without_the_compiled_writer(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import geopandas as gpd

    from baoshan_gis.tiles import _mvt_tiles
    from baoshan_gis.tiles.grid import tiles_for_bounds
    from baoshan_gis.tiles.mvt import render_mvt
    from baoshan_gis.tiles.source import VectorSource

    rng = np.random.default_rng(5)
    n = 1500
    x, y = rng.uniform(121.30, 121.50, n), rng.uniform(31.28, 31.50, n)
    frame = gpd.GeoDataFrame(
        {"name_zh": [f"点{i}" for i in range(n)], "level": rng.integers(-5, 5, n),
         "note": [None if i % 4 else "备注" for i in range(n)]},
        geometry=gpd.points_from_xy(x, y), crs=4326)
    src = VectorSource.from_frame("pts", frame)
    assert src.point_xy is not None  # the points-only path
    tiles = [t for t in tiles_for_bounds(src.bounds, range(8, 16)) if t.z < 14 or t.x % 5 == 0]
    fast = [render_mvt(src, t) for t in tiles]
    capped = [render_mvt(src, t, feature_cap=7) for t in tiles[:40]]
    # the compiled path needs no per-row Python containers (memory and garbage-collector time
    # for city-scale layers): they are made only when the Python path asks for them
    assert "row_tags" not in vars(src.attributes) and "point_list" not in vars(src)
    monkeypatch.setattr(_mvt_tiles, "_compiled_points", None)
    monkeypatch.setattr(_mvt_encode, "_compiled_records", None)
    assert sum(1 for b in fast if b) > 100
    assert fast == [render_mvt(src, t) for t in tiles]
    assert capped == [render_mvt(src, t, feature_cap=7) for t in tiles[:40]]


def test_points_too_far_for_the_compiled_writer_give_none() -> None:
    t = AttributeTable([{"a": 1}])
    xy = np.array([[1e60, 0.0]])
    assert point_records(np.array([0]), xy, 0.0, 0.0, 1.0, 4096, t.ptr, t.tag_key,
                         t.tag_val) is None
