"""Polygon features a tile takes whole, unclipped and unsimplified (tiles._mvt_whole)."""

from __future__ import annotations

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from baoshan_gis.tiles import _mvt_fill
from baoshan_gis.tiles._mvt_whole import pick_whole, unchanged_below, whole_rings
from baoshan_gis.tiles.grid import Tile, buffered_tile_box, tile_bounds_wgs84
from baoshan_gis.tiles.mvt import render_mvt
from baoshan_gis.tiles.source import VectorSource


def _same_coords(a: shapely.Geometry, b: shapely.Geometry) -> bool:
    return bool(shapely.get_type_id(a) == shapely.get_type_id(b)) and np.array_equal(
        shapely.get_coordinates(a), shapely.get_coordinates(b))


def test_a_square_keeps_its_vertices_below_its_half_diagonal() -> None:
    ring = np.array([[[0.0, 0.0], [0.0, 10.0], [10.0, 10.0], [10.0, 0.0]]])
    # each corner lies 10 / sqrt(2) from the diagonal through its neighbours
    assert unchanged_below(ring)[0] == pytest.approx(10 / math.sqrt(2), rel=1e-5)
    assert unchanged_below(ring)[0] < 10 / math.sqrt(2)


def test_chords_between_any_two_vertices_count_not_only_neighbours() -> None:
    # Douglas-Peucker drops a vertex of this ring at 0.76 although every vertex lies farther
    # than 0.99 from the line through its two neighbours: the bound must look at every chord
    ring = np.array([[-1.144, 1.759], [-2.878, -0.249], [-0.531, -4.277], [-0.058, -3.318],
                     [2.044, -6.267], [1.322, -1.34]])
    poly = Polygon(ring)
    tol = 0.76
    assert not _same_coords(shapely.simplify(poly, tol, preserve_topology=True), poly)
    d = np.roll(ring, -1, axis=0) - np.roll(ring, 1, axis=0)  # next - previous
    v = ring - np.roll(ring, 1, axis=0)
    neighbours = np.min(np.abs(d[:, 0] * v[:, 1] - d[:, 1] * v[:, 0]) / np.hypot(d[:, 0], d[:, 1]))
    assert neighbours > 0.99
    assert unchanged_below(ring[None])[0] < tol


def test_simplification_changes_nothing_below_the_bound() -> None:
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(3000):
        k = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        ring = np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(1, 10, k)[:, None]
        ring *= [1.0, rng.uniform(0.01, 1)]  # thin shapes too
        poly = Polygon(ring)
        bound = unchanged_below(ring[None])[0]
        if not poly.is_valid or bound <= 0:
            continue
        for tol in (bound * 0.999, bound * rng.random()):
            assert _same_coords(shapely.simplify(poly, tol, preserve_topology=True), poly)
            checked += 1
    assert checked > 4000


def test_only_one_ring_polygons_of_few_distinct_vertices_are_eligible() -> None:
    geoms = np.array([
        box(0, 0, 10, 10),  # eligible
        Polygon([(0, 0), (0, 10), (0, 10), (10, 10), (10, 0)]),  # a repeated vertex
        Polygon(box(0, 0, 10, 10).exterior.coords, [box(2, 2, 4, 4).exterior.coords]),
        MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
        Polygon([(math.cos(a), math.sin(a)) for a in np.linspace(0, 6, 12)]),  # 12 vertices
        None,
        Polygon(),
        Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # self-intersecting
    ], dtype=object)
    out = whole_rings(geoms)
    assert out[0] is not None and out[0][1:] == (0.0, 0.0, 10.0, 10.0)
    assert out[1:] == [None] * 7


def test_pick_whole_needs_the_envelope_within_the_box_and_the_tolerance_below() -> None:
    geoms = np.array([box(1, 1, 10, 10), box(5, 5, 30, 30), box(1, 1, 10, 1.5)], dtype=object)
    rings = whole_rings(geoms)
    assert pick_whole(rings, [0, 1, 2], (0, 0, 20, 20), 0.1) == [0, 2]
    assert pick_whole(rings, [0, 1, 2], (0, 0, 20, 20), 1.0) == [0]  # the thin one simplifies
    assert pick_whole(rings, [2, 0], (0, 0, 20, 20), 0.1) == [0, 1]  # positions in rows
    assert pick_whole(rings, [0], (1, 0, 20, 20), 0.1) == []  # touching the box's edge
    # GEOS's clip may rewrite a ring on the box's edge: why touching does not count
    sq = box(0, 0, 10, 10)
    assert not _same_coords(shapely.clip_by_rect(sq, 0, 0, 10, 10), sq)


def test_geos_clip_returns_a_ring_strictly_inside_unchanged() -> None:
    # what the shortcut relies on, on random rings of both orientations and random boxes
    rng = np.random.default_rng(3)
    for _ in range(2000):
        k = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        ring = np.c_[np.cos(ang), np.sin(ang)] * rng.uniform(1, 10, k)[:, None]
        poly = Polygon(ring[::-1] if rng.random() < 0.5 else ring)
        x0, y0, x1, y1 = poly.bounds
        pad = rng.uniform(1e-9, 5, 4)
        clipped = shapely.clip_by_rect(poly, x0 - pad[0], y0 - pad[1], x1 + pad[2], y1 + pad[3])
        assert _same_coords(clipped, poly)


def _layer(tile: Tile) -> gpd.GeoDataFrame:
    """Features inside, crossing, containing the tile; holes, multipolygons, a sliver inside."""
    w, s, e, n = tile_bounds_wgs84(tile)
    dx, dy = e - w, n - s

    def at(fx: float, fy: float, fw: float, fh: float) -> Polygon:
        return box(w + fx * dx, s + fy * dy, w + (fx + fw) * dx, s + (fy + fh) * dy)

    geoms = [
        at(0.1, 0.1, 0.2, 0.2),  # inside
        Polygon([(w + 0.5 * dx, s + 0.1 * dy), (w + 0.7 * dx, s + 0.15 * dy),
                 (w + 0.65 * dx, s + 0.4 * dy), (w + 0.45 * dx, s + 0.3 * dy)]),  # inside
        at(0.8, 0.4, 0.5, 0.2),  # crossing the east edge
        at(-0.5, -0.5, 2.0, 2.0),  # containing the tile
        Polygon(at(0.1, 0.6, 0.3, 0.3).exterior.coords,
                [at(0.2, 0.7, 0.1, 0.1).exterior.coords]),  # a hole
        MultiPolygon([at(0.5, 0.6, 0.1, 0.1), at(0.7, 0.6, 0.1, 0.1)]),
        Polygon([(w + 0.3 * dx, s + 0.45 * dy), (w + 0.4 * dx, s + 0.45 * dy),
                 (w + 0.4 * dx + 1e-9, s + 0.45 * dy + 1e-7),
                 (w + 0.3 * dx, s + 0.5 * dy)]),  # inside, a vertex simplification removes
        at(0.55, 0.8, 0.05, 0.05).reverse(),  # inside, anticlockwise
    ]
    return gpd.GeoDataFrame({"name": [f"f{i}" for i in range(len(geoms))]}, geometry=geoms,
                            crs=4326)


@pytest.mark.parametrize("split_min", [10, 1, 10**6])
def test_tiles_with_whole_features_write_the_same_bytes(split_min: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_mvt_fill, "SPLIT_MIN_RINGS", split_min)
    tile = Tile(14, 13720, 6690)
    src = VectorSource.from_frame("mixed", _layer(tile))
    box3857, _, size = buffered_tile_box(tile, 4096, 64)
    rows = src.query(box3857).tolist()
    assert rows == list(range(8))
    assert pick_whole(src.whole_rings, rows, box3857, size / 4096) == [0, 1, 7]
    ours = render_mvt(src, tile)
    ref = render_mvt(src, tile, vectorised=False)
    decoded = mapbox_vector_tile.decode(ours)["mixed"]["features"]
    assert decoded == mapbox_vector_tile.decode(ref)["mixed"]["features"]
    assert sorted(f["id"] for f in decoded) == list(range(1, 9))
    monkeypatch.setattr(src, "whole_rings", [None] * 8)  # everything clipped and simplified
    assert render_mvt(src, tile) == ours
    # exterior rings clockwise on screen (MVT 2.1: positive area with y down), so negative area
    # as decoded here (y up), whatever the input's orientation (``at`` boxes are anticlockwise)
    for f in decoded:
        geom = f["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for rings in polys:
            for i, ring in enumerate(rings):
                xy = np.array(ring, dtype=float)
                x, y = xy[:, 0], xy[:, 1]
                area2 = float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
                assert (area2 < 0) == (i == 0), (f["id"], i)
