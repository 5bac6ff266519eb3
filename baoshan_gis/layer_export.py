"""Export one layer of the GeoPackage to the files other tools read (``layers export``).

| suffix | format | metadata |
|---|---|---|
| ``.parquet``, ``.geoparquet`` | GeoParquet 1.1 | schema key ``baoshan`` (title, licence...) |
| ``.fgb`` | FlatGeobuf | layer title and description (with the attribution) |
| ``.geojson``, ``.json`` | GeoJSON (RFC 7946) | ``description`` member (with the attribution) |
| ``.shp`` | ESRI Shapefile + ``.cpg`` (UTF-8 or GBK) | none (the format has no place) |

Layers derived from OpenStreetMap (licence or attribution naming ODbL/OpenStreetMap) also get a
sidecar ``<file>.attribution.txt`` stating "© OpenStreetMap contributors" and the ODbL 1.0, as the
licence asks of every public use of a derived database. Every write is atomic: the target is
replaced only when the whole file (all shapefile parts) was written.

A shapefile cuts field names to 10 characters; ``geometry_quality`` becomes ``geometry_q``, which
``layers import`` maps back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd

from baoshan_gis import gpkg as _gpkg
from baoshan_gis._errors import InvalidInput
from baoshan_gis._files import atomic_path
from baoshan_gis.settings import OSM_ATTRIBUTION

FORMATS: dict[str, str] = {
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".fgb": "FlatGeobuf",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "ESRI Shapefile",
}
SHAPEFILE_ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "gbk": "GBK"}


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_layer` wrote."""

    layer: str
    path: Path
    format: str
    count: int
    files: tuple[Path, ...]

    def text(self) -> str:
        """One line for the terminal."""
        return (
            f"exported {self.count} feature(s) of {self.layer!r} to {str(self.path)!r} "
            f"({self.format}; files: {', '.join(p.name for p in self.files)})"
        )


def is_osm_derived(meta: dict[str, Any]) -> bool:
    """Whether a layer's metadata says it derives from OpenStreetMap."""
    text = " ".join(str(meta.get(k, "")) for k in ("licence", "attribution", "source")).lower()
    return "openstreetmap" in text or "odbl" in text


def export_layer(
    gpkg: str | os.PathLike[str],
    name: str,
    to: str | os.PathLike[str],
    *,
    encoding: str = "utf-8",
) -> ExportReport:
    """Write layer ``name`` of ``gpkg`` to ``to``; the format follows the suffix (see above)."""
    target = Path(to)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot export to {target.name!r}: use one of {', '.join(FORMATS)}")
    enc = SHAPEFILE_ENCODINGS.get(encoding.lower().replace("_", "-"))
    if enc is None:
        raise InvalidInput(f"unknown --encoding {encoding!r} for a shapefile; use utf-8 or gbk")
    frame = _gpkg.read_layer(gpkg, name)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InvalidInput(
            f"layer {name!r} is a table without geometry; export it from QGIS or as CSV"
        )
    meta = _gpkg.read_meta(gpkg).get(name, {})
    osm = is_osm_derived(meta)
    attribution = meta.get("attribution") or ""
    if osm and OSM_ATTRIBUTION not in attribution:
        attribution = f"{attribution}; {OSM_ATTRIBUTION}".strip("; ")
    info = {
        "layer": name,
        "title_zh": meta.get("title_zh", ""),
        "title_en": meta.get("title_en", ""),
        "source": meta.get("source", ""),
        "licence": meta.get("licence", ""),
        "attribution": attribution,
    }
    description = f"{info['title_zh']} {info['title_en']}".strip() + (
        f". {attribution}" if attribution else ""
    )
    files: list[Path] = []
    if fmt == "GeoParquet":
        with atomic_path(target, copy_existing=False) as tmp:
            _write_parquet(frame, tmp, info)
        files.append(target)
    elif fmt == "ESRI Shapefile":
        files += _write_shapefile(frame, target, enc)
    else:
        import pyogrio

        options = {"DESCRIPTION": description}
        if fmt == "FlatGeobuf":
            options["TITLE"] = name
        else:
            options["RFC7946"] = "YES"
        with atomic_path(target, copy_existing=False) as tmp:
            pyogrio.write_dataframe(frame, tmp, layer=name, driver=fmt, layer_options=options)
        files.append(target)
    if osm:
        sidecar = target.with_name(target.name + ".attribution.txt")
        with atomic_path(sidecar, copy_existing=False) as tmp:
            tmp.write_text(
                f"{name}: {attribution}\nLicence: {meta.get('licence') or 'ODbL 1.0'} "
                "(Open Database License, https://opendatacommons.org/licenses/odbl/1-0/)\n"
                f"Source: {meta.get('source', '')}\n",
                encoding="utf-8",
            )
        files.append(sidecar)
    return ExportReport(name, target, fmt, len(frame), tuple(files))


def _write_parquet(frame: gpd.GeoDataFrame, path: Path, info: dict[str, str]) -> None:
    import pyarrow.parquet as pq

    frame.to_parquet(path, index=False)
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"baoshan"] = json.dumps(info, ensure_ascii=False).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def _write_shapefile(frame: gpd.GeoDataFrame, target: Path, encoding: str) -> list[Path]:
    import pyogrio

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.stem}.tmp-") as tmpdir:
        tmp = Path(tmpdir) / f"{target.stem}.shp"
        with warnings.catch_warnings():  # GDAL's notice that it cut long field names
            warnings.filterwarnings("ignore", "Normalized/laundered field name", RuntimeWarning)
            pyogrio.write_dataframe(frame, tmp, driver="ESRI Shapefile", encoding=encoding)
        cpg = tmp.with_suffix(".cpg")
        cpg.write_text(encoding, encoding="ascii")
        out = []
        for part in sorted(Path(tmpdir).iterdir()):
            dest = target.with_suffix(part.suffix)
            shutil.move(str(part), dest)
            out.append(dest)
    return out
