"""Rendering: Terraform, Kubernetes manifests and runbooks from a plan, and the escaping filters.

One stage, one small interface: ``render_plan(plan, exceptions)`` returns every file of the output
tree (relative POSIX path → bytes), deterministically; ``tree.write_tree`` puts it on disk atomically.
The tree includes ``plan.json``, the plan it was rendered from, which the runbooks' commands read.

::

    view.py        the plan grouped by cluster and namespace, in wave order, with each item's state
    names.py       Terraform labels, provider aliases, file and folder names
    terraform.py   terraform/: versions, providers, identities, fic_<cluster>.tf, prerequisites
    kubernetes.py  kubernetes/<cluster>/<namespace>/: Kustomize components (dicts, never templates)
    yamlwriter.py  those dicts as YAML: PyYAML's exact bytes, written fast for plain documents
    runbooks.py    runbooks/: one per namespace and per cluster, the index of waves; the top README
    templates.py   the Jinja2 environment (strict, filters from escape.py); templates/ holds layout only
    escape.py      one escaping filter per output language
    tree.py        the atomic writer and the manifest of owned files
"""

from __future__ import annotations

from migrator import collector
from migrator.plan.model import Plan, encode
from migrator.render.view import ExceptionNeed, build_view


def render_plan(plan: Plan, exceptions: tuple[ExceptionNeed, ...] = ()) -> dict[str, bytes]:
    """Every file of the output folder for ``plan``, by relative path; the same bytes on every run."""
    with collector.paused():  # render keeps nearly all it allocates: nothing for the collector to find
        return _render(plan, exceptions)


def _render(plan: Plan, exceptions: tuple[ExceptionNeed, ...]) -> dict[str, bytes]:
    from migrator.render.kubernetes import render_kubernetes
    from migrator.render.runbooks import render_runbooks
    from migrator.render.terraform import (
        build_model,
        client_id_outputs,
        render_terraform,
    )

    view = build_view(plan, exceptions)
    model = build_model(view)
    outputs = client_id_outputs(model)  # the manifests and runbooks name the Terraform outputs of new identities
    files: dict[str, str] = {}
    for part in (render_terraform(view, model), render_kubernetes(view, outputs), render_runbooks(view, outputs)):
        overlap = files.keys() & part.keys()
        if overlap:
            raise ValueError(f"two renderers wrote {sorted(overlap)}")  # a bug, never user input
        files.update(part)
    files["plan.json"] = encode(plan)  # the runbooks' migrate commands read the plan they were rendered from
    # each text is dropped as soon as its bytes exist: the tree is in memory once, not twice
    return {path: files.pop(path).encode("utf-8") for path in sorted(files)}


__all__ = ["ExceptionNeed", "render_plan"]
