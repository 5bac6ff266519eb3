"""Type stub of the compiled kernel (``_dijkstra.pyx``)."""

import numpy as np

NOT_REACHED: int
MAX_BUCKETS: int

def bucket_width(data: np.ndarray) -> float: ...
def bounded_multi_source(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, starts: np.ndarray, limit: float,
    width: float = ...,
) -> tuple[np.ndarray, np.ndarray]: ...

class SearchSpace:
    n: int
    def __init__(self, n: int) -> None: ...
    def reached(
        self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, starts: np.ndarray,
        limit: float, width: float = ...,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
