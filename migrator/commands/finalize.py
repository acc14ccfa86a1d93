"""``migrate finalize``: the end of AAD Pod Identity on a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.cutover import (
    CLUSTER_LEASE,
    CLUSTER_LEASE_NAMESPACE,
    Access,
    Connections,
    Interrupts,
    Options,
    Reporter,
    cluster_target,
    default_journal_path,
    execute,
    finalize_operation,
    load_plan,
    make_reporter,
    make_run,
    new_journal,
    terraform_disable_addon,
)
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
            atomic_write_text(terraform_out, terraform_disable_addon(run.target.cluster))
    finally:
        conn.close()
    return ExitCode.OK
