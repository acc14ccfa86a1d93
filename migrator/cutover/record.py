"""The record kept in the cluster: a ConfigMap ``wi-migrator-record`` in the namespace.

It holds what a rollback needs, so a rollback works from any machine with access to the cluster:

* ``before.<Kind>.<name>``: the before-state of every object the cutover changed, written *before*
  the object is changed (write-ahead) and never overwritten, so a resumed run keeps the original:
  the pod-template labels ``aadpodidbinding`` and ``azure.workload.identity/use``, the
  ``serviceAccountName``, containers' ``AZURE_CLIENT_ID``, a service account's annotations (or that
  it did not exist);
* ``removed.<Kind>.<name>`` / ``removed.addon.<namespace>.<name>``: the full document of every
  AzureIdentityBinding (or add-on pod identity) ``migrate unbind`` removed, so it can be recreated;
* ``progress``: the last operation, its state and when each step completed (shown by ``status``).

Values are JSON. Writes are merge patches of single keys (never a read-modify-write of the whole
map), and go as dry runs under ``--dry-run``.
"""

from __future__ import annotations

import json
from typing import Any

from migrator.cutover.kube import MERGE, KubeApi, KubeApiError
from migrator.cutover.lease import MANAGED_BY

RECORD_NAME = "wi-migrator-record"


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
