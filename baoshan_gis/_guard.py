"""What a writer may replace in a GeoPackage, checked before the work and again under the lock.

* Analysis outputs (``--write-layer``, the report) may replace only analysis layers
  (``kind='analysis'`` in the metadata table) and the rasters analyses registered; replacing a
  plan, imported or foreign layer needs ``replace=True`` (``--replace``) and the message says
  what it replaces.
* An import may replace any layer or raster (e.g. ``carrier_density``) only with
  ``replace=True``.
* A layer of the catalogue that recipes and maps need (``district``, ``belt_zones``,
  ``carriers``...) may only be replaced by the geometry family they need (polygons for polygons).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from baoshan_gis._errors import InvalidInput, LayerExists

_FAMILY = {
    "Point": "point",
    "MultiPoint": "point",
    "LineString": "line",
    "MultiLineString": "line",
    "LinearRing": "line",
    "Polygon": "polygon",
    "MultiPolygon": "polygon",
}


def geometry_family(geom_type: str | None) -> str:
    """``point``, ``line``, ``polygon`` or ``none`` for a geometry type name."""
    if not geom_type:
        return "none"
    return _FAMILY.get(
        geom_type, _FAMILY.get(geom_type.title().replace("string", "String"), "none")
    )


def _describe(gpkg: Path, name: str) -> tuple[str, str] | None:
    """``(kind, description)`` of the layer or raster called ``name``, or None when free."""
    from baoshan_gis import gpkg as g

    meta = g.read_meta(gpkg).get(name)
    names = g.layer_names(gpkg)
    if name not in names:
        if meta is not None and meta.get("kind") == "raster":
            path = meta["parameters"].get("path", "")
            return "raster", f"the raster {name!r} ({path})"
        return None
    kind = (meta or {}).get("kind") or "foreign"
    title = " ".join(x for x in ((meta or {}).get("title_zh"), (meta or {}).get("title_en")) if x)
    with contextlib.closing(g._connect_ro(gpkg)) as con:
        count = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
    label = {
        "plan": "plan layer",
        "import": "imported layer",
        "analysis": "analysis layer",
        "foreign": "layer",
    }.get(kind, f"{kind} layer")
    return kind, f"the {label} {name!r} ({count} features{': ' + title if title else ''})"


def check_replace(
    gpkg: str | os.PathLike[str],
    names: Iterable[str],
    *,
    writer: str,
    replace: bool,
    geometry_types: Iterable[str] | None = None,
) -> None:
    """Raise unless ``writer`` (``"analysis"`` or ``"import"``) may write layers ``names``.

    ``geometry_types`` are the geometry types of the new data (checked against what the
    catalogue layer of the same name must hold, when one is replaced).
    """
    path = Path(gpkg)
    for name in names:
        found = _describe(path, name)
        if found is None:
            continue
        kind, what = found
        if writer == "analysis" and kind in ("analysis", "raster"):  # outputs of analyses
            continue
        if not replace:
            if writer == "analysis":
                raise LayerExists(
                    f"{name!r} is {what}; analysis results only replace analysis layers. Choose "
                    f"another --write-layer name (e.g. 'analysis_{name}'), or pass --replace to "
                    f"replace {what}"
                )
            head = (
                f"layer {name!r} already exists in {path.name!r}"
                if kind != "raster"
                else f"{name!r} is taken in {path.name!r}"
            )
            raise LayerExists(
                f"{head}: it is {what}; use --replace to replace it or choose another --name"
            )
        _check_geometry(name, what, geometry_types)


def _check_geometry(name: str, what: str, geometry_types: Iterable[str] | None) -> None:
    if geometry_types is None:
        return
    from baoshan_gis.catalogue import load_catalogue

    ldef = load_catalogue().get(name)
    if ldef is None or not ldef.is_spatial:
        return
    need = geometry_family(ldef.geometry_type)
    got = sorted({geometry_family(t) for t in geometry_types})
    if got != [need]:
        raise InvalidInput(
            f"cannot replace {what} with {', '.join(got) or 'no'} geometries: the maps, analyses "
            f"and recipes that use {name!r} need {need} features ({ldef.geometry_type}); import "
            "it under another --name"
        )
