"""Sources: the only code that reads the outside world (snapshot files, live APIs).

Every source yields the same raw API documents (bytes, page by page) and hands them to the one
decoder in ``migrator.decode``; what comes out is a ``ClusterDocuments`` / ``AzureDocuments``.
"""

from __future__ import annotations

from typing import Protocol

from migrator.decode.documents import AzureDocuments, ClusterDocuments


class ClusterSource(Protocol):
    """Reads one cluster's documents. Raises ``SourceError`` when the cluster cannot be read."""

    def read(self) -> ClusterDocuments: ...


class AzureSource(Protocol):
    def read(self) -> AzureDocuments: ...
