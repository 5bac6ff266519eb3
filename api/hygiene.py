"""HTTP hygiene applied to every response, as one pure ASGI middleware.

* ``HEAD`` is answered for every ``GET`` route: the request runs as ``GET`` and the body is
  dropped, so the headers (``Content-Type``, ``Content-Length``, ``ETag``) are those of the GET.
* ``X-Content-Type-Options: nosniff`` on every response.
* Answers larger than 256 KiB are sent in 64 KiB pieces with back-pressure, so that slow
  readers do not each hold a copy of the answer in the transport's buffer.
* HTML answers carry a Content-Security-Policy that allows only the service's own assets; a
  route may set a stricter one itself (the map pages list the hashes of their inline scripts,
  :func:`html_csp`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import Any

#: The policy of HTML answers that do not set their own: nothing but the service itself.
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'self'; form-action 'self'"
)

#: Size of the pieces a large answer is sent in (bytes).
CHUNK = 64 * 1024

_INLINE_SCRIPT = re.compile(rb"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", re.S | re.I)


def html_csp(body: bytes, *, img_hosts: Iterable[str] = ()) -> str:
    """A Content-Security-Policy for ``body`` that allows its own inline scripts (by SHA-256
    hash), inline styles, and otherwise only this service (``'self'``) plus ``img_hosts`` for
    background map tiles."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(m).digest()).decode() + "'"
            for m in _INLINE_SCRIPT.findall(body)
        }
    )
    img = " ".join(["'self'", "data:", "blob:", *img_hosts])
    scripts = " ".join(["'self'", *hashes])
    return (
        f"default-src 'self'; script-src {scripts}; "
        f"style-src 'self' 'unsafe-inline'; img-src {img}; font-src 'self' data:; "
        "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'self'; "
        "form-action 'self'"
    )


class HygieneMiddleware:
    """HEAD for GET routes, ``nosniff`` everywhere, a CSP on HTML answers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", DEFAULT_CSP.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and head:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            elif message["type"] == "http.response.body" and len(message.get("body", b"")) > (
                4 * CHUNK
            ):
                # a large answer goes out in chunks, each sent when the client has taken the
                # last: a slow reader then holds one chunk, not a copy of the whole answer in
                # the transport's buffer
                body = memoryview(message["body"])
                more = message.get("more_body", False)
                for i in range(0, len(body), CHUNK):
                    last = i + CHUNK >= len(body)
                    await send(
                        {
                            "type": "http.response.body",
                            "body": bytes(body[i : i + CHUNK]),
                            "more_body": more or not last,
                        }
                    )
                return
            await send(message)

        await self.app(scope, receive, wrapped)
