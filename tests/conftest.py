"""Shared fixtures: a GeoPackage built once per test session from the real catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan GeoPackage, built once from the embedded defaults (read-only for tests)."""
    from baoshan_gis.build import build_geopackage

    path = tmp_path_factory.mktemp("build") / "baoshan.gpkg"
    build_geopackage(path)
    return path
