"""Bounds on the service's analysis work: concurrency, identical requests, waiting time.

:class:`AnalysisRunner` computes at most ``BAOSHAN_ANALYSIS_CONCURRENCY`` analyses at once, in
its own threads; a request beyond that is answered ``503`` with ``Retry-After`` at once instead
of queueing (queued requests are what held gigabytes). Identical requests share one computation
while it runs and are then answered from a per-snapshot cache bounded in bytes (dropped with the
snapshot when the GeoPackage changes). A client waits at most ``BAOSHAN_ANALYSIS_TIMEOUT_S``.
Python cannot stop a running computation, so work whose client left or timed out finishes in its
slot (its answer is cached for the retry) and no new work starts until a slot is free: the memory
in use stays bounded by the concurrency times the largest allowed analysis.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from baoshan_gis._errors import ServiceBusy


class AnalysisRunner:
    """Run analysis functions with a concurrency limit, request coalescing and a cache."""

    def __init__(self, *, concurrency: int, timeout_s: float, cache_bytes: int) -> None:
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.cache_bytes = cache_bytes
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="baoshan-analysis"
        )
        self._lock = threading.Lock()
        self._running: dict[Hashable, Future[bytes]] = {}
        self.computed = 0
        self.hits = 0
        self.refused = 0

    @property
    def active(self) -> int:
        """Computations running now."""
        with self._lock:
            return len(self._running)

    def _start(
        self,
        results: OrderedDict[Hashable, bytes] | dict[Any, bytes],
        key: Hashable,
        func: Callable[[], bytes],
    ) -> tuple[Future[bytes] | None, bytes | None]:
        with self._lock:
            if key in results:
                self.hits += 1
                if isinstance(results, OrderedDict):
                    results.move_to_end(key)
                return None, results[key]
            fut = self._running.get(key)
            if fut is not None:
                return fut, None  # an identical request is being computed: share it
            if len(self._running) >= self.concurrency:
                self.refused += 1
                raise ServiceBusy(
                    f"{self.concurrency} analyses are being computed, the most this service "
                    f"runs at once; retry in a few seconds",
                    retry_after=2,
                )
            fut = self._pool.submit(func)
            self._running[key] = fut
            self.computed += 1

        def done(f: Future[bytes]) -> None:
            with self._lock:
                self._running.pop(key, None)
                body = f.result() if f.exception() is None else None
                if body is not None and len(body) <= self.cache_bytes:
                    results[key] = body
                    if isinstance(results, OrderedDict):
                        total = sum(len(v) for v in results.values())
                        while total > self.cache_bytes:
                            total -= len(results.popitem(last=False)[1])

        fut.add_done_callback(done)
        return fut, None

    async def run(
        self, results: dict[Any, bytes], key: Hashable, func: Callable[[], bytes]
    ) -> bytes:
        """The answer of ``func`` (JSON bytes) for ``key``, computed at most once at a time.

        Raises
        ------
        ServiceBusy
            When every slot is busy with other requests, or the answer took longer than
            ``timeout_s`` (it is cached when it arrives).
        """
        fut, body = self._start(results, key, func)
        if body is not None:
            return body
        assert fut is not None
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), self.timeout_s)
        except TimeoutError:
            raise ServiceBusy(
                f"the analysis took longer than {self.timeout_s:g} s; it goes on and its "
                f"answer is kept: retry later",
                retry_after=max(1, math.ceil(self.timeout_s)),
            ) from None


def result_cache() -> OrderedDict[Hashable, bytes]:
    """An empty LRU for :meth:`AnalysisRunner.run` (one per snapshot of the GeoPackage)."""
    return OrderedDict()


class BytesLRU:
    """A thread-safe LRU of answers (``bytes``) bounded in total bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.nbytes = 0

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self.nbytes -= len(old) if old is not None else 0
            self._items[key] = body
            self.nbytes += len(body)
            while self.nbytes > self.max_bytes:
                self.nbytes -= len(self._items.popitem(last=False)[1])


#: GeoJSON answers built at once per process; further requests wait for a free slot (each
#: build holds several times its answer's size while it runs).
GEOJSON_BUILDS = threading.BoundedSemaphore(2)
