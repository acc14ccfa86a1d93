"""The error tree of wi-migrator, and the exit codes the CLI maps it to.

::

    MigratorError                  anything the tool reports instead of a stack trace
    ├── InputError         (2)     bad input: nothing was catalogued, nothing written
    │   ├── FleetFileError         the fleet file (file:line:column, the key, what to do)
    │   └── SnapshotError          a snapshot file (file, position or object, what to do)
    ├── SourceError        (3)     one cluster or Azure could not be read; carried as data per
    │                              cluster so the rest of the fleet completes
    └── OutputError        (2)     an output file could not be written (nothing partial is left)

Exit codes: ``ExitCode`` holds every code the tool returns, with its meaning; ``migrate --help``,
each command's ``--help`` (only the codes that command can return), docs/cli.md and the README's
table are generated from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

#: control characters as backslash escapes: C0 (newline, CR, ESC, BEL, ...), DEL, C1, the Unicode line separators
_VISIBLE = {**{c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]},
            0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def visible(value: object) -> str:
    """Text for a terminal, on one line: every control character (ESC, BEL, CR, newline, ...) shown as its
    backslash escape, so a name from a cluster or a file can neither drive the terminal nor split a line."""
    return ("" if value is None else str(value)).translate(_VISIBLE)


class ExitCode(IntEnum):
    """Every code ``migrate`` returns. ``meaning`` is the general one; a command may say it its way."""

    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2
    PARTIAL = 3
    INTERNAL = 4
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {  # across commands; each command's --help says it in its own terms
    ExitCode.OK: "complete and clean (no finding at or above --fail-on; cutover commands: done)",
    ExitCode.FINDINGS: "complete with findings at or above --fail-on (plan --check: something is blocked; "
                       "cutover: a step refused or failed)",
    ExitCode.BAD_INPUT: "bad input or arguments; nothing written, nothing changed",
    ExitCode.PARTIAL: "some clusters (or Azure) could not be read; the rest are reported",
    ExitCode.INTERNAL: "internal error (a bug: please report it with the command line)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); the message says how to resume",
}


def exit_codes_help(codes: Iterable[ExitCode], meanings: Mapping[ExitCode, str] | None = None) -> str:
    """The ``Exit codes:`` block of a ``--help`` text (click keeps its lines as they are)."""
    chosen = sorted(set(codes))
    width = max(len(str(int(c))) for c in chosen)
    lines = [f"  {int(c):<{width}}  {(meanings or {}).get(c, c.meaning)}" for c in chosen]
    return "\b\nExit codes:\n" + "\n".join(lines)


def exit_codes_markdown(codes: Iterable[ExitCode] = tuple(ExitCode),
                        meanings: Mapping[ExitCode, str] | None = None) -> str:
    """The same codes as a Markdown table (README.md)."""
    rows = [f"| `{int(c)}` | {(meanings or {}).get(c, c.meaning)} |" for c in sorted(set(codes))]
    return "\n".join(["| exit code | meaning |", "|---|---|", *rows]) + "\n"


@dataclass(frozen=True, slots=True)
class Location:
    """Where in a file a problem is; line and column are 1-based."""

    path: Path
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = str(self.path)
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class MigratorError(Exception):
    """Base of every error the tool reports as one clear message."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None,
                 details: tuple[str, ...] = (), notes: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.details = details  # one line each, after the message (the problems of a plan, say)
        self.notes = notes  # one line each, after the hint ("to continue: migrate ...")

    def render(self) -> str:
        """One line (then a line per detail and an optional hint line) for a human on stderr; whatever the
        values hold, control characters are shown escaped (``visible``): no value can add a line."""
        prefix = f"{visible(self.location)}: " if self.location else ""
        text = f"{prefix}{visible(self.message)}"
        for detail in self.details:
            text += f"\n  {visible(detail)}"
        if self.hint:
            text += f"\n  hint: {visible(self.hint)}"
        for note in self.notes:
            text += f"\n  {visible(note)}"
        return text

    def __str__(self) -> str:
        return self.render()


class InputError(MigratorError):
    """Bad input: nothing is catalogued and nothing is written."""

    exit_code = ExitCode.BAD_INPUT


class FleetFileError(InputError):
    """The fleet file is missing, malformed or inconsistent."""


class SnapshotError(InputError):
    """A snapshot file is malformed or holds the wrong kind of document."""


class SourceError(MigratorError):
    """A cluster (or Azure) could not be read; reported per cluster, the rest completes."""

    exit_code = ExitCode.PARTIAL


class OutputError(MigratorError):
    """An output could not be written."""

    exit_code = ExitCode.BAD_INPUT
