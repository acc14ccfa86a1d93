"""``migrate plan``: the catalog turned into a reviewable, schema-versioned plan file."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from migrator.errors import ExitCode, InputError, visible
from migrator.pipeline import FleetRun, read_fleet
from migrator.plan.build import PlanOptions, build_plan
from migrator.plan.model import Plan, encode
from migrator.sources.access import LiveSettings
from migrator.write import atomic_write_text, check_target, is_stdout


def plan_for_fleet(fleet_path: Path, *, strategy: str = "reuse", sa_conflicts: str = "split",
                   proxy_sidecar: tuple[str, ...] = (), acknowledge: bool = False,
                   live: LiveSettings | None = None) -> tuple[Plan, bool]:
    check_strategy(strategy, acknowledge)
    run = read_fleet(fleet_path, live=live)
    return plan_of(run, strategy=strategy, sa_conflicts=sa_conflicts, proxy_sidecar=proxy_sidecar), run.partial


def check_strategy(strategy: str, acknowledge: bool) -> None:
    """Refused before anything is read: per-workload needs the data-plane grants acknowledged."""
    if strategy == "per-workload" and not acknowledge:
        raise InputError(
            "--strategy per-workload creates new identities, and only their ARM role assignments can be copied",
            hint="grants outside ARM (Key Vault access policies, database users, ...) must be redone by hand; "
                 "pass --acknowledge-data-plane-grants once you have checked them",
        )


def plan_of(run: FleetRun, *, strategy: str = "reuse", sa_conflicts: str = "split",
            proxy_sidecar: tuple[str, ...] = ()) -> Plan:
    """The plan for one read of the fleet (the fleet file's own settings, then the command's)."""
    fleet = run.fleet
    options = PlanOptions(
        strategy=strategy, service_account_conflicts=sa_conflicts,
        proxy_sidecar=frozenset((*fleet.proxy_sidecar, *proxy_sidecar)),
        terraform_issuers={c.name: c.terraform_issuer for c in fleet.clusters if c.terraform_issuer},
    )
    return build_plan(run.catalog, options)


def summary(plan: Plan) -> str:
    by_status = Counter(c.status for c in plan.credentials)
    lines = [
        f"plan ({plan.strategy}): {len(plan.credentials)} federated credentials — "
        f"{by_status['create']} to create, {by_status['present']} already present, "
        f"{by_status['pending-prerequisite']} waiting for a prerequisite, {by_status['blocked']} blocked",
    ]
    per_cluster = Counter((c.cluster, c.status) for c in plan.credentials)
    for cluster in plan.clusters:
        counts = {s: per_cluster[(cluster.name, s)] for s in ("create", "present", "pending-prerequisite", "blocked")}
        lines.append(f"  {cluster.name}: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) if any(
            counts.values()) else f"  {cluster.name}: nothing to federate")
    for p in plan.prerequisites:
        lines.append(f"  prerequisite {p.cluster}: {p.kind}: {p.command}")
    for ident in plan.identities:
        flag = "  OVER LIMIT" if ident.over_limit else ""
        lines.append(f"  identity {ident.identity.name}: {ident.to_create} new + {len(ident.existing)} existing "
                     f"= {ident.total_after}/{ident.limit}{flag}")
    for n in plan.new_identities:
        lines.append(f"  new identity {n.name} in {n.resource_group}: {len(n.clusters)} clusters, "
                     f"{len(n.role_assignments)} role assignments to copy")
    for b in plan.blocked:
        where = "/".join(x for x in (b.cluster, b.namespace, b.object) if x)
        lines.append(f"  BLOCKED {where}: {b.reason}" + (f" — {b.proposal}" if b.proposal else ""))
    for r in plan.risks:
        lines.append(f"  risk {r.code} {r.cluster}/{r.namespace}/{r.object}: {r.message}")
    for note in plan.notes:
        lines.append(f"  note: {note}")
    return "".join(visible(line) + "\n" for line in lines)  # a value cannot drive the terminal or add a line


def run_plan(fleet_path: Path, *, out: Path | None, check: bool, strategy: str = "reuse", sa_conflicts: str = "split",
             proxy_sidecar: tuple[str, ...] = (), acknowledge: bool = False,
             live: LiveSettings | None = None) -> ExitCode:
    if not is_stdout(out):
        assert out is not None
        check_target(out)  # a device or a FIFO is refused before the fleet is read
    plan, partial = plan_for_fleet(fleet_path, strategy=strategy, sa_conflicts=sa_conflicts,
                                   proxy_sidecar=proxy_sidecar, acknowledge=acknowledge, live=live)
    text = encode(plan)
    if not is_stdout(out):
        assert out is not None
        atomic_write_text(out, text)
        sys.stdout.write(summary(plan))
    else:
        sys.stdout.write(text)
        sys.stderr.write(summary(plan))
    if partial:
        return ExitCode.PARTIAL
    if check and plan.has_blocked:
        return ExitCode.FINDINGS
    return ExitCode.OK
