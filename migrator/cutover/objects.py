"""Pure judgements on raw Kubernetes objects: where a workload's pod template is, what a patch of it
looks like, whether a rollout is complete, whether a pod carries the workload-identity injection.

No I/O: the steps fetch objects through ``KubeApi`` and ask these functions about them, and
``status.py`` asks the same functions to report where a namespace stands.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.vocabulary import (
    BINDING_LABEL,
    SKIP_CONTAINERS_ANNOTATION,
    TOKEN_EXCHANGE_AUDIENCE,
    WI_USE_LABEL,
)

TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE"


def meta(obj: dict[str, Any] | None) -> dict[str, Any]:
    return (obj or {}).get("metadata") or {}


def template_keys(kind: str) -> tuple[str, ...]:
    """Where the pod template sits in the object."""
    return ("spec", "jobTemplate", "spec", "template") if kind == "CronJob" else ("spec", "template")


def template(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    node: Any = obj
    for key in template_keys(kind):
        node = (node or {}).get(key) or {}
    return node


def template_labels(obj: dict[str, Any], kind: str) -> dict[str, str]:
    return dict(meta(template(obj, kind)).get("labels") or {})


def template_service_account(obj: dict[str, Any], kind: str) -> str:
    spec = template(obj, kind).get("spec") or {}
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")


def wrap(kind: str, template_patch: dict[str, Any]) -> dict[str, Any]:
    """A patch of the pod template, nested where the kind keeps it."""
    out: dict[str, Any] = template_patch
    for key in reversed(template_keys(kind)):
        out = {key: out}
    return out


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]


def env_value(container: dict[str, Any], name: str) -> tuple[bool, str | None]:
    """(present, literal value or None when it comes from valueFrom)."""
    for e in container.get("env") or []:
        if e.get("name") == name:
            return True, e.get("value")
    return False, None


def skipped_containers(pod_meta: dict[str, Any]) -> set[str]:
    raw = (pod_meta.get("annotations") or {}).get(SKIP_CONTAINERS_ANNOTATION) or ""
    return {s.strip() for s in raw.split(";") if s.strip()}


def annotations_patch(annotations: Mapping[str, str | None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A patch builder (``Run.patch_live``) setting these annotations of an object (None removes one)."""
    def build(live: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"annotations": annotations}}

    return build


# ----------------------------------------------------------------------------- the change itself


@dataclass(frozen=True, slots=True)
class TemplateChange:
    """What the cutover does to one pod template (step 5 adds, step 6 removes the binding label)."""

    add_wi_label: bool = False
    service_account: str | None = None  # set serviceAccountName (the plan changes it)
    client_id_env: str | None = None  # set AZURE_CLIENT_ID on every non-skipped container
    remove_binding_label: bool = False

    def patch(self, obj: dict[str, Any], kind: str) -> dict[str, Any]:
        tmpl = template(obj, kind)
        labels: dict[str, Any] = {}
        if self.add_wi_label:
            labels[WI_USE_LABEL] = "true"
        if self.remove_binding_label:
            labels[BINDING_LABEL] = None
        body: dict[str, Any] = {}
        if labels:
            body["metadata"] = {"labels": labels}
        spec: dict[str, Any] = {}
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        if self.client_id_env:
            skip = skipped_containers(meta(tmpl))
            cs = [{"name": c["name"], "env": [{"name": "AZURE_CLIENT_ID", "value": self.client_id_env}]}
                  for c in (tmpl.get("spec") or {}).get("containers") or [] if c.get("name") not in skip]
            if cs:
                spec["containers"] = cs
        if spec:
            body["spec"] = spec
        return wrap(kind, body)

    def holds(self, obj: dict[str, Any], kind: str) -> bool:
        """The change is in the live template."""
        labels = template_labels(obj, kind)
        if self.add_wi_label and labels.get(WI_USE_LABEL) != "true":
            return False
        if self.remove_binding_label and BINDING_LABEL in labels:
            return False
        if self.service_account and template_service_account(obj, kind) != self.service_account:
            return False
        if self.client_id_env:
            tmpl = template(obj, kind)
            skip = skipped_containers(meta(tmpl))
            for c in (tmpl.get("spec") or {}).get("containers") or []:
                if c.get("name") not in skip and env_value(c, "AZURE_CLIENT_ID") != (True, self.client_id_env):
                    return False
        return True


def before_state(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """What the cutover may change in a workload, as it is now (recorded before the first change)."""
    tmpl = template(obj, kind)
    labels = template_labels(obj, kind)
    spec = tmpl.get("spec") or {}
    env = {}
    for c in spec.get("containers") or []:
        present, value = env_value(c, "AZURE_CLIENT_ID")
        env[c.get("name", "")] = value if present else None
    return {"kind": kind, "labels": {BINDING_LABEL: labels.get(BINDING_LABEL), WI_USE_LABEL: labels.get(WI_USE_LABEL)},
            "serviceAccountName": spec.get("serviceAccountName"), "clientIdEnv": env,
            "resourceVersion": meta(obj).get("resourceVersion")}


def restore_patch(obj: dict[str, Any], kind: str, before: dict[str, Any], *, labels_only: tuple[str, ...] | None = None,
                  ) -> dict[str, Any] | None:
    """The patch that puts a workload's template back as ``before`` recorded it (None: nothing to do).

    ``labels_only``: restore only these labels (rollback restores ``aadpodidbinding`` first, then the rest).
    """
    tmpl = template(obj, kind)
    now_labels = template_labels(obj, kind)
    labels: dict[str, Any] = {}
    for key, value in (before.get("labels") or {}).items():
        if labels_only is not None and key not in labels_only:
            continue
        if now_labels.get(key) != value:
            labels[key] = value  # None removes
    body: dict[str, Any] = {}
    if labels:
        body["metadata"] = {"labels": labels}
    if labels_only is None:
        spec: dict[str, Any] = {}
        spec_now = tmpl.get("spec") or {}
        if "serviceAccountName" in before and spec_now.get("serviceAccountName") != before["serviceAccountName"]:
            spec["serviceAccountName"] = before["serviceAccountName"]
        env_patch = []
        for c in spec_now.get("containers") or []:
            name = c.get("name", "")
            if name not in (before.get("clientIdEnv") or {}):
                continue
            want = before["clientIdEnv"][name]
            present, value = env_value(c, "AZURE_CLIENT_ID")
            if want is None and present:
                others = [e for e in c.get("env") or [] if e.get("name") != "AZURE_CLIENT_ID"]
                env_patch.append({"name": name, "env": [{"name": "AZURE_CLIENT_ID", "$patch": "delete"}]} if others
                                 else {"name": name, "env": None})
            elif want is not None and value != want:
                env_patch.append({"name": name, "env": [{"name": "AZURE_CLIENT_ID", "value": want}]})
        if env_patch:
            spec["containers"] = env_patch
        if spec:
            body["spec"] = spec
    return wrap(kind, body) if body else None


# ----------------------------------------------------------------------------- rollouts


@dataclass(frozen=True, slots=True)
class RolloutState:
    complete: bool
    progress: str  # "2/3 updated, 1 available"
    failure: str | None = None  # a condition that will not fix itself (ProgressDeadlineExceeded)
    problem: str | None = None  # a condition worth showing while waiting (ReplicaFailure)


def rollout_state(obj: dict[str, Any], kind: str) -> RolloutState:
    """``kubectl rollout status`` for one object, judged from its status."""
    m, spec, status = meta(obj), obj.get("spec") or {}, obj.get("status") or {}
    generation = int(m.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    problem = None
    failure_c = conditions.get("ReplicaFailure")
    if failure_c and failure_c.get("status") == "True":
        problem = f"ReplicaFailure: {failure_c.get('message') or failure_c.get('reason')}"
    if observed < generation:
        return RolloutState(False, f"waiting for the controller to observe generation {generation}", None, problem)
    if kind == "Deployment":
        want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        progressing = conditions.get("Progressing") or {}
        text = f"{updated}/{want} updated, {available} available"
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return RolloutState(False, text, f"ProgressDeadlineExceeded: {progressing.get('message')}", problem)
        done = updated >= want and total <= updated and available >= updated
        return RolloutState(done, text, None, problem)
    if kind == "StatefulSet":
        want = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        updated = int(status.get("updatedReplicas") or 0)
        ready = int(status.get("readyReplicas") or 0)
        text = f"{updated}/{want} updated, {ready} ready"
        if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
            return RolloutState(True, text + " (OnDelete: pods change when deleted)", None, problem)
        done = updated >= want and ready >= want and status.get("currentRevision") == status.get("updateRevision")
        return RolloutState(done, text, None, problem)
    if kind == "DaemonSet":
        want = int(status.get("desiredNumberScheduled") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        available = int(status.get("numberAvailable") or 0)
        text = f"{updated}/{want} updated, {available} available"
        return RolloutState(updated >= want and available >= want, text, None, problem)
    return RolloutState(True, "no rollout")


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def workload_pods(obj: dict[str, Any], kind: str, pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workload's live pods (selector match, controlled by it or its ReplicaSets, not terminating)."""
    name = meta(obj).get("name", "")
    selector = (obj.get("spec") or {}).get("selector")
    out = []
    for pod in pods:
        pm = meta(pod)
        if pm.get("deletionTimestamp") or not selector_matches(selector, pm.get("labels") or {}):
            continue
        owners = [r for r in pm.get("ownerReferences") or [] if r.get("controller")]
        if owners:
            owner = owners[0]
            if kind == "Deployment":
                if owner.get("kind") != "ReplicaSet" or not str(owner.get("name", "")).startswith(name + "-"):
                    continue
            elif owner.get("kind") != kind or owner.get("name") != name:
                continue
        out.append(pod)
    return out


# ----------------------------------------------------------------------------- injection


def injection_problems(pod: dict[str, Any], *, expected_client_ids: set[str] | None,
                       require_client_id: bool = True) -> tuple[list[str], list[str]]:
    """(problems, notes) of a pod (or a dry-run pod) against the webhook's contract.

    ``expected_client_ids``: client IDs federated to the pod's service account; a container that sets
    ``AZURE_CLIENT_ID`` itself must name one of them. ``require_client_id=False`` when the service
    account's annotation is not in place yet (a dry run before step 3): the injected value is then
    not judged.
    """
    problems: list[str] = []
    notes: list[str] = []
    spec = pod.get("spec") or {}
    pm = meta(pod)
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    token_volumes = {name for name, v in volumes.items()
                     if any((s.get("serviceAccountToken") or {}).get("audience") == TOKEN_EXCHANGE_AUDIENCE
                            for s in ((v.get("projected") or {}).get("sources") or []))}
    if not token_volumes:
        problems.append(f"no projected service-account token volume with audience {TOKEN_EXCHANGE_AUDIENCE}")
    skip = skipped_containers(pm)
    judged = 0
    for c in containers(spec):
        cname = c.get("name", "")
        if cname in skip:
            notes.append(f"container {cname} is listed in {SKIP_CONTAINERS_ANNOTATION}: it gets no token")
            continue
        if cname in ("azwi-proxy", "azwi-proxy-init"):
            continue
        judged += 1
        for env in ("AZURE_TENANT_ID", TOKEN_FILE_ENV, "AZURE_AUTHORITY_HOST"):
            if not env_value(c, env)[0]:
                problems.append(f"container {cname}: {env} not injected")
        present, value = env_value(c, "AZURE_CLIENT_ID")
        if not present:
            if require_client_id:
                problems.append(f"container {cname}: AZURE_CLIENT_ID not injected (service account annotation "
                                "missing?)")
        elif value is None:
            notes.append(f"container {cname} takes AZURE_CLIENT_ID from a reference: not judged")
        elif expected_client_ids is not None and value.lower() not in {x.lower() for x in expected_client_ids}:
            problems.append(f"container {cname}: AZURE_CLIENT_ID={value} is not federated to service account "
                            f"{spec.get('serviceAccountName') or 'default'} (the webhook never overrides it)")
        mounts = {m.get("name") for m in c.get("volumeMounts") or []}
        if token_volumes and not mounts & token_volumes:
            problems.append(f"container {cname}: the token volume is not mounted")
    if judged == 0 and (spec.get("containers") or []):
        problems.append("every container is skipped: no container would use workload identity")
    return problems, notes


def has_injection(pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    return any(env_value(c, TOKEN_FILE_ENV)[0] for c in containers(spec))


def dry_run_pod(obj: dict[str, Any], kind: str, *, service_account: str, client_id_env: str | None) -> dict[str, Any]:
    """The pod the workload would create once labelled (for a server-side dry-run create)."""
    tmpl = copy.deepcopy(template(obj, kind))
    m = tmpl.get("metadata") or {}
    labels = dict(m.get("labels") or {})
    labels[WI_USE_LABEL] = "true"
    spec = tmpl.get("spec") or {}
    spec["serviceAccountName"] = service_account
    spec.pop("serviceAccount", None)
    if client_id_env:
        skip = skipped_containers(m)
        for c in spec.get("containers") or []:
            if c.get("name") not in skip:
                env = [e for e in c.get("env") or [] if e.get("name") != "AZURE_CLIENT_ID"]
                env.append({"name": "AZURE_CLIENT_ID", "value": client_id_env})
                c["env"] = env
    pod_meta: dict[str, Any] = {"generateName": f"{meta(obj).get('name', 'wi')}-wi-check-", "labels": labels}
    if m.get("annotations"):
        pod_meta["annotations"] = dict(m["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}
