"""What the benchmark runs in its own subprocesses (peak RSS only grows within a process).

    python -m benchmarks._children ours      --fleet F --arm-url U --ca C --out report.json [--concurrency N] ...
    python -m benchmarks._children baseline  --fleet F --arm-url U --ca C [--sample K]
    python -m benchmarks._children plan      --triples N --out DIR
    python -m benchmarks._children decode    --pods M            (msgspec decode speed of one profile's pages)

Each prints one JSON line last: wall time, CPU, peak RSS (``ru_maxrss`` of this process) and what it counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _usage(t0: float, c0: float) -> dict[str, Any]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "maxrss_mb": ru.ru_maxrss / 1024}


def _gc_timer() -> dict[str, float]:
    """Seconds spent in the cyclic garbage collector, by generation (and collections counted)."""
    spent: dict[str, float] = {}
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            key = f"gen{info['generation']}"
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - started[0]
            spent[key + "_n"] = spent.get(key + "_n", 0) + 1

    gc.callbacks.append(callback)
    return spent


# ----------------------------------------------------------------------------- ours: `migrate catalog`


def ours(args: argparse.Namespace) -> dict[str, Any]:
    """``migrate catalog --fleet F -o json --out R`` with its defaults (the credential is the servers')."""
    import migrator.commands.catalog as cmd
    from migrator.sources.access import LiveSettings
    from migrator.sources.live import LiveFleetReader
    from testkit import StaticCredential

    phases: dict[str, float] = {}
    read_stats: list[Any] = []  # per cluster: the reads' documents must stay free to go

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t
                phases[name + "_cpu"] = phases.get(name + "_cpu", 0.0) + time.process_time() - c
        return wrapper

    original_stream = LiveFleetReader.stream_clusters

    async def stream_clusters(self: LiveFleetReader, specs: list[Any]) -> Any:
        # the catalog builds each cluster as its read completes: this phase includes those builds
        t, c = time.perf_counter(), time.process_time()
        async for read in original_stream(self, specs):
            read_stats.append(read.stats)
            yield read
        phases["read_clusters"] = time.perf_counter() - t
        phases["read_clusters_cpu"] = time.process_time() - c

    import migrator.pipeline as pipeline
    import migrator.report.json as json_report
    from migrator.sources.live import LiveAzureSource

    LiveFleetReader.stream_clusters = stream_clusters  # type: ignore[method-assign]
    LiveAzureSource.read = timed("azure", LiveAzureSource.read)  # type: ignore[method-assign]
    # the one read path (migrator/pipeline.py) calls these by their module-level names
    pipeline.build_cluster = timed("build", pipeline.build_cluster)  # type: ignore[assignment]
    pipeline.read_inventory = timed("read_inventory", pipeline.read_inventory)  # type: ignore[assignment]
    pipeline.catalog = timed("resolve", pipeline.catalog)  # type: ignore[assignment]
    pipeline.run_rules = timed("findings", pipeline.run_rules)  # type: ignore[assignment]
    json_report.encode = timed("report", json_report.encode)

    settings: dict[str, Any] = {}
    if args.concurrency:
        settings["concurrency"] = args.concurrency
    if args.cluster_deadline:
        settings["cluster_deadline"] = args.cluster_deadline
    if args.request_timeout:
        settings["request_timeout"] = args.request_timeout
    live = LiveSettings(credential=StaticCredential(), arm_endpoint=args.arm_url, ca_bundle=args.ca, **settings)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    gc_time = _gc_timer()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    gc_time.clear()
    if profiler:
        profiler.enable()
    code = cmd.run_catalog(Path(args.fleet), output="json", out=Path(args.out), fail_on="never",
                           ignore=frozenset(), live=live)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    result = _usage(t0, c0)
    report = json.loads(Path(args.out).read_text())
    failed = {c["name"]: c.get("error") for c in report["clusters"] if c.get("status") != "ok"}
    result.update({
        "exit_code": int(code), "phases": phases, "gc": dict(gc_time), "clusters": len(report["clusters"]), "failed": failed,
        "uses": len(report.get("uses") or ()),
        "client": {"requests": sum(r.requests for r in read_stats), "json_bytes": sum(r.bytes for r in read_stats),
                   "retries": sum(r.retries for r in read_stats), "restarts": sum(r.restarts for r in read_stats)},
    })
    return result


# ----------------------------------------------------------------------------- the naive baseline


# kind → (typed API class, method): one LIST per kind, all namespaces, model deserialization
_TYPED = {
    "pods": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "serviceaccounts": ("CoreV1Api", "list_service_account_for_all_namespaces"),
    "namespaces": ("CoreV1Api", "list_namespace"),
    "deployments": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "replicasets": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
    "statefulsets": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
    "daemonsets": ("AppsV1Api", "list_daemon_set_for_all_namespaces"),
    "jobs": ("BatchV1Api", "list_job_for_all_namespaces"),
    "cronjobs": ("BatchV1Api", "list_cron_job_for_all_namespaces"),
    "customresourcedefinitions": ("ApiextensionsV1Api", "list_custom_resource_definition"),
    "mutatingwebhookconfigurations": ("AdmissionregistrationV1Api", "list_mutating_webhook_configuration"),
    "validatingadmissionpolicies": ("AdmissionregistrationV1Api", "list_validating_admission_policy"),
    "validatingadmissionpolicybindings": ("AdmissionregistrationV1Api", "list_validating_admission_policy_binding"),
}


def baseline(args: argparse.Namespace) -> dict[str, Any]:
    """What a straightforward script does: clusters one after another, ``az aks get-credentials`` then
    one typed LIST per kind (``kubectl get <kind> -A`` in a loop), everything kept for the report."""
    import base64

    import yaml
    from azure.core.rest import HttpRequest
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    from migrator.fleet import load_fleet
    from migrator.kinds import KINDS
    from testkit import StaticCredential

    fleet = load_fleet(Path(args.fleet))
    specs = list(fleet.clusters)[: args.sample or None]
    cred = StaticCredential()
    kw = {"base_url": args.arm_url, "connection_verify": args.ca}
    kept: dict[str, dict[str, Any]] = {}
    per_cluster: list[dict[str, float]] = []
    failed: dict[str, str] = {}
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    for spec in specs:
        tc, cc = time.perf_counter(), time.process_time()
        try:
            aks = ContainerServiceClient(cred, spec.subscription_id, **kw)
            mc = aks.managed_clusters.get(spec.resource_group, spec.name)
            creds = aks.managed_clusters.list_cluster_user_credentials(spec.resource_group, spec.name)
            kubeconfig = yaml.safe_load(base64.b64decode(creds.kubeconfigs[0].value) if isinstance(
                creds.kubeconfigs[0].value, str) else creds.kubeconfigs[0].value)
            api = k8s_config.new_client_from_config_dict(kubeconfig)
            objects: dict[str, Any] = {"managedCluster": mc}
            for plural, info in KINDS.items():
                if plural in _TYPED:
                    cls, method = _TYPED[plural]
                    objects[plural] = getattr(getattr(k8s, cls)(api), method)().items
                else:
                    try:
                        objects[plural] = k8s.CustomObjectsApi(api).list_cluster_custom_object(
                            info.group, info.version, plural)["items"]
                    except k8s.ApiException as exc:
                        if exc.status != 404:
                            raise
                        objects[plural] = []
            api.close()
            kept[spec.name] = objects
        except Exception as exc:  # noqa: BLE001 - a naive script would stop; we record and go on
            failed[spec.name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        per_cluster.append({"wall_s": time.perf_counter() - tc, "cpu_s": time.process_time() - cc,
                            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    clusters_wall = time.perf_counter() - t0
    sys.stdout.write("MARK azure\n")  # the parent reads the servers' counters here: clusters | Azure
    sys.stdout.flush()
    ta, ca = time.perf_counter(), time.process_time()
    # Azure: every identity of the subscriptions, its federated credentials and role assignments
    subs = sorted({s.subscription_id for s in specs} | {"11111111-0000-0000-0000-000000000000"})
    identities, fics, roles = [], [], []
    for sub in subs:
        msi = ManagedServiceIdentityClient(cred, sub, **kw)
        for ident in msi.user_assigned_identities.list_by_subscription():
            identities.append(ident)
            rg = ident.id.split("/")[4]
            fics.extend(msi.federated_identity_credentials.list(rg, ident.name))
            body = ContainerServiceClient(cred, sub, **kw).send_request(HttpRequest(
                "GET", f"{args.arm_url}/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments",
                params={"$filter": f"principalId eq '{ident.principal_id}'", "api-version": "2022-04-01"}))
            roles.extend(body.json().get("value", []))
    # the "report": pods per binding selector, over everything kept
    bound = sum(1 for objs in kept.values() for p in objs["pods"]
                if (p.metadata.labels or {}).get("aadpodidbinding"))
    azure_wall, azure_cpu = time.perf_counter() - ta, time.process_time() - ca
    result = _usage(t0, c0)
    result.update({"clusters": len(specs), "failed": failed, "per_cluster": per_cluster, "bound_pods": bound,
                   "clusters_wall_s": clusters_wall, "azure_wall_s": azure_wall, "azure_cpu_s": azure_cpu,
                   "identities": len(identities), "fics": len(fics), "role_assignments": len(roles)})
    return result


# ----------------------------------------------------------------------------- plan + render


def plan(args: argparse.Namespace) -> dict[str, Any]:
    import shutil

    from benchmarks.synthetic import plan_catalog
    from migrator.plan.build import PlanOptions, build_plan
    from migrator.plan.model import encode

    t = time.perf_counter()
    cat = plan_catalog(args.triples)
    setup = time.perf_counter() - t
    gc.collect()
    timings: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    t = time.perf_counter()
    p = build_plan(cat, PlanOptions())
    timings["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    text = encode(p)
    timings["plan_encode"] = time.perf_counter() - t
    out: dict[str, Any] = {"setup_s": setup, "triples": args.triples, "credentials": len(p.credentials),
                           "blocked": len(p.blocked), "plan_bytes": len(text)}
    try:
        from migrator.render import render_plan
        from migrator.render.tree import write_tree
    except ImportError as exc:  # render not landed yet
        out["render_error"] = str(exc)
    else:
        t = time.perf_counter()
        files = render_plan(p)
        timings["render"] = time.perf_counter() - t
        target = Path(args.out)
        shutil.rmtree(target, ignore_errors=True)
        t = time.perf_counter()
        write_tree(files, target)
        timings["render_write"] = time.perf_counter() - t
        out.update({"files": len(files), "render_bytes": sum(len(b) for b in files.values())})
        # the tree stays until the benchmark's work folder goes: on ext4 without a journal, creating
        # files right after deleting hundreds of thousands costs 5-10x for minutes (the next size's write)
    out.update(_usage(t0, c0))
    out["timings"] = timings
    return out


# ----------------------------------------------------------------------------- decode floor


def decode(args: argparse.Namespace) -> dict[str, Any]:
    """The product's decoder alone over one profile's pages, as the API serves them (limit 500)."""
    import msgspec

    from benchmarks.synthetic import build_profile
    from migrator.decode.kube_pages import decode_page
    from migrator.kinds import KINDS

    prof = build_profile(0, args.pods)
    pages: list[tuple[str, bytes]] = []
    for plural, items in prof.objects.items():
        info = KINDS[plural]
        for i in range(0, max(1, len(items)), 500):
            pages.append((plural, msgspec.json.encode({"kind": info.list_kind, "apiVersion": info.api_version,
                                                       "metadata": {"resourceVersion": "1"},
                                                       "items": items[i:i + 500]})))
    total = sum(len(b) for _, b in pages)
    best = float("inf")
    for _ in range(5):
        c = time.process_time()
        for plural, body in pages:
            decode_page(plural, body, origin=plural)
        best = min(best, time.process_time() - c)
    return {"json_bytes": total, "pages": len(pages), "cpu_s": best, "ms_per_mb": best * 1000 / (total / 1e6)}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    o = sub.add_parser("ours")
    o.add_argument("--fleet", required=True)
    o.add_argument("--arm-url", required=True)
    o.add_argument("--ca", required=True)
    o.add_argument("--out", required=True)
    o.add_argument("--concurrency", type=int, default=0)
    o.add_argument("--cluster-deadline", type=float, default=0)
    o.add_argument("--request-timeout", type=float, default=0)
    o.add_argument("--profile", default="")
    b = sub.add_parser("baseline")
    b.add_argument("--fleet", required=True)
    b.add_argument("--arm-url", required=True)
    b.add_argument("--ca", required=True)
    b.add_argument("--sample", type=int, default=0)
    p = sub.add_parser("plan")
    p.add_argument("--triples", type=int, required=True)
    p.add_argument("--out", required=True)
    d = sub.add_parser("decode")
    d.add_argument("--pods", type=int, default=2000)
    args = ap.parse_args()
    result = {"ours": ours, "baseline": baseline, "plan": plan, "decode": decode}[args.what](args)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
