"""Progress display shared by the CLI commands: a tqdm bar on a terminal, silence otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm


def progress_callback(total: int, desc: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    """Return ``(step, close)``: ``step(label)`` advances the bar by one, ``close()`` ends it."""
    bar = tqdm(total=total, desc=desc, unit="step", disable=not sys.stderr.isatty(),
               file=sys.stderr, leave=False)

    def step(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    return step, bar.close
