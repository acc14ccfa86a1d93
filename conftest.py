"""Test setup for the whole repository (tests/ and testkit/tests/).

The test kit's fixtures (``clock``, ``kube``, ``arm``, ``snapshot_root``) come from its pytest plugin,
registered here: pytest accepts ``pytest_plugins`` only in a conftest it loads before collection,
and this one (at the rootdir) is loaded first whatever path is run. No test may reach a real
cluster or Azure through the developer's environment.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["testkit.pytest_plugin"]


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real cluster or Azure through the developer's environment."""
    for key in list(os.environ):
        if key == "KUBECONFIG" or key.startswith("AZURE_") or key.startswith("MSI_") or key == "IDENTITY_ENDPOINT":
            monkeypatch.delenv(key, raising=False)
