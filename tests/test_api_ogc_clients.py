"""Real OGC API clients against the service: GDAL's OAPIF driver (through pyogrio) and OWSLib.

The service runs under uvicorn on a free loopback port in a child process: pyogrio keeps the
GIL while GDAL reads, so a server in a thread of the test process could never answer it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from baoshan_gis.gpkg import layer_names, read_layer

CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"


@pytest.fixture(scope="module")
def server(built_gpkg: Path) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BAOSHAN_GPKG": str(built_gpkg)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "service did not start: " + proc.stderr.read().decode()[-2000:]
                    ) from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stderr.close()


def _same_geometries(a: np.ndarray, b: np.ndarray) -> bool:
    for ga, gb in zip(a, b, strict=True):
        empty_a = ga is None or ga.is_empty
        empty_b = gb is None or gb.is_empty
        if empty_a or empty_b:
            if empty_a != empty_b:
                return False
            continue
        if not shapely.equals_exact(ga, gb, tolerance=1e-9):
            return False
    return True


def _assert_same_layer(got: pd.DataFrame, want: pd.DataFrame, name: str) -> None:
    want_cols = [c for c in want.columns if c != "geometry"]
    got_cols = [c for c in got.columns if c != "geometry"]
    assert got_cols == want_cols, name
    assert len(got) == len(want), name
    for c in want_cols:
        g, w = got[c].tolist(), want[c].tolist()
        same = [
            (pd.isna(x) and pd.isna(y)) if not isinstance(x, str) and pd.isna(x) else x == y
            for x, y in zip(g, w, strict=True)
        ]
        assert all(same), (name, c, g, w)


def test_gdal_oapif_reads_every_layer_like_the_geopackage(server: str, built_gpkg: Path) -> None:
    url = f"OAPIF:{server}/ogc"
    listed = [row[0] for row in pyogrio.list_layers(url)]
    assert listed == layer_names(built_gpkg)
    for name in listed:
        # GDAL asks for 20 features at a time (its first request), following the `next` links
        got = pyogrio.read_dataframe(url, layer=name, fid_as_index=True)
        want = read_layer(built_gpkg, name)
        _assert_same_layer(got, want, name)
        fids = pyogrio.read_dataframe(
            built_gpkg, layer=name, columns=[], read_geometry=False, fid_as_index=True
        ).index
        assert got.index.tolist() == fids.tolist(), name
        if "geometry" in want.columns:
            assert got.crs.to_string() == "OGC:CRS84", name
            assert _same_geometries(
                np.asarray(got.geometry.values), np.asarray(want.geometry.values)
            ), name
        else:
            assert got.geometry.isna().all(), name


def test_gdal_oapif_in_cgcs2000_and_with_a_server_side_filter(
    server: str, built_gpkg: Path
) -> None:
    want = read_layer(built_gpkg, "metro_stations")
    got = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="metro_stations", CRS="EPSG:4490")
    assert got.crs.to_epsg() == 4490
    # GDAL swaps the server's latitude-first coordinates back: lon/lat equal the WGS84 ones
    assert np.allclose(got.geometry.x, want.geometry.x, atol=1e-6)
    assert np.allclose(got.geometry.y, want.geometry.y, atol=1e-6)
    carriers = read_layer(built_gpkg, "carriers")
    labs = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="carriers", where="category = 'lab'")
    assert sorted(labs.name_zh) == sorted(carriers.loc[carriers.category == "lab", "name_zh"])
    assert len(labs) > 0


def test_owslib_lists_collections_and_pages_through_items(server: str, built_gpkg: Path) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{server}/ogc")
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
        in (api.conformance()["conformsTo"])
    )
    assert api.feature_collections() == layer_names(built_gpkg)
    want = read_layer(built_gpkg, "metro_stations")
    names, offset, pages = [], 0, 0
    while True:
        page = api.collection_items("metro_stations", limit=10, offset=offset)
        assert page["numberMatched"] == len(want)
        names += [f["properties"]["name_zh"] for f in page["features"]]
        pages += 1
        nxt = [lk for lk in page["links"] if lk["rel"] == "next"]
        if not nxt:
            break
        offset = int(nxt[0]["href"].split("offset=")[1].split("&")[0])
    assert pages == -(-len(want) // 10)
    assert names == want.name_zh.tolist()
    one = api.collection_item("carriers", "3")
    carriers = read_layer(built_gpkg, "carriers")
    assert one["properties"]["name_zh"] == carriers.name_zh.iloc[2]
    assert one["properties"]["geometry_quality"] == carriers.geometry_quality.iloc[2]


def test_gdal_ogcapi_reads_the_vector_tiles_through_the_tileset_links(
    server: str, built_gpkg: Path
) -> None:
    carriers = read_layer(built_gpkg, "carriers")
    url = f"OGCAPI:{server}/ogc/collections/carriers"
    layers = [row[0] for row in pyogrio.list_layers(url)]
    assert layers[0] == "Zoom level 0" and "Zoom level 12" in layers
    whole = pyogrio.read_dataframe(url, layer="Zoom level 0")
    assert sorted(whole.name_zh) == sorted(carriers.name_zh)
    assert set(whole.columns) >= set(c for c in carriers.columns if c != "geometry")
