"""Local Kubernetes and Azure servers for tests and benchmarks (GitHub issue 5).

    from testkit import KubeServer, ArmServer, StaticCredential, Fault, throttle, latency

See ``docs/testing.md`` for how to use them.
"""

from .arm_server import ArmServer
from .credentials import STATIC_TOKEN, AsyncStaticCredential, StaticCredential
from .faults import (
                     Fault,
                     FaultSet,
                     RequestLog,
                     RequestRecord,
                     down,
                     drop,
                     error,
                     forbidden,
                     hang,
                     latency,
                     nth_write,
                     throttle,
)
from .kube_admission import NamespaceProtection, WebhookConfig
from .kube_server import DEFAULT_TENANT, KubeServer
from .kube_store import ClusterState, RolloutConfig
from .pki import TestPKI
from .snapshot import load_azure, load_cluster, load_fleet, managed_cluster_to_rest

__all__ = [
    "KubeServer", "ClusterState", "RolloutConfig", "WebhookConfig", "NamespaceProtection",
    "ArmServer", "StaticCredential", "AsyncStaticCredential", "STATIC_TOKEN", "TestPKI",
    "Fault", "FaultSet", "RequestLog", "RequestRecord",
    "latency", "throttle", "error", "hang", "drop", "down", "forbidden", "nth_write",
    "load_cluster", "load_fleet", "load_azure", "managed_cluster_to_rest", "DEFAULT_TENANT",
]
