"""The polygon MVT path (baoshan_gis.tiles._mvt_fill) against the reference encoder."""

from __future__ import annotations

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from baoshan_gis.tiles import _mvt_fill
from baoshan_gis.tiles._mvt_encode import _packed, _scalar_streams
from baoshan_gis.tiles.grid import tile_bounds_3857, tiles_for_bounds
from baoshan_gis.tiles.mvt import clip_tile, render_mvt
from baoshan_gis.tiles.source import VectorSource


def _polygons(n: int = 400) -> gpd.GeoDataFrame:
    """Squares, quadrilaterals, polygons with holes, multipolygons, slivers; mixed attributes."""
    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(121.30, 121.50, n), rng.uniform(31.28, 31.50, n)
    geoms = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        w = rng.uniform(0.0005, 0.02)
        if i % 7 == 0:  # counter-clockwise quadrilateral with a hole
            g = Polygon([(x, y), (x + w, y + 0.1 * w), (x + 0.9 * w, y + w), (x - 0.1 * w, y + w)],
                        [box(x + 0.3 * w, y + 0.3 * w, x + 0.5 * w, y + 0.5 * w).exterior.coords])
        elif i % 5 == 0:
            g = MultiPolygon([box(x, y, x + w, y + w), box(x + 2 * w, y, x + 2.5 * w, y + w)])
        elif i % 11 == 0:  # a sliver that vanishes at low zoom
            g = box(x, y, x + 1e-6, y + w)
        elif i % 3 == 0:  # clockwise, with nearly repeated vertices
            g = Polygon([(x, y), (x, y + w), (x + 1e-7, y + w), (x + w, y + w), (x + w, y)])
        else:
            g = box(x, y, x + w, y + w)
        geoms.append(g)
    props = {"name_zh": [f"面{i}" for i in range(n)], "level": rng.integers(-3, 300, n),
             "share": rng.random(n), "note": [None if i % 4 == 0 else "备注" for i in range(n)]}
    return gpd.GeoDataFrame(props, geometry=geoms, crs=4326)


@pytest.fixture(scope="module")
def source() -> VectorSource:
    return VectorSource.from_frame("polys", _polygons())


@pytest.mark.parametrize(("split_min", "numpy_min"), [(10, 120), (1, 10**6), (10**6, 10**6),
                                                      (1, 1)])
def test_fill_tiles_decode_as_the_reference(source: VectorSource, split_min: int,
                                            numpy_min: int, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    # every ring path (Python, numpy + slicing, all numpy) against mapbox_vector_tile.encode of
    # the same clipped, simplified, snapped geometry
    monkeypatch.setattr(_mvt_fill, "SPLIT_MIN_RINGS", split_min)
    monkeypatch.setattr(_mvt_fill, "NUMPY_MIN_RINGS", numpy_min)
    compared = 0
    for t in tiles_for_bounds(source.bounds, [8, 10, 12, 14])[::2]:
        ours = render_mvt(source, t)
        ref = render_mvt(source, t, vectorised=False)
        assert bool(ours) == bool(ref)
        if ref:
            assert mapbox_vector_tile.decode(ours) == mapbox_vector_tile.decode(ref)
            compared += 1
    assert compared > 40


def test_ring_paths_write_the_general_paths_bytes(source: VectorSource) -> None:
    # the one-ring encoders give exactly the bytes of the general scalar path, ring by ring
    checked = vanished = 0
    for t in tiles_for_bounds(source.bounds, [9, 11, 13])[::3]:
        _, geoms, origin, scale = clip_tile(source, t)
        one = geoms[(shapely.get_type_id(geoms) == 3)
                    & (shapely.get_num_interior_rings(geoms) == 0)]
        if not len(one):
            continue
        ref = [_packed(i) if i else None for i in _scalar_streams(one, "fill", 4096, origin,
                                                                  scale)]
        n = shapely.get_num_coordinates(one)
        xy = shapely.get_coordinates(one)
        c = np.rint((xy - np.asarray(origin)) * scale).astype(np.int64)
        assert _mvt_fill._simple_rings_split(c, n, 4096) == ref
        data, nbytes, ok = _mvt_fill._simple_rings_np(c, n, 4096)
        assert ok.tolist() == [r is not None for r in ref]
        assert data.tobytes() == b"".join(r for r in ref if r is not None)
        assert nbytes.tolist() == [len(r) for r in ref if r is not None]
        xs, ys = c[:, 0].tolist(), c[:, 1].tolist()
        a = 0
        for k, r in zip(n.tolist(), ref, strict=True):
            assert _mvt_fill._simple_ring(xs[a:a + k], ys[a:a + k], 4096) == r
            assert _mvt_fill._simple_ring_general(xs[a:a + k], ys[a:a + k], 4096) == r
            a += k
        checked += len(ref)
        vanished += ref.count(None)
    assert checked > 200 and vanished > 0  # slivers that collapse were among them


def test_simple_ring_fast_and_general_paths_agree() -> None:
    cases = [
        ([0, 0, 10, 10, 0], [0, 10, 10, 0, 0]),  # clockwise square (fast path)
        ([0, 10, 10, 0, 0], [0, 0, 10, 10, 0]),  # anticlockwise: reversed
        ([0, 0, 0, 10, 10, 0], [0, 10, 10, 10, 0, 0]),  # a repeated vertex
        ([0, 5, 10, 0], [0, 0, 0, 0]),  # zero area
        ([3, 3, 3, 3], [4, 4, 4, 4]),  # collapsed to one point
        ([-64, -64, 4160, 4160, -64], [-64, 4160, 4160, -64, -64]),  # the buffer's corners
        ([0, 0, 40000, 0], [0, 40000, 0, 0]),  # deltas beyond the lookup table
    ]
    for xs, ys in cases:
        assert _mvt_fill._simple_ring(xs, ys, 4096) == _mvt_fill._simple_ring_general(xs, ys,
                                                                                      4096)
    assert _mvt_fill._simple_ring(*cases[3], 4096) is None
    assert _mvt_fill._simple_ring(*cases[4], 4096) is None


@pytest.mark.parametrize("n", [30, 200, 300])
def test_assembly_paths_keep_every_attribute(n: int) -> None:
    # one-byte ids (few values), wider ids (> 128 values) and the numpy records (> 256 features)
    frame = _polygons(n)
    frame["geometry"] = [box(121.40 + 0.0001 * (i % 20), 31.40 + 0.0001 * (i // 20),
                             121.40 + 0.0001 * (i % 20) + 0.00008,
                             31.40 + 0.0001 * (i // 20) + 0.00008) for i in range(n)]
    src = VectorSource.from_frame("cells", frame)
    t = tiles_for_bounds(src.bounds, [12])[0]
    minx, miny, maxx, maxy = tile_bounds_3857(t)
    assert len(src.query((minx, miny, maxx, maxy))) == n  # all in one tile
    feats = mapbox_vector_tile.decode(render_mvt(src, t))["cells"]["features"]
    ref = mapbox_vector_tile.decode(render_mvt(src, t, vectorised=False))["cells"]["features"]
    assert feats == ref
    assert len(feats) == n
    by_id = {f["id"]: f["properties"] for f in feats}
    for row in (0, 1, n - 1):
        props = by_id[row + 1]
        assert props["name_zh"] == frame["name_zh"].iloc[row]
        assert props["level"] == frame["level"].iloc[row]
        assert ("note" in props) == (row % 4 != 0)  # missing values are left out
