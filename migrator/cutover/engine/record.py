"""The record kept in the cluster: a ConfigMap ``wi-migrator-record`` in the namespace.

It holds what a rollback needs, so a rollback works from any machine with access to the cluster:

* ``before.<Kind>.<name>``: the before-state of every object the cutover changed, written *before*
  the object is changed (write-ahead) and never overwritten, so a resumed run keeps the original:
  the pod-template labels ``aadpodidbinding`` and ``azure.workload.identity/use``, the
  ``serviceAccountName``, containers' ``AZURE_CLIENT_ID``, a service account's annotations (or that
  it did not exist);
* ``removed.<Kind>.<name>`` / ``removed.addon.<namespace>.<name>``: the full document of every
  AzureIdentityBinding (or add-on pod identity) ``migrate unbind`` removed, so it can be recreated;
* ``progress``: the last operation, its state and when each step completed (shown by ``status``),
  read and written as the ``Progress`` struct: the JSON is the same as the dicts older releases
  wrote (keys sorted, absent fields left out), so either reads the other's record. A run of another
  operation (a cutover after a rollback, a rollback after a cutover) starts a fresh section and keeps
  the previous ones under ``history`` (older releases ignore that key).

Values are JSON. Writes are merge patches of single keys (never a read-modify-write of the whole
map), and go as dry runs under ``--dry-run``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import msgspec.structs

from migrator.cutover.clients.kube_api import MERGE, KubeApi, KubeApiError
from migrator.cutover.engine.lease import MANAGED_BY
from migrator.cutover.errors import StepFailed
from migrator.escape import sh, sh_flag

RECORD_NAME = "wi-migrator-record"
PROGRESS = "progress"


class StepMark(msgspec.Struct, frozen=True):
    """When a mutating step of the cutover completed, and who ran it."""

    at: str
    by: str


class LabelMark(msgspec.Struct, frozen=True, omit_defaults=True):
    """Step 5 (the label and its rollouts): when it started, and when its rollouts completed (since then,
    ``--check-nmi-logs`` expects NMI to serve the namespace no token)."""

    started: str | None = None
    completed: str | None = None


class Progress(msgspec.Struct, frozen=True, omit_defaults=True):
    """The record's ``progress``: the last operation on the namespace and how far it got.

    Written whole after each change (``msgspec.structs.replace`` of what was read); a field that is
    not set is left out of the JSON, as older releases left the key out.
    """

    operation: str | None = None  # cutover | rollback | unbind
    state: str | None = None  # in-progress | cut-over | unbound | rolled-back
    steps: dict[str, StepMark] = {}  # the cutover's mutating steps, by key, as each completed
    label: LabelMark | None = None
    completed: str | None = None  # when the operation completed (cut over, rolled back)
    by: str | None = None  # who rolled it back
    unbound: str | None = None  # when unbind removed the namespace's bindings
    history: tuple[Progress, ...] = ()  # the sections of earlier runs, oldest first (each without history)

    def begin(self, operation: str) -> Progress:
        """The section ``operation`` writes to: this one while it continues the same line of work (a resumed
        cutover, the unbind after it, a resumed rollback); otherwise a fresh one, this one kept in ``history``."""
        if self.operation is None or _LINE.get(self.operation) == _LINE.get(operation):
            return self
        return Progress(operation=operation, history=(*self.history, msgspec.structs.replace(self, history=())))


#: which operations continue one another's progress section
_LINE = {"cutover": "cutover", "unbind": "cutover", "rollback": "rollback"}


class Record:
    def __init__(self, kube: KubeApi, namespace: str, *, dry_run: bool = False, name: str = RECORD_NAME) -> None:
        self.kube = kube
        self.namespace = namespace
        self.dry_run = dry_run
        self.name = name
        self._data: dict[str, Any] | None = None
        self._exists = False

    def load(self) -> dict[str, Any]:
        if self._data is None:
            cm = self.kube.get("ConfigMap", self.namespace, self.name)
            self._exists = cm is not None
            self._data = {}
            for key, value in ((cm or {}).get("data") or {}).items():
                try:
                    self._data[key] = json.loads(value)
                except ValueError:
                    self._data[key] = value
        return self._data

    @property
    def exists(self) -> bool:
        self.load()
        return self._exists

    def get(self, key: str) -> Any:
        return self.load().get(key)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.load() if k.startswith(prefix))

    def _write(self, data: dict[str, str | None]) -> None:
        self.load()
        if not self._exists:
            body = {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(MANAGED_BY),
                                 "annotations": {"wi-migrator/purpose": "before-state of the workload identity "
                                                                       "cutover; read by migrate rollback"}},
                    "data": {k: v for k, v in data.items() if v is not None}}
            try:
                self.kube.create("ConfigMap", self.namespace, body, dry_run=self.dry_run)
                self._exists = not self.dry_run
                return
            except KubeApiError as exc:
                if exc.status != 409:
                    raise
                self._exists = True
        self.kube.patch("ConfigMap", self.namespace, self.name, {"data": data}, dry_run=self.dry_run,
                        content_type=MERGE)

    def remember(self, key: str, value: Any) -> bool:
        """Write-ahead: store ``value`` under ``key`` unless a value is already recorded."""
        if key in self.load():
            return False
        self._write({key: json.dumps(value, sort_keys=True)})
        self.load()[key] = value
        return True

    @property
    def progress(self) -> Progress:
        raw = self.get(PROGRESS)
        if not raw:
            return Progress()
        try:
            return msgspec.convert(raw, Progress)
        except msgspec.ValidationError as exc:
            raise StepFailed(f"the record {self.name} in namespace {self.namespace} has a progress this version "
                             f"cannot read: {exc}",
                             hint=f"kubectl {sh_flag('--namespace', self.namespace)} get configmap {sh(self.name)} "
                                  "--output=yaml") \
                from None

    def put_progress(self, progress: Progress) -> None:
        self.put(PROGRESS, msgspec.to_builtins(progress))

    def put(self, key: str, value: Any) -> None:
        self._write({key: json.dumps(value, sort_keys=True)})
        self.load()[key] = value

    def forget(self, *keys: str) -> None:
        present = [k for k in keys if k in self.load()]
        if not present:
            return
        self._write(dict.fromkeys(present))
        for k in present:
            self.load().pop(k, None)
