"""Type stub of the compiled feature-record writer (``_mvt_records.pyx``)."""

import numpy as np

def feature_records(
    rows: np.ndarray, geoms: list[bytes], ptr: np.ndarray, tag_key: np.ndarray,
    tag_val: np.ndarray, gtype: int
) -> tuple[bytes, np.ndarray, np.ndarray]: ...

def point_records(
    rows: np.ndarray, xy: np.ndarray, minx: float, miny: float, scale: float, extent: int,
    ptr: np.ndarray, tag_key: np.ndarray, tag_val: np.ndarray
) -> tuple[bytes, np.ndarray, np.ndarray] | None: ...
