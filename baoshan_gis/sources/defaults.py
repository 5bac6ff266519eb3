"""Derive the embedded default tables in ``layers/data/`` from the reference data.

The raw inputs are not part of the project: an Overpass API response of Shanghai's subway nodes
(OpenStreetMap, ODbL) keyed by line and order, and the district outline exported from cnmaps. This
module reduces them to what the build needs and writes two files that are committed with their
attribution:

``layers/data/metro_stations.csv``
    one row per station and line within :data:`NEAR_DISTRICT_M` of the district:
    ``osm_id, line_no, line, seq, name_zh, name_en, lon, lat`` (OSM coordinates, WGS84);
``layers/data/district.geojson``
    the outline, coordinates rounded to 1e-6 degrees (about 0.1 m);
``layers/data/osm/``
    the OpenStreetMap extract of the 环上大 / 大场 / 南大 area (``osm-shu/``) reduced to its named
    roads, named areas and walk/drive graphs (GeoJSON, 1e-7 degrees) with a manifest giving the
    snapshot date and the box covered (:func:`baoshan_gis.osm_layers.write_embedded`).

Run ``baoshan-gis refresh-defaults --shared-data DIR`` (or :func:`refresh_defaults`) to regenerate
them; ``baoshan-gis fetch-osm`` refreshes the stations from OSM directly where there is internet.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from baoshan_gis import settings
from baoshan_gis._errors import DataImportError

#: Stations within this distance (metres) of the district outline are kept.
NEAR_DISTRICT_M: float = 1500.0
#: An OSM station node is matched to a line's station of the same name within this distance.
MATCH_RADIUS_M: float = 400.0

STATION_COLUMNS = ["osm_id", "line_no", "line", "seq", "name_zh", "name_en", "lon", "lat"]


def _haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def read_district_outline(path: Path) -> gpd.GeoDataFrame:
    """Read the district outline file (GeoJSON, one (Multi)Polygon) as a WGS84 GeoDataFrame."""
    gdf = gpd.read_file(path)
    if len(gdf) != 1 or not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise DataImportError(
            f"district outline {path.name!r} must hold exactly one (Multi)Polygon; "
            f"found {len(gdf)} feature(s) of type(s) {sorted(set(gdf.geom_type))}"
        )
    return gdf.set_crs(4326, allow_override=True) if gdf.crs is None else gdf.to_crs(4326)


def stations_near(
    line_stations: dict[str, dict[str, Any]],
    osm_elements: list[dict[str, Any]],
    district: shapely.Geometry,
    *,
    near_m: float = NEAR_DISTRICT_M,
) -> pd.DataFrame:
    """Stations of every line within ``near_m`` of ``district``, with their OSM node ids.

    Parameters
    ----------
    line_stations
        ``{"LLSS": {"line": "7号线", "name": ..., "lat": ..., "lng": ...}}``: line LL, station SS.
    osm_elements
        Overpass ``elements``: nodes with ``id``, ``lat``, ``lon`` and ``tags``.
    district
        District outline in WGS84.
    """
    outline = gpd.GeoSeries([district], crs=4326).to_crs(settings.METRIC_CRS).iloc[0]
    zone = outline.buffer(near_m)
    # Prefer station nodes; where a station is mapped only by its stop positions, use the
    # nearest stop position of the same name (its id is still a real OSM node id).
    nodes = [e for e in osm_elements if e.get("type") == "node"]
    rank = {"station": 0, "stop": 1}
    rows = []
    for key, rec in sorted(line_stations.items()):
        line_no = int(key[:2])
        seq = int(key[2:])
        lon, lat = float(rec["lng"]), float(rec["lat"])
        pt = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(settings.METRIC_CRS).iloc[0]
        if not zone.contains(pt):
            continue
        name = rec["name"]
        candidates = sorted(
            (
                (rank.get(e["tags"].get("railway"), 2), d, e)
                for e in nodes
                if name in (e["tags"].get("name"), e["tags"].get("name:zh"))
                and (d := _haversine_m(lon, lat, e["lon"], e["lat"])) <= MATCH_RADIUS_M
            ),
            key=lambda t: (t[0], t[1]),
        )
        match = candidates[0][2] if candidates else None
        name_en = next(
            (c[2]["tags"]["name:en"] for c in candidates if c[2]["tags"].get("name:en")), ""
        )
        rows.append(
            {
                "osm_id": int(match["id"]) if match else None,
                "line_no": line_no,
                "line": rec["line"],
                "seq": seq,
                "name_zh": name,
                "name_en": name_en,
                "lon": round(lon, 7),
                "lat": round(lat, 7),
            }
        )
    out = pd.DataFrame(rows, columns=STATION_COLUMNS)
    out["osm_id"] = out["osm_id"].astype("Int64")
    return out.sort_values(["line_no", "seq"]).reset_index(drop=True)


def refresh_defaults(shared_data: Path | None = None, layers_dir: Path | None = None) -> list[Path]:
    """Regenerate ``layers/data/metro_stations.csv`` and ``district.geojson`` from ``shared_data``.

    Returns the paths written.
    """
    shared = Path(shared_data or settings.shared_data_dir())
    out_dir = Path(layers_dir or settings.layers_dir()) / "data"
    district_src = shared / "district" / "baoshan_district_wgs84.geojson"
    coords_src = shared / "metro-osm" / "station_coords.json"
    nodes_src = shared / "metro-osm" / "osm_subway_nodes.json"
    missing = [str(p) for p in (district_src, coords_src, nodes_src) if not p.is_file()]
    if missing:
        raise DataImportError(
            f"reference data not found: {', '.join(missing)}; pass --shared-data pointing at the "
            "folder that holds district/ and metro-osm/"
        )
    district = read_district_outline(district_src)
    geom = shapely.set_precision(district.geometry.iloc[0], 1e-6)
    out_dir.mkdir(parents=True, exist_ok=True)
    district_out = out_dir / "district.geojson"
    feature = {
        "type": "Feature",
        "properties": {"name_zh": "宝山区", "adcode": "310113"},
        "geometry": json.loads(shapely.to_geojson(geom)),
    }
    district_out.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    stations = stations_near(
        json.loads(coords_src.read_text(encoding="utf-8")),
        json.loads(nodes_src.read_text(encoding="utf-8")),
        geom,
    )
    stations_out = out_dir / "metro_stations.csv"
    stations.to_csv(stations_out, index=False, lineterminator="\n")
    written = [district_out, stations_out]
    extract = shared / "osm-shu" / "shu_dachang.osm.pbf"
    if extract.is_file():
        from baoshan_gis.inputs.osm_extract import read_osm_extract
        from baoshan_gis.osm_layers import EMBEDDED_DIR, write_embedded

        written += write_embedded(read_osm_extract(extract, district=geom),
                                  out_dir.parent / EMBEDDED_DIR)
    return written
