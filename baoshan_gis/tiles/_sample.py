"""A small synthetic GeoPackage with the plan's layer names and fields, for tests and benchmarks.

Every feature is labelled synthetic (``source = "synthetic test fixture"``): the geometry is a
regular pattern inside the district's bounding box, not a real place.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from baoshan_gis.settings import DISTRICT_BOUNDS

_TRUTH = {
    "plan_ref": "test",
    "status": "existing",
    "source": "synthetic test fixture",
}
CATEGORIES = (
    "incubator", "university_science_park", "concept_verification_centre", "lab",
    "rnd_institution", "industrial_park", "innovation_platform",
)


def sample_frames(*, n_carriers: int = 40, n_zones: int = 3) -> dict[str, object]:
    """The sample layers as GeoDataFrames (and the indicator table as a DataFrame)."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import LineString, MultiPolygon, Polygon, box

    w, s, e, n = DISTRICT_BOUNDS
    cx, cy = (w + e) / 2, (s + n) / 2

    def truth(i: int, cat: str, quality: str, acc: float, prefix: str) -> dict[str, object]:
        return {"name_zh": f"{prefix}{i}", "name_en": f"{prefix} {i}", "category": cat,
                **_TRUTH, "geometry_quality": quality, "accuracy_m": acc}

    district = gpd.GeoDataFrame(
        [truth(1, "district", "approximate", 50.0, "样例区")],
        geometry=[MultiPolygon([box(w + 0.01, s + 0.01, e - 0.01, n - 0.01)])], crs=4326,
    )
    zones = []
    rows = []
    step = (e - w - 0.04) / max(n_zones, 1)
    for i in range(n_zones):
        x0 = w + 0.02 + i * step
        outer = box(x0, cy - 0.05, x0 + step * 0.9, cy + 0.05)
        geom = Polygon(outer.exterior.coords,
                       [box(x0 + step * 0.3, cy - 0.01, x0 + step * 0.6, cy + 0.01).exterior.coords]
                       ) if i == 0 else outer
        zones.append(MultiPolygon([geom]))
        quality = "schematic" if i == n_zones - 1 else "approximate"
        rows.append({**truth(i + 1, "cluster", quality, 300.0, "样例集聚区"), "role": f"role{i}"})
    belt_zones = gpd.GeoDataFrame(rows, geometry=zones, crs=4326)
    rng = np.random.default_rng(20260301)
    xs = rng.uniform(w + 0.02, e - 0.02, n_carriers)
    ys = rng.uniform(s + 0.02, n - 0.02, n_carriers)
    crow = []
    for i in range(n_carriers):
        cat = CATEGORIES[i % len(CATEGORIES)]
        crow.append({**truth(i + 1, cat, "approximate" if i % 3 else "surveyed",
                             25.0 if i % 3 == 0 else 500.0, "样例载体"),
                     "level": "municipal", "area": "", "note": ""})
    carriers = gpd.GeoDataFrame(crow, geometry=gpd.points_from_xy(xs, ys), crs=4326)
    line = LineString([(w + 0.02, s + 0.03), (cx, cy), (e - 0.03, n - 0.02)])
    metro_lines = gpd.GeoDataFrame(
        [{**truth(1, "metro_line", "schematic", 200.0, "样例线"), "line_no": 7, "line": "7号线"}],
        geometry=[line], crs=4326,
    )
    indicators = pd.DataFrame(
        {"seq": [1, 2], "name_zh": ["样例指标一", "样例指标二"],
         "name_en": ["sample 1", "sample 2"],
         "target_2030": ["20", "40"], "plan_ref": ["test", "test"]}
    )
    return {"district": district, "belt_zones": belt_zones, "carriers": carriers,
            "metro_lines": metro_lines, "indicators": indicators}


def write_sample_density(path: str | os.PathLike[str], *, cell_m: float = 50.0) -> Path:
    """A small GeoTIFF (EPSG:32651) with a smooth bump over the district, nodata at the edges."""
    import rasterio
    from affine import Affine
    from pyproj import Transformer

    w, s, e, n = DISTRICT_BOUNDS
    tr = Transformer.from_crs(4326, 32651, always_xy=True)
    (x0, x1), (y0, y1) = tr.transform([w, e], [s, n])
    width, height = int((x1 - x0) // cell_m), int((y1 - y0) // cell_m)
    yy, xx = np.mgrid[0:height, 0:width]
    d = np.exp(-(((xx - width / 2) / (width / 4)) ** 2 + ((yy - height / 2) / (height / 4)) ** 2))
    data = (d * 12.0).astype("float32")
    data[:, :3] = -9999.0
    path = Path(path)
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:32651", transform=Affine(cell_m, 0, x0, 0, -cell_m, y1), nodata=-9999.0,
        tiled=True, blockxsize=256, blockysize=256, compress="deflate",
    ) as dst:
        dst.write(data, 1)
    return path


def write_sample_gpkg(path: str | os.PathLike[str], *, n_carriers: int = 40,
                      with_density: bool = True) -> Path:
    """Write the sample GeoPackage (and a ``carrier_density`` raster beside it)."""
    from baoshan_gis.gpkg import write_frame, write_meta
    from baoshan_gis.settings import OSM_ATTRIBUTION

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    titles = {"district": ("宝山区", "Baoshan District"),
              "belt_zones": ("科创集聚区", "Belt zones"),
              "carriers": ("创新载体", "Innovation carriers"),
              "metro_lines": ("轨道交通线", "Metro lines"), "indicators": ("指标", "Indicators")}
    for name, frame in sample_frames(n_carriers=n_carriers).items():
        write_frame(path, frame, name, description=f"sample {name}")
        zh, en = titles[name]
        write_meta(path, name, title_zh=zh, title_en=en, kind="plan", plan_ref="test",
                   source="synthetic test fixture", licence="CC0",
                   attribution=OSM_ATTRIBUTION if name == "metro_lines" else "baoshan-gis test")
    if with_density:
        tif = write_sample_density(path.parent / "carrier_density.tif")
        write_meta(path, "carrier_density", title_zh="载体核密度", title_en="Carrier density",
                   kind="raster", source="synthetic", attribution="baoshan-gis test",
                   parameters={"path": tif.name})
    return path
