"""MVT tiles of carriers (points) and zones (polygons), cold, no HTTP: baoshan-gis vs PostGIS.

The anchor is PostGIS ``ST_AsMVT(ST_AsMVTGeom(...))`` — the engine behind Martin and
pg_tileserv — over one connection, on a throw-away cluster that this script creates in a
temporary folder (``initdb``), starts on 127.0.0.1 and removes at the end. Both sides get the same
features already in EPSG:3857 with a spatial index, extent 4096, buffer 64, the same attributes.
Each side's best of ``--passes`` (3) passes per zoom is reported: no tile cache is involved on
either side, and the best pass filters out other processes' load on a shared machine.

Data: 2,000 points placed at random (seeded) inside the district outline and the 1 km grid cells
clipped to the outline (about 320 polygons) — synthetic, to time the encoders only.

    apt-get install -y postgresql postgresql-15-postgis-3
    pip install "psycopg[binary]"        # the anchor's driver, for this benchmark only
    python benchmarks/bench_tiles_mvt.py [--district PATH] [--zooms 10-16]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service_common import DEFAULT_DISTRICT, free_port, load_info

FIELDS = ("name_zh", "name_en", "category", "status", "geometry_quality", "accuracy_m")


def make_layers(district: Path, n_points: int = 2000):  # type: ignore[no-untyped-def]
    import geopandas as gpd
    import shapely

    outline = gpd.read_file(district).to_crs(32651)
    poly = shapely.union_all(outline.geometry.values)
    rng = np.random.default_rng(2026)
    minx, miny, maxx, maxy = poly.bounds
    pts: list = []
    shapely.prepare(poly)
    while len(pts) < n_points:
        cand = shapely.points(rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000))
        pts.extend(cand[shapely.contains(poly, cand)][: n_points - len(pts)])
    cats = ["incubator", "lab", "university_science_park", "industrial_park"]
    carriers = gpd.GeoDataFrame(
        {"name_zh": [f"点{i}" for i in range(n_points)],
         "name_en": [f"point {i}" for i in range(n_points)],
         "category": [cats[i % 4] for i in range(n_points)], "status": "existing",
         "geometry_quality": "approximate", "accuracy_m": 50.0},
        geometry=pts, crs=32651).to_crs(4326)
    xs = np.arange(np.floor(minx / 1000) * 1000, maxx, 1000)
    ys = np.arange(np.floor(miny / 1000) * 1000, maxy, 1000)
    cells = [shapely.box(x, y, x + 1000, y + 1000) for x in xs for y in ys]
    clipped = shapely.intersection(np.array(cells), poly)
    clipped = clipped[~shapely.is_empty(clipped) & (shapely.area(clipped) > 1)]
    n = len(clipped)
    zones = gpd.GeoDataFrame(
        {"name_zh": [f"格{i}" for i in range(n)], "name_en": [f"cell {i}" for i in range(n)],
         "category": "grid", "status": "existing", "geometry_quality": "schematic",
         "accuracy_m": 0.0},
        geometry=clipped, crs=32651).to_crs(4326)
    return {"carriers": carriers, "zones": zones}


@contextlib.contextmanager
def postgis_cluster() -> Iterator[str]:
    """initdb + start a throw-away cluster on 127.0.0.1; yield a conninfo string."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_pg_"))
    data = tmp / "data"
    port = free_port()
    as_root = os.geteuid() == 0

    def run(cmd: list[str]) -> None:
        if as_root:
            cmd = ["su", "postgres", "-c", " ".join(cmd)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    if as_root:
        shutil.chown(tmp, "postgres")
    run(["initdb", "-A", "trust", "-U", "postgres", "-D", str(data)])
    run(["pg_ctl", "-D", str(data), "-l", str(tmp / "log"), "-w", "-o",
         f"'-p {port} -k {tmp} -h 127.0.0.1 -c fsync=off'", "start"])
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        with contextlib.suppress(Exception):
            run(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def load_postgis(conn, layers) -> None:  # type: ignore[no-untyped-def]
    import shapely

    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        for name, frame in layers.items():
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(f"CREATE TABLE {name} (id serial primary key, name_zh text, name_en text, "
                        "category text, status text, geometry_quality text, accuracy_m float8, "
                        "geom geometry)")
            merc = frame.to_crs(3857)
            rows = [(*(r[f] for f in FIELDS), shapely.to_wkb(g))
                    for r, g in zip(merc[list(FIELDS)].to_dict("records"), merc.geometry,
                                    strict=True)]
            cur.executemany(
                f"INSERT INTO {name} (name_zh, name_en, category, status, geometry_quality, "
                "accuracy_m, geom) VALUES (%s,%s,%s,%s,%s,%s,ST_SetSRID(ST_GeomFromWKB(%s),3857))",
                rows)
            cur.execute(f"CREATE INDEX ON {name} USING GIST (geom)")
            cur.execute(f"ANALYZE {name}")
    conn.commit()


SQL = """
SELECT ST_AsMVT(q, %(layer)s, 4096, 'geom', 'id') FROM (
  SELECT id, name_zh, name_en, category, status, geometry_quality, accuracy_m,
         ST_AsMVTGeom(geom, ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom
  FROM {table}
  WHERE geom && ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => (64.0 / 4096))
) q WHERE q.geom IS NOT NULL
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=DEFAULT_DISTRICT)
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--passes", type=int, default=3,
                    help="passes over the tile list; the fastest pass per zoom is reported for "
                         "each side (the machine is shared)")
    args = ap.parse_args()

    import mapbox_vector_tile
    import psycopg

    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds
    from baoshan_gis.tiles.mvt import render_mvt
    from baoshan_gis.tiles.source import VectorSource

    layers = make_layers(args.district)
    district_bounds = tuple(layers["zones"].total_bounds)
    tiles = tiles_for_bounds(district_bounds, parse_zoom_range(args.zooms))
    print(f"{len(layers['carriers'])} points, {len(layers['zones'])} polygons, {len(tiles)} "
          f"tiles z{args.zooms}; {load_info()}")
    t0 = time.perf_counter()
    sources = {name: VectorSource.from_frame(name, f) for name, f in layers.items()}
    print(f"baoshan-gis source build (project + index, once): {time.perf_counter() - t0:.3f} s")

    with postgis_cluster() as dsn, psycopg.connect(dsn) as conn:
        load_postgis(conn, layers)
        version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        print(f"PostGIS {version}")
        for name, src in sources.items():
            sql = SQL.format(table=name)
            # per zoom: [ours s, PostGIS s, tiles, non-empty] for each pass; best pass is kept
            passes: list[dict[int, list[float]]] = []
            checks = []
            with conn.cursor() as cur:
                for t in tiles:  # warm both once on a few tiles
                    if t.z == 12:
                        cur.execute(sql, {"layer": name, "z": t.z, "x": t.x, "y": t.y})
                        render_mvt(src, t)
                for _ in range(args.passes):
                    by_zoom: dict[int, list[float]] = {}
                    passes.append(by_zoom)
                    for t in tiles:
                        a = time.perf_counter()
                        ours = render_mvt(src, t)
                        b = time.perf_counter()
                        cur.execute(sql, {"layer": name, "z": t.z, "x": t.x, "y": t.y})
                        theirs = bytes(cur.fetchone()[0] or b"")
                        c = time.perf_counter()
                        row = by_zoom.setdefault(t.z, [0.0, 0.0, 0, 0])
                        row[0] += b - a
                        row[1] += c - b
                        row[2] += 1
                        row[3] += 1 if ours else 0
                        if len(checks) < 400 and ours and theirs:
                            na = len(mapbox_vector_tile.decode(ours)[name]["features"])
                            nb = len(mapbox_vector_tile.decode(theirs)[name]["features"])
                            checks.append(na == nb)
            by_zoom = {z: [min(p[z][0] for p in passes), min(p[z][1] for p in passes),
                           passes[0][z][2], passes[0][z][3]] for z in passes[0]}
            tot_o = sum(r[0] for r in by_zoom.values())
            tot_p = sum(r[1] for r in by_zoom.values())
            print(f"\n{name}: zoom  tiles  non-empty  baoshan-gis t/s  PostGIS t/s  ratio")
            for z, (o, p, n, ne) in sorted(by_zoom.items()):
                print(f"{name}: {z:4d} {n:6d} {ne:10d} {n / o:16.0f} {n / p:12.0f} {p / o:6.2f}x")
            print(f"{name}: all  {len(tiles):6d}            {len(tiles) / tot_o:16.0f} "
                  f"{len(tiles) / tot_p:12.0f} {tot_p / tot_o:6.2f}x (target >= 1x)")
            first_o = sum(r[0] for r in passes[0].values())
            first_p = sum(r[1] for r in passes[0].values())
            print(f"{name}: first pass only (per-zoom feature encodings built on the way): "
                  f"{len(tiles) / first_o:.0f} vs {len(tiles) / first_p:.0f} tiles/s, "
                  f"{first_p / first_o:.2f}x")
            print(f"{name}: same feature count in {sum(checks)}/{len(checks)} compared tiles")


if __name__ == "__main__":
    main()
