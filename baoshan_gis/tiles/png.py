"""256-pixel PNG tiles: vector layers drawn with their map style, and raster outputs.

Vector layers are drawn with the layer's style from :mod:`baoshan_gis.style` (the same source as
print maps and Folium pages); features whose ``geometry_quality`` is ``schematic`` are always drawn
with a dashed outline, so a schematic zone looks schematic on every map. Drawing happens at twice
the tile size and is reduced with a Lanczos filter (anti-aliasing).

Raster outputs such as the density COG are reprojected ONCE to Web Mercator into memory with a
small pyramid (:class:`RasterSource`); a tile is then a numpy lookup, a colour table and a PNG
encoding of an 8-bit palette image — no file is opened per request.

Tiles with nothing to draw are returned as ``b""`` (the service answers 204 No Content).
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from baoshan_gis._errors import InvalidInput
from baoshan_gis.style import SCHEMATIC_DASH, feature_color
from baoshan_gis.tiles.grid import ORIGIN_SHIFT, Tile, tile_bounds_3857
from baoshan_gis.tiles.mvt import tile_geometries
from baoshan_gis.tiles.source import VectorSource

#: Tile size in pixels.
TILE_SIZE: int = 256
#: Points per pixel used to turn style widths (points) into pixels on screen tiles.
_PX_PER_PT: float = 1.5
_SUPERSAMPLE: int = 2


def _rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    c = colour.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        r, g, b = int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except ValueError:
        r, g, b = 85, 85, 85
    return (r, g, b, max(0, min(255, round(alpha * 255))))


def _dashed(points: np.ndarray, dash: Sequence[float]) -> list[np.ndarray]:
    """Split a polyline (n x 2 pixels) into the 'on' pieces of a dash pattern."""
    if len(points) < 2:
        return []
    seg = np.diff(points, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    total = cum[-1]
    if total <= 0:
        return []
    on, off = float(dash[0]), float(dash[1] if len(dash) > 1 else dash[0])
    period = on + off
    pieces = []
    start = 0.0
    while start < total:
        stop = min(start + on, total)
        inner = cum[(cum > start) & (cum < stop)]
        ts = np.concatenate([[start], inner, [stop]])
        xs = np.interp(ts, cum, points[:, 0])
        ys = np.interp(ts, cum, points[:, 1])
        pieces.append(np.column_stack([xs, ys]))
        start += period
    return pieces


def _rings(geom: Any) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    polys = getattr(geom, "geoms", [geom])
    out = []
    for p in polys:
        if p.geom_type != "Polygon" or p.is_empty:
            continue
        out.append(
            (np.asarray(p.exterior.coords), [np.asarray(r.coords) for r in p.interiors])
        )
    return out


def _lines(geom: Any) -> list[np.ndarray]:
    if geom.geom_type in ("LineString", "LinearRing"):
        return [np.asarray(geom.coords)]
    if hasattr(geom, "geoms"):
        return [a for g in geom.geoms for a in _lines(g)]
    if geom.geom_type == "Polygon":
        return [np.asarray(geom.exterior.coords)] + [np.asarray(r.coords) for r in geom.interiors]
    return []


def _encode_png(img: Any, *, compress_level: int = 6) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def render_vector_png(
    source: VectorSource,
    tile: Tile,
    style: dict[str, Any],
    *,
    size: int = TILE_SIZE,
    feature_cap: int = 5000,
) -> bytes:
    """Draw one vector layer's features in ``tile`` as a transparent PNG.

    Parameters
    ----------
    source
        The layer (:class:`~baoshan_gis.tiles.source.VectorSource`).
    tile
        Validated tile coordinates.
    style
        The layer's style (:func:`baoshan_gis.style.layer_style`).
    size
        Tile size in pixels (256).
    feature_cap
        Largest number of features drawn.

    Returns
    -------
    bytes
        PNG bytes (RGBA, ``size`` x ``size``), or ``b""`` when no feature touches the tile.
    """
    from PIL import Image, ImageDraw

    ss = _SUPERSAMPLE
    ext = size * ss
    margin = math.ceil((float(style.get("size", 5)) * _PX_PER_PT + 4) * ss)
    idx, geoms = tile_geometries(
        source, tile, extent=ext, buffer=margin, feature_cap=feature_cap
    )
    if not len(idx):
        return b""
    # tile units are y-up; flip to image rows
    geoms = shapely.transform(geoms, lambda c: np.column_stack([c[:, 0], ext - c[:, 1]]))
    fill_img = Image.new("RGBA", (ext, ext), (0, 0, 0, 0))
    line_img = Image.new("RGBA", (ext, ext), (0, 0, 0, 0))
    fill_draw = ImageDraw.Draw(fill_img)
    line_draw = ImageDraw.Draw(line_img)
    width = max(1, round(float(style.get("width", 0.8)) * _PX_PER_PT * ss))
    fill_opacity = float(style.get("fill_opacity", 0.25))
    style_dash = style.get("dash")
    kind = source.kind
    for i, geom in zip(idx, geoms, strict=True):
        props = source.properties[int(i)]
        colour = feature_color(style, props)
        dash = SCHEMATIC_DASH if source.schematic[int(i)] else style_dash
        dash_px = [d * _PX_PER_PT * ss for d in dash] if dash else None
        if kind == "point":
            radius = float(style.get("size", 5)) * _PX_PER_PT * ss / 2
            for p in getattr(geom, "geoms", [geom]):
                x, y = p.x, p.y
                box = (x - radius, y - radius, x + radius, y + radius)
                line_draw.ellipse(box, fill=_rgba(colour), outline=(255, 255, 255, 255),
                                  width=max(1, ss))
                if dash_px:  # schematic point: dashed ring around the marker
                    ring = np.array(
                        [(x + (radius + 2 * ss) * math.cos(t), y + (radius + 2 * ss) * math.sin(t))
                         for t in np.linspace(0, 2 * math.pi, 24)]
                    )
                    for piece in _dashed(ring, dash_px):
                        line_draw.line([tuple(p) for p in piece], fill=_rgba(colour), width=ss)
            continue
        if kind == "fill":
            fc = feature_color({**style, "kind": "point"}, props) if style.get(
                "categories") else str(style.get("fill", colour))
            for ext_ring, holes in _rings(geom):
                if holes:
                    mask = Image.new("L", (ext, ext), 0)
                    md = ImageDraw.Draw(mask)
                    md.polygon([tuple(p) for p in ext_ring], fill=255)
                    for h in holes:
                        md.polygon([tuple(p) for p in h], fill=0)
                    solid = Image.new("RGBA", (ext, ext), _rgba(fc, fill_opacity))
                    fill_img.paste(solid, (0, 0), mask)
                else:
                    fill_draw.polygon([tuple(p) for p in ext_ring], fill=_rgba(fc, fill_opacity))
        for line in _lines(geom):
            if dash_px:
                for piece in _dashed(line, dash_px):
                    line_draw.line([tuple(p) for p in piece], fill=_rgba(colour), width=width)
            else:
                line_draw.line([tuple(p) for p in line], fill=_rgba(colour), width=width,
                               joint="curve")
    img = Image.alpha_composite(fill_img, line_img)
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    if img.getchannel("A").getextrema()[1] == 0:
        return b""
    return _encode_png(img)


def _colour_table(colormap: str) -> np.ndarray:
    """256 x 3 uint8 colours of a matplotlib colormap (entry 0 unused: transparent)."""
    from matplotlib import colormaps

    try:
        cmap = colormaps[colormap]
    except KeyError as exc:
        raise InvalidInput(
            f"colormap {colormap!r} is unknown; use a matplotlib name such as 'viridis'"
        ) from exc
    table = (cmap(np.linspace(0, 1, 255))[:, :3] * 255).round().astype(np.uint8)
    return np.vstack([np.zeros((1, 3), np.uint8), table])


@dataclass
class RasterSource:
    """A single-band raster held in memory in Web Mercator, with a pyramid of halvings.

    Build with :meth:`from_file`; afterwards the object is read-only and may be shared by threads.
    Values are mapped linearly from ``rescale`` to the colormap; nodata is transparent.
    """

    name: str
    levels: list[np.ndarray]  # float32, NaN = nodata; level k has resolution res * 2**k
    x0: float
    y0: float  # top edge
    res: float
    rescale: tuple[float, float]
    colormap: str = "viridis"
    bounds: tuple[float, float, float, float] | None = None  # WGS84
    palette: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.palette = _colour_table(self.colormap).tobytes()

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        colormap: str = "viridis",
        rescale: tuple[float, float] | None = None,
    ) -> RasterSource:
        """Read band 1 of a GeoTIFF and reproject it once to EPSG:3857 (bilinear)."""
        import rasterio
        from rasterio.warp import (
            Resampling,
            calculate_default_transform,
            reproject,
            transform_bounds,
        )

        path = Path(path)
        with warnings.catch_warnings(), rasterio.open(path) as src:
            # rasterio 1.4 multiplies Affine objects with '*' internally (affine >= 3.1 warns)
            warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
            if src.crs is None:
                raise InvalidInput(f"raster {path.name!r} has no CRS")
            data = src.read(1, masked=True).astype("float32").filled(np.nan)
            transform, width, height = calculate_default_transform(
                src.crs, "EPSG:3857", src.width, src.height, *src.bounds
            )
            dst = np.full((height, width), np.nan, dtype="float32")
            reproject(
                data, dst, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
                dst_transform=transform, dst_crs="EPSG:3857", dst_nodata=np.nan,
                resampling=Resampling.bilinear,
            )
            bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        finite = dst[np.isfinite(dst)]
        if rescale is None:
            rescale = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if transform.a != -transform.e:
            raise InvalidInput(f"raster {path.name!r} does not reproject to square pixels")
        levels = [dst]
        while min(levels[-1].shape) > 64:
            a = levels[-1]
            h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
            blocks = a[:h, :w].reshape(h // 2, 2, w // 2, 2)
            with np.errstate(invalid="ignore"):
                cnt = np.isfinite(blocks).sum(axis=(1, 3))
                tot = np.nansum(blocks, axis=(1, 3))
                levels.append(np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan).astype("float32"))
        return cls(
            name=name or path.stem, levels=levels, x0=transform.c, y0=transform.f,
            res=transform.a, rescale=(float(rescale[0]), float(rescale[1])), colormap=colormap,
            bounds=tuple(float(v) for v in bounds),  # type: ignore[arg-type]
        )

    def render(self, tile: Tile, *, size: int = TILE_SIZE, compress_level: int = 6) -> bytes:
        """PNG bytes of ``tile`` (8-bit palette, transparent nodata), ``b""`` outside the data."""
        from PIL import Image

        minx, _, maxx, maxy = tile_bounds_3857(tile)
        tres = (maxx - minx) / size
        level = 0
        while level + 1 < len(self.levels) and self.res * 2 ** (level + 1) <= tres:
            level += 1
        arr = self.levels[level]
        res = self.res * 2**level
        centres = (np.arange(size) + 0.5) * tres
        cols = np.floor((minx + centres - self.x0) / res).astype(np.int64)
        rows = np.floor((self.y0 - (maxy - centres)) / res).astype(np.int64)
        cok = (cols >= 0) & (cols < arr.shape[1])
        rok = (rows >= 0) & (rows < arr.shape[0])
        if not cok.any() or not rok.any():
            return b""
        vals = arr[np.clip(rows, 0, arr.shape[0] - 1)[:, None],
                   np.clip(cols, 0, arr.shape[1] - 1)[None, :]]
        valid = np.isfinite(vals) & rok[:, None] & cok[None, :]
        if not valid.any():
            return b""
        lo, hi = self.rescale
        scale = 254.0 / (hi - lo) if hi > lo else 0.0
        with np.errstate(invalid="ignore"):
            index = np.clip((vals - lo) * scale, 0, 254).astype(np.uint8) + 1
        index[~valid] = 0
        img = Image.frombuffer("P", (size, size), index.tobytes(), "raw", "P", 0, 1)
        img.putpalette(self.palette)
        img.info["transparency"] = 0
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=compress_level, transparency=0)
        return buf.getvalue()


__all__ = ["ORIGIN_SHIFT", "TILE_SIZE", "RasterSource", "render_vector_png"]
