"""The fleet file: its validated model (``model.py``), discovery's results (``discovery.py``), the peer
group guessed for a discovered cluster (``groups.py``) and the file's text for discovered clusters, new
or merged into an existing file (``discovered.py``)."""

from migrator.fleet.model import AzureSpec, ClusterSpec, Fleet, IgnoreRule, load_fleet

__all__ = ["AzureSpec", "ClusterSpec", "Fleet", "IgnoreRule", "load_fleet"]
