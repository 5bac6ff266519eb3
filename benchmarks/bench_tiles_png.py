"""PNG tiles of a 50 m density COG, cold: baoshan-gis service vs TiTiler, same tile list, HTTP.

Both servers run with uvicorn (one worker) on loopback; every tile of zooms 10-16 (default) over
the district is requested once, sequentially, over one keep-alive connection, from a fresh
server. Both colour the same value range with YlOrRd. Prints throughput, median latency and
the ratio.

    pip install titiler.core      # the anchor, for this benchmark only
    python benchmarks/bench_tiles_png.py [--district PATH] [--zooms 10-16]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _service_common import (
    DEFAULT_DISTRICT,
    fetch_all,
    load_info,
    make_density_cog,
    uvicorn_server,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", type=Path, default=DEFAULT_DISTRICT,
                    help="district outline GeoJSON (../shared/data/district/...)")
    ap.add_argument("--zooms", default="10-16")
    ap.add_argument("--cog", type=Path, default=None, help="use this COG instead of a new one")
    args = ap.parse_args()

    import rasterio
    from PIL import Image

    from baoshan_gis.gpkg import write_meta
    from baoshan_gis.tiles._sample import write_sample_gpkg
    from baoshan_gis.tiles.grid import parse_zoom_range, tiles_for_bounds

    tmp = Path(tempfile.mkdtemp(prefix="bench_png_"))
    cog = args.cog or make_density_cog(args.district, tmp / "density.tif")
    with rasterio.open(cog) as src:
        data = src.read(1, masked=True)
        lo, hi = float(data.min()), float(data.max())
        from rasterio.warp import transform_bounds

        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        shape = src.shape
    gpkg = write_sample_gpkg(tmp / "bench.gpkg", with_density=False)
    write_meta(gpkg, "density", title_zh="核密度", title_en="Density", kind="raster",
               parameters={"path": Path(cog).name if Path(cog).parent == tmp else str(cog)})
    tiles = tiles_for_bounds(bounds, parse_zoom_range(args.zooms))
    print(f"COG {shape[1]}x{shape[0]} cells, {len(tiles)} tiles z{args.zooms}; {load_info()}")

    ours_urls = [f"/tiles/density/{t.z}/{t.x}/{t.y}.png" for t in tiles]
    qs = f"url={cog}&rescale={lo},{hi}&colormap_name=ylorrd"
    titiler_urls = [f"/cog/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png?{qs}" for t in tiles]

    results = {}
    samples = {}
    with uvicorn_server("api.app:create_app", env={"BAOSHAN_GPKG": str(gpkg)}) as base:
        results["baoshan-gis"] = fetch_all([base + u for u in ours_urls])
        import httpx

        samples["ours"] = [httpx.get(base + ours_urls[i]).content for i in (0, len(tiles) // 2)]
    with uvicorn_server("_service_common:titiler_app",
                        app_dir=Path(__file__).resolve().parent) as base:
        results["titiler"] = fetch_all([base + u for u in titiler_urls])
        import httpx

        samples["titiler"] = [httpx.get(base + titiler_urls[i]).content
                              for i in (0, len(tiles) // 2)]
    for name, r in results.items():
        print(f"{name:12s} {r['tiles_per_s']:8.1f} tiles/s  median {r['median_ms']:.2f} ms  "
              f"p95 {r['p95_ms']:.2f} ms  statuses {r['statuses']}")
    ratio = results["baoshan-gis"]["tiles_per_s"] / results["titiler"]["tiles_per_s"]
    print(f"ratio baoshan-gis / TiTiler throughput: {ratio:.2f}x (target >= 2x)")
    ours_t = np.array(results["baoshan-gis"].pop("_times"))
    ours_c = np.array(results["baoshan-gis"].pop("_codes"))
    tit_t = np.array(results["titiler"].pop("_times"))
    results["titiler"].pop("_codes")
    data = ours_c == 200
    sub = tit_t[data].sum() / ours_t[data].sum()
    med_o, med_t = np.median(ours_t[data]) * 1e3, np.median(tit_t[data]) * 1e3
    print(f"only the {int(data.sum())} tiles with data (ours 200, not 204): ratio of summed "
          f"request times TiTiler / baoshan-gis = {sub:.2f}x; medians {med_o:.2f} ms vs "
          f"{med_t:.2f} ms")
    for a, b in zip(samples["ours"], samples["titiler"], strict=True):
        if a and b and b[:4] == b"\x89PNG":
            ia = np.asarray(Image.open(io.BytesIO(a)).convert("RGBA")).astype(int)
            ib = np.asarray(Image.open(io.BytesIO(b)).convert("RGBA")).astype(int)
            both = (ia[..., 3] > 0) & (ib[..., 3] > 0)
            diff = np.abs(ia[..., :3] - ib[..., :3])[both].mean() if both.any() else float("nan")
            print(f"sample tile: mean |RGB diff| where both opaque = {diff:.1f} / 255, "
                  f"opaque px ours {int((ia[..., 3] > 0).sum())} titiler "
                  f"{int((ib[..., 3] > 0).sum())}")
    print(json.dumps({"tiles": len(tiles), "ratio": round(ratio, 2), "ratio_data": round(sub, 2),
                      **{k: {kk: (round(vv, 2) if isinstance(vv, float) else vv)
                             for kk, vv in v.items()} for k, v in results.items()}}))


if __name__ == "__main__":
    main()
