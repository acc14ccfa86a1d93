"""``migrate cutover`` and ``migrate cutover status``: thin wrappers around ``migrator.cutover``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.cutover import (
    Access,
    AzureLoginFailed,
    ClusterUnreachable,
    Connections,
    Interrupts,
    Journal,
    Options,
    Reporter,
    cluster_plan,
    cutover_operation,
    default_journal_path,
    execute,
    load_plan,
    make_reporter,
    make_run,
    namespace_status,
    namespace_target,
    new_journal,
    planned_namespaces,
    refuse_if_the_plan_blocks,
)
from migrator.errors import ExitCode, InputError, SourceError


def run_cutover(plan_path: Path, cluster: str, namespace: str, *, access: Access, options: Options,
                changed_at_source: tuple[str, ...] = (), journal: Path | None = None,
                reporter: Reporter | None = None, stdin: Any = None,
                interrupts: Interrupts | None = None) -> ExitCode:
    plan = load_plan(plan_path)
    target = namespace_target(plan, cluster, namespace, frozenset(changed_at_source))
    refuse_if_the_plan_blocks(target)  # before anything in Azure or the cluster is reached
    reporter = reporter or make_reporter(stdin=stdin)
    log = new_journal(journal or default_journal_path(), access, "cutover")
    conn = Connections(access)
    try:
        run = make_run(target, conn, access, options, reporter, log, "cutover", interrupts)
        run.plan_ref = str(plan_path)
        op = cutover_operation(run)
        execute(run, op, stdin=stdin)
    finally:
        conn.close()
    return ExitCode.OK


def find_plan(where: Path) -> Path:
    """The plan ``cutover status`` reads when none is given: ``./plan.json``, or the ``plan.json`` of the one
    folder ``migrate render`` wrote here (it keeps the plan it rendered); otherwise say what to pass."""
    here = where / "plan.json"
    if here.is_file():
        return Path("plan.json")
    rendered = sorted(d for d in where.iterdir() if d.is_dir() and (d / ".wi-migrator-manifest").is_file()
                      and (d / "plan.json").is_file()) if where.is_dir() else []
    if len(rendered) == 1:
        return rendered[0].relative_to(where) / "plan.json"
    if rendered:
        names = ", ".join(f"{d.name}/plan.json" for d in rendered)
        raise InputError(f"several rendered folders here have a plan ({names}): say which with --plan",
                         hint=f"migrate cutover status --plan {rendered[0].name}/plan.json")
    raise InputError(f"no plan found in {where}: no plan.json here, nor a folder written by migrate render",
                     hint="pass --plan FILE: the file migrate plan --out wrote, or plan.json in the folder migrate "
                          "render --out wrote")


def run_status(plan_path: Path, cluster: str | None, *, access: Access, reporter: Reporter | None = None
               ) -> ExitCode:
    """Per cluster and namespace of the plan, the step each is at, read from the clusters."""
    plan = load_plan(plan_path)
    clusters = [cluster_plan(plan, cluster)] if cluster else [c for c in plan.clusters
                                                             if planned_namespaces(plan, c.name)]
    reporter = reporter or make_reporter()
    journal = Journal(None, clock=access.clock, run="status", operator=access.who(), command="status")
    conn = Connections(access)
    unreachable = 0
    try:
        for cp in clusters:
            lines = []
            try:
                for ns in planned_namespaces(plan, cp.name):
                    # every workload is judged from its live template, wherever it is changed
                    everything = frozenset(f"{w.kind}/{w.name}" for w in plan.workloads
                                           if w.cluster == cp.name and w.namespace == ns)
                    target = namespace_target(plan, cp.name, ns, everything)
                    run = make_run(target, conn, access, Options(dry_run=True), reporter, journal, "status")
                    lines.append(namespace_status(run).line)
            except AzureLoginFailed:
                raise  # the same for every cluster: said once
            except (ClusterUnreachable, SourceError) as exc:
                unreachable += 1
                lines.append(f"unreachable: {exc.message}")
            reporter.header(cp.name, lines)
    finally:
        conn.close()
    return ExitCode.PARTIAL if unreachable else ExitCode.OK
