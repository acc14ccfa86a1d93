"""``migrate rollback``: a namespace back to AAD Pod Identity, from the record kept in the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.cutover import (
    Access,
    Connections,
    Interrupts,
    Options,
    Reporter,
    default_journal_path,
    execute,
    load_plan,
    make_reporter,
    make_run,
    namespace_target,
    new_journal,
    rollback_operation,
)
from migrator.errors import ExitCode


def run_rollback(plan_path: Path, cluster: str, namespace: str, *, access: Access, options: Options,
                 journal: Path | None = None, reporter: Reporter | None = None, stdin: Any = None,
                 interrupts: Interrupts | None = None) -> ExitCode:
    plan = load_plan(plan_path)
    target = namespace_target(plan, cluster, namespace)
    reporter = reporter or make_reporter(stdin=stdin)
    log = new_journal(journal or default_journal_path(), access, "rollback")
    conn = Connections(access)
    try:
        run = make_run(target, conn, access, options, reporter, log, "rollback", interrupts)
        run.plan_ref = str(plan_path)
        execute(run, rollback_operation(run), stdin=stdin)
    finally:
        conn.close()
    return ExitCode.OK
