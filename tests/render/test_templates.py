"""Templates hold layout only, and every value in them goes through its language's escaping filter."""

from __future__ import annotations

import re

import pytest

from migrator.render.templates import TEMPLATES

ESCAPES = {".tf.j2": {"hcl", "hcl_ident", "hcl_ref", "hcl_comment"},
           ".md.j2": {"md", "md_code", "md_url", "sh", "sh_words"}}
#: expressions that are not values: numbers, and text the template composed from escaped parts
NOT_VALUES = re.compile(r"^(loop\.index|cv\.wave|wave\.number|totals\.\w+|fence|k|scope|b\.\w+\(.*\))$")
#: layout text chosen by a condition: string literals only ("(new)" if ..., ", " if not loop.last)
LITERAL = re.compile(r'^"[^"{}]*"\s+if\s+[^|"]+?(\s+else\s+"[^"{}]*")?$')
EXPR = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
FILTER = re.compile(r"\|\s*([a-z_]+)")


def templates() -> list:
    return sorted(p for p in TEMPLATES.rglob("*.j2"))


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_value_is_escaped(path) -> None:
    language = next(ext for ext in ESCAPES if path.name.endswith(ext))
    text = path.read_text()
    for expr in EXPR.findall(text):
        if NOT_VALUES.match(expr) or LITERAL.match(expr):
            continue
        filters = FILTER.findall(expr)
        if filters and filters[-1] == "length":
            continue  # a count
        escaped = set(filters) & ESCAPES[language]
        assert escaped, f"{path.name}: {{{{ {expr} }}}} reaches the file unescaped"


def test_kubernetes_yaml_has_no_templates() -> None:
    assert not [p for p in (TEMPLATES / "kubernetes").rglob("*") if p.suffix in (".yaml", ".yml") or ".yaml" in p.name]


def test_no_template_reads_the_environment_or_time() -> None:
    for path in templates():
        text = path.read_text()
        assert not re.search(r"\bnow\(|\benviron\b|\brandom\b", text), path
