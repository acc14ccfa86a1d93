"""``migrate render``: the plan turned into Terraform, Kustomize components and runbooks, written atomically.

``--plan plan.json`` renders a plan file as it is. ``--fleet fleet.yaml`` plans first (with the
plan command's defaults) and also reads the catalog's findings, so the interim
AzurePodIdentityExceptions that FLUX_WITHOUT_EXCEPTION asks for are rendered too (a plan file does
not carry findings: with ``--plan`` they are left out, and the summary says so).
"""

from __future__ import annotations

import sys
from pathlib import Path

from migrator.errors import ExitCode, InputError, visible
from migrator.findings.model import Finding
from migrator.inventory.catalog import Catalog
from migrator.inventory.model import ClusterFailure, label
from migrator.inventory.pod_identity_exceptions import FLUX_NAME_LABEL
from migrator.plan.model import Plan
from migrator.plan_file import read_plan
from migrator.render import ExceptionNeed, render_plan
from migrator.render.tree import check_out, write_tree
from migrator.sources.access import LiveSettings

FLUX_CODE = "FLUX_WITHOUT_EXCEPTION"


def exception_needs(catalog: Catalog, findings: tuple[Finding, ...]) -> tuple[ExceptionNeed, ...]:
    """The exceptions the FLUX_WITHOUT_EXCEPTION findings ask for: one per (namespace, label pair)."""
    clusters = {c.name: c for c in catalog.inventory.clusters}
    needs: set[ExceptionNeed] = set()
    for f in findings:
        c = clusters.get(f.cluster)
        if f.code != FLUX_CODE or c is None:
            continue
        for w in c.workloads or ():
            value = label(w.template.labels, FLUX_NAME_LABEL)
            if w.ref.namespace == f.namespace and str(w.ref) == f.object and value:
                addon = bool(c.facts is not None and c.facts.addon.enabled)
                needs.add(ExceptionNeed(cluster=c.name, namespace=f.namespace, key=FLUX_NAME_LABEL, value=value,
                                        addon=addon))
    return tuple(sorted(needs, key=lambda e: (e.cluster, e.namespace, e.key, e.value)))


def inputs_for_fleet(fleet_path: Path, live: LiveSettings | None = None
                     ) -> tuple[Plan, tuple[ExceptionNeed, ...], tuple[ClusterFailure, ...]]:
    """Plan and findings from one read of the fleet (a live fleet is read once, so the two agree), and the
    clusters that could not be read."""
    from migrator.commands.plan import plan_of
    from migrator.pipeline import read_fleet

    run = read_fleet(fleet_path, live=live)
    return plan_of(run), exception_needs(run.catalog, run.findings), run.inventory.failures


def run_render(*, plan_path: Path | None, fleet_path: Path | None, out: Path,
               live: LiveSettings | None = None) -> ExitCode:
    check_out(out)
    needs: tuple[ExceptionNeed, ...] = ()
    unread: tuple[ClusterFailure, ...] = ()
    if plan_path is not None:
        plan = read_plan(plan_path)
    elif fleet_path is not None:
        plan, needs, unread = inputs_for_fleet(fleet_path, live)
    else:  # the CLI requires one of them
        raise InputError("give --plan or --fleet")
    files = render_plan(plan, needs)
    result = write_tree(files, out)
    for what in result.recovered:
        sys.stderr.write(f"note: an interrupted render into {visible(out)} was {what} first (its staging folder "
                         "removed)\n")
    sys.stdout.write(f"rendered {len(files)} files into {visible(out)}: {len(result.written)} written, "
                     f"{len(result.unchanged)} unchanged, {len(result.removed)} removed\n")
    if plan_path is not None:
        sys.stderr.write("note: interim pod identity exceptions are rendered only with --fleet (a plan file "
                         "has no findings)\n")
    if unread:
        from migrator.commands.catalog import report_unread

        report_unread(unread, "above; the plan blocks them, and nothing is rendered for them")
        return ExitCode.PARTIAL
    return ExitCode.OK
