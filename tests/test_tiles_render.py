"""MVT and PNG rendering of layers (baoshan_gis.tiles.mvt, .png, .source)."""

from __future__ import annotations

import io

import geopandas as gpd
import mapbox_vector_tile
import mercantile
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import LineString, box

from baoshan_gis.style import layer_style
from baoshan_gis.tiles._sample import sample_frames
from baoshan_gis.tiles.grid import Tile
from baoshan_gis.tiles.mvt import render_mvt
from baoshan_gis.tiles.png import RasterSource, render_vector_png
from baoshan_gis.tiles.source import VectorSource


def _tile_of(lon: float, lat: float, z: int) -> Tile:
    t = mercantile.tile(lon, lat, z)
    return Tile(t.z, t.x, t.y)


def _expected_units(lon: float, lat: float, tile: Tile, extent: int = 4096) -> tuple[float, float]:
    """Position of a point in tile units, y up (what mapbox_vector_tile.decode returns)."""
    x, y = mercantile.xy(lon, lat)
    b = mercantile.xy_bounds(tile.x, tile.y, tile.z)
    return ((x - b.left) / (b.right - b.left) * extent,
            (y - b.bottom) / (b.top - b.bottom) * extent)


@pytest.fixture(scope="module")
def frames() -> dict[str, gpd.GeoDataFrame]:
    return sample_frames(n_carriers=40)  # type: ignore[return-value]


@pytest.mark.parametrize("z", [10, 14, 18])
def test_mvt_point_lands_within_one_pixel(frames: dict, z: int) -> None:
    carriers = frames["carriers"]
    src = VectorSource.from_frame("carriers", carriers)
    row = 7
    lon, lat = carriers.geometry.iloc[row].x, carriers.geometry.iloc[row].y
    tile = _tile_of(lon, lat, z)
    decoded = mapbox_vector_tile.decode(render_mvt(src, tile))
    feats = {f["id"]: f for f in decoded["carriers"]["features"]}
    feat = feats[row + 1]
    gx, gy = feat["geometry"]["coordinates"]
    ex, ey = _expected_units(lon, lat, tile)
    assert abs(gx - ex) <= 16 and abs(gy - ey) <= 16  # one 256-px pixel = 16 units
    props = feat["properties"]
    assert props["name_zh"] == carriers["name_zh"].iloc[row]
    assert props["accuracy_m"] == pytest.approx(carriers["accuracy_m"].iloc[row])
    assert set(props) >= {"name_zh", "name_en", "category", "geometry_quality", "source"}


def test_mvt_clips_to_buffer_and_simplifies() -> None:
    # a long wiggly line across many tiles at z14
    xs = np.linspace(121.30, 121.50, 2001)
    ys = 31.40 + 0.0005 * np.sin(np.arange(2001))
    line = gpd.GeoDataFrame({"name_zh": ["线"]}, geometry=[LineString(zip(xs, ys, strict=True))],
                            crs=4326)
    src = VectorSource.from_frame("lines", line)
    t14 = _tile_of(121.40, 31.40, 14)
    geom = mapbox_vector_tile.decode(render_mvt(src, t14))["lines"]["features"][0]["geometry"]
    coords = np.array(geom["coordinates"]).reshape(-1, 2)
    assert coords.min() >= -64 and coords.max() <= 4096 + 64  # clipped to tile + buffer
    t10 = _tile_of(121.40, 31.40, 10)
    g10 = mapbox_vector_tile.decode(render_mvt(src, t10))["lines"]["features"][0]["geometry"]
    n10 = len(np.array(g10["coordinates"]).reshape(-1, 2))
    assert n10 < 2001 / 2  # simplified at low zoom: sub-unit wiggles dropped


def test_mvt_feature_cap_and_empty_tile(frames: dict) -> None:
    src = VectorSource.from_frame("carriers", frames["carriers"])
    all_tile = _tile_of(121.40, 31.39, 8)
    full = mapbox_vector_tile.decode(render_mvt(src, all_tile))["carriers"]["features"]
    assert len(full) == 40
    capped = mapbox_vector_tile.decode(render_mvt(src, all_tile, feature_cap=5))
    assert len(capped["carriers"]["features"]) == 5
    assert render_mvt(src, _tile_of(0.0, 0.0, 12)) == b""


def _png(body: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(body))
    assert img.size == (256, 256)
    return np.asarray(img.convert("RGBA"))


def test_png_points_drawn_where_they_are(frames: dict) -> None:
    carriers = frames["carriers"]
    src = VectorSource.from_frame("carriers", carriers)
    lon, lat = carriers.geometry.iloc[3].x, carriers.geometry.iloc[3].y
    tile = _tile_of(lon, lat, 14)
    arr = _png(render_vector_png(src, tile, layer_style("carriers", "Point")))
    ex, ey = _expected_units(lon, lat, tile, extent=256)
    col, row = int(ex), int(256 - ey)
    assert arr[row, col, 3] > 200  # opaque marker at the point
    assert arr[..., 3].mean() < 20  # mostly transparent elsewhere
    assert render_vector_png(src, _tile_of(0.0, 0.0, 14), layer_style("carriers", "Point")) == b""


def test_png_schematic_outline_is_dashed() -> None:
    square = box(121.38, 31.30, 121.45, 31.50)
    zones = gpd.GeoDataFrame(
        {"geometry_quality": ["surveyed", "schematic"], "name_zh": ["甲", "乙"]},
        geometry=[square, square], crs=4326)
    style = {"kind": "fill", "color": "#ff0000", "fill": "#ff0000", "fill_opacity": 0.0,
             "width": 1.0, "dash": None, "categories": None, "size": 5.0}
    tile = _tile_of(121.38, 31.40, 13)  # the square's west edge crosses this tile
    runs = {}
    for i, quality in enumerate(("surveyed", "schematic")):
        src = VectorSource.from_frame("z", zones.iloc[[i]])
        arr = _png(render_vector_png(src, tile, style))
        ex, _ = _expected_units(121.38, 31.40, tile, extent=256)
        column = arr[:, round(ex) - 1: round(ex) + 2, 3].max(axis=1)
        runs[quality] = (column > 60).mean()
    assert runs["surveyed"] > 0.95  # solid line down the tile
    assert 0.3 < runs["schematic"] < 0.85  # dashes with gaps


def test_raster_tile_colours_follow_values(tmp_path) -> None:
    import rasterio
    from affine import Affine

    # west-east gradient 0..100 in UTM 51N over part of the district
    width, height, cell = 400, 300, 50.0
    data = np.tile(np.linspace(0, 100, width, dtype="float32"), (height, 1))
    x0, y1 = 340_000.0, 3_480_000.0
    path = tmp_path / "g.tif"
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1,
                       dtype="float32", crs="EPSG:32651",
                       transform=Affine(cell, 0, x0, 0, -cell, y1)) as dst:
        dst.write(data, 1)
    src = RasterSource.from_file(path, colormap="gray", rescale=(0, 100))
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32651, 4326, always_xy=True).transform(
        x0 + 0.25 * width * cell, y1 - 0.5 * height * cell)
    tile = _tile_of(lon, lat, 13)
    arr = _png(src.render(tile))
    ex, ey = _expected_units(lon, lat, tile, extent=256)
    grey = arr[int(256 - ey), int(ex), 0]
    assert abs(grey / 255 * 100 - 25) < 3  # value 25 -> 25 % grey
    assert src.render(_tile_of(0.0, 0.0, 13)) == b""


def _mixed_layers() -> dict[str, gpd.GeoDataFrame]:
    from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon

    rng = np.random.default_rng(7)
    n = 300
    props = {"name_zh": [f"要素{i}" for i in range(n)], "level": rng.integers(-3, 300, n),
             "flag": rng.integers(0, 2, n).astype(bool), "share": rng.random(n),
             "note": [None if i % 5 == 0 else "备注" for i in range(n)]}
    xs, ys = rng.uniform(121.30, 121.50, n), rng.uniform(31.28, 31.50, n)
    points = [MultiPoint([(x, y), (x + 0.001, y)]) if i % 17 == 0 else Point(x, y)
              for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    polys = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        outer = Polygon([(x, y), (x + 0.02, y + 0.003), (x + 0.018, y + 0.02),
                         (x - 0.004, y + 0.015)])
        if i % 3 == 0:
            outer = Polygon(outer.exterior.coords,
                            [box(x + 0.005, y + 0.005, x + 0.01, y + 0.01).exterior.coords])
        polys.append(MultiPolygon([outer, box(x + 0.03, y, x + 0.031, y + 0.001)])
                     if i % 4 == 0 else outer)
    lines = [LineString([(x, y), (x + 0.01, y + 0.004), (x + 0.02, y - 0.003)])
             for x, y in zip(xs, ys, strict=True)]
    return {name: gpd.GeoDataFrame(props, geometry=geoms, crs=4326)
            for name, geoms in (("pts", points), ("polys", polys), ("lines", lines),
                                ("single_pts", [Point(x, y) for x, y in zip(xs, ys, strict=True)]))}


@pytest.mark.parametrize("py_assembly_max", [0, 10**6])
def test_vectorised_encoder_matches_mapbox_vector_tile(
    py_assembly_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baoshan_gis.tiles import _mvt_encode
    from baoshan_gis.tiles._mvt_encode import encode_layer_fast, encode_layer_small

    monkeypatch.setattr(_mvt_encode, "_PY_ASSEMBLY_MAX", py_assembly_max)
    from baoshan_gis.tiles.grid import tiles_for_bounds
    from baoshan_gis.tiles.mvt import clip_tile, tile_geometries

    compared = 0
    for name, frame in _mixed_layers().items():
        src = VectorSource.from_frame(name, frame)
        assert (src.point_xy is not None) == (name == "single_pts")  # the points-only path
        for t in tiles_for_bounds(src.bounds, [9, 11, 13])[::3]:
            idx, geoms = tile_geometries(src, t)
            if not len(idx):
                assert render_mvt(src, t) == b""
                continue
            ref = mapbox_vector_tile.decode(render_mvt(src, t, vectorised=False))
            fast = encode_layer_fast(name, geoms, idx, src.attributes, src.kind)
            small = encode_layer_small(name, geoms, idx, src.attributes, src.kind)
            assert fast == small  # the two paths write the same bytes
            assert mapbox_vector_tile.decode(fast) == ref
            # and straight from the clipped Web Mercator geometry (as the service does)
            cidx, cgeoms, origin, scale = clip_tile(src, t)
            for enc in (encode_layer_fast, encode_layer_small):
                assert enc(name, cgeoms, cidx, src.attributes, src.kind, origin=origin,
                           scale=scale) == fast
            assert mapbox_vector_tile.decode(render_mvt(src, t)) == ref
            compared += 1
    assert compared > 30
