"""``migrate finalize``: the end of AAD Pod Identity on a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.cutover.clients.connection import Access, Connections
from migrator.cutover.engine.console import Reporter, make_reporter
from migrator.cutover.engine.context import Interrupts, Options
from migrator.cutover.engine.executor import execute, make_run, new_journal
from migrator.cutover.engine.journal import default_journal_path
from migrator.cutover.finalize import finalize_operation, terraform_disable_addon
from migrator.cutover.target import cluster_target, load_plan
from migrator.cutover.unbind import CLUSTER_LEASE, CLUSTER_LEASE_NAMESPACE
from migrator.errors import ExitCode
from migrator.write import atomic_write_text


def run_finalize(plan_path: Path, cluster: str, *, access: Access, options: Options, journal: Path | None = None,
                 reporter: Reporter | None = None, stdin: Any = None, interrupts: Interrupts | None = None,
                 terraform_out: Path | None = None) -> ExitCode:
    plan = load_plan(plan_path)
    reporter = reporter or make_reporter(stdin=stdin)
    log = new_journal(journal or default_journal_path(), access, "finalize")
    conn = Connections(access)
    try:
        run = make_run(cluster_target(plan, cluster, CLUSTER_LEASE_NAMESPACE), conn, access, options, reporter, log,
                       "finalize", interrupts, lease_name=CLUSTER_LEASE, scope=f"cluster {cluster}")
        run.plan_ref = str(plan_path)
        execute(run, finalize_operation(run), stdin=stdin)
        if terraform_out is not None and run.target.cluster.terraform_issuer:
            atomic_write_text(terraform_out, terraform_disable_addon(run) + "\n")
    finally:
        conn.close()
    return ExitCode.OK
