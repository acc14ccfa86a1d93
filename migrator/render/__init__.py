"""Rendering: Terraform, Kubernetes manifests and runbooks from a plan, and the escaping filters.

One stage, one small interface: ``render_plan(plan, exceptions)`` returns every file of the output
tree (relative POSIX path → bytes), deterministically; ``tree.write_tree`` puts it on disk atomically.
The tree includes ``plan.json``, the plan it was rendered from, which the runbooks' commands read.

::

    view.py        the plan grouped by cluster and namespace, in wave order, with each item's state
    names.py       Terraform labels, provider aliases, file and folder names
    terraform.py   terraform/: versions, providers, identities, fic_<cluster>.tf, prerequisites
    kubernetes.py  kubernetes/<cluster>/<namespace>/: Kustomize components (ruamel.yaml, never templates)
    runbooks.py    runbooks/: one per namespace and per cluster, the index of waves; the top README
    templates.py   the Jinja2 environment (strict, filters from escape.py); templates/ holds layout only
    escape.py      one escaping filter per output language
    tree.py        the atomic writer and the manifest of owned files
"""

from __future__ import annotations

from migrator.plan.model import Plan, encode
from migrator.render.view import ExceptionNeed, build_view


def render_plan(plan: Plan, exceptions: tuple[ExceptionNeed, ...] = ()) -> dict[str, bytes]:
    """Every file of the output folder for ``plan``, by relative path; the same bytes on every run."""
    from migrator.render.kubernetes import render_kubernetes
    from migrator.render.runbooks import render_runbooks
    from migrator.render.terraform import render_terraform

    view = build_view(plan, exceptions)
    files: dict[str, str] = {}
    for part in (render_terraform(view), render_kubernetes(view), render_runbooks(view)):
        overlap = files.keys() & part.keys()
        if overlap:
            raise ValueError(f"two renderers wrote {sorted(overlap)}")  # a bug, never user input
        files.update(part)
    files["plan.json"] = encode(plan)  # the runbooks' migrate commands read the plan they were rendered from
    return {path: text.encode("utf-8") for path, text in sorted(files.items())}


__all__ = ["ExceptionNeed", "render_plan"]
