"""The HTTP side of geocoding, shared by every provider: batches, a rate limit, retries with
exponential backoff on timeouts, connection errors, HTTP 429 and 5xx, and an on-disk cache.

The cache holds one small JSON file per (provider, city, address), written atomically as soon as
the answer arrives, so work done before a refused key or an exhausted quota is kept, and a rerun
asks only for what is not cached. Only real answers (a match, no match, a malformed answer) are
cached; errors are not. The key is never written to the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from baoshan_gis._errors import GeocoderRefused
from baoshan_gis.inputs.geocode._base import Answer, RetryLater

USER_AGENT = "baoshan-gis (planning toolkit; https://github.com/baoshan-gis)"


@dataclass
class Stats:
    """What a run did: HTTP requests sent, answers from the cache, retries."""

    requests: int = 0
    cached: int = 0
    retries: int = 0
    resolved: int = 0
    messages: list[str] = field(default_factory=list)


class GeocodeClient:
    """Geocode addresses with one provider module (:mod:`.amap`, :mod:`.baidu`, ...)."""

    def __init__(
        self,
        provider: ModuleType,
        *,
        key: str | None,
        base_url: str | None,
        cache_dir: Path,
        city: str = "上海市",
        rate_per_s: float | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests

        self.provider = provider
        self.key = key
        self.base_url = (base_url or provider.DEFAULT_URL).rstrip("/")
        self.cache_dir = Path(cache_dir) / provider.NAME
        self.city = city
        rate = rate_per_s if rate_per_s is not None else provider.RATE_PER_S
        if rate <= 0:
            raise GeocoderRefused(f"--rate must be > 0 requests per second, got {rate!r}")
        self.interval = 1.0 / rate
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.stats = Stats()
        self._last = 0.0
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT

    # cache ------------------------------------------------------------------------------------

    def _cache_file(self, address: str) -> Path:
        digest = hashlib.sha256(f"{self.city}\x00{address}".encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    def cached(self, address: str) -> Answer | None:
        """The cached answer for ``address``, if any."""
        path = self._cache_file(address)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return Answer.from_json(data["answer"])

    def _store(self, address: str, answer: Answer) -> None:
        path = self._cache_file(address)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "provider": self.provider.NAME,
            "city": self.city,
            "address": address,
            "answer": answer.to_json(),
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, ensure_ascii=False)
        os.replace(tmp, path)

    # HTTP -------------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str]) -> Any:
        import requests

        url = self.base_url + path
        for attempt in range(self.retries + 1):
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last = time.monotonic()
            self.stats.requests += 1
            problem = ""
            try:
                resp = self._session.get(url, params=params, timeout=self.timeout_s)
            except requests.Timeout:
                problem = f"no answer within {self.timeout_s:g} s"
            except requests.ConnectionError as exc:
                problem = f"cannot connect ({type(exc).__name__})"
            else:
                if resp.status_code in (401, 403):
                    from baoshan_gis.inputs.geocode._base import BadKey

                    raise BadKey(f"{self.provider.TITLE} refused the key (HTTP {resp.status_code})")
                if resp.status_code == 429 or resp.status_code >= 500:
                    problem = f"HTTP {resp.status_code}"
                elif resp.status_code >= 400:
                    return {"__http_error__": resp.status_code}
                else:
                    try:
                        return resp.json()
                    except ValueError:
                        return {"__not_json__": resp.text[:80]}
            if attempt < self.retries:
                self.stats.retries += 1
                self.sleep(self.backoff_s * 2**attempt)
        raise GeocoderRefused(
            f"{self.provider.TITLE} at {self.base_url} did not answer: {problem} after "
            f"{self.retries + 1} attempts"
        )

    def _fetch(self, batch: list[str]) -> list[Answer]:
        for attempt in range(self.retries + 1):
            payloads = [
                self._get(r.path, r.params)
                for r in self.provider.requests_for(batch, self.key, self.city)
            ]
            try:
                return list(self.provider.parse(payloads, batch))
            except RetryLater as exc:
                if attempt == self.retries:
                    raise GeocoderRefused(
                        f"{self.provider.TITLE} kept refusing for its rate limit ({exc}); lower "
                        "--rate"
                    ) from None
                self.stats.retries += 1
                self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def geocode(self, addresses: list[str]) -> dict[str, Answer]:
        """Answers for the distinct ``addresses``; cached ones cost no request."""
        out: dict[str, Answer] = {}
        todo: list[str] = []
        for a in dict.fromkeys(addresses):
            hit = self.cached(a)
            if hit is not None:
                out[a] = hit
                self.stats.cached += 1
            else:
                todo.append(a)
        size = max(1, int(self.provider.BATCH_SIZE))
        for i in range(0, len(todo), size):
            batch = todo[i : i + size]
            try:
                answers = self._fetch(batch)
            except GeocoderRefused as exc:
                done = len(out)
                raise type(exc)(
                    f"{exc}; {done} of {len(dict.fromkeys(addresses))} addresses were resolved "
                    f"before this and are kept in the cache at {str(self.cache_dir)!r} (a rerun "
                    "asks only for the rest); the GeoPackage was not changed"
                ) from None
            for a, ans in zip(batch, answers, strict=True):
                self._store(a, ans)
                out[a] = ans
        self.stats.resolved = len(out)
        return out
