"""The local audit log: one JSON object per line, appended and flushed as each event happens.

It complements the record kept in the cluster (``record.py``): the record is what a rollback from
another machine needs; the journal says who did what, when, from here, including dry runs and
refusals. Lines are never rewritten. A journal that cannot be written stops the command before it
changes anything (an audit trail that silently stops is worse than none).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from migrator.clock import Clock
from migrator.errors import Location, OutputError


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def default_journal_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "wi-migrator" / "journal.jsonl"


class Journal:
    """Appends events for one run (``run`` id, operator, cluster and namespace on every line)."""

    def __init__(self, path: Path | None, *, clock: Clock, run: str, operator: str, command: str) -> None:
        self.path = path
        self.clock = clock
        self.base = {"run": run, "operator": operator, "command": command}
        self.lines: list[dict[str, Any]] = []  # what this run wrote (for tests and the summary)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8"):
                    pass
            except OSError as exc:
                raise OutputError(f"cannot write the audit journal: {exc.strerror}", location=Location(path),
                                  hint="pass --journal with a writable file") from None

    def write(self, event: str, **fields: Any) -> None:
        line = {"at": self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "event": event, **self.base,
                **{k: v for k, v in fields.items() if v is not None}}
        self.lines.append(line)
        if self.path is None:
            return
        text = json.dumps(line, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise OutputError(f"cannot append to the audit journal: {exc.strerror}",
                              location=Location(self.path)) from None


def read_journal(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out
