"""GeoJSON, FlatGeobuf and GeoPackage inputs, read through GDAL (pyogrio)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from baoshan_gis._errors import DataImportError, EncodingProblem
from baoshan_gis.inputs._common import ReadOptions, check_text, first_line

SUFFIXES: tuple[str, ...] = (".geojson", ".json", ".fgb", ".gpkg")


def read_ogr(
    path: Path, *, layer: str | None = None, encoding: str | None = None
) -> gpd.GeoDataFrame:
    """One layer of a GDAL-readable file as a GeoDataFrame; refuses tables and empty layers."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, fid_as_index=False)
    except UnicodeDecodeError as exc:
        raise EncodingProblem(
            f"text in {path.name!r} is not valid {encoding or 'UTF-8'} ({exc.reason}); give the "
            "right one with --encoding (e.g. --encoding gbk)"
        ) from None
    except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise DataImportError(f"cannot read {path.name!r}: {first_line(exc)}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataImportError(
            f"{path.name!r} has no geometry column; for a table with coordinates use a CSV with "
            "--lon-col/--lat-col"
        )
    if len(frame) == 0:
        raise DataImportError(f"{path.name!r} has no features; nothing to import")
    return frame


def read_geojson(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """A GeoJSON file (WGS84 by definition)."""
    return check_text(read_ogr(path, encoding=opts.encoding), path.name, opts.encoding)


def read_gpkg(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """The only layer of a GeoPackage, or the one named by ``opts.layer``."""
    import pyogrio
    from pyogrio.errors import DataSourceError

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except DataSourceError as exc:
        raise DataImportError(f"cannot read {path.name!r}: {first_line(exc)}") from None
    if not layers:
        raise DataImportError(f"{path.name!r} has no layers; nothing to import")
    layer = opts.layer
    if layer is None:
        if len(layers) > 1:
            raise DataImportError(
                f"{path.name!r} has {len(layers)} layers ({', '.join(layers)}); choose one with "
                "--layer NAME"
            )
        layer = layers[0]
    elif layer not in layers:
        raise DataImportError(f"no layer {layer!r} in {path.name!r}; layers: {', '.join(layers)}")
    return read_ogr(path, layer=layer)


def read(path: Path, opts: ReadOptions, warnings: list[str]) -> gpd.GeoDataFrame:
    """GeoJSON, FlatGeobuf or GeoPackage, by suffix."""
    if path.suffix.lower() == ".gpkg":
        return read_gpkg(path, opts, warnings)
    return read_geojson(path, opts, warnings)
