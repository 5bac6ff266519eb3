"""The ``baoshan-gis`` command line.

Each topic registers its commands from its own module (``_layers.py``, ``_analysis.py``,
``_maps.py``, ``_serve.py``, ``_run.py``); the commands only parse options and call the library.
Errors of the package become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click

from baoshan_gis._errors import BaoshanGISError


class _Group(click.Group):
    """A click group that turns the package's errors into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return super().invoke(ctx)
            except BaoshanGISError as exc:
                _notes(caught)
                click.echo(f"error: {exc}", err=True)
                sys.exit(2)
            finally:
                _notes(caught)


def _notes(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning as one ``note:`` line on stderr (no raw Python warning)."""
    seen = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text and text not in seen:
            seen.add(text)
            click.echo(f"note: {text}", err=True)
    caught.clear()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="baoshan-gis")
@click.option("--lock-timeout", type=click.FloatRange(min=0, max=86400), default=None,
              help="Seconds to wait while another writer holds the GeoPackage's lock "
                   "(default: BAOSHAN_LOCK_TIMEOUT, else 60).")
def main(lock_timeout: float | None) -> None:
    """baoshan-gis: plan layers, coverage analysis, maps and tiles for Baoshan's S&T plan."""
    from baoshan_gis import settings

    settings.LOCK_TIMEOUT_S = lock_timeout


def _register_all() -> None:
    from baoshan_gis.cli import _analysis, _import, _layers, _maps, _osm, _run, _serve

    for module in (_layers, _osm, _analysis, _maps, _serve, _run):
        module.register(main)
    _import.register(_layers.layers_group)
    _import.register_main(main)
    from baoshan_gis.cli._examples import add_examples

    add_examples(main)


_register_all()
