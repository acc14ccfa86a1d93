"""The terminal report: rich tables per cluster, findings last. Reads the same view as JSON."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from migrator.escape import visible
from migrator.report.view import CatalogReport

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _t(value: Any, style: str = "") -> Text:
    """Plain text: never interpreted as rich markup (names are data, not styling), and control characters from
    the data (ESC, BEL, CR, newline, ...) shown escaped: a value can neither drive the terminal nor add a line."""
    return Text(visible(value), style=style)


def _lines(value: Any, style: str = "") -> Text:
    """An error as ``MigratorError.render`` made it: its own lines (the hint) kept, each escaped."""
    return Text("\n".join(map(visible, str(value).split("\n"))), style=style)


def render(report: CatalogReport, *, width: int = 140, color: bool = False) -> str:
    view = report.view()
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="auto" if color else None,
                      no_color=not color, highlight=False, soft_wrap=True)
    s = view["summary"]
    console.print(_t(
        f"wi-migrator catalog: {s['clustersRead']}/{s['clusters']} clusters read, {s['bindings']} bindings, "
        f"{s['uses']} (cluster, namespace, serviceaccount) uses, findings: "
        f"{s['findings']['error']} error, {s['findings']['warning']} warning, {s['findings']['info']} info"
        + (f", {s['ignoredFindings']} ignored" if s["ignoredFindings"] else ""), style="bold"))
    for c in view["clusters"]:
        console.print()
        if c["status"] != "ok":
            console.print(_lines(f"{c['name']} ({c['region']}): NOT READ — {c['error']}", style="bold red"))
            continue
        oidc = c["oidcIssuer"] or {}
        pi = c["podIdentity"]
        console.print(_t(f"{c['name']}  region={c['region']}  group={c['group']}  k8s={c['kubernetesVersion']}",
                         style="bold"))
        console.print(_t(
            f"  OIDC issuer: {oidc.get('url') or ('enabled, URL unknown' if oidc.get('enabled') else 'disabled')}"
            f"   workload identity (ARM): {'on' if (c['workloadIdentity'] or {}).get('enabled') else 'off'}"))
        console.print(_t(
            f"  pod identity: {', '.join(pi['installMethods']) or 'not installed'}"
            f"   mode: {pi['mode'] or '-'}   matching: {'namespaced' if pi['namespacedMatching'] else 'cluster-wide'}"
            f"   version: {pi['version'] or '-'}"))
        if c["notCaptured"]:
            console.print(_t(f"  not captured (unknown): {', '.join(c['notCaptured'])}"))
        table = Table(title=None, show_edge=False, pad_edge=False, expand=False)
        for col in ("namespace", "service account", "identity", "type", "workloads"):
            table.add_column(col, overflow="fold")
        for u in c["uses"]:
            ident = u["identity"]
            table.add_row(_t(u["namespace"]), _t(u["serviceAccount"]),
                          _t(f"{ident['namespace']}/{ident['name']}"), _t(ident["type"]),
                          _t(", ".join(u["workloads"])))
        for u in c["inactiveUses"]:
            ident = u["identity"]
            table.add_row(_t(u["namespace"]), _t(u["serviceAccount"]),
                          _t(f"{ident['namespace']}/{ident['name']} (inactive: legacy schema)"), _t(ident["type"]),
                          _t(", ".join(u["workloads"])))
        if table.row_count:
            console.print(table)
        else:
            console.print(_t("  no workload uses a pod identity"))
    if view["findings"]:
        console.print()
        table = Table(title="Findings", show_edge=False, pad_edge=False)
        for col in ("severity", "code", "cluster", "namespace", "object", "message"):
            table.add_column(col, overflow="fold")
        for f in view["findings"]:
            table.add_row(_t(f["severity"], _SEVERITY_STYLE[f["severity"]]), _t(f["code"]), _t(f["cluster"]),
                          _t(f["namespace"]), _t(f["object"]), _t(f["message"]))
        console.print(table)
    return buf.getvalue()
