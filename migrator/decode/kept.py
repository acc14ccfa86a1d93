"""What of a read object's free-form fields is kept: by the inventory and by ``migrate snapshot`` alike.

A leaf of the decoder, so the sources (redaction) and the inventory share it without either
importing the other.
"""

from __future__ import annotations

#: the only environment variables whose values the inventory keeps (NMI/MIC settings); of every other
#: variable only the name is kept: values are the workload's secrets, and snapshots drop them too
ENV_VALUES_KEPT = frozenset({"FORCENAMESPACED", "OPERATION_MODE", "OPERATION-MODE"})
#: annotations never kept: large, and a copy of the whole object (snapshots drop them too)
ANNOTATIONS_DROPPED = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
