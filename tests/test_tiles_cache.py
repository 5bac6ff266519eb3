"""The byte-bounded LRU tile cache and ETags (baoshan_gis.tiles.cache)."""

from __future__ import annotations

import threading
import time

import pytest

from baoshan_gis.tiles.cache import ENTRY_OVERHEAD, CachedTile, TileCache, etag_matches, strong_etag


def test_lru_is_bounded_in_bytes_and_evicts_oldest() -> None:
    item = CachedTile.of(b"x" * 1000, "image/png")
    cache = TileCache(3 * (1000 + ENTRY_OVERHEAD))
    for k in "abc":
        cache.put(k, item)
    assert cache.get("a") is item  # a becomes most recent
    cache.put("d", item)  # evicts b, the least recently used
    assert cache.get("b") is None
    assert {k for k in "acd" if cache.get(k) is not None} == set("acd")
    assert cache.nbytes == 3 * item.nbytes <= cache.max_bytes
    cache.put("big", CachedTile.of(b"y" * 10_000, "image/png"))  # larger than the bound
    assert cache.get("big") is None and cache.nbytes <= cache.max_bytes


def test_etags_are_strong_and_match_if_none_match() -> None:
    a, b = strong_etag(b"abc"), strong_etag(b"abd")
    assert a != b and a.startswith('"') and not a.startswith("W/")
    assert etag_matches(a, a)
    assert etag_matches(f'"zzz", {a}', a)
    assert etag_matches("*", a)
    assert etag_matches("W/" + a, a)
    assert not etag_matches(b, a) and not etag_matches(None, a)


def test_single_flight_renders_once() -> None:
    cache = TileCache(1 << 20)
    calls = []

    def render() -> CachedTile:
        calls.append(1)
        time.sleep(0.05)
        return CachedTile.of(b"tile", "image/png")

    out: list[CachedTile] = []
    threads = [threading.Thread(target=lambda: out.append(cache.get_or_render("k", render)))
               for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(out) == 20 and {o.body for o in out} == {b"tile"}


def test_failed_render_is_not_cached() -> None:
    cache = TileCache(1 << 20)

    def boom() -> CachedTile:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        cache.get_or_render("k", boom)
    assert cache.get("k") is None and len(cache) == 0


def test_lookup_that_hands_on_a_miss_does_not_count_it() -> None:
    cache = TileCache(1 << 20)
    item = CachedTile.of(b"abc", "image/png")
    assert cache.get("a", count_miss=False) is None and cache.misses == 0
    assert cache.get("a") is None and cache.misses == 1
    cache.put("a", item)
    assert cache.get("a", count_miss=False) is item and cache.hits == 1
