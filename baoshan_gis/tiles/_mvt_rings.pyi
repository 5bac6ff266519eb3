"""Type stub of the compiled encoder (``_mvt_rings.pyx``)."""

import numpy as np

MAX_UNITS: int
MAX_RING: int

def ring_streams(
    xy: np.ndarray, n: np.ndarray, ox: float, oy: float, scale: float, extent: int
) -> list[bytes | None]: ...
