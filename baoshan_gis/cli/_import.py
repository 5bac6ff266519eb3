"""``baoshan-gis layers import FILE`` and ``baoshan-gis geocode FILE``: a planner's own data in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

_PROVIDERS = ["tianditu", "amap", "baidu", "nominatim"]


def _geocode_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--key",
            default=None,
            help="Provider key (else BAOSHAN_<PROVIDER>_KEY, e.g. BAOSHAN_AMAP_KEY).",
        ),
        click.option(
            "--base-url",
            default=None,
            help="Provider server, e.g. an intranet proxy (default: the public API).",
        ),
        click.option(
            "--rate",
            type=float,
            default=None,
            help="Requests per second (default per provider: Amap/Baidu 3, "
            "Tianditu 5, Nominatim 1).",
        ),
        click.option("--sheet", default=None, help="Excel sheet (default: the first)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _geocode(
    address_col: str | None,
    provider: str | None,
    key: str | None,
    base_url: str | None,
    rate: float | None,
) -> Any:
    from baoshan_gis._errors import GeocoderRefused
    from baoshan_gis.inputs.geocode import GeocodeOptions

    if address_col is None:
        if provider is not None:
            raise GeocoderRefused("--provider needs --address-col COL (the column to geocode)")
        return None
    if provider is None:
        raise GeocoderRefused(f"--address-col needs --provider, one of {', '.join(_PROVIDERS)}")
    return GeocodeOptions(
        address_col=address_col, provider=provider, key=key, base_url=base_url, rate_per_s=rate
    )


def _echo(report: Any) -> None:
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for line in report.unplaced:
        click.echo(f"unplaced: {line}")
    click.echo(report.text())


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--gpkg",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The GeoPackage to add the layer to (it must exist; see 'baoshan-gis build').",
)
@click.option(
    "--name", required=True, help="Layer name: lower-case letter first, then a-z, 0-9 or '_'."
)
@click.option(
    "--crs",
    default=None,
    help="CRS of the coordinates when the file has none, e.g. EPSG:4326, EPSG:4490 "
    "(CGCS2000), EPSG:4549 (CGCS2000 GK CM 120E) or EPSG:4528 (zone 40).",
)
@click.option(
    "--encoding",
    default=None,
    help="Text encoding when the file does not declare it, e.g. gbk or utf-8.",
)
@click.option(
    "--source-crs",
    type=click.Choice(["gcj02", "bd09"], case_sensitive=False),
    default=None,
    help="Coordinates copied from Amap/高德 (gcj02) or Baidu/百度 (bd09): converted to "
    "WGS84, originals kept in orig_lon/orig_lat (or orig_wkt).",
)
@click.option("--lon-col", default=None, help="CSV/Excel column with the longitude (or x).")
@click.option("--lat-col", default=None, help="CSV/Excel column with the latitude (or y).")
@click.option(
    "--address-col",
    default=None,
    help="CSV/Excel column of addresses to geocode (with --provider).",
)
@click.option(
    "--provider",
    type=click.Choice(_PROVIDERS, case_sensitive=False),
    default=None,
    help="Geocoder for --address-col.",
)
@_geocode_options
@click.option(
    "--layer",
    "layer",
    default=None,
    help="Layer of a multi-layer GeoPackage, or shapefile stem inside a zip.",
)
@click.option("--replace", is_flag=True, help="Overwrite an existing layer of the same name.")
@click.option(
    "--append",
    is_flag=True,
    help="Merge into the existing layer (same name_zh replaced, others added); rows "
    "of <name>_unplaced now placed move into the layer.",
)
def import_cmd(
    file: Path,
    gpkg: Path,
    name: str,
    crs: str | None,
    encoding: str | None,
    source_crs: str | None,
    lon_col: str | None,
    lat_col: str | None,
    address_col: str | None,
    provider: str | None,
    key: str | None,
    base_url: str | None,
    rate: float | None,
    sheet: str | None,
    layer: str | None,
    replace: bool,
    append: bool,
) -> None:
    """Import FILE (GeoPackage, GeoJSON, Shapefile or .zip of one, GeoParquet, CSV or Excel).

    The GeoPackage is changed only if the whole import succeeds.
    """
    from baoshan_gis.importer import import_layer

    report = import_layer(
        gpkg,
        file,
        name=name,
        crs=crs,
        encoding=encoding,
        source_crs=source_crs,
        lon_col=lon_col,
        lat_col=lat_col,
        layer=layer,
        sheet=sheet,
        replace=replace,
        append=append,
        geocode=_geocode(address_col, provider, key, base_url, rate),
    )
    _echo(report)


@click.command("geocode")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--address-col", required=True, help="Column of addresses.")
@click.option(
    "--provider",
    required=True,
    type=click.Choice(_PROVIDERS, case_sensitive=False),
    help="tianditu (CGCS2000), amap (GCJ-02), baidu (BD-09) or nominatim (WGS84).",
)
@_geocode_options
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="GeoPackage to write the layer to (created when missing).",
)
@click.option("--name", default="geocoded", show_default=True, help="Layer name.")
@click.option("--encoding", default=None, help="Text encoding of a CSV, e.g. gbk.")
@click.option("--replace", is_flag=True, help="Overwrite an existing layer of the same name.")
def geocode_cmd(
    file: Path,
    address_col: str,
    provider: str,
    key: str | None,
    base_url: str | None,
    rate: float | None,
    sheet: str | None,
    out: Path,
    name: str,
    encoding: str | None,
    replace: bool,
) -> None:
    """Geocode the addresses of FILE (CSV or Excel) into a point layer of a GeoPackage.

    Rows that cannot be placed go to the table <name>_unplaced and are listed; answers are cached
    (BAOSHAN_GEOCODE_CACHE) so a rerun sends no request for them.
    """
    from baoshan_gis._errors import InvalidInput
    from baoshan_gis.importer import import_layer

    if out.suffix.lower() != ".gpkg":
        raise InvalidInput(f"--out {str(out)!r} must end in .gpkg")
    report = import_layer(
        out,
        file,
        name=name,
        encoding=encoding,
        sheet=sheet,
        replace=replace,
        create=True,
        geocode=_geocode(address_col, provider, key, base_url, rate),
    )
    _echo(report)


def register(group: click.Group) -> None:
    """Add ``import`` and ``export`` to the ``layers`` group."""
    group.add_command(import_cmd)
    group.add_command(export_cmd)


def register_main(main: click.Group) -> None:
    """Add ``geocode`` to the main group."""
    main.add_command(geocode_cmd)


@click.command("export")
@click.argument("name")
@click.option(
    "--gpkg",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The GeoPackage holding the layer.",
)
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Output file: .parquet (GeoParquet), .fgb, .geojson or .shp.",
)
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gbk"], case_sensitive=False),
    default="utf-8",
    show_default=True,
    help="Shapefile text encoding (written to the .cpg file).",
)
def export_cmd(name: str, gpkg: Path, to: Path, encoding: str) -> None:
    """Export layer NAME to GeoParquet, FlatGeobuf, GeoJSON or Shapefile (atomically)."""
    from baoshan_gis.layer_export import export_layer

    click.echo(export_layer(gpkg, name, to, encoding=encoding).text())
