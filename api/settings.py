"""Service settings, read from the environment with the ``BAOSHAN_`` prefix (pydantic-settings).

``BAOSHAN_GPKG``                path of the built GeoPackage (required)
``BAOSHAN_CORS_ORIGINS``        allowed origins, a JSON list or comma-separated
``BAOSHAN_CACHE_BYTES``         bound of the in-memory tile cache, bytes
``BAOSHAN_TILE_FEATURE_CAP``    largest number of features in one tile
``BAOSHAN_RASTER_COLORMAP``    matplotlib colormap of raster tiles (default ``YlOrRd``)
``BAOSHAN_TILE_MAX_AGE``        ``Cache-Control: max-age`` of tiles, seconds
``BAOSHAN_GEOJSON_MAX_FEATURES`` largest ``limit`` of ``/layers/{name}``
``BAOSHAN_ANALYSIS_MAX_CELLS``  largest number of grid cells an analysis request may ask for
``BAOSHAN_ANALYSIS_MAX_RADIUS_M`` largest reach radius of ``/analysis/coverage``, metres
``BAOSHAN_ANALYSIS_MIN_CELL_M`` / ``_MAX_CELL_M`` range of ``cell_size`` of ``/analysis/density``
``BAOSHAN_ANALYSIS_MAX_FEATURES`` largest feature count of any input layer of an analysis
``BAOSHAN_ANALYSIS_MAX_VALUES`` largest answer of an analysis (rows x columns)
``BAOSHAN_ANALYSIS_CONCURRENCY`` analyses computed at once; more get 503 with ``Retry-After``
``BAOSHAN_ANALYSIS_TIMEOUT_S``  longest wait for an analysis (503 after it)
``BAOSHAN_ANALYSIS_CACHE_BYTES`` bound of the cache of analysis answers, bytes
``BAOSHAN_RELOAD_CHECK_MS``     how often the GeoPackage's identity is checked (0: every request)

Values are validated when the app is created; a missing GeoPackage stops start-up with a clear
message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Settings of the map service (environment prefix ``BAOSHAN_``)."""

    model_config = SettingsConfigDict(env_prefix="BAOSHAN_", extra="ignore", frozen=True)

    gpkg: Path = Field(description="Path of the built GeoPackage, opened read-only.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed by CORS (e.g. 'https://portal.example.org'); '*' for any.",
    )
    cache_bytes: int = Field(64 * 1024 * 1024, ge=0, description="Tile cache bound in bytes.")
    tile_feature_cap: int = Field(5000, ge=1, le=200_000,
                                  description="Largest number of features in one tile.")
    tile_max_age: int = Field(3600, ge=0, description="Cache-Control max-age of tiles (s).")
    raster_colormap: str = Field("YlOrRd", description="Matplotlib colormap of raster tiles "
                                 "(the density maps' colormap).")
    tile_maxzoom: int = Field(22, ge=0, le=24, description="Largest zoom advertised in TileJSON.")
    geojson_max_features: int = Field(10_000, ge=1,
                                      description="Largest 'limit' of /layers/{name}.")
    analysis_max_cells: int = Field(250_000, ge=1,
                                    description="Largest grid an analysis request may ask for.")
    analysis_max_radius_m: float = Field(5_000.0, gt=0,
                                         description="Largest coverage radius (metres).")
    analysis_min_cell_m: float = Field(100.0, gt=0,
                                       description="Smallest grid cell of /analysis/density (m).")
    analysis_max_cell_m: float = Field(10_000.0, gt=0,
                                       description="Largest grid cell of /analysis/density (m).")
    analysis_max_features: int = Field(50_000, ge=1, description="Largest feature count of "
                                       "any input layer of an analysis.")
    analysis_max_values: int = Field(2_000_000, ge=1, description="Largest answer of an "
                                     "analysis, rows x columns.")
    analysis_concurrency: int = Field(2, ge=1, le=64, description="Analyses computed at once "
                                      "(per worker process); more get 503 with Retry-After.")
    analysis_timeout_s: float = Field(60.0, gt=0, description="Longest wait for an analysis; "
                                      "503 after it.")
    analysis_cache_bytes: int = Field(32 * 1024 * 1024, ge=0, description="Bound of the "
                                      "cache of analysis answers (identical requests), bytes.")
    reload_check_ms: int = Field(500, ge=0, description="Interval of the GeoPackage change "
                                 "check in milliseconds (0: every request).")
    gc_freeze: bool = Field(True, description="At start-up, move the objects made so far "
                            "(modules, the app) out of the cyclic garbage collector's reach "
                            "(gc.freeze), so that its full passes, which stop every request, "
                            "only walk what was made since.")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    @field_validator("raster_colormap")
    @classmethod
    def _known_colormap(cls, value: str) -> str:
        from matplotlib import colormaps

        if value not in colormaps:
            raise ValueError(f"colormap {value!r} is not a matplotlib colormap (e.g. 'YlOrRd')")
        return value

    @field_validator("gpkg")
    @classmethod
    def _gpkg_exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(
                f"GeoPackage {str(value)!r} does not exist; build it with "
                "'baoshan-gis build --out PATH.gpkg' and set BAOSHAN_GPKG or --gpkg"
            )
        return value.resolve()
