"""The error tree of wi-migrator, and the exit codes the CLI maps it to.

::

    MigratorError                  anything the tool reports instead of a stack trace
    ├── InputError         (2)     bad input: nothing was catalogued, nothing written
    │   ├── FleetFileError         the fleet file (file:line:column, the key, what to do)
    │   └── SnapshotError          a snapshot file (file, position or object, what to do)
    ├── SourceError        (3)     one cluster or Azure could not be read; carried as data per
    │                              cluster so the rest of the fleet completes
    └── OutputError        (2)     an output file could not be written (nothing partial is left)

Exit codes (also in ``migrate --help`` and docs/cli.md, generated from the command line):

* 0 — complete, no finding at or above ``--fail-on``
* 1 — complete, findings at or above ``--fail-on`` (a result, not a failure of the tool)
* 2 — bad input or bad arguments; nothing catalogued, nothing written
* 3 — some clusters could not be read; the rest are reported
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    BAD_INPUT = 2
    PARTIAL = 3


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

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        """One line (plus an optional hint line) for a human on stderr."""
        prefix = f"{self.location}: " if self.location else ""
        text = f"{prefix}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
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
