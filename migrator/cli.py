"""The ``migrate`` command line: parse arguments, call one function per command, map errors to exit codes.

Exit codes (every command):
  0  complete; no finding at or above --fail-on
  1  complete; findings at or above --fail-on (a result, not a failure of the tool)
  2  bad input or arguments; nothing catalogued, nothing written
  3  some clusters could not be read; the rest are reported
  4  internal error (a bug: please report it with the command line)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click

from migrator.errors import ExitCode, MigratorError

EXIT_CODES_HELP = """\b
Exit codes:
  0  complete; no finding at or above --fail-on
  1  complete; findings at or above --fail-on (a result)
  2  bad input or arguments; nothing catalogued or written
  3  some clusters could not be read; the rest are reported
  4  internal error (please report it)"""


def live_options(fn):  # type: ignore[no-untyped-def]
    """Options for reading clusters and Azure live (ignored for clusters with a snapshot)."""
    options = [
        click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Kubeconfig for clusters with 'context:' (default: KUBECONFIG, ~/.kube/config)."),
        click.option("--concurrency", type=click.IntRange(1, 512), default=16, show_default=True,
                     help="Clusters read at once."),
        click.option("--cluster-deadline", type=click.FloatRange(1), default=300.0, show_default=True,
                     help="Seconds after which a cluster that is still being read is reported as failed."),
        click.option("--request-timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
                     help="Seconds per API request."),
        click.option("--arm-endpoint", default=None, metavar="URL",
                     help="Azure Resource Manager endpoint override (private clouds)."),
        click.option("--ca-bundle", type=click.Path(dir_okay=False), default=None,
                     help="CA bundle for the ARM endpoint."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _live(kw: dict) -> "object":
    from migrator.commands.sources import LiveSettings

    return LiveSettings(kubeconfig=kw.pop("kubeconfig"), concurrency=kw.pop("concurrency"),
                        cluster_deadline=kw.pop("cluster_deadline"), request_timeout=kw.pop("request_timeout"),
                        arm_endpoint=kw.pop("arm_endpoint"), ca_bundle=kw.pop("ca_bundle"))


def _fail(error: MigratorError) -> NoReturn:
    click.echo(f"error: {error.render()}", err=True)
    sys.exit(int(error.exit_code))


@click.group(help="Move AKS fleets off AAD Pod Identity onto Entra Workload Identity.\n\n" + EXIT_CODES_HELP)
@click.version_option(package_name="wi-migrator", prog_name="migrate")
def main() -> None:
    pass


@main.command(help="Catalog every pod-identity object, workload and identity of a fleet.\n\n" + EXIT_CODES_HELP)
@click.option("--fleet", "fleet_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The fleet file (docs/fleet-file.md).")
@click.option("--output", "-o", "output", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="Report format.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error", show_default=True,
              help="Lowest finding severity that sets exit code 1.")
@click.option("--ignore", "ignore", default="", metavar="CODE[,CODE]",
              help="Finding codes to silence (counted as ignored in the report).")
@live_options
def catalog(fleet_path: Path, output: str, out: Path | None, fail_on: str, ignore: str, **live: object) -> None:
    from migrator.commands.catalog import run_catalog

    try:
        code = run_catalog(fleet_path, output=output, out=out, fail_on=fail_on,
                           ignore=frozenset(c.strip() for c in ignore.split(",") if c.strip()),
                           live=_live(live))  # type: ignore[arg-type]
    except MigratorError as exc:
        _fail(exc)
    sys.exit(int(code))


@main.command(help="Plan a federated identity credential for every (cluster, namespace, serviceaccount).\n\n"
                   "With --check, exit code 1 means something is blocked.\n\n" + EXIT_CODES_HELP)
@click.option("--fleet", "fleet_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The fleet file (docs/fleet-file.md).")
@click.option("--strategy", type=click.Choice(["reuse", "per-workload"]), default="reuse", show_default=True,
              help="reuse: federate the identities the bindings use; per-workload: a new identity per workload.")
@click.option("--sa-conflicts", type=click.Choice(["split", "client-id-env"]), default="split", show_default=True,
              help="Remedy for a service account shared by workloads bound to different identities.")
@click.option("--proxy-sidecar", multiple=True, metavar="NAMESPACE/WORKLOAD",
              help="Plan this workload with the migration sidecar (repeatable; CLUSTER/NAMESPACE/WORKLOAD too).")
@click.option("--acknowledge-data-plane-grants", is_flag=True,
              help="Required with --strategy per-workload: grants outside ARM are not copied.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the plan here (atomically); the summary goes to stdout.")
@click.option("--check", is_flag=True, help="Exit 1 when any item is blocked.")
@live_options
def plan(fleet_path: Path, strategy: str, sa_conflicts: str, proxy_sidecar: tuple[str, ...],
         acknowledge_data_plane_grants: bool, out: Path | None, check: bool, **live: object) -> None:
    from migrator.commands.plan import run_plan

    try:
        code = run_plan(fleet_path, out=out, check=check, strategy=strategy, sa_conflicts=sa_conflicts,
                        proxy_sidecar=proxy_sidecar, acknowledge=acknowledge_data_plane_grants,
                        live=_live(live))
    except MigratorError as exc:
        _fail(exc)
    sys.exit(int(code))


@main.command(help="Explain a finding code: its cause, risk, remediation and references.\n\n"
                    "Without CODE, list every code with its severity and title.")
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    from migrator.commands.explain import explain as explain_code

    try:
        click.echo(explain_code(code), nl=False)
    except MigratorError as exc:
        _fail(exc)


@main.command(help="Write the snapshot layout (redacted) from the live sources, and a fleet file that "
                   "points at it. Read-only: only GET/LIST requests.\n\n" + EXIT_CODES_HELP)
@click.option("--fleet", "fleet_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The fleet file (docs/fleet-file.md).")
@click.option("--to", "to", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The snapshot folder to create.")
@click.option("--force", is_flag=True, help="Replace --to if it exists.")
@live_options
def snapshot(fleet_path: Path, to: Path, force: bool, **live: object) -> None:
    from migrator.commands.snapshot import run_snapshot

    try:
        code = run_snapshot(fleet_path, to, force=force, live=_live(live))  # type: ignore[arg-type]
    except MigratorError as exc:
        _fail(exc)
    sys.exit(int(code))


@main.command(help="Render the plan: Terraform for the PR, Kustomize components, a runbook per namespace.\n\n"
                   "Writes --out atomically; replaces only the files it wrote before (listed in "
                   ".wi-migrator-manifest) and never touches files you added.\n\n" + EXIT_CODES_HELP)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A plan file from migrate plan.")
@click.option("--fleet", "fleet_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Plan this fleet file first, with the plan command's defaults (instead of --plan).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The output folder (created if missing).")
def render(plan_path: Path | None, fleet_path: Path | None, out: Path) -> None:
    from migrator.commands.render import run_render

    if (plan_path is None) == (fleet_path is None):
        raise click.UsageError("give exactly one of --plan and --fleet")
    try:
        code = run_render(plan_path=plan_path, fleet_path=fleet_path, out=out)
    except MigratorError as exc:
        _fail(exc)
    sys.exit(int(code))


def run() -> None:
    """Entry point: no stack trace ever reaches the user."""
    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                   "  this is a bug in wi-migrator: please report it with the command you ran", err=True)
        sys.exit(4)


if __name__ == "__main__":  # pragma: no cover
    run()
