"""docs/plan-json.md, generated from the plan's msgspec structs (``plan/model.py``): one table per object,
every key with its JSON type, whether it is required, and the comment the model gives it.

Regenerate with::

    python -m migrator.plan.schema_doc > docs/plan-json.md

A test fails when the committed file differs from what this module renders.
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
import typing
from typing import Any, Literal

import msgspec

from migrator.plan import model, validate

HEAD = f"""# The plan file (`plan.json`), schemaVersion {model.SCHEMA_VERSION}

`migrate plan --out plan.json` writes it; `migrate render --plan` and `migrate cutover --plan` read it.
It is meant to be reviewed (and kept in the pull request beside the rendered files): every list is
sorted, keys are camelCase, and every key is always written (`null` where a value does not apply).
A reader refuses a file whose `schemaVersion` is not {model.SCHEMA_VERSION} or whose shape differs from
the tables below, naming the file. What the planner decides and why is in [plan.md](plan.md).

This page is generated from `migrator/plan/model.py` (`python -m migrator.plan.schema_doc`); a test
keeps it in step.
"""


def _json_type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is type(None):
        return "null"
    if tp is str:
        return "string"
    if tp is int:
        return "integer"
    if tp is bool:
        return "boolean"
    if origin is Literal:
        return " \\| ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_json_type(a) for a in typing.get_args(tp))
    if origin is tuple:
        return f"array of {_json_type(typing.get_args(tp)[0])}"
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    raise TypeError(f"no JSON name for {tp!r}")  # a new kind of field: teach this function its name


def _comments(struct: type) -> dict[str, str]:
    """The trailing ``# comment`` of each field line in the model's source."""
    lines, _ = inspect.getsourcelines(struct)
    source = "".join(lines)
    cls = ast.parse(source).body[0]
    assert isinstance(cls, ast.ClassDef)
    out = {}
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = source.splitlines()[node.lineno - 1]
            if "  # " in line:
                out[node.target.id] = line.split("  # ", 1)[1].strip()
    return out


def _structs() -> list[type[msgspec.Struct]]:
    """Plan first, then each object in the order it is first reached from Plan."""
    seen: list[type[msgspec.Struct]] = []

    def visit(struct: type[msgspec.Struct]) -> None:
        if struct in seen:
            return
        seen.append(struct)
        for tp in typing.get_type_hints(struct).values():
            for arg in (tp, *typing.get_args(tp), *(a for x in typing.get_args(tp) for a in typing.get_args(x))):
                if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                    visit(arg)

    visit(model.Plan)
    return seen


def _validation() -> str:
    """The rules of ``plan.validate`` (its docstring, in Markdown)."""
    text = inspect.cleandoc(validate.__doc__ or "").replace("``", "`")
    text = text.split("\n", 1)[1].strip()  # without the module's title line
    return f"\n## Validation\n\n{text}\n"


def render() -> str:
    out = [HEAD, _validation()]
    for struct in _structs():
        info = msgspec.structs.fields(struct)
        hints = typing.get_type_hints(struct)
        comments = _comments(struct)
        out.append(f"\n## {struct.__name__}\n")
        doc = struct.__dict__.get("__doc__")  # its own docstring, not an inherited one
        if doc:
            out.append(f"\n{inspect.cleandoc(doc)}\n")
        out.append("\n| key | type | required | meaning |\n| --- | --- | --- | --- |\n")
        for f in info:
            required = "yes" if f.required else "no"
            if not f.required and f.default is not msgspec.NODEFAULT:
                default = f.default
                if isinstance(default, msgspec.Struct):
                    default = "{}" if not msgspec.structs.asdict(default) else default
                required = f"no (default `{msgspec.json.encode(default).decode() if not isinstance(default, str) else default}`)"
            meaning = comments.get(f.name, "").replace("|", "\\|")
            out.append(f"| `{f.encode_name}` | {_json_type(hints[f.name])} | {required} | {meaning} |\n")
    return "".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
