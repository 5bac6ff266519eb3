"""One error hierarchy for the package.

Every error a user can cause derives from :class:`BaoshanGISError`; where a built-in exception
type is natural the class also derives from it (``LayerNotFound`` is a ``KeyError``, bad values
are ``ValueError``), so callers can catch either. Messages quote the bad value with ``!r`` and say
what would be valid. The CLI turns these into a one-line message and exit code 2; the service maps
them to HTTP status codes in one table (``api/errors.py``).
"""

from __future__ import annotations


class BaoshanGISError(Exception):
    """Base class of every error raised on purpose by baoshan-gis."""


class InvalidInput(BaoshanGISError, ValueError):
    """A value, file or request that cannot be used as given."""


class NotFound(BaoshanGISError, KeyError):
    """Something asked for by name does not exist.

    ``KeyError.__str__`` would wrap the message in quotes; we keep it readable.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class LayerNotFound(NotFound):
    """A layer name that is not in the GeoPackage or the catalogue."""


class MapNotFound(NotFound):
    """A map name that is not among the map definitions in ``maps/``."""


class CatalogueError(InvalidInput):
    """A layer or map definition file that is malformed."""


class CRSError(InvalidInput):
    """Missing, unknown or unsuitable coordinate reference system."""


class EncodingProblem(InvalidInput):
    """Text that cannot be decoded with the encoding given (or guessed)."""


class DataImportError(InvalidInput):
    """An input file that cannot be imported as a layer."""


class LayerExists(InvalidInput):
    """A layer name that is already taken, without permission to replace it."""


class InvalidTile(InvalidInput):
    """Tile coordinates outside the valid range for their zoom."""


class InvalidBBox(InvalidInput):
    """A bounding box that is malformed or outside WGS84's range."""


class RequestTooLarge(InvalidInput):
    """A request whose work would exceed the configured bounds."""


class AnalysisError(InvalidInput):
    """Analysis inputs that cannot give a meaningful answer (radius <= 0, no overlap, ...)."""


class OfflineError(BaoshanGISError, RuntimeError):
    """A step that needs the internet was run without it."""


class ServiceBusy(BaoshanGISError, RuntimeError):
    """The service is at its limit of concurrent work; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BuildError(BaoshanGISError, RuntimeError):
    """The GeoPackage could not be built; nothing was written at the target path."""


class GeocoderRefused(InvalidInput):
    """A geocoding provider refused the work (bad key, exhausted quota, unreachable)."""


class GeoPackageLocked(BaoshanGISError, TimeoutError):
    """Another writer held the GeoPackage's write lock for longer than the timeout."""


class StorageError(BaoshanGISError, RuntimeError):
    """A file could not be written (disk full, read-only file system, no permission).

    The target is left as it was; the message says what is missing.
    """


class ClusterUnavailable(BaoshanGISError, ConnectionError):
    """A Dask scheduler that could not be reached (or a local cluster that could not start)."""
