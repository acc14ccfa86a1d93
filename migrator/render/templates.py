"""The Jinja2 environment every renderer uses: strict, no autoescape, one filter per language.

Templates live in the repository's top-level ``templates/`` folder and hold layout only. Every
value reaches a file through its language's filter from ``escape.py``: ``hcl`` (string literals),
``hcl_ident`` / ``hcl_ref`` (checked identifiers and references), ``hcl_comment`` (one-line
comments), ``md`` / ``md_code`` / ``md_url`` (Markdown text, code spans, link targets), ``sh``
(one shell word), ``sh_words`` (a command line of such words). An undefined variable is an error,
never an empty string.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from migrator import escape

_PACKAGED = Path(__file__).resolve().parent.parent / "templates"  # an installed wheel: migrator.templates
#: the templates: the wheel's package data, else (a source checkout, an editable install) the
#: repository's top-level templates/ folder, which the wheel's migrator/templates is built from
TEMPLATES = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "templates"


def _comment_out(text: str) -> str:
    """Turn an already rendered HCL block into comment lines (for blocks held back on purpose)."""
    return "\n".join(f"# {line}" if line.strip() else "#" for line in text.rstrip("\n").split("\n")) + "\n"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates are package data: no stat of the file at every render
    )
    env.filters.update({
        "hcl": escape.hcl,
        "hcl_ident": escape.hcl_ident,
        "hcl_ref": escape.hcl_ref,
        "hcl_comment": escape.comment,
        "hcl_comment_out": _comment_out,
        "md": escape.md,
        "md_code": escape.md_code,
        "md_url": escape.md_url,
        "sh": escape.sh,
        "sh_words": escape.sh_words,
        "yaml_scalar": escape.yaml_scalar,
    })
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
