"""One example per command, printed at the end of its ``--help`` (so every help page teaches)."""

from __future__ import annotations

import click

#: Command path (as typed after ``baoshan-gis``) -> an example that runs as shown.
EXAMPLES: dict[str, str] = {
    "": "baoshan-gis run --out out",
    "build": "baoshan-gis build --out plan.gpkg",
    "layers": "baoshan-gis layers list --gpkg plan.gpkg",
    "layers list": "baoshan-gis layers list --gpkg plan.gpkg",
    "layers info": "baoshan-gis layers info carriers --gpkg plan.gpkg",
    "layers import": "baoshan-gis layers import incubators.csv --gpkg plan.gpkg "
    "--name incubators --source-crs gcj02",
    "layers export": "baoshan-gis layers export carriers --gpkg plan.gpkg --to carriers.fgb",
    "geocode": "baoshan-gis geocode incubators.csv --out plan.gpkg --name incubators "
    "--address-col 地址 --provider tianditu",
    "refresh-defaults": "baoshan-gis refresh-defaults --shared-data ../shared/data",
    "fetch-osm": "baoshan-gis fetch-osm --out-dir osm/",
    "osm": "baoshan-gis osm import area.osm.pbf --gpkg plan.gpkg",
    "osm import": "baoshan-gis osm import area.osm.pbf --gpkg plan.gpkg",
    "density": "baoshan-gis density --gpkg plan.gpkg --zones belt_zones",
    "coverage": "baoshan-gis coverage --gpkg plan.gpkg --zones belt_zones --radius lab=1000 "
    "--radius university_science_park=1500",
    "gaps": "baoshan-gis gaps --gpkg plan.gpkg --zones innovation_belt --radius 1000",
    "sites": "baoshan-gis sites --gpkg plan.gpkg --zones innovation_belt -n 3 --radius 1000",
    "report": "baoshan-gis report --gpkg plan.gpkg --out report/",
    "map": "baoshan-gis map wusong --gpkg plan.gpkg --format pdf --out wusong.pdf",
    "map list": "baoshan-gis map list",
    "map render": "baoshan-gis map innovation_belt --gpkg plan.gpkg --format png --out belt.png",
    "serve": "baoshan-gis serve --gpkg plan.gpkg --port 8000",
    "tiles": "baoshan-gis tiles export carriers --gpkg plan.gpkg --zoom 10-16 --to c.pmtiles",
    "tiles export": "baoshan-gis tiles export carriers --gpkg plan.gpkg --zoom 10-16 "
    "--to carriers.pmtiles",
    "run": "baoshan-gis run --out out --format png --format pdf",
}


def add_examples(cmd: click.Command, path: str = "") -> None:
    """Set the epilog of ``cmd`` and its subcommands from :data:`EXAMPLES`."""
    example = EXAMPLES.get(path)
    if example:
        cmd.epilog = f"\b\nExample:\n  {example}"
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            add_examples(sub, f"{path} {name}".strip())
