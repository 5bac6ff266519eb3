"""An in-memory LRU cache of rendered tiles, bounded in bytes, with strong ETags.

:meth:`TileCache.get_or_render` also makes concurrent requests for the same missing tile wait for
one rendering instead of each doing the work ("single flight"). Only successful renderings are
stored: an exception propagates to every waiter and nothing is cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

#: Book-keeping bytes counted per entry on top of the body.
ENTRY_OVERHEAD: int = 256


def strong_etag(body: bytes) -> str:
    """A strong ETag (quoted) derived from the bytes: equal bytes, equal tag."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (weak comparison, as RFC 9110 asks)."""
    if not if_none_match:
        return False
    target = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        c = candidate.strip()
        if c == "*" or c.removeprefix("W/") == target:
            return True
    return False


@dataclass(frozen=True)
class CachedTile:
    """A rendered tile: body (``b""`` for an empty tile), media type and strong ETag."""

    body: bytes
    media_type: str
    etag: str

    @property
    def nbytes(self) -> int:
        """Bytes counted against the cache bound."""
        return len(self.body) + ENTRY_OVERHEAD

    @classmethod
    def of(cls, body: bytes, media_type: str) -> CachedTile:
        """Wrap ``body`` with its ETag."""
        return cls(body, media_type, strong_etag(body))


class TileCache:
    """Thread-safe LRU mapping ``key -> CachedTile`` holding at most ``max_bytes``.

    Parameters
    ----------
    max_bytes
        Upper bound of the sum of :attr:`CachedTile.nbytes`; 0 disables storing.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes={max_bytes!r} must be >= 0")
        self.max_bytes = int(max_bytes)
        self._data: OrderedDict[Hashable, CachedTile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._inflight: dict[Hashable, threading.Event] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    @property
    def nbytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def get(self, key: Hashable, *, count_miss: bool = True) -> CachedTile | None:
        """The cached tile for ``key`` (marked most recently used), or ``None``.

        ``count_miss=False`` leaves :attr:`misses` alone when the key is absent (for a lookup
        that hands a miss on to one that counts it).
        """
        with self._lock:
            item = self._data.get(key)
            if item is None:
                if count_miss:
                    self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: Hashable, item: CachedTile) -> None:
        """Store ``item``, evicting least recently used entries to stay within the bound."""
        size = item.nbytes
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if size > self.max_bytes:
                return
            self._data[key] = item
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._data.popitem(last=False)
                self._bytes -= evicted.nbytes

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def get_or_render(self, key: Hashable, render: Callable[[], CachedTile]) -> CachedTile:
        """Return the cached tile or render it once, even under concurrent requests."""
        while True:
            item = self.get(key)
            if item is not None:
                return item
            with self._lock:
                event = self._inflight.get(key)
                leader = event is None
                if leader:
                    event = threading.Event()
                    self._inflight[key] = event
            if not leader:
                assert event is not None
                event.wait()
                item = self.get(key)
                if item is not None:
                    return item
                # the leader failed or the entry could not be stored: render ourselves
                return render()
            try:
                item = render()
                self.put(key, item)
                return item
            finally:
                with self._lock:
                    self._inflight.pop(key, None)
                assert event is not None
                event.set()
