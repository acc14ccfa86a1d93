"""``migrate unbind``: remove the pod identity bindings of cut-over namespaces (kept in the record)."""

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
    load_plan,
    make_reporter,
    make_run,
    namespace_target,
    new_journal,
    unbind_operation,
)
from migrator.errors import ExitCode


def run_unbind(plan_path: Path, cluster: str, namespace: str | None, *, access: Access, options: Options,
               journal: Path | None = None, reporter: Reporter | None = None, stdin: Any = None,
               interrupts: Interrupts | None = None) -> ExitCode:
    plan = load_plan(plan_path)
    reporter = reporter or make_reporter(stdin=stdin)
    log = new_journal(journal or default_journal_path(), access, "unbind")
    conn = Connections(access)
    try:
        if namespace:
            run = make_run(namespace_target(plan, cluster, namespace), conn, access, options, reporter, log, "unbind",
                           interrupts)
        else:
            run = make_run(cluster_target(plan, cluster, CLUSTER_LEASE_NAMESPACE), conn, access, options, reporter,
                           log, "unbind", interrupts, lease_name=CLUSTER_LEASE, scope=f"cluster {cluster}")
        run.plan_ref = str(plan_path)
        execute(run, unbind_operation(run, namespace), stdin=stdin)
    finally:
        conn.close()
    return ExitCode.OK
