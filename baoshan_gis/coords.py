"""Coordinate systems: WGS84 storage, a metric CRS for measuring, and China's offset systems.

Every layer is stored in WGS84 (EPSG:4326) and measured in UTM 51N (EPSG:32651, see
:func:`to_metric`). Data copied from Chinese web maps is not WGS84:

GCJ-02 ("Mars coordinates", used by Amap/高德, Tencent and others)
    WGS84 plus a deliberate, smoothly varying offset of a few hundred metres, applied only inside
    China. The forward formula is public; it has no closed-form inverse, so
    :func:`gcj02_to_wgs84` iterates until the forward transform of the result reproduces the
    input to better than 1e-9 degrees (about 0.1 mm); in practice 3-5 iterations.
BD-09 (Baidu/百度)
    GCJ-02 plus a further rotation-like offset. As in the common open-source implementations it
    is applied everywhere (Baidu defines BD-09 from GCJ-02); its inverse is iterated as well.

"Inside China" is the customary rectangular test used by the open-source coordinate-transform
libraries: longitude 72.004-137.8347 E and latitude 0.8293-55.8271 N. It is a rough box, not the
border: points outside it are returned unchanged by the GCJ-02 offset; points in neighbouring
countries that fall inside the box get offset (as they would in those libraries). For Shanghai
this makes no difference.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.4890, 31.4050)
>>> back_lon, back_lat = gcj02_to_wgs84(lon, lat)
>>> abs(back_lon - 121.4890) < 1e-8 and abs(back_lat - 31.4050) < 1e-8
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from baoshan_gis._errors import CRSError, InvalidInput
from baoshan_gis.settings import METRIC_CRS, WGS84

if TYPE_CHECKING:
    import geopandas as gpd

ArrayLike = float | npt.ArrayLike
CoordSystem = Literal["wgs84", "gcj02", "bd09"]

#: Names accepted by :func:`convert` (and by ``--source-crs`` on import).
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, on which the GCJ-02 offset formula is defined.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
# Customary "inside China" rectangle (lon_min, lon_max, lat_min, lat_max).
CHINA_BOX: tuple[float, float, float, float] = (72.004, 137.8347, 0.8293, 55.8271)

_TOL_DEG = 1e-9
_MAX_ITER = 30


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    lon_a = np.asarray(lon, dtype="float64")
    lat_a = np.asarray(lat, dtype="float64")
    if lon_a.shape != lat_a.shape:
        raise InvalidInput(
            f"lon and lat must have the same shape, got {lon_a.shape!r} and {lat_a.shape!r}"
        )
    return lon_a, lat_a, lon_a.ndim == 0


def _out(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray | bool:
    """True where the point lies in the customary China rectangle (see module docstring)."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    x0, x1, y0, y1 = CHINA_BOX
    mask = (lon_a >= x0) & (lon_a <= x1) & (lat_a >= y0) & (lat_a <= y1)
    return bool(mask) if scalar else mask


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84, in degrees, at WGS84 position (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """WGS84 -> GCJ-02 (Amap). Scalars give floats, arrays give arrays; unchanged outside China.

    Examples
    --------
    >>> wgs84_to_gcj02(0.0, 0.0)
    (0.0, 0.0)
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_offset(lon_a, lat_a)
    return _out(lon_a + d_lon, lat_a + d_lat, scalar)


def _invert(
    forward: Any, lon: np.ndarray, lat: np.ndarray, first: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) == (lon, lat)`` by fixed-point iteration starting at ``first``."""
    x_lon, x_lat = first
    for _ in range(_MAX_ITER):
        f_lon, f_lat = forward(x_lon, x_lat)
        e_lon = lon - f_lon
        e_lat = lat - f_lat
        x_lon = x_lon + e_lon
        x_lat = x_lat + e_lat
        err = np.maximum(np.abs(e_lon), np.abs(e_lat))
        if not np.any(err > _TOL_DEG):  # NaN compares False: NaNs do not block convergence
            break
    return x_lon, x_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """GCJ-02 (Amap) -> WGS84, iterated to < 1e-9 degrees; unchanged outside China."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_offset(lon_a, lat_a)

    def forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return wgs84_to_gcj02(x, y)  # type: ignore[return-value]

    out_lon, out_lat = _invert(forward, lon_a, lat_a, (lon_a - d_lon, lat_a - d_lat))
    inside = in_china(lon_a, lat_a)
    return _out(np.where(inside, out_lon, lon_a), np.where(inside, out_lat, lat_a), scalar)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """GCJ-02 -> BD-09 (Baidu), the published closed formula."""
    lon_a, lat_a, scalar = _as_arrays(lon, lat)
    z = np.hypot(lon_a, lat_a) + 0.00002 * np.sin(lat_a * _X_PI)
    theta = np.arctan2(lat_a, lon_a) + 0.000003 * np.cos(lon_a * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006, scalar)


def _bd09_to_gcj02_closed(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """BD-09 (Baidu) -> GCJ-02.

    Starts from the published approximate inverse formula and refines it by iteration so that
    :func:`gcj02_to_bd09` of the result reproduces the input to < 1e-9 degrees (the closed formula
    alone is off by up to about 1e-6 degrees, ~0.1 m).
    """
    lon_a, lat_a, scalar = _as_arrays(lon, lat)

    def forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return gcj02_to_bd09(x, y)  # type: ignore[return-value]

    out = _invert(forward, lon_a, lat_a, _bd09_to_gcj02_closed(lon_a, lat_a))
    return _out(*out, scalar)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """WGS84 -> BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Any, Any]:
    """BD-09 -> WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_STEPS = {
    ("wgs84", "gcj02"): (wgs84_to_gcj02,),
    ("gcj02", "wgs84"): (gcj02_to_wgs84,),
    ("gcj02", "bd09"): (gcj02_to_bd09,),
    ("bd09", "gcj02"): (bd09_to_gcj02,),
    ("wgs84", "bd09"): (wgs84_to_gcj02, gcj02_to_bd09),
    ("bd09", "wgs84"): (bd09_to_gcj02, gcj02_to_wgs84),
}


def _check_system(value: str, role: str) -> str:
    name = str(value).lower().replace("-", "").replace("_", "")
    if name not in COORD_SYSTEMS:
        raise CRSError(
            f"unknown {role} coordinate system {value!r}; use one of {', '.join(COORD_SYSTEMS)}"
        )
    return name


def convert(lon: ArrayLike, lat: ArrayLike, *, src: str, dst: str) -> tuple[Any, Any]:
    """Convert lon/lat between ``"wgs84"``, ``"gcj02"`` and ``"bd09"`` (``"GCJ-02"`` also works).

    Examples
    --------
    >>> convert(121.5, 31.4, src="wgs84", dst="wgs84")
    (121.5, 31.4)
    """
    s = _check_system(src, "source")
    d = _check_system(dst, "target")
    if s == d:
        lon_a, lat_a, scalar = _as_arrays(lon, lat)
        return _out(lon_a.copy(), lat_a.copy(), scalar)
    out: tuple[Any, Any] = (lon, lat)
    for step in _STEPS[(s, d)]:
        out = step(*out)
    return out


def transform_frame(gdf: gpd.GeoDataFrame, *, src: str, dst: str) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` with every vertex converted from ``src`` to ``dst`` (lon/lat systems).

    The frame must be in geographic lon/lat (EPSG:4326, or no CRS at all: coordinates copied from
    Amap or Baidu are often labelled WGS84 although they are not). The result is labelled
    EPSG:4326.
    """
    import shapely

    if gdf.crs is not None and not gdf.crs.is_geographic:
        raise CRSError(
            f"GCJ-02/BD-09 conversion needs lon/lat coordinates, but the data is in {gdf.crs}; "
            "leave out --source-crs or give lon/lat data"
        )
    s = _check_system(src, "source")
    d = _check_system(dst, "target")

    def func(xy: np.ndarray) -> np.ndarray:
        x, y = convert(xy[:, 0], xy[:, 1], src=s, dst=d)
        return np.column_stack([x, y])

    out = gdf.copy()
    out.geometry = shapely.transform(np.asarray(gdf.geometry.values), func)
    return out.set_crs(WGS84, allow_override=True)


def to_wgs84_from(gdf: gpd.GeoDataFrame, src: str) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` (GCJ-02 or BD-09 lon/lat) in WGS84; see :func:`transform_frame`."""
    return transform_frame(gdf, src=src, dst="wgs84")


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` in the project's metric CRS (UTM 51N, EPSG:32651) for lengths and areas."""
    if gdf.crs is None:
        raise CRSError("the data has no CRS; set one (e.g. EPSG:4326) before measuring")
    return gdf.to_crs(METRIC_CRS)
