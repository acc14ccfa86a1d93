"""The ``terraform/`` root module: which blocks exist, their labels, providers, issuers and imports.

Decisions made here (the templates in ``templates/terraform/`` only lay them out):

* **One block per credential**, grouped in ``fic_<cluster>.tf``, rather than ``for_each`` over a
  map: azurerm builds a credential's ID from its *provider's* subscription, and ``for_each`` cannot
  vary the provider per instance; a new credential is a self-contained block in the PR diff with
  its literal name and subject; an ``import`` block then names a plain address (Terraform 1.5).
* **Providers**: one ``azurerm`` alias per subscription; every block names its provider.
* **Issuer**: ``data.azurerm_kubernetes_cluster.<cluster>.oidc_issuer_url``, read at every plan,
  or the cluster's ``terraformIssuer`` expression from the fleet file when it has one.
* **Identities**: data sources for identities that exist (``reuse``), resources with copied role
  assignments for the ones ``per-workload`` creates, ``azuread_application`` for app registrations.
* **present** credentials get an ``import`` block under their existing Azure name;
  **pending-prerequisite** ones are written commented out in ``prerequisites_<cluster>.tf``
  (a re-plan after the prerequisite makes them regular blocks); **blocked** ones are listed, never
  rendered as resources.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from migrator.errors import InputError
from migrator.escape import is_hcl_reference
from migrator.plan.model import (
    Credential,
    ExistingCredential,
    NewIdentity,
    Plan,
    Prerequisite,
)
from migrator.render.names import digest, path_segment, provider_alias, tf_label
from migrator.render.templates import render
from migrator.render.view import RenderView

#: the provider versions whose schema is rendered (docs/terraform.md says where each fact comes from)
AZURERM_CONSTRAINT = ">= 4.65.0, < 6.0.0"
AZUREAD_CONSTRAINT = ">= 3.0.0, < 4.0.0"
TERRAFORM_CONSTRAINT = ">= 1.5.0, < 2.0.0"

UAMI_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/(?P<name>[^/]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Provider:
    alias: str
    subscription_id: str


@dataclass(frozen=True)
class ClusterSource:
    name: str
    label: str
    resource_group: str
    provider: str
    terraform_issuer: str | None

    @property
    def issuer(self) -> str:
        return self.terraform_issuer or f"data.azurerm_kubernetes_cluster.{self.label}.oidc_issuer_url"


@dataclass(frozen=True)
class ExistingIdentity:
    """``data "azurerm_user_assigned_identity"``: an identity the bindings already use."""

    label: str
    name: str
    resource_group: str
    provider: str
    resource_id: str


@dataclass(frozen=True)
class RoleAssignment:
    label: str
    scope: str
    role_definition_id: str
    from_identity: str


@dataclass(frozen=True)
class CreatedIdentity:
    """``resource "azurerm_user_assigned_identity"`` (``per-workload``) and its copied role assignments."""

    label: str
    name: str
    resource_group: str
    resource_id: str
    location: str | None
    location_label: str  # data.azurerm_resource_group label when the location is unknown
    provider: str
    replaces: tuple[str, ...]
    role_assignments: tuple[RoleAssignment, ...]
    clusters: tuple[str, ...]
    subject: str


@dataclass(frozen=True)
class Application:
    """``data "azuread_application"``: an app registration, found by client ID."""

    label: str
    name: str
    client_id: str


@dataclass(frozen=True)
class TfCredential:
    credential: Credential
    label: str
    resource_type: str
    identity_id: str  # HCL expression
    issuer: str  # HCL expression
    provider: str | None
    import_id: str | None
    manual_import: bool = False  # present on an app registration: Graph IDs are not in the plan

    @property
    def c(self) -> Credential:
        return self.credential


@dataclass
class ClusterFile:
    source: ClusterSource
    file: str
    prerequisites_file: str
    prerequisites: tuple[Prerequisite, ...]
    active: list[TfCredential] = field(default_factory=list)
    pending: list[TfCredential] = field(default_factory=list)
    blocked: list[Credential] = field(default_factory=list)
    #: data sources only the held-back (pending) credentials need, shown with them
    held_identities: list[ExistingIdentity] = field(default_factory=list)
    held_applications: list[Application] = field(default_factory=list)


@dataclass(frozen=True)
class TerraformModel:
    providers: tuple[Provider, ...]
    azuread: bool
    clusters: tuple[ClusterFile, ...]
    identities: tuple[ExistingIdentity, ...]
    created: tuple[CreatedIdentity, ...]
    blocked_new: tuple[NewIdentity, ...]
    applications: tuple[Application, ...]
    resource_groups: tuple[tuple[str, str, str], ...]  # (label, name, provider) for unknown locations
    shared: tuple[tuple[str, tuple[str, ...]], ...]  # identity name → the clusters its credentials serve
    unmanaged: tuple[tuple[str, ExistingCredential], ...]  # (identity name, credential) not in the plan

    @property
    def blocked(self) -> tuple[Credential, ...]:
        return tuple(c for f in self.clusters for c in f.blocked)

    @property
    def waiting(self) -> tuple[ClusterFile, ...]:
        return tuple(f for f in self.clusters if f.prerequisites)

    @property
    def imports(self) -> tuple[TfCredential, ...]:
        return tuple(t for f in self.clusters for t in f.active if t.import_id or t.manual_import)


def _uami(resource_id: str | None, what: str) -> re.Match[str]:
    match = UAMI_ID.fullmatch(resource_id or "")
    if match is None:
        raise InputError(f"{what}: {resource_id!r} is not the resource ID of a user-assigned managed identity",
                         hint="regenerate the plan with migrate plan; hand edits must keep resource IDs whole")
    return match


def _labels(names: dict[str, str]) -> dict[str, str]:
    """key → label for ``{key: name}``: the name's label, or name + hash of the key when names collide."""
    count: dict[str, int] = defaultdict(int)
    for name in names.values():
        count[tf_label(name)] += 1
    return {key: tf_label(name) if count[tf_label(name)] == 1 else tf_label(name, digest(key))
            for key, name in names.items()}


def build_model(view: RenderView) -> TerraformModel:
    plan: Plan = view.plan
    for cp in plan.clusters:
        if cp.terraform_issuer is not None and not is_hcl_reference(cp.terraform_issuer):
            raise InputError(
                f"cluster {cp.name}: terraformIssuer {cp.terraform_issuer!r} is not a plain Terraform reference",
                hint="give a reference such as module.aks_weu.oidc_issuer_url (no functions, operators or strings)")
    rendered = [c for c in plan.credentials if c.status != "blocked"]

    # 1. every identity the rendered credentials use, labelled from its own name
    uamis: dict[str, re.Match[str]] = {}
    apps: dict[str, str] = {}
    client_ids: dict[str, str | None] = {}  # lower-case client ID → as the first credential with it spells it
    new_by_id = {n.resource_id.lower(): n for n in plan.new_identities if not n.blocked_reason}
    for c in rendered:
        ref = c.identity
        client_ids.setdefault((ref.client_id or "").lower(), ref.client_id)
        if ref.kind == "app-registration":
            if not ref.client_id:
                raise InputError(f"credential {c.name}: the app registration {ref.name} has no client ID in the plan",
                                 hint="regenerate the plan with migrate plan")
            apps.setdefault(ref.client_id.lower(), ref.name)
        elif ref.kind == "new-managed-identity":
            if (ref.resource_id or "").lower() not in new_by_id:
                raise InputError(f"credential {c.name}: the new identity {ref.name} is not among the plan's "
                                 "newIdentities", hint="regenerate the plan with migrate plan")
        else:
            uamis.setdefault((ref.resource_id or "").lower(), _uami(ref.resource_id, f"credential {c.name}"))
    for n in new_by_id.values():
        _uami(n.resource_id, f"new identity {n.name}")
    uami_labels = _labels({k: m["name"] for k, m in uamis.items()})
    new_labels = _labels({k: n.name for k, n in new_by_id.items()})
    app_labels = _labels({k: f"app-{name}" for k, name in apps.items()})

    aliases: dict[str, str] = {}

    def provider(subscription_id: str) -> str:
        return aliases.setdefault(subscription_id, provider_alias(subscription_id))

    existing = {k: ExistingIdentity(label=uami_labels[k], name=m["name"], resource_group=m["rg"],
                                    provider=provider(m["sub"]), resource_id=m.group(0))
                for k, m in uamis.items()}
    applications = {k: Application(label=app_labels[k], name=name, client_id=client_ids[k] or "")
                    for k, name in apps.items()}
    resource_groups: dict[str, tuple[str, str, str]] = {}
    created: dict[str, CreatedIdentity] = {}
    for key, n in new_by_id.items():
        new_provider = provider(_uami(n.resource_id, n.name)["sub"])
        rg_label = tf_label("rg", n.resource_group, digest(n.subscription_id.lower(), n.resource_group.lower()))
        if n.location is None:
            resource_groups[rg_label] = (rg_label, n.resource_group, new_provider)
        created[key] = CreatedIdentity(
            label=new_labels[key], name=n.name, resource_group=n.resource_group, resource_id=n.resource_id,
            location=n.location,
            location_label=rg_label, provider=new_provider, replaces=n.replaces, clusters=n.clusters,
            subject=f"{n.namespace}/{n.service_account}",
            role_assignments=tuple(sorted((RoleAssignment(
                label=tf_label(n.name, "role", digest(g.role_definition_id.lower(), g.scope.lower())),
                scope=g.scope, role_definition_id=g.role_definition_id, from_identity=g.from_identity)
                for g in n.role_assignments), key=lambda r: r.label)),
        )

    # 2. credentials: one block each; the label is the credential's name (plus the identity's name when
    #    one service account is federated to several identities under the same credential name)
    names: dict[str, int] = defaultdict(int)
    for c in rendered:
        names[c.name] += 1
    files: list[ClusterFile] = []
    for cv in sorted(view.clusters, key=lambda c: c.name):
        cp = cv.plan
        source = ClusterSource(name=cp.name, label=tf_label(cp.name), resource_group=cp.resource_group,
                               provider=provider(cp.subscription_id), terraform_issuer=cp.terraform_issuer)
        seg = path_segment(cp.name)
        cf = ClusterFile(source=source, file=f"fic_{seg}.tf", prerequisites_file=f"prerequisites_{seg}.tf",
                         prerequisites=cv.prerequisites)
        for c in cv.credentials:
            if c.status == "blocked":
                cf.blocked.append(c)
                continue
            ref = c.identity
            import_id, manual = None, False
            if ref.kind == "app-registration":
                identity_id = f"data.azuread_application.{applications[(ref.client_id or '').lower()].label}.id"
                prov = None
                manual = c.status == "present"
                kind = "azuread_application_federated_identity_credential"
            elif ref.kind == "new-managed-identity":
                made = created[(ref.resource_id or "").lower()]
                identity_id, prov = f"azurerm_user_assigned_identity.{made.label}.id", made.provider
                kind = "azurerm_federated_identity_credential"
            else:
                e = existing[(ref.resource_id or "").lower()]
                identity_id, prov = f"data.azurerm_user_assigned_identity.{e.label}.id", e.provider
                kind = "azurerm_federated_identity_credential"
                if c.status == "present":
                    import_id = f"{e.resource_id}/federatedIdentityCredentials/{c.existing_name or c.name}"
            label = tf_label(c.name) if names[c.name] == 1 else tf_label(c.name, ref.name)
            item = TfCredential(credential=c, label=label, resource_type=kind, identity_id=identity_id,
                                issuer=source.issuer, provider=prov, import_id=import_id, manual_import=manual)
            (cf.pending if c.status == "pending-prerequisite" else cf.active).append(item)
        files.append(cf)

    active = [t for f in files for t in f.active]
    live_ids = {t.identity_id for t in active}
    identity_refs = {f"data.azurerm_user_assigned_identity.{e.label}.id": e for e in existing.values()}
    application_refs = {f"data.azuread_application.{a.label}.id": a for a in applications.values()}
    for f in files:
        held = {t.identity_id for t in f.pending} - live_ids
        f.held_identities = sorted((identity_refs[i] for i in held if i in identity_refs), key=lambda e: e.label)
        f.held_applications = sorted((application_refs[i] for i in held if i in application_refs),
                                     key=lambda a: a.label)
    serving: dict[tuple[str, str], set[str]] = defaultdict(set)
    for c in rendered:
        serving[(c.identity.name, (c.identity.resource_id or c.identity.client_id or "").lower())].add(c.cluster)
    used_ids = {t.identity_id for t in active}
    used = {f.source.provider for f in files if f.active and not f.source.terraform_issuer}
    used |= {t.provider for t in active if t.provider}
    used |= {c.provider for c in created.values()}
    used |= {p for _, _, p in resource_groups.values()}
    return TerraformModel(
        providers=tuple(sorted((Provider(alias=a, subscription_id=s) for s, a in aliases.items() if a in used),
                               key=lambda p: p.alias)),
        azuread=any(t.resource_type.startswith("azuread") for t in active),
        clusters=tuple(files),
        identities=tuple(sorted((e for e in existing.values()
                                 if f"data.azurerm_user_assigned_identity.{e.label}.id" in used_ids),
                                key=lambda e: e.label)),
        created=tuple(sorted(created.values(), key=lambda c: c.label)),
        blocked_new=tuple(n for n in plan.new_identities if n.blocked_reason),
        applications=tuple(sorted((a for a in applications.values()
                                   if f"data.azuread_application.{a.label}.id" in used_ids), key=lambda a: a.label)),
        resource_groups=tuple(sorted(resource_groups.values())),
        shared=tuple(sorted((name, tuple(sorted(cl))) for (name, _), cl in serving.items() if len(cl) > 1)),
        unmanaged=tuple((ip.identity.name, e) for ip in plan.identities for e in ip.existing
                        if e.classification != "needed"),
    )


def client_id_outputs(model: TerraformModel) -> dict[str, str]:
    """The ``outputs.tf`` name holding each new identity's client ID, by lower-case resource ID."""
    return {c.resource_id.lower(): f"client_id_{c.label}" for c in model.created}


def render_terraform(view: RenderView, model: TerraformModel) -> dict[str, str]:
    """Every file of ``terraform/`` for ``model = build_model(view)``, by path relative to the output folder."""
    plan = view.plan
    ctx = {"m": model, "plan": plan, "view": view,
           "azurerm_constraint": AZURERM_CONSTRAINT, "azuread_constraint": AZUREAD_CONSTRAINT,
           "terraform_constraint": TERRAFORM_CONSTRAINT}
    out = {
        "terraform/versions.tf": render("terraform/versions.tf.j2", **ctx),
        "terraform/README.md": render("terraform/README.md.j2", **ctx),
    }
    if model.providers or model.azuread:
        out["terraform/providers.tf"] = render("terraform/providers.tf.j2", **ctx)
    if model.identities or model.created or model.applications:
        out["terraform/identities.tf"] = render("terraform/identities.tf.j2", **ctx)
    if model.created:
        out["terraform/outputs.tf"] = render("terraform/outputs.tf.j2", **ctx)
    for cf in model.clusters:
        if cf.active or cf.blocked:
            out[f"terraform/{cf.file}"] = render("terraform/fic_cluster.tf.j2", cf=cf, **ctx)
        if cf.prerequisites or cf.pending:
            out[f"terraform/{cf.prerequisites_file}"] = render("terraform/prerequisites_cluster.tf.j2", cf=cf, **ctx)
    return out
