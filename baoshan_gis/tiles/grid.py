"""Tile arithmetic of the XYZ / Web Mercator grid, with validation.

Every tile request goes through :func:`parse_tile` first: the coordinates may come straight from a
URL, so they are parsed from text and checked against the range of their zoom before any work is
done. Bad coordinates raise :class:`~baoshan_gis._errors.InvalidTile` naming the valid range.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import mercantile

from baoshan_gis._errors import InvalidTile

#: Highest zoom level served or exported.
MAX_ZOOM: int = 24
#: Half the width of the Web Mercator square (metres).
ORIGIN_SHIFT: float = 20037508.342789244
#: Latitude limit of Web Mercator (degrees).
MAX_LAT: float = 85.0511287798066


class Tile(NamedTuple):
    """An XYZ tile: zoom ``z``, column ``x`` (from the west) and row ``y`` (from the north)."""

    z: int
    x: int
    y: int


def _as_int(value: int | str, what: str) -> int:
    if isinstance(value, bool):
        raise InvalidTile(f"tile {what} {value!r} is not an integer")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text or not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        raise InvalidTile(f"tile {what} {value!r} is not an integer")
    return int(text)


def parse_tile(z: int | str, x: int | str, y: int | str, *, max_zoom: int = MAX_ZOOM) -> Tile:
    """Parse and validate tile coordinates.

    Parameters
    ----------
    z, x, y
        Zoom, column and row, as integers or decimal text (e.g. from a URL).
    max_zoom
        Highest zoom accepted (default :data:`MAX_ZOOM`, 24).

    Returns
    -------
    Tile

    Raises
    ------
    InvalidTile
        When a value is not an integer, the zoom is outside ``0..max_zoom``, or ``x``/``y`` is
        outside ``0..2**z - 1``; the message names the valid range.

    Examples
    --------
    >>> parse_tile("12", "3431", "1672")
    Tile(z=12, x=3431, y=1672)
    """
    zi = _as_int(z, "zoom z")
    if not 0 <= zi <= max_zoom:
        raise InvalidTile(f"zoom z={z!r} is outside the valid range 0..{max_zoom}")
    xi = _as_int(x, "column x")
    yi = _as_int(y, "row y")
    top = (1 << zi) - 1
    if not 0 <= xi <= top:
        raise InvalidTile(f"column x={x!r} is outside the valid range 0..{top} for zoom {zi}")
    if not 0 <= yi <= top:
        raise InvalidTile(f"row y={y!r} is outside the valid range 0..{top} for zoom {zi}")
    return Tile(zi, xi, yi)


def tile_bounds_3857(tile: Tile) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of the tile in Web Mercator metres (exact arithmetic)."""
    size = 2 * ORIGIN_SHIFT / (1 << tile.z)
    minx = -ORIGIN_SHIFT + tile.x * size
    maxy = ORIGIN_SHIFT - tile.y * size
    return (minx, maxy - size, minx + size, maxy)


def buffered_tile_box(tile: Tile, extent: int, buffer: int
                      ) -> tuple[tuple[float, float, float, float], tuple[float, float], float]:
    """``(box, origin, size)`` of an MVT tile: the tile's Web Mercator bounds grown by ``buffer``
    of its ``extent`` tile units on every side, its lower-left corner and its width in metres."""
    minx, miny, maxx, maxy = tile_bounds_3857(tile)
    size = maxx - minx
    pad = size * buffer / extent
    return (minx - pad, miny - pad, maxx + pad, maxy + pad), (minx, miny), size


def tile_bounds_wgs84(tile: Tile) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of the tile in degrees."""
    b = mercantile.bounds(tile.x, tile.y, tile.z)
    return (b.west, b.south, b.east, b.north)


def tiles_for_bounds(
    bounds: tuple[float, float, float, float], zooms: range | list[int] | tuple[int, ...]
) -> list[Tile]:
    """Every tile of the given zooms that intersects ``bounds`` (WGS84 degrees), z then y then x."""
    west, south, east, north = bounds
    south, north = max(south, -MAX_LAT), min(north, MAX_LAT)
    out: list[Tile] = []
    for z in zooms:
        if not 0 <= z <= MAX_ZOOM:
            raise InvalidTile(f"zoom {z!r} is outside the valid range 0..{MAX_ZOOM}")
        ul = mercantile.tile(west, north, z)
        lr = mercantile.tile(math.nextafter(east, -math.inf), math.nextafter(south, math.inf), z)
        for y in range(ul.y, lr.y + 1):
            for x in range(ul.x, lr.x + 1):
                out.append(Tile(z, x, y))
    return out


def parse_zoom_range(text: str) -> range:
    """Parse ``"10-16"`` or ``"12"`` into a range of zooms (inclusive), validated."""
    parts = str(text).strip().split("-")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise InvalidTile(f"zoom range {text!r} is not 'Z' or 'ZMIN-ZMAX' (e.g. '10-16')")
    lo, hi = int(parts[0]), int(parts[-1])
    if lo > hi or hi > MAX_ZOOM:
        raise InvalidTile(
            f"zoom range {text!r} must have ZMIN <= ZMAX within the valid range 0..{MAX_ZOOM}"
        )
    return range(lo, hi + 1)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``"minx,miny,maxx,maxy"`` (WGS84 degrees) and validate it.

    Raises
    ------
    InvalidBBox
        Not four finite numbers, min > max, longitude outside ±180 or latitude outside ±90.

    Examples
    --------
    >>> parse_bbox("121.3,31.27,121.52,31.51")
    (121.3, 31.27, 121.52, 31.51)
    """
    from baoshan_gis._errors import InvalidBBox

    parts = str(text).split(",")
    if len(parts) != 4:
        raise InvalidBBox(
            f"bbox {text!r} must be four numbers 'minx,miny,maxx,maxy' in WGS84 degrees, "
            f"got {len(parts)}"
        )
    try:
        vals = [float(p) for p in parts]
    except ValueError as exc:
        raise InvalidBBox(f"bbox {text!r} must be four numbers 'minx,miny,maxx,maxy'") from exc
    if not all(math.isfinite(v) for v in vals):
        raise InvalidBBox(f"bbox {text!r} contains a value that is not a finite number")
    minx, miny, maxx, maxy = vals
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InvalidBBox(f"bbox {text!r}: longitudes must lie within -180..180")
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidBBox(f"bbox {text!r}: latitudes must lie within -90..90")
    if minx > maxx or miny > maxy:
        raise InvalidBBox(f"bbox {text!r}: minx must be <= maxx and miny <= maxy")
    return (minx, miny, maxx, maxy)
