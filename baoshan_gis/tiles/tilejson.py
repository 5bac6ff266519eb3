"""TileJSON 3.0.0 documents describing a layer's tiles."""

from __future__ import annotations

from typing import Any

#: Zooms advertised for every layer.
DEFAULT_MINZOOM: int = 0
DEFAULT_MAXZOOM: int = 22


def tilejson(
    name: str,
    *,
    tiles: list[str],
    bounds: tuple[float, float, float, float] | None,
    attribution: str,
    description: str = "",
    minzoom: int = DEFAULT_MINZOOM,
    maxzoom: int = DEFAULT_MAXZOOM,
    fields: dict[str, str] | None = None,
    version: str = "1.0.0",
) -> dict[str, Any]:
    """A TileJSON 3.0.0 document.

    Parameters
    ----------
    name
        Layer name (also the ``id`` of its vector layer).
    tiles
        Tile URL templates with ``{z}/{x}/{y}``, absolute.
    bounds
        ``(west, south, east, north)`` in WGS84, or ``None`` for the whole world.
    attribution
        Attribution text shown by clients (required for OSM-derived data).
    fields
        Attribute names and types, written as the ``vector_layers`` entry for MVT tiles.
    """
    b = list(bounds) if bounds else [-180.0, -85.0511287798066, 180.0, 85.0511287798066]
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "version": version,
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": tiles,
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, min(max(minzoom, 11), maxzoom)],
    }
    if fields is not None:
        doc["vector_layers"] = [
            {"id": name, "fields": fields, "minzoom": minzoom, "maxzoom": maxzoom,
             "description": description}
        ]
    return doc
