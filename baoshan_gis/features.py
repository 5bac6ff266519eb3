"""Feature queries as OGC API - Features defines them: CRS by reference, bbox, filters, paging.

This is the non-HTTP half of the ``/ogc`` service (the routers only parse the request and wrap
the result in links): which coordinate reference systems a layer can be served in and how its
coordinates are transformed (OGC API - Features Part 2, axis order as the CRS defines it), how
``bbox``/``bbox-crs``, ``limit``, ``offset`` and simple property filters such as
``category=lab`` are validated, which features of a layer they select, and how one page of them
is written as GeoJSON features. Layers are held in WGS84 longitude/latitude (the GeoPackage's
EPSG:4326 as GDAL stores it), i.e. CRS84.

Every bad value raises :class:`~baoshan_gis._errors.InvalidInput` (or ``InvalidBBox``/``CRSError``)
naming what would be valid; nothing here raises a bare exception for user input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from baoshan_gis._errors import CRSError, InvalidBBox, InvalidInput
from baoshan_gis.tiles.source import frame_properties

#: OGC URI of WGS84 longitude/latitude, the default CRS of OGC API - Features and GeoJSON.
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: WGS84 in the EPSG axis order (latitude, longitude).
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
#: CGCS2000 (China Geodetic Coordinate System 2000), geographic, latitude then longitude.
CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
#: Every CRS a layer can be served in (Part 2 ``crs`` list), the storage CRS first.
SUPPORTED_CRS: tuple[str, ...] = (CRS84, EPSG4326, CGCS2000)
#: The CRS the layers are stored in (longitude/latitude order, as in the GeoPackage).
STORAGE_CRS = CRS84
#: Query parameters of ``/items`` that are not property filters.
RESERVED_PARAMS: frozenset[str] = frozenset({"bbox", "bbox-crs", "limit", "offset", "crs", "f"})
#: Default page size of ``/items`` (OGC API - Features' example default).
DEFAULT_LIMIT = 10

_PYPROJ_NAME = {CRS84: "OGC:CRS84", EPSG4326: "EPSG:4326", CGCS2000: "EPSG:4490"}
_ALIASES = {
    "crs84": CRS84,
    "ogc:crs84": CRS84,
    "[ogc:crs84]": CRS84,
    "epsg:4326": EPSG4326,
    "[epsg:4326]": EPSG4326,
    "epsg:4490": CGCS2000,
    "[epsg:4490]": CGCS2000,
}


def parse_crs(value: str | None, *, what: str = "crs") -> str:
    """The OGC URI of a supported CRS given as a URI, safe CURIE or ``EPSG:n``.

    Raises
    ------
    CRSError
        The CRS is not one of :data:`SUPPORTED_CRS` (the message lists them).

    Examples
    --------
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/4490")
    'http://www.opengis.net/def/crs/EPSG/0/4490'
    >>> parse_crs(None)
    'http://www.opengis.net/def/crs/OGC/1.3/CRS84'
    """
    if value is None:
        return CRS84
    text = str(value).strip()
    uri = text.replace("https://", "http://", 1)
    if uri in SUPPORTED_CRS:
        return uri
    if text.lower() in _ALIASES:
        return _ALIASES[text.lower()]
    raise CRSError(f"{what}={value!r} is not supported; use one of: {', '.join(SUPPORTED_CRS)}")


def lat_first(crs: str) -> bool:
    """Whether coordinates in ``crs`` (a supported URI) are written latitude first."""
    return crs != CRS84


@lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> Transformer:
    # authority axis order on both sides: CRS84 is lon/lat, EPSG:4326/4490 lat/lon
    return Transformer.from_crs(_PYPROJ_NAME[src], _PYPROJ_NAME[dst])


def transform_geometries(geoms: np.ndarray, crs: str) -> np.ndarray:
    """CRS84 geometries transformed to ``crs``, in that CRS's axis order (new array)."""
    if crs == CRS84:
        return geoms
    tr = _transformer(CRS84, crs)

    def _fwd(xy: np.ndarray) -> np.ndarray:
        a, b = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([a, b])

    return shapely.transform(geoms, _fwd)


def parse_bbox(text: str, crs: str = CRS84) -> list[tuple[float, float, float, float]]:
    """``bbox`` in ``crs`` (axis order of that CRS) as CRS84 boxes ``(w, s, e, n)``.

    Four or six numbers (heights are ignored: the layers are 2D). A box whose west edge is east
    of its east edge crosses the antimeridian and is split in two.

    Raises
    ------
    InvalidBBox
        Not 4 or 6 finite numbers, latitudes outside ±90, longitudes outside ±180, or the
        south edge north of the north edge.
    """
    parts = str(text).split(",")
    if len(parts) not in (4, 6):
        raise InvalidBBox(
            f"bbox {text!r} must be 4 (or 6) comma-separated numbers, got {len(parts)}"
        )
    try:
        vals = [float(p) for p in parts]
    except ValueError as exc:
        raise InvalidBBox(f"bbox {text!r} must be comma-separated numbers") from exc
    if not all(math.isfinite(v) for v in vals):
        raise InvalidBBox(f"bbox {text!r} contains a value that is not a finite number")
    if len(vals) == 6:
        vals = [vals[0], vals[1], vals[3], vals[4]]
    a1, b1, a2, b2 = vals
    w, s, e, n = (b1, a1, b2, a2) if lat_first(crs) else (a1, b1, a2, b2)
    order = (
        "lat_min,lon_min,lat_max,lon_max" if lat_first(crs) else "lon_min,lat_min,lon_max,lat_max"
    )
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise InvalidBBox(f"bbox {text!r} ({order} in {crs}): longitudes must lie within -180..180")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise InvalidBBox(f"bbox {text!r} ({order} in {crs}): latitudes must lie within -90..90")
    if s > n:
        raise InvalidBBox(
            f"bbox {text!r} ({order} in {crs}): the south edge must not be north of the north edge"
        )
    if crs not in (CRS84, EPSG4326):  # another datum: transform the box (densified edges)
        w, s, e, n = _to_crs84_bounds(crs, w, s, e, n)
    if w > e:
        return [(w, s, 180.0, n), (-180.0, s, e, n)]
    return [(w, s, e, n)]


def _to_crs84_bounds(
    crs: str, w: float, s: float, e: float, n: float
) -> tuple[float, float, float, float]:
    tr = _transformer(crs, CRS84)
    ws, ss, es, ns = tr.transform_bounds(s, w, n, e, densify_pts=21)  # input lat/lon order
    return (ws, ss, es, ns)


def parse_int(
    value: str | None, name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    """A decimal integer query parameter; values above ``maximum`` are capped at it.

    OGC API - Features lets a client ask for more than the server's largest page: it gets the
    largest page and a ``next`` link. Anything that is not a plain integer (``1e9``, ``ten``)
    or is below ``minimum`` is an error.

    Examples
    --------
    >>> parse_int("50000", "limit", default=10, minimum=1, maximum=10000)
    10000
    """
    if value is None:
        return default
    text = str(value).strip()
    if not (text.isascii() and text.lstrip("+-").isdigit()) or len(text) > 18:
        rng = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidInput(f"{name}={value!r} is not an integer; use an integer {rng}")
    n = int(text)
    if n < minimum:
        rng = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidInput(f"{name}={value!r} is outside the valid range {rng}")
    return min(n, maximum) if maximum is not None else n


def property_filters(params: Mapping[str, str], columns: list[str]) -> dict[str, str]:
    """The property filters among ``params`` (every parameter not in :data:`RESERVED_PARAMS`).

    Raises
    ------
    InvalidInput
        A parameter is neither a reserved one nor an attribute of the layer (OGC API - Features
        answers unknown parameters with 400); the message lists the valid ones.
    """
    out: dict[str, str] = {}
    unknown = []
    for key, value in params.items():
        if key in RESERVED_PARAMS:
            continue
        if key in columns:
            out[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise InvalidInput(
            f"unknown query parameter(s) {', '.join(map(repr, unknown))}; valid: "
            f"{', '.join(sorted(RESERVED_PARAMS))} and the properties {', '.join(columns)}"
        )
    return out


def _matches(series: Any, value: str) -> np.ndarray:
    kind = str(series.dtype)[:3]
    if kind in ("int", "flo", "uin"):
        try:
            num = float(value)
        except ValueError:
            return np.zeros(len(series), dtype=bool)
        return series.to_numpy(dtype=float, na_value=np.nan) == num
    if kind == "boo":
        return series.to_numpy() == (value.lower() in ("true", "1"))
    return (series.astype("string").fillna("") == value).to_numpy(dtype=bool)


@dataclass(frozen=True)
class Selection:
    """The features a query selects: row positions in file order and how many matched."""

    rows: np.ndarray
    matched: int


def select(
    frame: Any,
    tree: shapely.STRtree | None,
    *,
    boxes: list[tuple[float, float, float, float]] | None = None,
    filters: Mapping[str, str] | None = None,
    offset: int = 0,
    limit: int = DEFAULT_LIMIT,
) -> Selection:
    """Rows of ``frame`` meeting ``boxes`` (CRS84) and every filter, then one page of them.

    ``matched`` counts every feature meeting the query before ``offset``/``limit``. Features
    without geometry never meet a bbox. The caller's frame is not modified.
    """
    n = len(frame)
    keep = np.ones(n, dtype=bool)
    if boxes:
        hit = np.zeros(n, dtype=bool)
        if tree is not None:
            for b in boxes:
                hit[tree.query(shapely.box(*b), predicate="intersects")] = True
        keep &= hit
    for key, value in (filters or {}).items():
        keep &= _matches(frame[key], value)
    rows = np.flatnonzero(keep)
    return Selection(rows=rows[offset : offset + limit], matched=len(rows))


def geojson_features(
    frame: Any, rows: np.ndarray, fids: np.ndarray, *, crs: str = CRS84, attribution: str = ""
) -> list[dict[str, Any]]:
    """GeoJSON features of ``frame.iloc[rows]``: ``id`` the GeoPackage fid, every attribute
    (truth fields included) as properties, geometry in ``crs`` (its axis order), and the
    layer's ``attribution`` as a member of each feature."""
    sub = frame.iloc[rows]
    props = frame_properties(sub)
    geom_col = getattr(frame, "_geometry_column_name", None)
    if geom_col is not None and geom_col in frame.columns:
        geoms = transform_geometries(np.asarray(sub.geometry.values, dtype=object), crs)
        texts = [None if g is None else shapely.to_geojson(g) for g in geoms]
        shapes = [None if t is None else json.loads(t) for t in texts]
    else:
        shapes = [None] * len(sub)
    out = []
    for fid, p, g in zip(fids[rows], props, shapes, strict=True):
        feat: dict[str, Any] = {"type": "Feature", "id": int(fid), "geometry": g, "properties": p}
        if attribution:
            feat["attribution"] = attribution
        out.append(feat)
    return out


_INT32_MAX = 2**31 - 1


def json_schema(frame: Any, *, title: str = "") -> dict[str, Any]:
    """JSON Schema of a layer's features' properties (types from the column dtypes).

    Served at ``/ogc/collections/{id}/schema`` (the path of OGC API - Features Part 5, which
    GDAL's OAPIF driver reads to type its fields). Integer columns with values beyond the 32-bit
    range (OSM ids) are declared ``number``, since GDAL makes every JSON Schema ``integer`` a
    32-bit field.
    """
    geom = getattr(frame, "_geometry_column_name", None)
    props: dict[str, Any] = {}
    for col in frame.columns:
        if col == geom:
            continue
        kind = str(frame[col].dtype)
        if kind.startswith(("int", "uint", "Int", "UInt")):
            spec: dict[str, Any] = {"type": "integer"}
            values = frame[col].dropna()
            if len(values) and int(values.abs().max()) > _INT32_MAX:
                # GDAL (3.12) reads every JSON Schema integer as a 32-bit field and ignores
                # "format": "int64"; "number" (which integers satisfy) keeps OSM ids intact
                spec = {"type": "number", "description": "64-bit integer"}
        elif kind.startswith(("float", "Float")):
            spec = {"type": "number"}
        elif kind.startswith(("bool", "boolean")):
            spec = {"type": "boolean"}
        elif kind.startswith("datetime"):
            spec = {"type": "string", "format": "date-time"}
        else:
            spec = {"type": "string"}
        props[col] = spec
    # the schema of a GeoJSON Feature, whose "properties" member holds the attributes (the
    # shape GDAL's OAPIF driver reads from a collection's "describedBy" link)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": title,
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"type": ["object", "null"]},
            "properties": {"type": "object", "properties": props},
        },
    }


def row_of_fid(fids: np.ndarray, feature_id: str) -> int | None:
    """Row position of the feature whose fid is ``feature_id`` (text), or ``None``."""
    text = str(feature_id).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    hit = np.flatnonzero(fids == int(text))
    return int(hit[0]) if len(hit) else None
