"""The compiled one-ring MVT encoder must write the Python encoders' bytes, ring for ring."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from baoshan_gis.tiles import _mvt_fill
from baoshan_gis.tiles._mvt_encode import AttributeTable
from baoshan_gis.tiles._mvt_rings import MAX_UNITS, ring_streams


def test_the_compiled_encoder_is_what_polygon_tiles_use() -> None:
    # without a C compiler at install the Python encoders would be used silently
    assert _mvt_fill._compiled_rings is ring_streams


def _rings(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed rings (as shapely's polygons always are) of every kind the clip can hand over."""
    parts, sizes = [], []
    for _ in range(count):
        kind = rng.integers(0, 6)
        k = int(rng.integers(1, 12))
        if kind == 0:  # a clean polygon, either orientation
            t = np.sort(rng.uniform(0, 2 * np.pi, max(k, 3)))
            if rng.random() < 0.5:
                t = t[::-1]
            r = rng.uniform(1, 3000)
            ring = np.column_stack([2000 + r * np.cos(t), 2000 + r * np.sin(t)])
        elif kind == 1:  # repeated vertices after rounding
            ring = np.repeat(rng.uniform(-100, 4200, (k, 2)), rng.integers(1, 4, k), axis=0)
        elif kind == 2:  # exact halves: rounding half to even
            ring = rng.integers(-50, 50, (max(k, 3), 2)) + 0.5
        elif kind == 3:  # collinear: zero area
            s = rng.uniform(0, 4000, max(k, 3))
            ring = np.column_stack([s, 2 * s + 1])
        elif kind == 4:  # tiny: collapses to a point or a segment
            ring = rng.uniform(10, 10.6, (k, 2))
        else:  # far outside the tile: multi-byte varints, negative cursors
            ring = rng.uniform(-300_000, 300_000, (max(k, 3), 2))
        ring = np.vstack([ring, ring[:1]])
        parts.append(ring)
        sizes.append(len(ring))
    return np.vstack(parts), np.array(sizes, dtype=np.int64)


@pytest.mark.parametrize("seed", range(8))
def test_same_bytes_as_the_python_encoders(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # counts on both sides of the Python encoders' thresholds (scalar, split, numpy)
    for count in (1, 5, _mvt_fill.SPLIT_MIN_RINGS + 3, _mvt_fill.NUMPY_MIN_RINGS + 30):
        xy, n = _rings(rng, count)
        # world coordinates of a tile: origin and scale as a z14 tile would have them
        origin, scale = (13_520_000.0, 3_660_000.0), 4096 / 2445.98
        world = xy / scale + np.asarray(origin)
        want = _mvt_fill._one_ring_streams_py(world, n, 4096, origin, scale)
        got = ring_streams(world, n, origin[0], origin[1], scale, 4096)
        assert got == want
        if count > 100:  # dropped and kept rings are both exercised
            assert None in got and any(g is not None for g in got)


def test_bytes_decode_to_the_clockwise_ring() -> None:
    # an anticlockwise square (y up) with a repeated vertex: written clockwise on screen
    xy = np.array([[0, 0], [10, 0], [10, 0], [10, 10], [0, 10], [0, 0]], dtype=float)
    (cmd,) = ring_streams(xy, np.array([6], dtype=np.int64), 0.0, 0.0, 1.0, 4096)
    assert cmd is not None
    tile = _mvt_fill.assemble("t", [(0, cmd)], _attributes_none(), 4096)
    geom = mapbox_vector_tile.decode(tile)["t"]["features"][0]["geometry"]
    poly = shapely.geometry.shape(geom)
    assert poly.area == 100 and len(poly.exterior.coords) == 5


def _attributes_none() -> AttributeTable:
    return AttributeTable([{}])


def test_far_coordinates_are_left_to_the_python_path() -> None:
    xy = np.array([[0, 0], [MAX_UNITS + 5.0, 0], [0, 10], [0, 0]])
    with pytest.raises(OverflowError):
        ring_streams(xy, np.array([4], dtype=np.int64), 0.0, 0.0, 1.0, 4096)
    # the tile encoder falls back and writes the exact bytes
    got = _mvt_fill._one_ring_streams(xy, np.array([4]), 4096, (0.0, 0.0), 1.0)
    assert got == _mvt_fill._one_ring_streams_py(xy, np.array([4]), 4096, (0.0, 0.0), 1.0)
    assert got[0] is not None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="sum\\(n\\) rows"):
        ring_streams(np.zeros((3, 2)), np.array([4], dtype=np.int64), 0.0, 0.0, 1.0, 4096)
    with pytest.raises(ValueError, match=">= 0"):
        ring_streams(np.zeros((3, 2)), np.array([-1], dtype=np.int64), 0.0, 0.0, 1.0, 4096)
