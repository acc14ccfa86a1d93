"""The ``migrate`` command line: parse arguments, call one function per command, map errors to exit codes.

The exit codes are ``migrator.errors.ExitCode``; each command's ``--help`` lists the ones it can return
(generated from the enum, as is docs/cli.md). Options several commands share (``--kubeconfig``,
``--arm-endpoint``, ``--ca-bundle``, ``--request-timeout``) are defined once, below, and mean the same
everywhere. ``-o/--output`` is a format, ``--out`` a destination, in every command.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from migrator.errors import ExitCode, MigratorError, exit_codes_help, visible

if TYPE_CHECKING:
    from migrator.cutover import Access, Interrupts, Options, Reporter
    from migrator.sources.access import LiveSettings

F = TypeVar("F", bound=Callable[..., Any])

OK, FINDINGS, BAD_INPUT, PARTIAL, INTERNAL, INTERRUPTED = ExitCode

NOTHING_WRITTEN = "interrupted (Ctrl-C); nothing was written"
EXIT_CODES_HELP = exit_codes_help(ExitCode) + "\n\nEach command's --help lists the codes it returns, in its terms."
CATALOG_EXIT_CODES_HELP = exit_codes_help(ExitCode, {
    OK: "complete; no finding at or above --fail-on",
    FINDINGS: "complete; findings at or above --fail-on (a result, not a failure of the tool)",
    BAD_INPUT: "bad input or arguments; nothing catalogued, nothing written",
    PARTIAL: "some clusters could not be read; the rest are reported",
    INTERRUPTED: NOTHING_WRITTEN})
PLAN_EXIT_CODES_HELP = exit_codes_help(ExitCode, {
    OK: "complete (with --check: nothing is blocked)",
    BAD_INPUT: "bad input or arguments; nothing written",
    PARTIAL: "some clusters could not be read; the rest are planned",
    FINDINGS: "with --check: something is blocked (a result, not a failure of the tool)",
    INTERRUPTED: NOTHING_WRITTEN})
EXPLAIN_EXIT_CODES_HELP = exit_codes_help((OK, BAD_INPUT, INTERNAL, INTERRUPTED), {
    OK: "explained", BAD_INPUT: "unknown finding code", INTERRUPTED: "interrupted (Ctrl-C)"})
RENDER_EXIT_CODES_HELP = exit_codes_help((OK, BAD_INPUT, PARTIAL, INTERNAL, INTERRUPTED), {
    OK: "rendered", BAD_INPUT: "bad input or arguments; nothing written",
    PARTIAL: "with --fleet: some clusters could not be read; the rest is rendered",
    INTERRUPTED: "interrupted (Ctrl-C); each file is whole (old or new): run the command again"})
SNAPSHOT_EXIT_CODES_HELP = exit_codes_help((OK, BAD_INPUT, PARTIAL, INTERNAL, INTERRUPTED), {
    OK: "written", BAD_INPUT: "bad input or arguments; nothing written",
    PARTIAL: "some clusters could not be read; the others are written",
    INTERRUPTED: NOTHING_WRITTEN})
DISCOVER_EXIT_CODES_HELP = exit_codes_help((OK, BAD_INPUT, PARTIAL, INTERNAL, INTERRUPTED), {
    OK: "written",
    BAD_INPUT: "bad arguments, a query Resource Graph rejects, an existing --out, nothing found; nothing written",
    PARTIAL: "part of the scope could not be read; the rest was written",
    INTERRUPTED: NOTHING_WRITTEN})
CUTOVER_MEANINGS = {
    OK: "done (or nothing to do)",
    FINDINGS: "a step refused or failed; the message says what to do",
    BAD_INPUT: "bad input or arguments; nothing changed",
    PARTIAL: "the cluster (or Azure) could not be reached",
    INTERRUPTED: "interrupted (Ctrl-C): stopped between steps, lease released",
}
CUTOVER_EXIT_CODES_HELP = exit_codes_help(ExitCode, CUTOVER_MEANINGS)
STATUS_EXIT_CODES_HELP = exit_codes_help((OK, BAD_INPUT, PARTIAL, INTERNAL, INTERRUPTED), {
    **CUTOVER_MEANINGS, OK: "every cluster was read", INTERRUPTED: "interrupted (Ctrl-C)"})

# How to go on after Ctrl-C, by command (the group prints it; every command exits 130).
RESUME = {
    "catalog": "nothing was written; run the command again",
    "plan": "nothing was written; run the command again",
    "snapshot": "nothing was written; run the command again",
    "discover": "nothing was written; run the command again",
    "render": "every file is whole (old or new); run the command again to finish",
    **dict.fromkeys(("cutover", "rollback", "unbind", "finalize"),
                    "run the same command again: it continues from the first step that does not hold "
                    "(migrate cutover status shows where each namespace stands)"),
}


# ------------------------------------------------------------------------- options several commands share

def fleet_option(*, required: bool = True) -> Callable[[F], F]:
    return click.option("--fleet", "fleet_path", required=required, default=None,
                        type=click.Path(path_type=Path, dir_okay=False), help="The fleet file (docs/fleet-file.md).")


def force_option() -> Callable[[F], F]:
    return click.option("--force", is_flag=True, help="Replace --out if it exists (what it holds is lost).")


def kubeconfig_option() -> Callable[[F], F]:
    return click.option(
        "--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None,
        help="Kubeconfig for clusters reached through a context (default: KUBECONFIG, then ~/.kube/config): "
             "clusters with 'context:' in the fleet file; for the cutover commands, giving it (or --context) "
             "reaches the cluster through it instead of through ARM.")


def arm_endpoint_option() -> Callable[[F], F]:
    return click.option("--arm-endpoint", default=None, metavar="URL",
                        help="Azure Resource Manager endpoint override (private clouds).")


def ca_bundle_option() -> Callable[[F], F]:
    return click.option("--ca-bundle", type=click.Path(dir_okay=False), default=None,
                        help="CA bundle (PEM) for the ARM and Entra endpoints.")


def request_timeout_option() -> Callable[[F], F]:
    return click.option("--request-timeout", type=click.FloatRange(0.1), default=30.0, show_default=True,
                        help="Seconds per API request.")


def live_options(fn: F) -> F:
    """Options for reading clusters and Azure live (ignored for clusters with a snapshot)."""
    options = [
        kubeconfig_option(),
        click.option("--concurrency", type=click.IntRange(1, 512), default=16, show_default=True,
                     help="Clusters read at once."),
        click.option("--cluster-deadline", type=click.FloatRange(1), default=300.0, show_default=True,
                     help="Seconds after which a cluster that is still being read is reported as failed."),
        request_timeout_option(),
        arm_endpoint_option(),
        ca_bundle_option(),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _live(kw: dict[str, Any]) -> LiveSettings:
    from migrator.commands.progress import reader_class
    from migrator.sources.access import LiveSettings

    return LiveSettings(kubeconfig=kw.pop("kubeconfig"), concurrency=kw.pop("concurrency"),
                        cluster_deadline=kw.pop("cluster_deadline"), request_timeout=kw.pop("request_timeout"),
                        arm_endpoint=kw.pop("arm_endpoint"), ca_bundle=kw.pop("ca_bundle"),
                        reader_class=reader_class())


def _fail(error: MigratorError) -> NoReturn:
    click.echo(f"error: {error.render()}", err=True)
    sys.exit(int(error.exit_code))


class _Group(click.Group):
    """Every command's MigratorError becomes one line on stderr and its exit code, here and only here."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MigratorError as exc:
            _fail(exc)
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1, the code for findings
            resume = RESUME.get(ctx.invoked_subcommand or "")
            click.echo("\ninterrupted (Ctrl-C)" + (f": {resume}" if resume else ""), err=True)
            sys.exit(int(ExitCode.INTERRUPTED))


@click.group(cls=_Group, help="Move AKS fleets off AAD Pod Identity onto Entra Workload Identity.\n\n" + EXIT_CODES_HELP)
@click.version_option(package_name="wi-migrator", prog_name="migrate")
def main() -> None:
    pass


@main.command(help="Catalog every pod-identity object, workload and identity of a fleet.\n\n"
                   + CATALOG_EXIT_CODES_HELP)
@fleet_option()
@click.option("--output", "-o", "output", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="Report format.")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the report to this file (atomically) instead of stdout ('-': stdout).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error", show_default=True,
              help="Lowest finding severity that sets exit code 1.")
@click.option("--ignore", "ignore", default="", metavar="CODE[,CODE]",
              help="Finding codes to silence (counted as ignored in the report).")
@live_options
def catalog(fleet_path: Path, output: str, out: Path | None, fail_on: str, ignore: str, **live: object) -> None:
    from migrator.commands.catalog import run_catalog

    code = run_catalog(fleet_path, output=output, out=out, fail_on=fail_on,
                       ignore=frozenset(c.strip() for c in ignore.split(",") if c.strip()),
                       live=_live(live))
    sys.exit(int(code))


@main.command(help="Plan a federated identity credential for every (cluster, namespace, serviceaccount).\n\n"
                   + PLAN_EXIT_CODES_HELP)
@fleet_option()
@click.option("--strategy", type=click.Choice(["reuse", "per-workload"]), default="reuse", show_default=True,
              help="reuse: federate the identities the bindings use; per-workload: a new identity per workload.")
@click.option("--sa-conflicts", type=click.Choice(["split", "client-id-env"]), default="split", show_default=True,
              help="Remedy for a service account shared by workloads bound to different identities.")
@click.option("--proxy-sidecar", multiple=True, metavar="NAMESPACE/WORKLOAD",
              help="Plan this workload with the migration sidecar (repeatable; CLUSTER/NAMESPACE/WORKLOAD too).")
@click.option("--acknowledge-data-plane-grants", is_flag=True,
              help="Required with --strategy per-workload: grants outside ARM are not copied.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the plan here (atomically); the summary goes to stdout ('-': the plan to stdout).")
@click.option("--check", is_flag=True, help="Exit 1 when any item is blocked.")
@live_options
def plan(fleet_path: Path, strategy: str, sa_conflicts: str, proxy_sidecar: tuple[str, ...],
         acknowledge_data_plane_grants: bool, out: Path | None, check: bool, **live: object) -> None:
    from migrator.commands.plan import run_plan

    code = run_plan(fleet_path, out=out, check=check, strategy=strategy, sa_conflicts=sa_conflicts,
                    proxy_sidecar=proxy_sidecar, acknowledge=acknowledge_data_plane_grants,
                    live=_live(live))
    sys.exit(int(code))


@main.command(help="Explain a finding code: its cause, risk, remediation and references.\n\n"
                    "Without CODE, list every code with its severity and title.\n\n" + EXPLAIN_EXIT_CODES_HELP)
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    from migrator.commands.explain import explain as explain_code

    click.echo(explain_code(code), nl=False)


@main.command(help="Write the snapshot layout (redacted) from the live sources, and a fleet file that "
                   "points at it. Read-only: only GET/LIST requests.\n\n" + SNAPSHOT_EXIT_CODES_HELP)
@fleet_option()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="The snapshot folder to create.  [required]")
@click.option("--to", "to", type=click.Path(path_type=Path, file_okay=False), default=None, hidden=True,
              help="Deprecated: the old name of --out.")
@force_option()
@live_options
def snapshot(fleet_path: Path, out: Path | None, to: Path | None, force: bool, **live: object) -> None:
    from migrator.commands.snapshot import run_snapshot

    if to is not None:
        if out is not None:
            raise click.UsageError("give --out only (--to is its deprecated old name)")
        click.echo("warning: --to is deprecated and will be removed: use --out", err=True)
        out = to
    if out is None:
        raise click.UsageError("Missing option '--out'.")
    code = run_snapshot(fleet_path, out, force=force, live=_live(live))
    sys.exit(int(code))


@main.command(help="Render the plan: Terraform for the PR, Kustomize components, a runbook per namespace.\n\n"
                   "Writes --out atomically; replaces only the files it wrote before (listed in "
                   ".wi-migrator-manifest) and never touches files you added. Give --plan, or --fleet to plan "
                   "the fleet first with the plan command's defaults.\n\n" + RENDER_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="The plan file (migrate plan --out).")
@fleet_option(required=False)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The output folder (created if missing).")
@live_options
def render(plan_path: Path | None, fleet_path: Path | None, out: Path, **live: object) -> None:
    from migrator.commands.render import run_render

    if (plan_path is None) == (fleet_path is None):
        raise click.UsageError("give exactly one of --plan and --fleet")
    code = run_render(plan_path=plan_path, fleet_path=fleet_path, out=out, live=_live(live))
    sys.exit(int(code))


# ---------------------------------------------------------------------------------------- discover
@main.command(help="Write a fleet file for every AKS cluster in scope, found with Azure Resource Graph "
                   "(docs/discover.md). Read-only. Never overwrites --out without --force; --merge adds new "
                   "clusters and keeps your edits.\n\n" + DISCOVER_EXIT_CODES_HELP)
@click.option("--subscription", "subscriptions", multiple=True, metavar="ID",
              help="A subscription to search (repeatable; batched by 1,000).")
@click.option("--management-group", default=None, metavar="MG", help="Search every subscription of this group.")
@click.option("--tenant", is_flag=True, help="Search every subscription of the tenant you can read.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The fleet file to write (atomically; '-': stdout).")
@click.option("--where", default=None, metavar="PREDICATE",
              help="A Resource Graph (KQL) predicate on the cluster row, e.g. \"tags['env'] == 'prod'\".")
@click.option("--only-pod-identity", is_flag=True,
              help="Keep only clusters with the pod identity add-on on (and clusters already in --merge's file).")
@force_option()
@click.option("--merge", is_flag=True, help="Merge into --out: add new clusters, keep groups, ignores and comments.")
@click.option("--cloud", type=click.Choice(["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"]),
              default="AzureCloud", show_default=True, help="The Azure cloud.")
@arm_endpoint_option()
@ca_bundle_option()
def discover(subscriptions: tuple[str, ...], management_group: str | None, tenant: bool, out: Path,
             where: str | None, only_pod_identity: bool, force: bool, merge: bool, cloud: str,
             arm_endpoint: str | None, ca_bundle: str | None) -> None:
    from migrator.commands.discover import DiscoverSettings, run_discover
    from migrator.fleet.discovery import Scope

    if sum((bool(subscriptions), management_group is not None, tenant)) != 1:
        raise click.UsageError("give one scope: --subscription (repeatable), --management-group or --tenant")
    if force and merge:
        raise click.UsageError("give --force (replace the file) or --merge (keep your edits), not both")
    code = run_discover(out, scope=Scope(subscriptions=subscriptions, management_group=management_group,
                                         tenant=tenant),
                        where=where, only_pod_identity=only_pod_identity, force=force, merge=merge,
                        settings=DiscoverSettings(arm_endpoint=arm_endpoint, ca_bundle=ca_bundle, cloud=cloud))
    sys.exit(int(code))


# ----------------------------------------------------------------------------- cutover, rollback, unbind, finalize

def cluster_access_options(fn: F) -> F:
    """How the cutover commands reach the clusters and Azure."""
    options = [
        kubeconfig_option(),
        click.option("--context", default=None, metavar="NAME",
                     help="Kubeconfig context (default: the cluster's name, as az aks get-credentials names it)."),
        arm_endpoint_option(),
        click.option("--authority-host", default=None, metavar="URL",
                     help="Entra authority host for the token exchange (default: the public cloud's)."),
        ca_bundle_option(),
        request_timeout_option(),
        click.option("--verbose", is_flag=True,
                     help="Also show the Azure SDK's own log (e.g. every credential DefaultAzureCredential tried)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _sdk_logging(verbose: bool) -> None:
    """The Azure SDK logs each credential DefaultAzureCredential tries (dozens of lines before our one error
    line): shown only with --verbose."""
    import logging

    azure = logging.getLogger("azure")
    for old in [h for h in azure.handlers if getattr(h, "wi_migrator", False)]:
        azure.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if verbose else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.wi_migrator = True  # type: ignore[attr-defined]  # ours to replace on the next command
    azure.addHandler(handler)
    azure.setLevel(logging.INFO if verbose else logging.WARNING)
    azure.propagate = False


def change_options(fn: F) -> F:
    """Options of the commands that change a cluster."""
    options = [
        click.option("--dry-run", is_flag=True,
                     help="Send every change as a server-side dry run (dryRun=All) and print the diff."),
        click.option("--yes", "-y", is_flag=True, help="Do not ask before the first change (needed without a "
                                                       "terminal, e.g. in CI)."),
        click.option("--journal", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Local audit log (JSON lines) [default: ~/.local/state/wi-migrator/journal.jsonl]."),
        click.option("--rollout-timeout", type=click.FloatRange(1), default=600.0, show_default=True,
                     help="Seconds to wait for each rollout."),
        click.option("--lease-duration", type=click.IntRange(15, 3600), default=60, show_default=True,
                     help="Seconds the namespace's lease lasts without renewal (a crashed run's lease expires "
                          "after this)."),
        click.option("--wait-for-lease", is_flag=True,
                     help="Wait for another run's lease to be released or expire instead of refusing."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _access(kw: dict[str, Any]) -> Access:
    """Access settings from the options; a caller may inject a credential, clock or operator via ``obj``."""
    from migrator.cutover import Access

    injected = click.get_current_context().obj or {}
    _sdk_logging(bool(kw.pop("verbose", False)))
    access = Access(kubeconfig=kw.pop("kubeconfig", None), context=kw.pop("context", None),
                    arm_endpoint=kw.pop("arm_endpoint", None), authority_host=kw.pop("authority_host", None),
                    ca_bundle=kw.pop("ca_bundle", None), request_timeout=kw.pop("request_timeout", 30.0))
    for key in ("credential", "clock", "operator", "cloud", "retry"):
        if key in injected:
            setattr(access, key, injected[key])
    return access


def _options(kw: dict[str, Any], *, check_nmi_logs: bool = False, propagation_timeout: float = 300.0) -> Options:
    from migrator.cutover import Options

    return Options(dry_run=kw.pop("dry_run", False), yes=kw.pop("yes", False),
                   rollout_timeout=kw.pop("rollout_timeout", 600.0), lease_duration=kw.pop("lease_duration", 60),
                   wait_for_lease=kw.pop("wait_for_lease", False), check_nmi_logs=check_nmi_logs,
                   propagation_timeout=propagation_timeout)


@dataclass(frozen=True)
class _Hooks:
    """What a caller that runs the CLI in-process (tests, the demo) may hand in through click's ``obj``."""

    reporter: Reporter | None = None
    stdin: Any = None
    interrupts: Interrupts | None = None


def _hooks() -> _Hooks:
    obj = click.get_current_context().obj or {}
    return _Hooks(reporter=obj.get("reporter"), stdin=obj.get("stdin"), interrupts=obj.get("interrupts"))


@main.group(invoke_without_command=True,
            help="Move one namespace to workload identity, step by step, each step verified; resumable.\n\n"
                 "Steps: 1 preflight, 2 prove the federation, 3 annotate service accounts, 4 check the "
                 "webhook, 5 label the pod templates and roll out, 6 remove aadpodidbinding and roll out. "
                 "A re-run continues from the first step whose result does not hold on the cluster. "
                 "`migrate cutover status` shows where each namespace stands.\n\n" + CUTOVER_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The plan file (migrate plan --out).")
@click.option("--cluster", default=None, help="The cluster, by its name in the plan.")
@click.option("--namespace", "-n", default=None, help="The namespace to cut over.")
@click.option("--changed-at-source", multiple=True, metavar="KIND/NAME",
              help="A GitOps- or Helm-owned workload already changed in its source repository: verified, not "
                   "patched (repeatable).")
@click.option("--check-nmi-logs", is_flag=True,
              help="Before step 6, confirm from NMI's logs that it served the namespace's pods no token since "
                   "step 5.")
@click.option("--propagation-timeout", type=click.FloatRange(0), default=300.0, show_default=True,
              help="Seconds to keep retrying AADSTS70021 while a new credential propagates.")
@change_options
@cluster_access_options
@click.pass_context
def cutover(ctx: click.Context, plan_path: Path | None, cluster: str | None, namespace: str | None,
            changed_at_source: tuple[str, ...], check_nmi_logs: bool, propagation_timeout: float,
            **kw: Any) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if plan_path is None or cluster is None or namespace is None:
        missing = [f"--{n}" for n, v in (("plan", plan_path), ("cluster", cluster), ("namespace", namespace))
                   if not v]
        raise click.UsageError(f"missing {', '.join(missing)} (or use: migrate cutover status --plan PLAN)")
    from migrator.commands.cutover import run_cutover

    access = _access(kw)
    journal = kw.pop("journal", None)
    options = _options(kw, check_nmi_logs=check_nmi_logs, propagation_timeout=propagation_timeout)
    hooks = _hooks()
    code = run_cutover(plan_path, cluster, namespace, access=access, options=options,
                       changed_at_source=changed_at_source, journal=journal,
                       reporter=hooks.reporter, stdin=hooks.stdin, interrupts=hooks.interrupts)
    sys.exit(int(code))


@cutover.command("status", help="Per cluster and namespace of the plan, the step each is at, read from the "
                                "clusters themselves (any machine sees the same).\n\n" + STATUS_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="The plan file [default: ./plan.json, or the plan.json of the folder migrate render wrote here].")
@click.option("--cluster", default=None, help="Only this cluster.")
@cluster_access_options
def cutover_status(plan_path: Path | None, cluster: str | None, **kw: Any) -> None:
    from migrator.commands.cutover import find_plan, run_status

    if plan_path is None:
        plan_path = find_plan(Path.cwd())
        click.echo(f"plan: {plan_path}", err=True)
    code = run_status(plan_path, cluster, access=_access(kw), reporter=_hooks().reporter)
    sys.exit(int(code))


@main.command(help="Move a namespace back to AAD Pod Identity, from the before-state recorded in the cluster "
                   "(works from any machine): bindings unbind removed are recreated, aadpodidbinding goes back on "
                   "first, then workload identity comes off. Same lease, resumability and dry run as the "
                   "cutover.\n\n" + CUTOVER_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The plan file.")
@click.option("--cluster", required=True, help="The cluster, by its name in the plan.")
@click.option("--namespace", "-n", required=True, help="The namespace to roll back.")
@click.option("--check-nmi-logs", is_flag=True,
              help="After the binding labels are back, wait until NMI's logs show it serving the pods again.")
@change_options
@cluster_access_options
def rollback(plan_path: Path, cluster: str, namespace: str, check_nmi_logs: bool, **kw: Any) -> None:
    from migrator.commands.rollback import run_rollback

    access = _access(kw)
    journal = kw.pop("journal", None)
    hooks = _hooks()
    code = run_rollback(plan_path, cluster, namespace, access=access,
                        options=_options(kw, check_nmi_logs=check_nmi_logs), journal=journal,
                        reporter=hooks.reporter, stdin=hooks.stdin, interrupts=hooks.interrupts)
    sys.exit(int(code))


@main.command(help="Remove the AzureIdentityBindings (and the AKS add-on's pod identities) of cut-over "
                   "namespaces, only when no workload in any namespace still matches them; each removed object is "
                   "kept in the cluster's record (rollback recreates it). Add-on clusters: one managed-cluster "
                   "update for all of the cluster's identities.\n\n" + CUTOVER_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The plan file.")
@click.option("--cluster", required=True, help="The cluster, by its name in the plan.")
@click.option("--namespace", "-n", default=None, help="Only the bindings of this namespace (default: all the "
                                                       "plan's bindings on the cluster).")
@change_options
@cluster_access_options
def unbind(plan_path: Path, cluster: str, namespace: str | None, **kw: Any) -> None:
    from migrator.commands.unbind import run_unbind

    access = _access(kw)
    journal = kw.pop("journal", None)
    hooks = _hooks()
    code = run_unbind(plan_path, cluster, namespace, access=access, options=_options(kw), journal=journal,
                      reporter=hooks.reporter, stdin=hooks.stdin, interrupts=hooks.interrupts)
    sys.exit(int(code))


@main.command(help="End AAD Pod Identity on a cluster: refuses while any binding remains; removes the "
                   "AzureIdentities (and, once NMI is gone, the exceptions; once MIC is gone, the "
                   "AzureAssignedIdentity objects it left), then says exactly how to remove Pod Identity for the "
                   "install method found, its CRDs, the identities left on the node pools' scale sets, and the "
                   "Terraform change for the add-on. Run it again after removing Pod Identity.\n\n"
                   + CUTOVER_EXIT_CODES_HELP)
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The plan file.")
@click.option("--cluster", required=True, help="The cluster, by its name in the plan.")
@click.option("--terraform-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the Terraform change that turns the add-on off to this file (clusters in Terraform).")
@change_options
@cluster_access_options
def finalize(plan_path: Path, cluster: str, terraform_out: Path | None, **kw: Any) -> None:
    from migrator.commands.finalize import run_finalize

    access = _access(kw)
    journal = kw.pop("journal", None)
    hooks = _hooks()
    code = run_finalize(plan_path, cluster, access=access, options=_options(kw), journal=journal,
                        reporter=hooks.reporter, stdin=hooks.stdin, interrupts=hooks.interrupts,
                        terraform_out=terraform_out)
    sys.exit(int(code))


def run() -> None:
    """Entry point: no stack trace ever reaches the user."""
    try:
        main(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("interrupted (Ctrl-C)", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        click.echo(f"internal error: {type(exc).__name__}: {visible(exc)}\n"
                   "  this is a bug in wi-migrator: please report it with the command you ran", err=True)
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":  # pragma: no cover
    run()
