"""CLI commands (placeholder until this topic lands)."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add this topic's commands to ``main``."""
