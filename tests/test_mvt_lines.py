"""The compiled line encoder must write what GEOS's simplification and the Python encoder write,
feature for feature, and line tiles must not change by using it."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from baoshan_gis.tiles import _mvt_tiles
from baoshan_gis.tiles._mvt_encode import _packed, _scalar_streams
from baoshan_gis.tiles._mvt_lines import MAX_UNITS, line_streams
from baoshan_gis.tiles._mvt_tiles import compiled_line_bytes


def test_the_compiled_encoder_is_what_line_tiles_use() -> None:
    # without a C compiler at install the GEOS + Python path would be used silently
    assert _mvt_tiles._compiled_lines is line_streams


def _reference(geoms: np.ndarray, origin: tuple[float, float], scale: float, extent: int,
               tol: float) -> list[bytes | None]:
    g = shapely.simplify(geoms, tol, preserve_topology=False) if tol > 0 else geoms
    return [_packed(s) if s else None for s in _scalar_streams(g, "line", extent, origin, scale)]


def _lines(rng: np.random.Generator, count: int) -> np.ndarray:
    """Lines of every kind a clip hands over, and some it never does."""
    out = []
    for _ in range(count):
        kind = int(rng.integers(0, 9))
        k = int(rng.integers(2, 120))
        start = rng.uniform(-500, 4500, 2)
        if kind == 0:  # a wandering street, at one of three vertex spacings
            c = start + rng.normal(0, rng.choice([0.3, 3.0, 30.0]), (k, 2)).cumsum(0)
        elif kind == 1:  # nearly straight: most vertices lie within the tolerance
            t = np.linspace(0, 1, k)[:, None]
            c = start + t * rng.uniform(-3000, 3000, 2) + rng.normal(0, 0.8, (k, 2))
        elif kind == 2:  # repeated and exactly collinear vertices
            c = start + np.round(rng.normal(0, 20, (k, 2)).cumsum(0) / 5) * 5
        elif kind == 3:  # closed (a roundabout)
            t = np.linspace(0, 2 * np.pi, k + 2)[:-1]
            c = start + rng.uniform(1, 60) * np.column_stack([np.cos(t), np.sin(t)])
            c = np.vstack([c, c[:1]])
        elif kind == 4:  # every vertex the same
            c = np.repeat(start[None, :], k, axis=0)
        elif kind == 5:  # exact halves: rounding half to even
            c = rng.integers(-50, 50, (k, 2)) + 0.5
        elif kind == 6:  # a tiny line that snaps to one tile unit
            c = start + rng.uniform(0, 0.4, (k, 2))
        elif kind == 7:  # small whole numbers: equal distances (the first farthest one wins) and
            # vertices projecting exactly onto a chord's end (the nearest-end cases)
            c = rng.integers(0, 12, (k, 2)).astype(float)
        else:  # a multi-part line (kind 8)
            c = start + rng.normal(0, 10, (k + 4, 2)).cumsum(0)
            cut = int(rng.integers(2, k + 2))
            out.append(shapely.multilinestrings([shapely.linestrings(c[:cut]),
                                                 shapely.linestrings(c[cut:])]))
            continue
        out.append(shapely.linestrings(c))
    return np.array(out, dtype=object)


@pytest.mark.parametrize("seed", range(6))
def test_same_bytes_as_geos_simplify_then_the_python_encoder(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(25):
        geoms = _lines(rng, int(rng.integers(1, 40)))
        scale = float(rng.choice([1.0, 0.37, 2.5, 4096 / 39135.76]))
        origin = (float(rng.uniform(-10, 10)), float(rng.uniform(-10, 10)))
        tol = float(rng.choice([0.0, 1 / scale, 0.5, 1.0, 2.0, 7.0]))
        ours = compiled_line_bytes(geoms, origin, scale, 4096, tol)
        assert ours == _reference(geoms, origin, scale, 4096, tol)


def test_points_left_by_a_clip_are_dropped_and_empty_lines_give_none() -> None:
    line = shapely.linestrings([(0, 0), (10, 0), (10, 10)])
    mixed = shapely.geometrycollections([shapely.points(5, 5), line])
    empty = shapely.from_wkt("LINESTRING EMPTY")
    geoms = np.array([mixed, empty, line], dtype=object)
    ours = compiled_line_bytes(geoms, (0.0, 0.0), 1.0, 4096, 1.0)
    assert ours == _reference(geoms, (0.0, 0.0), 1.0, 4096, 1.0)
    assert ours[1] is None and ours[0] == ours[2]


def test_parts_it_cannot_take_are_left_to_the_python_path() -> None:
    ring = shapely.linearrings([(0, 0), (10, 0), (10, 10), (0, 0)])
    nested = shapely.geometrycollections([shapely.multilinestrings(
        [shapely.linestrings([(0, 0), (5, 5)])])])
    for geom in (ring, nested):
        assert compiled_line_bytes(np.array([geom], dtype=object), (0.0, 0.0), 1.0, 4096,
                                   1.0) is None


def test_coordinates_too_far_or_not_finite_give_none() -> None:
    xy = np.array([[0.0, 0.0], [float(MAX_UNITS) * 2, 0.0]])
    one = np.array([2], dtype=np.int64)
    feat = np.zeros(1, dtype=np.int64)
    assert line_streams(xy, one, feat, 1, 0.0, 0.0, 1.0, 4096, 0.0) is None
    xy[1, 0] = np.nan
    assert line_streams(xy, one, feat, 1, 0.0, 0.0, 1.0, 4096, 1.0) is None


def test_bad_arguments_say_what_was_wrong() -> None:
    xy = np.zeros((4, 2))
    with pytest.raises(ValueError, match="one feature per part"):
        line_streams(xy, np.array([2, 2]), np.zeros(1, dtype=np.int64), 1, 0, 0, 1, 4096, 0)
    with pytest.raises(ValueError, match="non-decreasing"):
        line_streams(xy, np.array([2, 2]), np.array([1, 0]), 2, 0, 0, 1, 4096, 0)
    with pytest.raises(ValueError, match="below nfeat"):
        line_streams(xy, np.array([2, 2]), np.array([0, 2]), 2, 0, 0, 1, 4096, 0)
    with pytest.raises(ValueError, match="sum"):
        line_streams(xy, np.array([3, 2]), np.array([0, 1]), 2, 0, 0, 1, 4096, 0)


def _street_layer() -> gpd.GeoDataFrame:
    """Long jittered street lines across a 12 km box (they cross tiles at every zoom), loops
    and short lanes."""
    rng = np.random.default_rng(11)
    x0, y0 = 330_000.0, 3_465_000.0
    lines = []
    for i in range(12):
        t = np.linspace(0, 12_000, 480)
        jitter = rng.uniform(-6, 6, (480, 2))
        lines.append(shapely.linestrings(np.column_stack([x0 + t, y0 + 1000 * i + 0 * t])
                                         + jitter))
        lines.append(shapely.linestrings(np.column_stack([x0 + 1000 * i + 0 * t, y0 + t])
                                         + jitter))
    for _ in range(20):
        c = rng.uniform([x0, y0], [x0 + 12_000, y0 + 12_000])
        t = np.linspace(0, 2 * np.pi, 24)
        loop = c + 40 * np.column_stack([np.cos(t), np.sin(t)])
        loop[-1] = loop[0]
        lines.append(shapely.linestrings(loop))
        lines.append(shapely.linestrings(c + rng.normal(0, 15, (6, 2)).cumsum(0)))
    return gpd.GeoDataFrame({"name_zh": [f"路{i}" for i in range(len(lines))]},
                            geometry=lines, crs=32651).to_crs(4326)


def test_line_tiles_are_the_same_with_and_without_the_compiled_encoder(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from baoshan_gis.tiles.grid import tiles_for_bounds
    from baoshan_gis.tiles.mvt import render_mvt
    from baoshan_gis.tiles.source import VectorSource

    layer = _street_layer()
    tiles = [t for t in tiles_for_bounds(tuple(layer.total_bounds), range(9, 17))
             if t.z < 15 or (t.x + t.y) % 9 == 0]
    compiled = VectorSource.from_frame("streets", layer)  # each source has its own zoom cache
    fast = [render_mvt(compiled, t) for t in tiles]
    monkeypatch.setattr(_mvt_tiles, "_compiled_lines", None)
    python = VectorSource.from_frame("streets", layer)
    slow = [render_mvt(python, t) for t in tiles]
    assert sum(1 for b in fast if b) > 100
    assert fast == slow


def test_real_osm_street_tiles_are_the_same_with_and_without_the_compiled_encoder(
    built_gpkg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the default build's streets come from the offline OpenStreetMap extract: real lines with
    # roundabouts, short links and shared nodes
    import pyogrio

    from baoshan_gis.tiles.grid import tiles_for_bounds
    from baoshan_gis.tiles.mvt import render_mvt
    from baoshan_gis.tiles.source import VectorSource

    frame = pyogrio.read_dataframe(built_gpkg, layer="street_edges")
    assert len(frame) > 500
    tiles = tiles_for_bounds(tuple(frame.to_crs(4326).total_bounds), range(10, 17))
    fast = [render_mvt(VectorSource.from_frame("s", frame), t) for t in tiles]
    monkeypatch.setattr(_mvt_tiles, "_compiled_lines", None)
    python = VectorSource.from_frame("s", frame)
    assert sum(1 for b in fast if b) > 100
    assert fast == [render_mvt(python, t) for t in tiles]
