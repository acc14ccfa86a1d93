"""Plans built as structs for the render tests: one with hostile values in every field a user, an
attacker or a typo controls (cluster, namespace, service account, workload and identity names,
resource groups, subscription, issuer, tenant, client IDs, reasons), covering every credential
status and identity kind."""

from __future__ import annotations

from migrator.plan.model import (
    Blocked,
    ClusterPlan,
    Credential,
    ExistingCredential,
    IdentityPlan,
    IdentityRef,
    NewIdentity,
    Plan,
    Prerequisite,
    Risk,
    RoleGrant,
    ServiceAccountPlan,
    Why,
    WorkloadPatch,
    decode,
    encode,
)
from migrator.render.view import ExceptionNeed

PWN = "$(touch pwned)"
C1 = 'aks-"prod"-${var.x}-' + PWN + '-`touch pwned2`|é\n# not a comment'
C2 = "aks-%{ if true }x%{ endif }-ünï🚀"
C3 = "aks-tf"
NS = "ns-" + PWN + ';rm -rf x|`id`\n- item: "q"'
NS2 = "--all"
SA = "sa-${jndi:ldap}'quote\"dq\\back"
SA_NEW = "new-sa|pipe*bold*_it_[l](x)<b>#h"
WL = "wl-```\nfence-break\n```"
ID_NAME = 'id-"${x}"-' + PWN
ID2_NAME = "id-two %{y}"
RG = "rg-%{x}-$(y)"
SUB = "sub-" + PWN
ISSUER = 'https://issuer.example/${x}/%{y}/"\nnext'
TENANT = "tenant-" + PWN
CLIENT = 'client-"${x}"\n`id`'
APP_CLIENT = "app-client-" + PWN
ODD_KIND = "Weird|Kind`x`"
FIC = 'fic-"${x}"-' + PWN
TF_ISSUER = 'module.aks["weu"].oidc_issuer_url'
FLUX_VALUE = 'flux-"${x}"' + PWN


def uami(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


ID1 = uami(SUB, RG, ID_NAME)
ID2 = uami(SUB, RG, ID2_NAME)
NEW_NAME = 'id-new-"${x}"'
NEW_ID = uami(SUB, RG, NEW_NAME)
AUD = ("api://AzureADTokenExchange",)


def _cred(cluster: str, ns: str, sa: str, ref: IdentityRef, status: str, name: str = FIC, **kw: object) -> Credential:
    return Credential(name=name, issuer=None if status == "pending-prerequisite" else ISSUER,
                      subject=f"system:serviceaccount:{ns}:{sa}", audiences=AUD, identity=ref, cluster=cluster,
                      namespace=ns, service_account=sa, status=status,  # type: ignore[arg-type]
                      why=Why(bindings=(f"{cluster}/{ns}/AzureIdentityBinding/b-{PWN}",),
                              workloads=(f"{cluster}/{ns}/Deployment/{WL}",)), **kw)  # type: ignore[arg-type]


def _wl(cluster: str, ns: str, kind: str, name: str, sa: str, **kw: object) -> WorkloadPatch:
    base: dict[str, object] = dict(previous_service_account=None, binding_selector=f"sel-{PWN}")
    base.update(kw)
    return WorkloadPatch(cluster=cluster, namespace=ns, kind=kind, name=name, service_account=sa,
                         **base)  # type: ignore[arg-type]


def hostile_plan() -> Plan:
    r1 = IdentityRef(resource_id=ID1, name=ID_NAME, client_id=CLIENT)
    r2 = IdentityRef(resource_id=ID2, name=ID2_NAME, client_id="22222222-2222-2222-2222-222222222222")
    app = IdentityRef(resource_id=None, name="app-`reg`|x", client_id=APP_CLIENT, kind="app-registration")
    new = IdentityRef(resource_id=NEW_ID, name=NEW_NAME, client_id=None, kind="new-managed-identity")
    creds = (
        _cred(C1, NS, SA, r1, "create"),
        _cred(C1, NS, SA, r2, "create"),
        _cred(C1, NS, SA_NEW, r1, "present", name=FIC + "-present", existing_name=FIC + "-present"),
        _cred(C1, NS2, "default", app, "create", name="fic-app-$(x)"),
        _cred(C1, NS, "blocked-sa", r1, "blocked", name="fic-blocked", reason="over | limit\n`x` ${y}"),
        _cred(C1, NS, "pw-sa", new, "create", name="fic-new-${x}"),
        _cred(C2, NS, SA, r1, "pending-prerequisite", name="fic-pending-%{x}"),
        _cred(C3, "ns", "sa", r1, "create", name="fic-tf"),
    )
    return Plan(
        strategy="per-workload", service_account_conflicts="split", tenant_id=TENANT,
        clusters=(
            ClusterPlan(name=C1, region="westeurope|x", group="prod", subscription_id=SUB, resource_group=RG,
                        issuer=ISSUER, terraform_issuer=None, tenant_id=TENANT, prerequisites_pending=False),
            ClusterPlan(name=C2, region="eastus", group="dev\n# group", subscription_id=SUB, resource_group=RG,
                        issuer=None, terraform_issuer=None, tenant_id=TENANT, prerequisites_pending=True),
            ClusterPlan(name=C3, region="westeurope", group="staging", subscription_id="00000000-0000-0000-0000-0000000000aa",
                        resource_group="rg-tf", issuer=ISSUER, terraform_issuer=TF_ISSUER, tenant_id=TENANT,
                        prerequisites_pending=False),
        ),
        prerequisites=(Prerequisite(cluster=C2, kind="enable-oidc-issuer",
                                    command=f"az aks update --name {C2} --enable-oidc-issuer",
                                    terraform=f'# azurerm_kubernetes_cluster for "{C2}"\noidc_issuer_enabled = true',
                                    risk="restarts\nthe API server ${x} | `y`"),),
        identities=(IdentityPlan(identity=r1, existing=(
            ExistingCredential(name="old-`x`|y", issuer="https://old/${x}", subject="system:serviceaccount:a:b",
                               classification="stale"),), to_create=4, total_after=5, limit=20, over_limit=False),),
        new_identities=(NewIdentity(
            name=NEW_NAME, resource_group=RG, subscription_id=SUB, location=None, resource_id=NEW_ID,
            replaces=(ID1,), role_assignments=(RoleGrant(
                role_definition_id=f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/r-${{x}}",
                scope=f"/subscriptions/{SUB}/resourceGroups/{RG}", from_identity=ID1),),
            group="prod", namespace=NS, service_account="pw-sa", clusters=(C1,)),),
        credentials=creds,
        service_accounts=(
            ServiceAccountPlan(cluster=C1, namespace=NS, name=SA, client_id=CLIENT, tenant_id=TENANT, create=False,
                               identities=(ID1.lower(), ID2.lower())),
            ServiceAccountPlan(cluster=C1, namespace=NS, name=SA_NEW, client_id=CLIENT, tenant_id=None, create=True,
                               identities=(ID1.lower(),)),
            ServiceAccountPlan(cluster=C1, namespace=NS2, name="default", client_id=APP_CLIENT, tenant_id=None,
                               create=False, identities=(f"app:{APP_CLIENT}".lower(),)),
            ServiceAccountPlan(cluster=C1, namespace=NS, name="blocked-sa", client_id=None, tenant_id=None,
                               create=False, identities=()),
            ServiceAccountPlan(cluster=C1, namespace=NS, name="pw-sa", client_id=None, tenant_id=None, create=False,
                               identities=(NEW_ID.lower(),)),
            ServiceAccountPlan(cluster=C2, namespace=NS, name=SA, client_id=CLIENT, tenant_id=None, create=False,
                               identities=(ID1.lower(),)),
            ServiceAccountPlan(cluster=C3, namespace="ns", name="sa", client_id="33333333-3333-3333-3333-333333333333",
                               tenant_id=None, create=False, identities=(ID1.lower(),)),
        ),
        workloads=(
            _wl(C1, NS, "Deployment", WL, SA, client_id_env=CLIENT, proxy_sidecar=True,
                gitops_owner="Helm (release $(x))"),
            _wl(C1, NS, "StatefulSet", "st-$(x)", SA_NEW, previous_service_account=SA),
            _wl(C1, NS, "CronJob", "cj`x`", SA, patchable=False, gitops_owner="Flux (Kustomization ${x})"),
            _wl(C1, NS, ODD_KIND, "odd", SA, patchable=False, note="odd | kind\n`x`"),
            _wl(C1, NS, "Deployment", "blocked-wl", "blocked-sa"),
            _wl(C1, NS2, "Deployment", "ns2-wl", "default"),
            _wl(C1, NS, "Deployment", "pw-wl", "pw-sa"),
            _wl(C2, NS, "Deployment", "pending-wl", SA),
            _wl(C3, "ns", "Deployment", "tf-wl", "sa"),
        ),
        blocked=(Blocked(cluster=C1, namespace=NS, object="ServiceAccount/blocked-sa", reason="over | limit\n`x` ${y}",
                         proposal="move $(x) | `y`"),),
        risks=(Risk(code="RISK|x", cluster=C1, namespace=NS, object=f"Deployment/{WL}", message="m\n|x| `y` ${z}"),),
        notes=("note with | pipe\nand `tick` ${x}",),
    )


HOSTILE_EXCEPTIONS = (
    ExceptionNeed(cluster=C1, namespace="flux-system", key="app.kubernetes.io/name", value=FLUX_VALUE, addon=False),
    ExceptionNeed(cluster=C2, namespace="flux-system", key="app.kubernetes.io/name", value=FLUX_VALUE, addon=True),
)
NAMESPACES = {NS, NS2, "ns", "flux-system"}
CLUSTERS = {C1, C2, C3}


def roundtrip(plan: Plan) -> Plan:
    """Through the plan file's JSON and back: what render really reads."""
    return decode(encode(plan).encode(), "hostile-plan.json")
