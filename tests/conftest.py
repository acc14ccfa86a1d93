"""Repository paths for the tests (the hermetic environment and the test kit's fixtures come from the
root conftest.py)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests/data/upstream"  # upstream and synthetic API documents; provenance in its SOURCES.md
EXAMPLES = REPO / "examples"
