"""``/health``: liveness and a few figures about the running service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import State

router = APIRouter(tags=["health"])


@router.get("/health", summary="Service health")
async def health(state: State) -> dict[str, Any]:
    """`status: ok` with the number of layers loaded and the tile cache's use."""
    from baoshan_gis import __version__

    cache = state.cache
    return {
        "status": "ok",
        "version": __version__,
        "gpkg": state.settings.gpkg.name,
        "layers": len(state.layers),
        "cache": {"entries": len(cache), "bytes": cache.nbytes, "max_bytes": cache.max_bytes,
                  "hits": cache.hits, "misses": cache.misses},
    }
