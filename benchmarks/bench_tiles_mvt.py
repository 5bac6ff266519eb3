"""MVT tiles of carriers (points), zones (polygons) and streets (lines), cold, no HTTP: baoshan-gis
vs PostGIS.

The anchor is PostGIS ``ST_AsMVT(ST_AsMVTGeom(...))`` — the engine behind Martin and
pg_tileserv — on a throw-away cluster that this script creates in a temporary folder
(``initdb``), starts on 127.0.0.1 and removes at the end. Both sides get the same features already
in EPSG:3857 with a spatial index, extent 4096, buffer 64, the same six attributes and feature ids.

Method (issue 11, item 6): every measurement is a FRESH Python process per side, layer and round,
and its first pass over the tile list (z10 to z16 in order) is the headline (cold).
* baoshan-gis: the process reads the layer, builds its ``VectorSource`` (projection, index and
  attribute table; timed and printed apart, like loading and indexing the PostGIS table, which is
  done once before all rounds), then renders every tile once. Neither layer keeps anything per
  zoom or per tile (polygons are clipped, simplified and encoded on every request; the per-zoom
  cache that lines still use starts empty in each process anyway), so the cold pass is the
  whole cost.
* PostGIS: the process opens a new connection (a new backend), loads the PostGIS library with one
  untimed ``SELECT postgis_lib_version()`` (as the other side's imports are done before timing),
  then runs the query once per tile. The connection's own round trip is measured on the same
  connection: three ``SELECT 1`` timed right after each tile (outside the tile's time), and the
  median of a zoom's samples is that zoom's round trip — measured where and when the tiles pay
  it (a tight loop of ``SELECT 1`` before and after the pass, as measured before, swung
  122-343 us between rounds and at times exceeded a whole tile query, and one median for the
  pass still did when the backend's placement changed mid-pass). The headline ratio subtracts
  it from every PostGIS tile of the zoom (engine against engine); the raw ratio is printed next
  to it. ``SELECT 1`` also pays parsing
  and a trivial plan, so the subtraction removes slightly more than transport: it leans towards
  PostGIS. As a check that needs no subtraction, the server's own time for the tile query
  (planning + execution, from ``pg_stat_statements``, read between zooms outside the timing) is
  printed too; it leaves out parsing and the protocol, so it leans towards PostGIS as well.
A second pass in the same process (warm) is printed for information only.
The two sides' processes alternate, the order swapped each round; three rounds by default. Per
zoom: median tiles/s and spread (min-max) per side, the ratio of the medians and the spread of
the per-round ratios. Tile contents are checked on a sample from round 1: decoded with
``mapbox_vector_tile``, both sides must hold the same feature count and the same feature ids.

Data: 2,000 points placed at random (seeded) inside the district outline, the 1 km grid cells
clipped to the outline (about 320 polygons), and (``--layers streets``) a 250 m grid of street
lines clipped to it, a jittered vertex every 25 m — synthetic, to time the encoders only.

    apt-get install -y postgresql postgresql-15-postgis-3
    pip install "psycopg[binary]"        # the anchor's driver, for this benchmark only
    python benchmarks/bench_tiles_mvt.py [--district PATH] [--zooms 10-16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
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


def _schematic_layer(geoms, zh: str, en: str, category: str):  # type: ignore[no-untyped-def]
    """A generated layer (UTM 51N geometries) with the six attributes, in WGS84."""
    import geopandas as gpd

    n = len(geoms)
    return gpd.GeoDataFrame(
        {"name_zh": [f"{zh}{i}" for i in range(n)], "name_en": [f"{en} {i}" for i in range(n)],
         "category": category, "status": "existing", "geometry_quality": "schematic",
         "accuracy_m": 0.0},
        geometry=geoms, crs=32651).to_crs(4326)


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
    zones = _schematic_layer(clipped, "格", "cell", "grid")
    # streets: a 250 m grid of lines across the district, clipped to it, with a jittered vertex
    # every 25 m (so simplification has work at low zooms): road-like lines for the line encoder
    step = 250.0
    lines = [shapely.linestrings([(x, miny), (x, maxy)]) for x in np.arange(minx, maxx, step)]
    lines += [shapely.linestrings([(minx, y), (maxx, y)]) for y in np.arange(miny, maxy, step)]
    dense = shapely.segmentize(np.array(lines), 25.0)
    coords = shapely.get_coordinates(dense)
    jittered = shapely.set_coordinates(dense, coords + rng.uniform(-6, 6, coords.shape))
    streets_geom = shapely.intersection(jittered, poly)
    streets_geom = streets_geom[~shapely.is_empty(streets_geom)
                                & (shapely.length(streets_geom) > 1)]
    streets = _schematic_layer(streets_geom, "路", "street", "street")
    return {"carriers": carriers, "zones": zones, "streets": streets}


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
         f"'-p {port} -k {tmp} -h 127.0.0.1 -c fsync=off "
         "-c shared_preload_libraries=pg_stat_statements "
         "-c pg_stat_statements.track_planning=on'", "start"])
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
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
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

SIDES = ("baoshan_gis", "postgis")
#: ``SELECT 1`` round trips timed after each PostGIS tile (outside its time).
RTT_PER_TILE = 3


def _tiles(zooms: str):  # type: ignore[no-untyped-def]
    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds

    return tiles_for_bounds(_BOUNDS, parse_zoom_range(zooms))


_BOUNDS: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def _pass(render, tiles, after=None, zoom_end=None  # type: ignore[no-untyped-def]
          ) -> tuple[dict[int, float], list[bytes]]:
    """Render every tile once, in order; seconds per zoom and the tiles. ``after()`` runs after
    each tile and ``zoom_end(z)`` after each zoom's last tile, both outside the timing."""
    per_zoom: dict[int, float] = {}
    out: list[bytes] = []
    clock = time.perf_counter
    for i, t in enumerate(tiles):
        a = clock()
        data = render(t)
        per_zoom[t.z] = per_zoom.get(t.z, 0.0) + clock() - a
        out.append(data)
        if after is not None:
            after()
        if zoom_end is not None and (i + 1 == len(tiles) or tiles[i + 1].z != t.z):
            zoom_end(t.z)
    return per_zoom, out


def child(args: argparse.Namespace) -> None:
    """One cold measurement of one side and one layer; writes a JSON result and the tiles."""
    import pickle

    global _BOUNDS
    work = Path(args.work)
    with open(work / "layers.pkl", "rb") as fh:
        layers, _BOUNDS = pickle.load(fh)
    tiles = _tiles(args.zooms)
    name = args.layer
    res: dict = {"side": args.child, "layer": name}
    if args.child == "baoshan_gis":
        from baoshan_gis.tiles.mvt import render_mvt
        from baoshan_gis.tiles.source import VectorSource

        t0 = time.perf_counter()
        src = VectorSource.from_frame(name, layers[name])
        res["build_s"] = time.perf_counter() - t0

        def render(t):  # type: ignore[no-untyped-def]
            return render_mvt(src, t)
    else:
        import psycopg

        conn = psycopg.connect(args.dsn, autocommit=True)
        conn.execute("SELECT postgis_lib_version()").fetchone()
        cur = conn.cursor()
        sql = SQL.format(table=name)

        rtts: list[float] = []
        rtt_zoom: dict[int, float] = {}

        def rtt() -> None:
            for _ in range(RTT_PER_TILE):
                a = time.perf_counter()
                cur.execute("SELECT 1")
                cur.fetchone()
                rtts.append(time.perf_counter() - a)

        server: dict[int, float] = {}
        stats = conn.cursor()

        def server_time() -> float:
            # the tile query's planning + execution so far, in seconds (not this query's own)
            stats.execute("SELECT coalesce(sum(total_plan_time + total_exec_time), 0) "
                          "FROM pg_stat_statements WHERE query LIKE '%ST_AsMVTGeom%' "
                          "AND query NOT LIKE '%pg_stat_statements%'")
            return float(stats.fetchone()[0]) / 1e3

        def zoom_end(z: int) -> None:
            server[z] = server_time() - sum(server.values()) - start
            rtt_zoom[z] = statistics.median(rtts)
            rtts.clear()

        def render(t):  # type: ignore[no-untyped-def]
            cur.execute(sql, {"layer": name, "z": t.z, "x": t.x, "y": t.y})
            return bytes(cur.fetchone()[0] or b"")

        start = server_time()
    if args.child == "postgis":
        cold, data = _pass(render, tiles, rtt, zoom_end)
        res["rtt_s"] = rtt_zoom
        res["server"] = server
    else:
        cold, data = _pass(render, tiles)
    warm, _ = _pass(render, tiles)
    res["cold"], res["warm"] = cold, warm
    res["tiles"] = {z: sum(1 for t in tiles if t.z == z) for z in cold}
    res["non_empty"] = {z: sum(1 for t, d in zip(tiles, data, strict=True) if t.z == z and d)
                        for z in cold}
    res["bytes"] = {z: sum(len(d) for t, d in zip(tiles, data, strict=True) if t.z == z)
                    for z in cold}
    res["load"] = os.getloadavg()[0]
    if args.save_tiles:
        with open(work / f"tiles_{args.child}_{name}.pkl", "wb") as fh:
            pickle.dump(data, fh)
    print("RESULT " + json.dumps(res), flush=True)


def _spread(values: list[float], digits: int = 0, suffix: str = "") -> str:
    return (f"{statistics.median(values):,.{digits}f}{suffix} "
            f"({min(values):,.{digits}f}-{max(values):,.{digits}f})")


def compare_tiles(work: Path, name: str, tiles, sample: int) -> str:  # type: ignore[no-untyped-def]
    """Feature counts and ids of both sides' round-1 tiles, on an even sample of the tiles."""
    import pickle

    import mapbox_vector_tile

    with open(work / f"tiles_baoshan_gis_{name}.pkl", "rb") as fh:
        ours = pickle.load(fh)
    with open(work / f"tiles_postgis_{name}.pkl", "rb") as fh:
        theirs = pickle.load(fh)
    step = max(1, len(tiles) // sample)
    same_n = same_ids = compared = 0
    diffs: list[str] = []
    for i in range(0, len(tiles), step):
        fa = mapbox_vector_tile.decode(ours[i])[name]["features"] if ours[i] else []
        fb = mapbox_vector_tile.decode(theirs[i])[name]["features"] if theirs[i] else []
        compared += 1
        ia, ib = sorted(f["id"] for f in fa), sorted(f["id"] for f in fb)
        same_n += len(fa) == len(fb)
        same_ids += ia == ib
        if ia != ib and len(diffs) < 3:
            t = tiles[i]
            diffs.append(f"z{t.z}/{t.x}/{t.y}: ours {len(fa)} PostGIS {len(fb)}, only ours "
                         f"{sorted(set(ia) - set(ib))[:5]}, only PostGIS "
                         f"{sorted(set(ib) - set(ia))[:5]}")
    msg = (f"{name}: round-1 tiles compared (every {step}th, decoded): same feature count in "
           f"{same_n}/{compared}, same feature ids in {same_ids}/{compared}")
    return msg + "".join(f"\n{name}:   differs {d}" for d in diffs)


def report(name: str, runs: dict[str, list[dict]]) -> None:
    ours, pg = runs["baoshan_gis"], runs["postgis"]
    zooms = sorted(int(z) for z in ours[0]["cold"])
    tiles = {int(z): n for z, n in ours[0]["tiles"].items()}
    ne = {int(z): n for z, n in ours[0]["non_empty"].items()}
    rtt = [v for r in pg for v in r["rtt_s"].values()]
    print(f"\n{name}: cold first pass, fresh process per side and round, {len(ours)} rounds; "
          f"tiles/s median (min-max); PostGIS SELECT 1 round trip per zoom and round "
          f"{_spread([x * 1e6 for x in rtt], 0)} us per query")
    print(f"{name}: zoom tiles non-empty | baoshan-gis t/s | PostGIS t/s raw | PostGIS t/s "
          f"-rtt | ratio -rtt (rounds) | ratio raw (rounds) | PostGIS t/s server | "
          f"ratio server (rounds)")

    def row(label: str, n: int, o: list[float], p: list[float], p_net: list[float],
            p_srv: list[float], non_empty: str) -> None:
        med = statistics.median

        def ratio(theirs: list[float]) -> str:
            r = [b / a for a, b in zip(o, theirs, strict=True)]
            return f"{med(theirs) / med(o):.2f}x ({min(r):.2f}-{max(r):.2f})"

        print(f"{name}: {label:>4} {n:5d} {non_empty:>9} | {_spread([n / x for x in o])} | "
              f"{_spread([n / x for x in p])} | {_spread([n / x for x in p_net])} | "
              f"{ratio(p_net)} | {ratio(p)} | {_spread([n / x for x in p_srv])} | "
              f"{ratio(p_srv)}")

    for z in zooms:
        o = [r["cold"][str(z)] for r in ours]
        p = [r["cold"][str(z)] for r in pg]
        p_net = [r["cold"][str(z)] - tiles[z] * r["rtt_s"][str(z)] for r in pg]
        row(str(z), tiles[z], o, p, p_net, [r["server"][str(z)] for r in pg], str(ne[z]))
    n_all = sum(tiles.values())
    o = [sum(r["cold"].values()) for r in ours]
    p = [sum(r["cold"].values()) for r in pg]
    p_net = [sum(r["cold"].values()) - sum(tiles[int(z)] * v for z, v in r["rtt_s"].items())
             for r in pg]
    row("all", n_all, o, p, p_net, [sum(r["server"].values()) for r in pg], "")
    wo = [sum(r["warm"].values()) for r in ours]
    wp = [sum(r["warm"].values()) - sum(tiles[int(z)] * v for z, v in r["rtt_s"].items())
          for r in pg]
    print(f"{name}: warm second pass in the same process (information only): "
          f"{statistics.median(wp) / statistics.median(wo):.2f}x -rtt")
    print(f"{name}: baoshan-gis source build (project + index + attributes, once per process, "
          f"not in the pass): {_spread([r['build_s'] * 1e3 for r in ours], 0)} ms")
    print(f"{name}: load average in the children {_spread([r['load'] for r in ours + pg], 2)}")
    # not the same work to the byte: PostGIS snaps to the grid and drops only collinear vertices,
    # baoshan-gis also simplifies by one tile unit (Douglas-Peucker), as most tilers do
    kb = [(z, ours[0]["bytes"][str(z)] / 1e3, pg[0]["bytes"][str(z)] / 1e3) for z in zooms]
    sizes = ", ".join(f"z{z} {a:,.0f} / {b:,.0f}" for z, a, b in kb)
    print(f"{name}: tile bytes per zoom, kB, baoshan-gis / PostGIS (round 1): {sizes}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=DEFAULT_DISTRICT)
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layers", nargs="+", default=["carriers", "zones"],
                    choices=["carriers", "zones", "streets"])
    ap.add_argument("--sample", type=int, default=400, help="tiles decoded and compared")
    ap.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--layer", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("--dsn", help=argparse.SUPPRESS)
    ap.add_argument("--save-tiles", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    import pickle

    import psycopg

    global _BOUNDS
    layers = make_layers(args.district)
    _BOUNDS = tuple(float(v) for v in layers["zones"].total_bounds)  # type: ignore[assignment]
    tiles = _tiles(args.zooms)
    print(f"{len(layers['carriers'])} points, {len(layers['zones'])} polygons, "
          f"{len(layers['streets'])} street lines, {len(tiles)} "
          f"tiles z{args.zooms}; {args.rounds} rounds, fresh process per side, layer and round; "
          f"{load_info()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_mvt_") as tmp, postgis_cluster() as dsn:
        work = Path(tmp)
        with open(work / "layers.pkl", "wb") as fh:
            pickle.dump((layers, _BOUNDS), fh)
        with psycopg.connect(dsn) as conn:
            load_postgis(conn, layers)
            version = conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        print(f"PostGIS {version}, psycopg {psycopg.__version__}", flush=True)
        base = [sys.executable, os.path.abspath(__file__), "--zooms", args.zooms,
                "--work", str(work), "--dsn", dsn]
        for name in args.layers:
            runs: dict[str, list[dict]] = {s: [] for s in SIDES}
            for r in range(args.rounds):
                order = SIDES if r % 2 == 0 else SIDES[::-1]
                for side in order:
                    cmd = [*base, "--child", side, "--layer", name]
                    cmd += ["--save-tiles"] if r == 0 else []
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
                    runs[side].append(json.loads(line[7:]))
                    c = runs[side][-1]["cold"]
                    print(f"  {name} round {r + 1} {side}: cold pass {sum(c.values()):.3f} s",
                          flush=True)
            report(name, runs)
            print(compare_tiles(work, name, tiles, args.sample), flush=True)
    print(f"\n{load_info()}")


if __name__ == "__main__":
    main()
