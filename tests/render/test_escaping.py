"""Hostile names stay valid and inert in every output language.

HCL and YAML are checked in test_terraform.py and test_kubernetes.py (formatted, parsed, values equal
to the hostile input); here: Markdown tables keep their columns, fences stay closed, no value starts
a line of its own, links resolve, and every shell line parses, with ``shlex`` and with ``bash`` itself,
to the intended words, without running anything a value holds.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections import Counter
from pathlib import Path, PurePosixPath
from urllib.parse import unquote as url_unquote

import msgspec
import pytest

from migrator.escape import comment, hcl, md, md_code, md_url, sh, sh_words
from tests.render import plans
from tests.render.checkers import bash
from tests.render.conftest import Files, text_files

FENCE = re.compile(r"^ {0,3}(`{3,})([a-z]*)\s*$")
COMMANDS = ("kubectl", "az", "migrate", "terraform")


def split_markdown(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(lines outside fences, [(info, body)] of the fenced blocks); asserts every fence closes."""
    outside, blocks = [], []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            outside.append(lines[i])
            i += 1
            continue
        fence, info, body = m.group(1), m.group(2), []
        indent = len(lines[i]) - len(lines[i].lstrip(" "))
        i += 1
        while i < len(lines) and not re.fullmatch(r" {0,3}" + fence + r"`*\s*", lines[i]):
            body.append(lines[i][indent:] if lines[i].startswith(" " * indent) else lines[i])
            i += 1
        assert i < len(lines), f"unclosed fence {fence}"
        blocks.append((info, "\n".join(body)))
        i += 1
    return outside, blocks


def cells(row: str) -> int:
    """The cells of a GFM table row. As in cmark-gfm (``escaped_char = [\\][|]``), a pipe right after a
    backslash is part of the cell, whatever precedes that backslash."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def hostile_fragments(plan: object) -> set[str]:
    """Every piece of a hostile value that follows a newline: it must never start a line."""
    text = msgspec.json.encode(plan).decode()
    values = [msgspec.json.decode(f'"{v}"') for v in re.findall(r'"((?:[^"\\]|\\.)*)"', text)]
    return {part.strip() for v in values if "\n" in v for part in v.split("\n")[1:] if part.strip()}


def test_filters_unit() -> None:
    assert hcl('a"${b}%{c}\\\n') == '"a\\"$${b}%%{c}\\\\\\n"'
    assert md("a|b\nc*`") == "a\\|b c\\*\\`"
    assert md_code("x`y|z") == "``x`y\\|z``"
    assert shlex.split(sh("a'b $(c)")) == ["a'b $(c)"]
    assert shlex.split(sh_words(("az", "--name=a b", "", "$(c)"))) == ["az", "--name=a b", "", "$(c)"]
    assert comment("a\nb\rc\u2028d") == "a b c d"
    assert md_url("a b(c).md") == "a%20b%28c%29.md"


def test_markdown_tables_fences_and_lines_hold(rendered) -> None:
    _, plan, files = rendered
    fragments = hostile_fragments(plan)
    for path, text in text_files(files, ".md").items():
        outside, blocks = split_markdown(text)
        assert all(info in ("sh", "yaml") for info, _ in blocks), path
        table: int | None = None
        for line in outside:
            if line.startswith("|"):
                n = cells(line)
                table = n if table is None else table
                assert n == table, f"{path}: {line!r} has {n} cells, the table {table}"
            else:
                table = None
            stripped = line.lstrip(" >-*0123456789.")
            assert not any(stripped.startswith(f) for f in fragments), f"{path}: a value starts a line: {line!r}"
            assert not (line.startswith("#") and not re.match(r"#{1,3} [A-Z]", line)), f"{path}: {line!r}"


def test_markdown_links_resolve(rendered) -> None:
    _, _, files = rendered
    dirs = {str(p) for f in files for p in PurePosixPath(f).parents}
    for path, text in text_files(files, ".md").items():
        outside, _ = split_markdown(text)
        for target in re.findall(r"(?<!\\)\]\(([^)\s]+)\)", "\n".join(outside)):
            if target.startswith(("http://", "https://", "#")):
                continue
            resolved = PurePosixPath(path).parent
            for part in PurePosixPath(url_unquote(target)).parts:
                resolved = resolved.parent if part == ".." else resolved / part
            assert str(resolved) in files or str(resolved) in dirs, f"{path}: broken link {target}"


def _shell_blocks(files: Files) -> dict[str, str]:
    out = {}
    for path, text in text_files(files, ".md").items():
        blocks = [body for info, body in split_markdown(text)[1] if info == "sh"]
        if blocks:
            out[path] = "\n".join(blocks) + "\n"
    return out


def _check_words(words: list[str], where: str) -> None:
    for w in words:
        for flag, allowed in (("--namespace=", plans.NAMESPACES), ("--context=", plans.CLUSTERS),
                              ("--cluster=", plans.CLUSTERS), ("--cluster-name=", plans.CLUSTERS)):
            if w.startswith(flag):
                assert w[len(flag):] in allowed, f"{where}: {w!r}"
    for bad in ("touch", "pwned)", "pwned2`", "-rf", "item:"):
        assert bad not in words, f"{where}: {bad!r} became a word of its own"


def test_shell_lines_parse_to_the_intended_words(hostile) -> None:
    plan, files = hostile
    blocks = _shell_blocks(files)
    assert blocks
    for path, script in blocks.items():
        _check_words(shlex.split(script), path)
    sa_words = {w for script in blocks.values() for w in shlex.split(script) if w.startswith("serviceaccount/")}
    assert {f"serviceaccount/{plans.SA}", f"serviceaccount/{plans.SA_NEW}"} <= sa_words
    assert sa_words <= {f"serviceaccount/{s.name}" for s in plan.service_accounts}


STUBS = "".join(f"{c}() {{ {{ printf '%s\\0' {c} \"$@\"; printf '\\1'; }} >> \"$WI_LOG\"; }}\n" for c in COMMANDS)


def test_bash_runs_the_runbooks_without_running_their_values(hostile, tmp_path: Path) -> None:
    """Each runbook's shell lines, run by bash with the commands stubbed: argv as intended, nothing executed."""
    _, files = hostile
    shell = bash()
    for i, (path, script) in enumerate(sorted(_shell_blocks(files).items())):
        work = tmp_path / str(i)
        work.mkdir()
        log = work / "argv.log"
        run = subprocess.run([shell, "-c", STUBS + script], cwd=work, env={"WI_LOG": str(log), "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, f"{path}: {run.stderr}"
        assert not (work / "pwned").exists() and not (work / "pwned2").exists(), f"{path} ran a value"
        records = [r.split("\0")[:-1] for r in log.read_text().split("\1") if r]
        assert records, path
        for argv in records:
            assert argv[0] in COMMANDS
            _check_words(argv, path)
        # bash and shlex agree on every word: shlex's words, less the redirection, with the one command
        # substitution we write ("$(terraform ... output -raw ...)") expanded the way the stub expands it
        expected: list[str] = []
        words = iter(shlex.split(script))
        for w in words:
            if w == ">":
                next(words)
                continue
            sub = re.fullmatch(r"(.*)\$\((terraform [^()]*)\)", w, re.S)
            if sub:
                expected += [sub.group(1), *sub.group(2).split()]
            else:
                expected.append(w)
        assert Counter(w for argv in records for w in argv) == Counter(expected), path


@pytest.mark.parametrize("value", [plans.C1, plans.NS, plans.WL, plans.SA, plans.CLIENT, "```", "`", "|", "\\|"])
def test_md_code_spans_stay_one_cell(value: str) -> None:
    row = f"| {md_code(value)} | {md(value)} |"
    assert cells(row) == 2


def test_a_backtick_fence_outruns_every_run_inside_in_text_and_in_bytes() -> None:
    from migrator.escape import backtick_fence

    assert backtick_fence("plain") == "`"
    assert backtick_fence("a ``` b ` c") == "````"
    assert backtick_fence(b"a ``` b", shortest=3) == "````"
    assert backtick_fence(b"no ticks", shortest=3) == "```"
