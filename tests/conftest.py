"""Shared test setup: hermetic environment, repository paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests/data/upstream"  # upstream and synthetic API documents; provenance in its SOURCES.md
EXAMPLES = REPO / "examples"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real cluster or Azure through the developer's environment."""
    for key in list(os.environ):
        if key == "KUBECONFIG" or key.startswith("AZURE_") or key.startswith("MSI_") or key == "IDENTITY_ENDPOINT":
            monkeypatch.delenv(key, raising=False)
