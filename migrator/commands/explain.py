"""``migrate explain [CODE]``: the finding codes, or one code's long form (like a linter's rule docs)."""

from __future__ import annotations

import textwrap

from migrator.errors import InputError
from migrator.findings.docs import rules_in_order
from migrator.findings.registry import Rule, all_rules

_WIDTH = 100


def list_codes() -> str:
    rules = sorted(all_rules().values(), key=lambda r: r.code)
    width = max(len(r.code) for r in rules)
    lines = [f"{r.code:<{width}}  {r.severity.value:<7}  {r.title}" for r in rules]
    return "\n".join(lines) + "\n\nRun 'migrate explain CODE' for the cause, risk, remediation and references.\n"


def _para(title: str, text: str) -> list[str]:
    return [f"{title}:", textwrap.fill(text, _WIDTH, initial_indent="  ", subsequent_indent="  "), ""]


def long_form(r: Rule) -> str:
    lines = [f"{r.code} ({r.severity.value})", textwrap.fill(r.title, _WIDTH), ""]
    lines += _para("Cause", r.cause)
    lines += _para("Risk", r.risk)
    lines += _para("Remediation", r.remediation)
    if r.needs:
        lines += _para("Needs (not judged where one was not captured)", ", ".join(r.needs))
    if r.references:
        lines += ["References:", *(f"  - {ref}" for ref in r.references), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def explain(code: str | None) -> str:
    if code is None:
        return list_codes()
    rules = all_rules()
    wanted = code.strip().upper().replace("-", "_")
    if wanted not in rules:
        close = [r.code for r in rules_in_order() if wanted and (wanted in r.code or r.code in wanted)]
        raise InputError(f"unknown finding code: {code!r}",
                         hint=(f"did you mean {', '.join(close[:3])}? " if close else "")
                         + "run 'migrate explain' to list the codes")
    return long_form(rules[wanted])
