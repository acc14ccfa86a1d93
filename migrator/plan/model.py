"""The plan file's schema (docs/plan-json.md). msgspec structs: the JSON encodes and decodes losslessly.

Keys are camelCase; lists are sorted by the builder; ``schemaVersion`` guards the contract that
render and cutover consume.
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec
from msgspec import Struct

SCHEMA_VERSION = 1

Strategy = Literal["reuse", "per-workload"]
ServiceAccountRemedy = Literal["split", "client-id-env"]
CredentialStatus = Literal["create", "present", "blocked", "pending-prerequisite"]
Classification = Literal["needed", "stale", "foreign", "other"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
SERVICE_ACCOUNT_REMEDIES: tuple[ServiceAccountRemedy, ...] = get_args(ServiceAccountRemedy)


class _S(Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=False):
    """The options every plan struct shares. msgspec hands them down to subclasses, but type checkers
    read the subclasses through PEP 681's ``dataclass_transform``, which cannot: each subclass repeats
    ``frozen=True`` (a no-op at run time) so that mypy sees it frozen like its base (msgspec#657)."""


class Why(_S, frozen=True):
    """Where an item comes from, so a reviewer can trace it back."""

    bindings: tuple[str, ...] = ()  # "cluster/namespace/AzureIdentityBinding/name"
    workloads: tuple[str, ...] = ()  # "cluster/namespace/Kind/name"


class IdentityRef(_S, frozen=True):
    resource_id: str | None  # canonical casing; None for app registrations
    name: str
    client_id: str | None
    kind: Literal["managed-identity", "new-managed-identity", "app-registration"] = "managed-identity"


class Credential(_S, frozen=True):
    name: str
    issuer: str | None  # None while a prerequisite of the cluster is pending
    subject: str
    audiences: tuple[str, ...]
    identity: IdentityRef
    cluster: str
    namespace: str
    service_account: str
    status: CredentialStatus
    existing_name: str | None = None  # the Azure name of a credential that is already present
    reason: str | None = None
    why: Why = Why()


class RoleGrant(_S, frozen=True):
    role_definition_id: str
    scope: str
    from_identity: str  # resource ID of the old identity whose grant is copied


class NewIdentity(_S, frozen=True):
    """A user-assigned identity the ``per-workload`` strategy creates."""

    name: str
    resource_group: str
    subscription_id: str
    location: str | None
    resource_id: str
    replaces: tuple[str, ...]  # old identity resource IDs
    role_assignments: tuple[RoleGrant, ...]
    group: str
    namespace: str
    service_account: str
    clusters: tuple[str, ...]
    blocked_reason: str | None = None


class ExistingCredential(_S, frozen=True):
    name: str
    issuer: str
    subject: str
    classification: Classification


class IdentityPlan(_S, frozen=True):
    identity: IdentityRef
    existing: tuple[ExistingCredential, ...]
    to_create: int
    total_after: int
    limit: int
    over_limit: bool
    proposal: str | None = None


class ServiceAccountPlan(_S, frozen=True):
    cluster: str
    namespace: str
    name: str
    client_id: str | None  # the azure.workload.identity/client-id annotation
    tenant_id: str | None  # only when it differs from the cluster's tenant
    create: bool  # a new service account (the plan split a shared one)
    identities: tuple[str, ...]  # every identity federated to it (resource ID or app client ID)
    why: Why = Why()


class WorkloadPatch(_S, frozen=True):
    cluster: str
    namespace: str
    kind: str
    name: str
    service_account: str  # after the change
    previous_service_account: str | None  # set when the plan changes serviceAccountName
    binding_selector: str | None  # the aadpodidbinding label to remove at the end
    client_id_env: str | None = None  # explicit AZURE_CLIENT_ID for containers (shared-SA remedy)
    proxy_sidecar: bool = False
    gitops_owner: str | None = None  # Flux / Argo CD / Helm: patch the source, not the cluster
    patchable: bool = True  # cutover can patch it in place (Deployment/StatefulSet/DaemonSet/CronJob)
    note: str | None = None


class Prerequisite(_S, frozen=True):
    cluster: str
    kind: Literal["enable-oidc-issuer", "enable-workload-identity"]
    command: str
    terraform: str
    risk: str


class Blocked(_S, frozen=True):
    cluster: str
    namespace: str
    object: str
    reason: str
    proposal: str | None = None


class Risk(_S, frozen=True):
    code: str
    cluster: str
    namespace: str
    object: str
    message: str


class ClusterPlan(_S, frozen=True):
    name: str
    region: str
    group: str
    subscription_id: str
    resource_group: str
    issuer: str | None
    terraform_issuer: str | None  # a Terraform expression for the issuer in the user's configuration
    tenant_id: str
    prerequisites_pending: bool


class Plan(_S, frozen=True, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    strategy: Strategy
    service_account_conflicts: ServiceAccountRemedy
    tenant_id: str
    clusters: tuple[ClusterPlan, ...]
    prerequisites: tuple[Prerequisite, ...]
    identities: tuple[IdentityPlan, ...]
    new_identities: tuple[NewIdentity, ...]
    credentials: tuple[Credential, ...]
    service_accounts: tuple[ServiceAccountPlan, ...]
    workloads: tuple[WorkloadPatch, ...]
    blocked: tuple[Blocked, ...]
    risks: tuple[Risk, ...]
    notes: tuple[str, ...] = ()

    @property
    def has_blocked(self) -> bool:
        return bool(self.blocked) or any(c.status == "blocked" for c in self.credentials)


def encode(plan: Plan) -> str:
    raw = msgspec.json.encode(plan)
    return msgspec.json.format(raw, indent=2).decode() + "\n"


def decode(data: bytes, origin: str) -> Plan:
    from pathlib import Path

    from migrator.errors import InputError, Location

    try:
        head = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InputError(f"the plan file is not JSON: {exc}", location=Location(Path(origin))) from None
    if not isinstance(head, dict) or head.get("schemaVersion") != SCHEMA_VERSION:
        raise InputError(
            f"not a wi-migrator plan of schemaVersion {SCHEMA_VERSION}", location=Location(Path(origin)),
            hint="create it with: migrate plan --fleet fleet.yaml --out plan.json",
        )
    try:
        return msgspec.convert(head, Plan)
    except msgspec.ValidationError as exc:
        raise InputError(f"the plan file is malformed: {exc}", location=Location(Path(origin)),
                         hint="regenerate it with migrate plan; hand edits must keep the schema") from None
