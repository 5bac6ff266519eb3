"""Bounds on the service's analysis work: concurrency, identical requests, waiting time.

:class:`AnalysisRunner` computes at most ``BAOSHAN_ANALYSIS_CONCURRENCY`` analyses at once, in
its own threads; a request beyond that is answered ``503`` with ``Retry-After`` at once instead
of queueing (queued requests are what held gigabytes). Identical requests share one
computation while it runs and are then answered from a small per-snapshot cache (dropped with
the snapshot when the GeoPackage changes). A client waits at most ``BAOSHAN_ANALYSIS_TIMEOUT_S``;
Python cannot stop a running computation, so work whose client left or timed out finishes in its
slot (its answer is cached for the retry) and no new work starts until a slot is free: the
memory in use stays bounded by the concurrency times the largest allowed analysis.
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

    def __init__(self, *, concurrency: int, timeout_s: float, cache_entries: int) -> None:
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.cache_entries = cache_entries
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
                if f.exception() is None and self.cache_entries:
                    results[key] = f.result()
                    if isinstance(results, OrderedDict):
                        while len(results) > self.cache_entries:
                            results.popitem(last=False)

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
