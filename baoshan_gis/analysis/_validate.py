"""Input checks shared by the analyses: CRS handling, distances in metres, cell-count caps.

Every analysis measures in a metric CRS (:data:`baoshan_gis.settings.METRIC_CRS`, UTM 51N, unless
the caller names another projected CRS). Layers in other CRSs are reprojected, never compared
as-is, so a CRS mismatch can never produce an empty result.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS

from baoshan_gis._errors import AnalysisError, CRSError
from baoshan_gis.settings import METRIC_CRS

#: Largest number of grid cells (square grid, KDE raster, H3 hexagons, demand cells) one call makes.
MAX_CELLS: int = 4_000_000

_DISTANCE_RE = re.compile(
    r"^\s*([-+]?\d+(?:\.\d*)?|[-+]?\.\d+)\s*(m|metres?|meters?|km|kilometres?|kilometers?|"
    r"deg|degrees?|°)?\s*$",
    re.IGNORECASE,
)


class EmptyLayerWarning(UserWarning):
    """An analysis was given an empty layer (e.g. no carriers) and returns zeros."""


def metric_crs(crs: Any = None) -> CRS:
    """The projected CRS to measure in (``METRIC_CRS`` by default); geographic CRSs are refused."""
    try:
        out = CRS.from_user_input(crs if crs is not None else METRIC_CRS)
    except Exception as exc:  # pyproj raises CRSError of its own
        raise CRSError(f"unknown CRS {crs!r}: {exc}") from exc
    if not out.is_projected:
        raise CRSError(
            f"CRS {crs!r} is not projected: lengths and areas need a metric CRS such as "
            f"{METRIC_CRS} (UTM 51N) or EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger)"
        )
    return out


def to_metric(frame: gpd.GeoDataFrame | gpd.GeoSeries, what: str, crs: Any = None
              ) -> gpd.GeoDataFrame:
    """A copy of ``frame`` as a GeoDataFrame in the metric CRS (the input is never modified)."""
    if isinstance(frame, gpd.GeoSeries):
        frame = gpd.GeoDataFrame(geometry=frame)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise AnalysisError(
            f"{what} must be a GeoDataFrame or GeoSeries, got {type(frame).__name__}"
        )
    if frame.crs is None:
        raise CRSError(
            f"{what} has no CRS; set one first (e.g. frame.set_crs('EPSG:4326')) so it can be "
            "reprojected to a metric CRS"
        )
    target = metric_crs(crs)
    if CRS.from_user_input(frame.crs).equals(target):
        return frame.copy()
    return frame.to_crs(target)


def require_polygons(frame: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Return ``frame`` if its geometries are polygons; refuse points and lines (zero area)."""
    types = set(frame.geometry.dropna()[~frame.geometry.dropna().is_empty].geom_type)
    other = sorted(types - {"Polygon", "MultiPolygon"})
    if other:
        raise AnalysisError(
            f"{what} must be polygons (areas to measure), but the layer holds {', '.join(other)}; "
            "use a polygon layer such as belt_zones, innovation_belt or district"
        )
    return frame


def parse_distance(value: Any, what: str, *, geographic_input: bool = False,
                   allow_zero: bool = False) -> float:
    """Return a distance in metres, refusing degrees, non-positive and non-finite values.

    ``value`` is a number of metres or a string with a unit (``"800"``, ``"800 m"``, ``"1.5km"``).
    A string in degrees (``"0.01deg"``) is refused, and so is a number below one metre when the
    input layers are in a geographic CRS (a value such as ``0.01`` there is almost certainly a
    distance in degrees).
    """
    unit = "m"
    if isinstance(value, str):
        m = _DISTANCE_RE.match(value)
        if not m:
            raise AnalysisError(
                f"{what} {value!r} is not a distance: give metres, e.g. 800, '800 m' or '1.5 km'"
            )
        number, unit = float(m.group(1)), (m.group(2) or "m").lower()
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise AnalysisError(f"{what} {value!r} is not a number of metres") from None
    if unit.startswith(("deg", "°")):
        raise AnalysisError(
            f"{what} {value!r} is in degrees; distances must be given in metres (a degree of "
            "longitude is about 95 km at Baoshan's latitude), e.g. 1000 for 1 km"
        )
    if unit.startswith("k"):
        number *= 1000.0
    if not math.isfinite(number):
        raise AnalysisError(f"{what} {value!r} is not a finite number of metres")
    if number < 0 or (number == 0 and not allow_zero):
        raise AnalysisError(f"{what} must be greater than 0 metres, got {value!r}")
    if geographic_input and 0 < number < 1.0:
        raise AnalysisError(
            f"{what} {value!r} looks like a distance in degrees (the layers are in a geographic "
            "CRS); give it in metres, e.g. 1000 for 1 km"
        )
    return number


def is_geographic(*frames: gpd.GeoDataFrame | gpd.GeoSeries | None) -> bool:
    """Whether any of the frames is in a geographic (degree-based) CRS."""
    for f in frames:
        if f is not None and f.crs is not None and CRS.from_user_input(f.crs).is_geographic:
            return True
    return False


def radii_by_category(radius: float | str | Mapping[str, float | str], what: str,
                      *, geographic_input: bool = False) -> float | dict[str, float]:
    """Parse one radius or a ``{category: radius}`` mapping, all in metres."""
    if isinstance(radius, Mapping):
        if not radius:
            raise AnalysisError(f"{what} mapping is empty; give at least one category: radius")
        return {str(k): parse_distance(v, f"{what} for {k!r}", geographic_input=geographic_input)
                for k, v in radius.items()}
    return parse_distance(radius, what, geographic_input=geographic_input)


class ExcludedCategoriesWarning(UserWarning):
    """A ``{category: radius}`` mapping leaves out categories present in the layer."""


def check_categories(frame: gpd.GeoDataFrame, names: Any, *, by: str | None = "category",
                     mapping: bool = False) -> list[str]:
    """Return ``names`` as strings if each is a category of ``frame[by]``, else raise.

    :class:`AnalysisError` names the unknown values and the valid ones (a typo such as ``labs``
    for ``lab`` would otherwise select nothing and report zeros). An empty layer accepts any name.
    """
    wanted = [str(n) for n in names]
    if by is None or (len(frame) and by not in frame.columns):
        raise AnalysisError(f"the carriers have no column {by!r} to select categories from")
    if not len(frame):
        return wanted
    valid = sorted(set(frame[by].dropna().astype(str)))
    unknown = [n for n in wanted if n not in valid]
    if unknown:
        where = " in the radius mapping" if mapping else ""
        raise AnalysisError(
            f"unknown category {', '.join(repr(u) for u in unknown)}{where}; valid categories "
            f"in the layer: {', '.join(valid)}"
        )
    left_out = [v for v in valid if v not in wanted]
    if left_out and mapping:
        warnings.warn(
            f"the radius mapping leaves out {', '.join(left_out)}: those carriers are excluded "
            "(give them a radius to include them)",
            ExcludedCategoriesWarning, stacklevel=3,
        )
    return wanted


def check_cell_count(n: float, what: str, *, max_cells: int = MAX_CELLS) -> None:
    """Raise :class:`AnalysisError` when a grid would have more than ``max_cells`` cells."""
    if n > max_cells:
        raise AnalysisError(
            f"{what} would have {int(n):,} cells, more than the limit of {max_cells:,}; use a "
            "larger cell size (or pass max_cells= to raise the limit knowingly)"
        )


def warn_if_empty(frame: gpd.GeoDataFrame, what: str) -> bool:
    """Warn (:class:`EmptyLayerWarning`) and return True when ``frame`` has no features."""
    if len(frame) == 0 or bool(frame.geometry.is_empty.all()):
        warnings.warn(f"{what} is empty: every result is zero", EmptyLayerWarning, stacklevel=3)
        return True
    return False


def point_xy(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """x and y of point features (representative points for other geometries), empties dropped."""
    geom = frame.geometry
    geom = geom[~(geom.is_empty | geom.isna())]
    if len(geom) and not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float)


def points_xy_in(frame: gpd.GeoDataFrame, crs: Any, what: str = "points"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y of the features in ``crs`` without building new geometries, and the kept-row mask.

    Empty and missing geometries are dropped (mask False); non-point geometries use their
    representative point. Coordinates are transformed as arrays (pyproj), which needs far less
    memory than ``to_crs`` for millions of points.
    """
    import shapely

    if frame.crs is None:
        raise CRSError(f"{what} have no CRS; set one first (e.g. frame.set_crs('EPSG:4326'))")
    geoms = frame.geometry.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    g = geoms if keep.all() else geoms[keep]
    if len(g) and not (shapely.get_type_id(g) == 0).all():
        g = shapely.point_on_surface(g)
    x, y = shapely.get_x(g), shapely.get_y(g)
    target = CRS.from_user_input(crs)
    if not CRS.from_user_input(frame.crs).equals(target):
        from pyproj import Transformer

        tr = Transformer.from_crs(frame.crs, target, always_xy=True)
        x, y = tr.transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float), keep


def zone_labels(zones: gpd.GeoDataFrame, zone_id: str | None) -> list[str]:
    """Human-readable label per zone: ``zone_id`` column, else name_zh, else the index."""
    if zone_id is not None:
        if zone_id not in zones.columns:
            raise AnalysisError(
                f"zone_id column {zone_id!r} not in zones; columns: "
                f"{', '.join(map(str, zones.columns))}"
            )
        return [str(v) for v in zones[zone_id]]
    if "name_zh" in zones.columns:
        return [str(v) for v in zones["name_zh"]]
    return [str(v) for v in zones.index]
