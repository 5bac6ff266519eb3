"""Type stub of the compiled line encoder (``_mvt_lines.pyx``)."""

import numpy as np

MAX_UNITS: int

def line_streams(
    xy: np.ndarray, n: np.ndarray, feat: np.ndarray, nfeat: int, ox: float, oy: float,
    scale: float, extent: int, tol: float
) -> list[bytes | None] | None: ...
