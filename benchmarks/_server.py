"""The benchmark's server process: a synthetic fleet served by the local Kubernetes API and ARM servers.

Run by ``fleet_bench`` as ``python -m benchmarks._server --clusters N ...``; it prints one JSON line
when ready (URLs, CA bundle, fleet file, the clusters the pathological faults hit), then answers
line commands on stdin, one JSON line each:

    stats    requests, bytes (wire and JSON), statuses (429, 410, dropped), process CPU and RSS
    reset    zero the counters
    quit     stop the servers and exit

Both servers run in this process, on their own event-loop threads, so their CPU is measured apart
from the client's. Clusters of one profile share tables, pre-serialised pages and their gzip.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from benchmarks import synthetic as syn


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.requests: Counter[str] = Counter()
            self.wire: Counter[str] = Counter()
            self.json: Counter[str] = Counter()
            self.status: Counter[str] = Counter()
            self.kube_lists = 0
            self.kube_continued = 0
            self.started = time.monotonic()
            self.cpu0 = time.process_time()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            return {"requests": dict(self.requests), "wire_bytes": dict(self.wire), "json_bytes": dict(self.json),
                    "status": dict(self.status), "kube_lists": self.kube_lists,
                    "kube_continued": self.kube_continued, "cpu_s": time.process_time() - self.cpu0,
                    "wall_s": time.monotonic() - self.started, "maxrss_mb": ru.ru_maxrss / 1024}


def _is_list(path: str) -> bool:
    from testkit.kube_server import parse_resource_path

    if path.startswith("/clusters/"):
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    route = parse_resource_path(path)
    return route is not None and route.name is None


def _count(counters: Counters, service: str, listener: Any) -> None:
    inner = listener.handler

    async def handler(req: Any) -> Any:
        result = inner(req)
        if hasattr(result, "__await__"):
            result = await result
        body = getattr(result, "body", None)
        with counters.lock:
            counters.requests[service] += 1
            if body is None:  # dropped connection
                counters.status[f"{service}:dropped"] += 1
                return result
            size = len(body)
            counters.wire[service] += size
            gz = any(k == "Content-Encoding" and v == "gzip" for k, v in result.headers)
            # a gzip member ends with the uncompressed size (mod 2**32): the JSON bytes the client decodes
            counters.json[service] += int.from_bytes(body[-4:], "little") if gz and size >= 4 else size
            if result.status >= 400:
                counters.status[f"{service}:{result.status}"] += 1
            if service == "kube" and req.method == "GET" and _is_list(req.path):
                counters.kube_lists += 1
                if "continue" in req.query:
                    counters.kube_continued += 1
        return result

    listener.handler = handler


def _typed(objects: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Items with kind/apiVersion, as the snapshot loader hands them to the server."""
    from testkit.kube_types import by_plural

    out = {}
    for plural, items in objects.items():
        t = by_plural(plural)
        assert t is not None, plural
        out[plural] = [{"apiVersion": t.api_version, "kind": t.kind, **o} for o in items]
    return out


class _ListMeta(msgspec.Struct, frozen=True):
    continue_: str = msgspec.field(default="", name="continue")


class _ListHead(msgspec.Struct, frozen=True):
    metadata: _ListMeta = _ListMeta()


def _warm(kube: Any, first_of_profile: dict[int, str], page_limit: int = 500) -> int:
    """Serialise (and gzip) every list page once, before anything is measured.

    The server caches pages per table version and clusters of one profile share their tables, so one
    cluster per profile warms them all: the paged lists of ``migrate catalog`` (gzip) and the unpaged
    ones of the baseline (no gzip). Measured runs then cost the server only its request handling."""
    head = msgspec.json.Decoder(_ListHead)
    pages = 0
    for name in first_of_profile.values():
        c = kube[name]
        with kube.lock:
            for t in list(c.types.types.values()):
                if "list" not in getattr(t, "verbs", ("list",)):
                    continue
                try:
                    c.list_body(t, None, {}, False)
                    token = ""
                    while True:
                        q = {"limit": str(page_limit), **({"continue": token} if token else {})}
                        body, _ = c.list_body(t, None, q, True)
                        pages += 1
                        plain, _ = c.list_body(t, None, q, False)
                        token = head.decode(plain).metadata.continue_
                        if not token:
                            break
                except Exception:  # noqa: BLE001 - kinds the server cannot list (reviews, tokens) are skipped
                    continue
    return pages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, required=True, help="clusters of the main fleet")
    ap.add_argument("--sizes", default="", help="comma-separated fleet sizes: fleet-<n>.yaml holds the first n")
    ap.add_argument("--pathological", type=int, default=0, help="clusters of the separate faulty fleet")
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--service-accounts", type=int, default=300)
    ap.add_argument("--profiles", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()

    from migrator.clock import SystemClock
    from testkit import STATIC_TOKEN, ArmServer, KubeServer, hang, latency, throttle
    from testkit.snapshot import ClusterSnapshot

    t0 = time.monotonic()
    args.workdir.mkdir(parents=True, exist_ok=True)
    main_fleet = syn.fleet_layout(args.clusters, args.profiles)
    subs = args.clusters // 25 + 1
    patho = syn.fleet_layout(args.pathological, args.profiles, prefix="bad", first_subscription=subs) \
        if args.pathological else []
    entries = main_fleet + patho
    used = sorted({e.profile for e in entries})
    profiles = {p: syn.build_profile(p, args.pods, args.service_accounts) for p in used}
    generated = time.monotonic() - t0
    stats = {p: prof.stats for p, prof in profiles.items()}
    identities = [i for prof in profiles.values() for i in prof.identities]
    fics = [f for prof in profiles.values() for f in syn.existing_fics(prof, main_fleet)]
    clock = SystemClock()
    kube = KubeServer(clock, record_requests=False)
    arm = ArmServer(clock, pki=kube.pki, kube=kube, record_requests=False)
    snaps = {p: ClusterSnapshot(f"profile-{p}", prof.key, None, _typed(prof.objects), [])
             for p, prof in profiles.items()}
    del profiles
    for e in entries:
        mc = syn.managed_cluster_body(e)
        kube.add_cluster(e.name, snaps[e.profile], managed_cluster=mc, issuer=e.issuer, token=STATIC_TOKEN)
        # the server keeps the profile's tables (by path): later clusters need only the key
        snaps[e.profile] = ClusterSnapshot(snaps[e.profile].name, snaps[e.profile].path, None, {}, [])
        arm.add_managed_cluster(mc, name=e.name, subscription_id=e.subscription, resource_group=e.resource_group,
                                location=e.region, vmss=syn.scale_sets(e))
    for ident in identities:
        arm.add_identity(ident)
        for k in range(1 + int(ident["name"][-1]) % 2):
            arm.add_role_assignment(scope=f"/subscriptions/{syn.IDENTITY_SUB}/resourceGroups/data-{ident['name']}-{k}",
                                    principal_id=ident["properties"]["principalId"],
                                    role_definition_id="/providers/Microsoft.Authorization/roleDefinitions/"
                                                       "4633458b-17de-408a-b874-0445c86b69e6",
                                    name=syn._uid("ra", ident["name"], k))
    for rid, name, issuer, subject in fics:
        arm.add_fic(rid, name, issuer, subject)
    fleets = {}
    for n in sorted({int(x) for x in args.sizes.split(",") if x} | {args.clusters}):
        path = args.workdir / f"fleet-{n}.yaml"
        path.write_text(syn.fleet_yaml(main_fleet[:n]))
        fleets[str(n)] = str(path)
    kubeconfig = args.workdir / "kubeconfig"
    kube.write_kubeconfig(kubeconfig)
    warmed = _warm(kube, {e.profile: e.name for e in reversed(entries)})

    kube.faults.latency = args.latency
    arm.faults.latency = args.latency
    special: dict[str, list[str]] = {}
    if patho:
        path = args.workdir / "fleet-pathological.yaml"
        path.write_text(syn.fleet_yaml(patho))
        fleets["pathological"] = str(path)
        rng = random.Random(args.seed)
        names = [e.name for e in patho]
        rng.shuffle(names)
        n5 = max(2, round(len(names) * 0.05))
        refused, blackholed = names[:n5 // 2], names[n5 // 2:n5]
        slow = names[n5:2 * n5]
        throttled = names[2 * n5:3 * n5]
        expiring = names[3 * n5]
        for n in refused:
            kube.set_down(n)  # every connection dropped without an answer (a reset / refusing endpoint)
        for n in blackholed:
            kube.faults.add(hang(cluster=n, times=None, label=f"blackholed({n})"))  # never answered
        for n in slow:
            kube.faults.add(latency(args.latency * 9, cluster=n, label=f"slow({n})"))  # 10x the latency
        for n in throttled:  # API priority and fairness: 429 + Retry-After on the big lists
            kube.faults.add(throttle(retry_after=2, times=2, cluster=n, resource="pods", label=f"429({n})"))
            kube.faults.add(throttle(retry_after=1, times=1, cluster=n, resource="replicasets"))
        # a continue token that really expires: the second page arrives after the token's lifetime
        kube[expiring].continue_ttl = 1.0
        kube.faults.add(latency(1.5, cluster=expiring, resource="pods", times=1,
                                when=lambda r: "continue" in r.query, label=f"expire({expiring})"))
        special = {"unreachable": sorted(refused + blackholed), "refused": sorted(refused),
                   "blackholed": sorted(blackholed), "slow": sorted(slow), "throttled": sorted(throttled),
                   "expiring": [expiring]}

    counters = Counters()
    for lst in kube._loop.listeners:
        _count(counters, "kube", lst)
    for lst in arm._loop.listeners:
        _count(counters, "arm" if lst.service == "arm" else "aad", lst)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"ready": True, "pid": os.getpid(), "arm_url": arm.url, "ca_path": arm.ca_path,
                      "kube_url": kube.url, "fleets": fleets, "kubeconfig": str(kubeconfig),
                      "clusters": [e.__dict__ for e in entries], "special": special, "profiles": stats,
                      "identities": len(identities), "warmed_pages": warmed,
                      "setup_s": round(time.monotonic() - t0, 2),
                      "generate_s": round(generated, 2), "maxrss_mb": ru.ru_maxrss / 1024}), flush=True)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                print(json.dumps(counters.snapshot()), flush=True)
            elif cmd == "reset":
                counters.reset()
                print(json.dumps({"ok": True}), flush=True)
            elif cmd == "quit":
                break
            else:
                print(json.dumps({"error": f"unknown command {cmd!r}"}), flush=True)
    finally:
        kube.release_hangs()
        arm.stop()
        kube.stop()


if __name__ == "__main__":
    main()
