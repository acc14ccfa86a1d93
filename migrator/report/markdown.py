"""The Markdown report: to paste in a PR or a ticket. Every value escaped for Markdown."""

from __future__ import annotations

from migrator.escape import md, md_code
from migrator.report.view import CatalogReport


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def render(report: CatalogReport) -> str:
    view = report.view()
    s = view["summary"]
    lines = [
        "# Pod Identity catalog",
        "",
        f"- Tenant: {md_code(view['tenantId'])}",
        f"- Clusters read: {s['clustersRead']} of {s['clusters']}",
        f"- Bindings: {s['bindings']}; (cluster, namespace, serviceaccount) uses: {s['uses']}",
        f"- Findings: {s['findings']['error']} error, {s['findings']['warning']} warning, "
        f"{s['findings']['info']} info; ignored: {s['ignoredFindings']}",
        "",
    ]
    for c in view["clusters"]:
        lines.append(f"## {md(c['name'])}")
        lines.append("")
        if c["status"] != "ok":
            lines += [f"**Not read:** {md(c['error'])}", ""]
            continue
        oidc = c["oidcIssuer"] or {}
        pi = c["podIdentity"]
        lines += [
            f"- Region {md(c['region'])}, group {md(c['group'])}, Kubernetes {md(c['kubernetesVersion'])}",
            f"- OIDC issuer: {md_code(oidc['url']) if oidc.get('url') else ('enabled' if oidc.get('enabled') else 'disabled')}",
            f"- Workload identity (ARM): {'on' if (c['workloadIdentity'] or {}).get('enabled') else 'off'}",
            f"- Pod Identity: {md(', '.join(pi['installMethods']) or 'not installed')}; mode {md(pi['mode'] or '-')};"
            f" matching {'namespaced' if pi['namespacedMatching'] else 'cluster-wide'}; version {md(pi['version'] or '-')}",
        ]
        if c["notCaptured"]:
            lines.append(f"- Not captured (unknown): {md(', '.join(c['notCaptured']))}")
        lines.append("")
        if c["uses"]:
            lines += [_row("Namespace", "Service account", "Identity", "Client ID", "Workloads"),
                      _row("---", "---", "---", "---", "---")]
            for u in c["uses"]:
                i = u["identity"]
                lines.append(_row(md(u["namespace"]), md(u["serviceAccount"]), md(f"{i['namespace']}/{i['name']}"),
                                  md_code(i["clientId"]), md(", ".join(u["workloads"]))))
            lines.append("")
        else:
            lines += ["No workload uses a pod identity.", ""]
    if view["findings"]:
        lines += ["## Findings", "", _row("Severity", "Code", "Cluster", "Namespace", "Object", "Message", "Remediation"),
                  _row(*["---"] * 7)]
        for f in view["findings"]:
            lines.append(_row(md(f["severity"]), md_code(f["code"]), md(f["cluster"]), md(f["namespace"]),
                              md(f["object"]), md(f["message"]), md(f["remediation"])))
        lines.append("")
    return "\n".join(lines)
