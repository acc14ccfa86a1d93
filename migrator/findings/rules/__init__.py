"""Rule modules, one per family; importing this package registers them all."""

from migrator.findings.rules import (  # noqa: F401  (imported to register their rules)
    bindings,
    cluster,
    credentials,
    drift,
    exceptions,
    identities,
    integrations,
    podidentity,
    serviceaccounts,
    workloads,
)
