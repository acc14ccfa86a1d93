"""A small, clock-driven stand-in for the Deployment / ReplicaSet / StatefulSet / DaemonSet
controllers, so a cutover sees a rollout happen after it changes a pod template.

When a workload is created or its pod template changes, a rollout starts at ``clock.monotonic()``.
Every request to the cluster reconciles: with ``seconds_per_pod = s`` the k-th new pod is created
(through admission, so the workload-identity webhook mutates it) and the k-th old pod deleted at
``start + k*s``; status counters follow.  ``s = 0`` finishes at once; ``stuck`` creates one new
pod that stays Pending forever and, after ``progressDeadlineSeconds``, a Deployment reports
``ProgressDeadlineExceeded``.  If admission rejects a new pod (webhook down, SA missing), the
rollout stalls with a ``ReplicaFailure``/``FailedCreate`` condition and retries on later requests.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .kube_errors import KubeError

if TYPE_CHECKING:
    from .kube_store import ClusterState, RolloutConfig
    from .kube_types import ResourceType

__all__ = ["Controllers", "template_hash"]

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_WORKLOADS = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets")}


def template_hash(template: Any, collision: int = 0) -> str:
    """FNV-32a of the template, encoded like ``rand.SafeEncodeString`` (pod-template-hash)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode() + str(collision).encode()
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHABET[ord(c) % len(_ALPHABET)] for c in str(h))


def _image_id(image: str) -> str:
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _suffix() -> str:
    return "".join(random.choice(_ALPHABET) for _ in range(5))


@dataclass
class Rollout:
    kind: str
    namespace: str
    name: str
    start: float
    revision: str          # pod-template-hash / controller-revision-hash of the new template
    replicas: int
    config: "RolloutConfig"
    failure: str | None = None


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _selector_match(sel: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    from .kube_selectors import match_label_selector_obj

    if not sel:
        return False
    return match_label_selector_obj(sel, labels)


class Controllers:
    def __init__(self) -> None:
        self.rollouts: dict[tuple[str, str, str], Rollout] = {}
        self._busy = False

    # ------------------------------------------------------------------ triggers
    def on_change(self, c: "ClusterState", t: "ResourceType", old: dict[str, Any] | None,
                  new: dict[str, Any]) -> None:
        if (t.group, t.plural) not in _WORKLOADS or self._busy:
            return
        spec_new = new.get("spec") or {}
        spec_old = (old or {}).get("spec") or {}
        tmpl_changed = old is None or spec_new.get("template") != spec_old.get("template")
        replicas_changed = old is not None and spec_new.get("replicas") != spec_old.get("replicas")
        if not (tmpl_changed or replicas_changed):
            return
        meta = new["metadata"]
        key = (t.kind, meta.get("namespace", ""), meta["name"])
        cfg = c.rollout_for(*key)
        rev = template_hash(spec_new.get("template"))
        replicas = self._desired(c, t.kind, new)
        existing = self.rollouts.get(key)
        if not tmpl_changed and existing is not None and existing.revision == rev:
            existing.replicas = replicas
        else:
            self.rollouts[key] = Rollout(t.kind, key[1], key[2], c.clock.monotonic(), rev, replicas, cfg)
        self._reconcile_one(c, self.rollouts[key])

    def on_delete(self, c: "ClusterState", t: "ResourceType", obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        self.rollouts.pop((t.kind, meta.get("namespace", ""), meta.get("name", "")), None)

    def _desired(self, c: "ClusterState", kind: str, obj: dict[str, Any]) -> int:
        if kind == "DaemonSet":
            return int((obj.get("status") or {}).get("desiredNumberScheduled") or len(c.node_names))
        r = (obj.get("spec") or {}).get("replicas")
        return 1 if r is None else int(r)

    # ------------------------------------------------------------------ reconcile
    def reconcile(self, c: "ClusterState") -> None:
        if not self.rollouts or self._busy:
            return
        for ro in list(self.rollouts.values()):
            self._reconcile_one(c, ro)

    def _reconcile_one(self, c: "ClusterState", ro: Rollout) -> None:
        self._busy = True
        try:
            t = c.types.find({"Deployment": "deployments.apps", "StatefulSet": "statefulsets.apps",
                              "DaemonSet": "daemonsets.apps"}[ro.kind])
            assert t is not None
            obj = c._get_obj(t, ro.namespace, ro.name)
            if obj is None:
                self.rollouts.pop((ro.kind, ro.namespace, ro.name), None)
                return
            cfg = ro.config
            n = ro.replicas
            if cfg.stuck:
                target = 0
            elif cfg.seconds_per_pod <= 0:
                target = n
            else:
                target = min(n, int((c.clock.monotonic() - ro.start) / cfg.seconds_per_pod + 1e-9))
            done = getattr(self, f"_step_{ro.kind.lower()}")(c, t, obj, ro, target)
            if done:
                self.rollouts.pop((ro.kind, ro.namespace, ro.name), None)
        finally:
            self._busy = False

    # ------------------------------------------------------------------ pods
    def _pods(self, c: "ClusterState", ns: str, selector: dict[str, Any] | None) -> list[dict[str, Any]]:
        pt = c.types.find("pods")
        tb = c.tables.get(pt.key) if pt else None
        if not tb:
            return []
        return [o for (pns, _n), o in sorted(tb.objects.items()) if pns == ns and _selector_match(selector, _labels(o))]

    def _new_pod(self, c: "ClusterState", owner: dict[str, Any], owner_kind: str, template: dict[str, Any],
                 name: str | None, generate: str | None, extra_labels: dict[str, str], ready: bool,
                 node: str) -> dict[str, Any]:
        tmeta = template.get("metadata") or {}
        meta: dict[str, Any] = {"namespace": owner["metadata"].get("namespace"),
                                "labels": {**(tmeta.get("labels") or {}), **extra_labels},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind,
                                                     "name": owner["metadata"]["name"],
                                                     "uid": owner["metadata"].get("uid"), "controller": True,
                                                     "blockOwnerDeletion": True}]}
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        if name:
            meta["name"] = name
        else:
            meta["generateName"] = generate
        spec = copy.deepcopy(template.get("spec") or {})
        spec["nodeName"] = node
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        pt = c.types.find("pods")
        assert pt is not None
        created = c.create_internal(pt, pod)
        now = c.now_str()
        created = copy.deepcopy(created)
        containers = created["spec"].get("containers") or []
        if ready:
            created["status"] = {
                "phase": "Running", "hostIP": "10.224.0.4", "podIP": f"10.244.{random.randint(0, 250)}."
                                                                       f"{random.randint(2, 250)}",
                "startTime": now, "qosClass": "BestEffort",
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                               for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                "containerStatuses": [{"name": ct.get("name"), "image": ct.get("image") or "",
                                       "imageID": _image_id(ct.get("image") or ""), "ready": True,
                                       "started": True, "restartCount": 0,
                                       "state": {"running": {"startedAt": now}}} for ct in containers]}
        else:
            created["status"] = {
                "phase": "Pending", "hostIP": "10.224.0.4", "startTime": now, "qosClass": "BestEffort",
                "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                               {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                "lastTransitionTime": now}],
                "containerStatuses": [{"name": ct.get("name"), "image": ct.get("image") or "", "imageID": "",
                                       "ready": False,
                                       "started": False, "restartCount": 0,
                                       "state": {"waiting": {"reason": "ContainerCreating"}}}
                                      for ct in containers]}
        c.store_internal(pt, created)
        return created

    def _delete_pod(self, c: "ClusterState", pod: dict[str, Any]) -> None:
        pt = c.types.find("pods")
        assert pt is not None
        c._remove(pt, pod["metadata"].get("namespace", ""), pod["metadata"]["name"])

    def _try_create(self, ro: Rollout, fn: Any, *args: Any) -> dict[str, Any] | None:
        try:
            pod = fn(*args)
            ro.failure = None
            return pod
        except KubeError as exc:
            ro.failure = exc.message
            return None

    def _set_status(self, c: "ClusterState", t: "ResourceType", obj: dict[str, Any], status: dict[str, Any]) -> None:
        if obj.get("status") == status:
            return
        new = copy.deepcopy(obj)
        new["status"] = status
        c.store_internal(t, new)

    # ------------------------------------------------------------------ Deployment
    def _step_deployment(self, c: "ClusterState", t: "ResourceType", dep: dict[str, Any], ro: Rollout,
                         target: int) -> bool:
        ns, name = ro.namespace, ro.name
        spec = dep.get("spec") or {}
        template = spec.get("template") or {}
        selector = spec.get("selector")
        rst = c.types.find("replicasets")
        assert rst is not None
        rs_name = f"{name}-{ro.revision}"
        rs = c._get_obj(rst, ns, rs_name)
        now = c.now_str()
        if rs is None:
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": rs_name, "namespace": ns,
                               "labels": {**(template.get("metadata") or {}).get("labels", {}),
                                          "pod-template-hash": ro.revision},
                               "annotations": {"deployment.kubernetes.io/revision": str(
                                   int((dep["metadata"].get("annotations") or {}).get(
                                       "deployment.kubernetes.io/revision", "0")) + 1)},
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                    "uid": dep["metadata"].get("uid"), "controller": True,
                                                    "blockOwnerDeletion": True}]},
                  "spec": {"replicas": ro.replicas,
                           "selector": {"matchLabels": {**((selector or {}).get("matchLabels") or {}),
                                                        "pod-template-hash": ro.revision}},
                           "template": {**copy.deepcopy(template), "metadata": {
                               **copy.deepcopy(template.get("metadata") or {}),
                               "labels": {**((template.get("metadata") or {}).get("labels") or {}),
                                          "pod-template-hash": ro.revision}}}}}
            rs = c._add(rs)
            rs = c._get_obj(rst, ns, rs_name)
            assert rs is not None
        pods = self._pods(c, ns, selector)
        new_pods = [p for p in pods if _labels(p).get("pod-template-hash") == ro.revision]
        old_pods = [p for p in pods if _labels(p).get("pod-template-hash") != ro.revision]
        ready_new = [p for p in new_pods if (p.get("status") or {}).get("phase") == "Running"]
        # create new pods up to target (or one pending pod when stuck)
        if ro.config.stuck:
            if not new_pods and ro.replicas > 0:
                self._try_create(ro, self._new_pod, c, rs, "ReplicaSet", rs["spec"]["template"], None,
                                 f"{rs_name}-", {}, False, c.node_names[0])
        else:
            while len(ready_new) < target:
                p = self._try_create(ro, self._new_pod, c, rs, "ReplicaSet", rs["spec"]["template"], None,
                                     f"{rs_name}-", {}, True, c.node_names[len(ready_new) % len(c.node_names)])
                if p is None:
                    break
                ready_new.append(p)
            # scale down new pods beyond the desired count (replicas lowered)
            for p in ready_new[ro.replicas:]:
                self._delete_pod(c, p)
            ready_new = ready_new[: ro.replicas]
        # delete old pods as new ones become ready
        keep_old = max(0, ro.replicas - len(ready_new))
        for p in old_pods[keep_old:]:
            self._delete_pod(c, p)
        old_pods = old_pods[:keep_old]
        new_count = len(self._pods(c, ns, rs["spec"]["selector"]))
        # ReplicaSet statuses
        for other in [o for (ons, _n), o in sorted(c._table(rst).objects.items()) if ons == ns and any(
                r.get("uid") == dep["metadata"].get("uid") for r in (o.get("metadata") or {}).get("ownerReferences")
                or [])]:
            if other["metadata"]["name"] == rs_name:
                continue
            cnt = len([p for p in old_pods if _labels(p).get("pod-template-hash") ==
                       _labels(other).get("pod-template-hash")])
            if (other.get("spec") or {}).get("replicas") != cnt:
                o2 = copy.deepcopy(other)
                o2.setdefault("spec", {})["replicas"] = cnt
                o2["status"] = {"replicas": cnt, "readyReplicas": cnt, "availableReplicas": cnt,
                                "fullyLabeledReplicas": cnt, "observedGeneration": o2["metadata"].get("generation", 1)}
                c.store_internal(rst, o2)
        rs = c._get_obj(rst, ns, rs_name)
        assert rs is not None
        rs_status: dict[str, Any] = {"replicas": new_count, "readyReplicas": len(ready_new),
                                     "availableReplicas": len(ready_new), "fullyLabeledReplicas": new_count,
                                     "observedGeneration": rs["metadata"].get("generation", 1)}
        if ro.failure:
            rs_status["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                        "message": ro.failure, "lastTransitionTime": now}]
        if rs.get("status") != rs_status or (rs.get("spec") or {}).get("replicas") != ro.replicas:
            rs2 = copy.deepcopy(rs)
            rs2["spec"]["replicas"] = ro.replicas
            rs2["status"] = rs_status
            c.store_internal(rst, rs2)
        # Deployment status
        updated = new_count
        ready = len(ready_new) + len(old_pods)
        total = updated + len(old_pods)
        complete = (not ro.config.stuck) and len(ready_new) >= ro.replicas and not old_pods
        deadline = int(spec.get("progressDeadlineSeconds") or 600)
        timed_out = not complete and c.clock.monotonic() - ro.start > deadline
        if complete:
            progressing = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                           "message": f'ReplicaSet "{rs_name}" has successfully progressed.'}
        elif timed_out:
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": f'ReplicaSet "{rs_name}" has timed out progressing.'}
        else:
            progressing = {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": f'ReplicaSet "{rs_name}" is progressing.'}
        conds = [{"type": "Available", "status": "True" if ready >= ro.replicas - 1 or ready > 0 else "False",
                  "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                 progressing]
        if ro.failure:
            conds.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                          "message": ro.failure})
        old_conds = {x["type"]: x for x in (dep.get("status") or {}).get("conditions") or []}
        for cd in conds:
            prev = old_conds.get(cd["type"])
            same = prev and prev.get("status") == cd["status"] and prev.get("reason") == cd["reason"]
            cd["lastUpdateTime"] = prev.get("lastUpdateTime", now) if same else now  # type: ignore[union-attr]
            cd["lastTransitionTime"] = prev.get("lastTransitionTime", now) if same else now  # type: ignore[union-attr]
        status = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
                  "conditions": conds}
        if ro.replicas - ready > 0:
            status["unavailableReplicas"] = ro.replicas - ready
        if dep.get("status") != status:
            d2 = copy.deepcopy(dep)
            d2["status"] = status
            ann = d2["metadata"].setdefault("annotations", {})
            ann["deployment.kubernetes.io/revision"] = rs["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "1")
            c.store_internal(t, d2)
        return complete

    # ------------------------------------------------------------------ StatefulSet
    def _step_statefulset(self, c: "ClusterState", t: "ResourceType", sts: dict[str, Any], ro: Rollout,
                          target: int) -> bool:
        ns, name = ro.namespace, ro.name
        spec = sts.get("spec") or {}
        template = spec.get("template") or {}
        update_rev = f"{name}-{ro.revision}"
        status0 = sts.get("status") or {}
        current_rev = status0.get("currentRevision") or f"{name}-initial"
        pods = {p["metadata"]["name"]: p for p in self._pods(c, ns, spec.get("selector"))}
        n = ro.replicas
        # ordinals updated from the highest down; `target` of them carry the new revision
        for i in range(n - 1, -1, -1):
            pname = f"{name}-{i}"
            want_new = (n - 1 - i) < target
            p = pods.get(pname)
            is_new = p is not None and _labels(p).get("controller-revision-hash") == update_rev
            if want_new and not is_new:
                if p is not None:
                    self._delete_pod(c, p)
                created = self._try_create(ro, self._new_pod, c, sts, "StatefulSet", template, pname, None,
                                           {"controller-revision-hash": update_rev,
                                            "statefulset.kubernetes.io/pod-name": pname}, True,
                                           c.node_names[i % len(c.node_names)])
                if created is None:
                    break
                pods[pname] = created
            elif p is None and not want_new:
                created = self._try_create(ro, self._new_pod, c, sts, "StatefulSet", template, pname, None,
                                           {"controller-revision-hash": current_rev,
                                            "statefulset.kubernetes.io/pod-name": pname}, True,
                                           c.node_names[i % len(c.node_names)])
                if created is not None:
                    pods[pname] = created
        if ro.config.stuck and n > 0:
            pname = f"{name}-{n - 1}"
            p = pods.get(pname)
            if p is None or _labels(p).get("controller-revision-hash") != update_rev:
                if p is not None:
                    self._delete_pod(c, p)
                created = self._try_create(ro, self._new_pod, c, sts, "StatefulSet", template, pname, None,
                                           {"controller-revision-hash": update_rev,
                                            "statefulset.kubernetes.io/pod-name": pname}, False,
                                           c.node_names[0])
                if created is not None:
                    pods[pname] = created
        for pname, p in list(pods.items()):  # scale down
            try:
                ordinal = int(pname.rsplit("-", 1)[1])
            except (IndexError, ValueError):
                continue
            if ordinal >= n:
                self._delete_pod(c, p)
                del pods[pname]
        live = list(pods.values())
        updated = [p for p in live if _labels(p).get("controller-revision-hash") == update_rev]
        ready = [p for p in live if (p.get("status") or {}).get("phase") == "Running"]
        complete = not ro.config.stuck and len(updated) >= n and len(ready) >= n
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(live),
                  "readyReplicas": len(ready), "availableReplicas": len(ready),
                  "currentReplicas": len(updated) if complete else len(live) - len(updated),
                  "updatedReplicas": len(updated), "currentRevision": update_rev if complete else current_rev,
                  "updateRevision": update_rev, "collisionCount": 0}
        self._set_status(c, t, sts, status)
        return complete

    # ------------------------------------------------------------------ DaemonSet
    def _step_daemonset(self, c: "ClusterState", t: "ResourceType", ds: dict[str, Any], ro: Rollout,
                        target: int) -> bool:
        ns, name = ro.namespace, ro.name
        spec = ds.get("spec") or {}
        template = spec.get("template") or {}
        gen = str(ds["metadata"].get("generation", 1))
        pods = self._pods(c, ns, spec.get("selector"))
        nodes = c.node_names[: ro.replicas] if ro.replicas <= len(c.node_names) else \
            c.node_names + [f"aks-nodepool1-12345678-vmss{i:06d}" for i in range(len(c.node_names), ro.replicas)]
        by_node: dict[str, dict[str, Any]] = {}
        stray: list[dict[str, Any]] = []
        for p in pods:
            node = (p.get("spec") or {}).get("nodeName", "")
            if node in nodes and node not in by_node:
                by_node[node] = p
            else:
                stray.append(p)
        for node in nodes:  # snapshot pods on unknown nodes stand in for missing ones
            if node not in by_node and stray:
                by_node[node] = stray.pop(0)
        for p in stray:
            self._delete_pod(c, p)
        updated_n = 0
        for i, node in enumerate(nodes):
            p = by_node.get(node)
            is_new = p is not None and _labels(p).get("controller-revision-hash") == ro.revision
            want_new = i < target or (ro.config.stuck and i == 0)
            if want_new and not is_new:
                if p is not None:
                    self._delete_pod(c, p)
                created = self._try_create(ro, self._new_pod, c, ds, "DaemonSet", template, None, f"{name}-",
                                           {"controller-revision-hash": ro.revision, "pod-template-generation": gen},
                                           not ro.config.stuck, node)
                if created is None:
                    break
                by_node[node] = created
            elif p is None:
                created = self._try_create(ro, self._new_pod, c, ds, "DaemonSet", template, None, f"{name}-",
                                           {"controller-revision-hash": ro.revision, "pod-template-generation": gen},
                                           True, node)
                if created is not None:
                    by_node[node] = created
        live = [by_node[n] for n in nodes if n in by_node]
        updated_n = len([p for p in live if _labels(p).get("controller-revision-hash") == ro.revision])
        ready = len([p for p in live if (p.get("status") or {}).get("phase") == "Running"])
        complete = not ro.config.stuck and updated_n >= len(nodes) and ready >= len(nodes)
        status = {"observedGeneration": ds["metadata"].get("generation", 1),
                  "desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(live),
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated_n,
                  "numberMisscheduled": 0}
        if len(nodes) - ready > 0:
            status["numberUnavailable"] = len(nodes) - ready
        self._set_status(c, t, ds, status)
        return complete
