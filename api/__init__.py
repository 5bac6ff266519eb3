"""The baoshan-gis map service: a FastAPI app assembled from small routers.

``create_app(settings)`` builds it; ``baoshan-gis serve --gpkg PATH`` runs it with uvicorn.
"""

from __future__ import annotations

from api.app import create_app

__all__ = ["create_app"]
