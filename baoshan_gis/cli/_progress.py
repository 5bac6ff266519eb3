"""Progress display shared by the CLI commands: a tqdm bar on a terminal; off a terminal, one
line per step for the long commands that ask for it (``run``), silence for the others (so their
first line stays the answer or the ``error:``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from tqdm import tqdm


def progress_callback(
    total: int, desc: str, *, stream: TextIO | None = None, lines: bool = False
) -> tuple[Callable[[str], None], Callable[[], None]]:
    """Return ``(step, close)``: ``step(label)`` advances by one step, ``close()`` ends it."""
    out = stream if stream is not None else sys.stderr
    if out.isatty() or not lines:
        bar = tqdm(
            total=total, desc=desc, unit="step", file=out, leave=False, disable=not out.isatty()
        )

        def step(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        return step, bar.close
    done = 0

    def line(label: str) -> None:
        nonlocal done
        done += 1
        print(f"{desc} [{min(done, total)}/{total}] {label}", file=out, flush=True)

    return line, lambda: None
