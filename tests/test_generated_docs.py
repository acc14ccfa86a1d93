"""Generated reference pages stay in step with the code they describe."""

from __future__ import annotations

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(("page", "module"), [("docs/cli.md", "migrator.cli_reference"),
                                              ("docs/plan-json.md", "migrator.plan.schema_doc")])
def test_generated_page_is_up_to_date(page: str, module: str) -> None:
    import importlib

    fresh = importlib.import_module(module).render()
    assert (REPO / page).read_text(encoding="utf-8") == fresh, f"{page} is stale: run  python -m {module} > {page}"


def test_the_plan_schema_page_names_every_key_the_plan_writes() -> None:
    import json

    plan = json.loads((REPO / "sample_output" / "plan.json").read_text())
    page = (REPO / "docs" / "plan-json.md").read_text()
    assert all(f"| `{key}` |" in page for key in plan)
    assert all(f"| `{key}` |" in page for key in plan["credentials"][0])


def test_every_local_link_in_the_docs_points_somewhere() -> None:
    import re

    missing = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "examples" / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(REPO)} -> {target}")
    assert missing == []
