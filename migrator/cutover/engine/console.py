"""How a run shows itself: plain lines (CI, pipes, logs) or rich live progress on a terminal.

The executor only calls the ``Reporter`` methods; which one is used is decided once, by the CLI
(``make_reporter``): rich when stdout is a terminal, plain lines otherwise. Results go to stdout;
warnings and errors to stderr. Questions are asked on the terminal only (``ask``).

The texts carry names from the plan and values from the cluster: each is one line, its control
characters shown escaped (``visible``), and for rich escaped as markup too (``_m``).
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Protocol

from migrator.errors import visible

if TYPE_CHECKING:
    from rich.status import Status


class Reporter(Protocol):
    def header(self, title: str, lines: list[str]) -> None: ...
    def step_started(self, index: int, total: int, title: str) -> None: ...
    def step_skipped(self, index: int, total: int, title: str, why: str) -> None: ...
    def step_done(self, index: int, total: int, title: str, summary: str) -> None: ...
    def step_failed(self, index: int, total: int, title: str, message: str) -> None: ...
    def info(self, text: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def diff(self, ref: str, lines: list[str]) -> None: ...
    def waiting(self, text: str) -> None: ...
    def done_waiting(self) -> None: ...
    def ask(self, question: str) -> bool: ...
    def footer(self, lines: list[str]) -> None: ...


class PlainReporter:
    """One line per event; a waiting line only when what it says changes."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None, stdin: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self._last_wait: str | None = None

    def _p(self, text: str, err: bool = False) -> None:
        stream = self.err if err else self.out
        stream.write(visible(text) + "\n")
        stream.flush()

    def header(self, title: str, lines: list[str]) -> None:
        self._p(title)
        for line in lines:
            self._p(f"  {line}")

    def step_started(self, index: int, total: int, title: str) -> None:
        self._p(f"[{index}/{total}] {title}")

    def step_skipped(self, index: int, total: int, title: str, why: str) -> None:
        self._p(f"[{index}/{total}] {title}: {why}")

    def step_done(self, index: int, total: int, title: str, summary: str) -> None:
        self.done_waiting()
        self._p(f"[{index}/{total}] {title}: {summary}")

    def step_failed(self, index: int, total: int, title: str, message: str) -> None:
        self.done_waiting()
        self._p(f"[{index}/{total}] {title}: FAILED", err=False)

    def info(self, text: str) -> None:
        self.done_waiting()
        self._p(f"      {text}")

    def warn(self, text: str) -> None:
        self.done_waiting()
        self._p(f"      warning: {text}", err=True)

    def diff(self, ref: str, lines: list[str]) -> None:
        self.done_waiting()
        self._p(f"      {ref}")
        for line in lines:
            self._p(f"        {line}")

    def waiting(self, text: str) -> None:
        if text != self._last_wait:
            self._p(f"      … {text}")
            self._last_wait = text

    def done_waiting(self) -> None:
        self._last_wait = None

    def ask(self, question: str) -> bool:
        self.out.write(f"{visible(question)} [y/N] ")
        self.out.flush()
        answer = self.stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    def footer(self, lines: list[str]) -> None:
        for line in lines:
            self._p(line)


def _m(text: str) -> str:
    """A value inside rich markup: shown as it is, never read as styling, one line."""
    from rich.markup import escape

    return escape(visible(text))


class RichReporter(PlainReporter):
    """The same events, with colour, step markers and a live spinner while waiting."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console

        self.console = Console()
        self.err_console = Console(stderr=True)
        self._status: Status | None = None

    def header(self, title: str, lines: list[str]) -> None:
        self.console.print(f"[bold]{_m(title)}[/bold]", highlight=False)
        for line in lines:
            self.console.print(f"  {visible(line)}", highlight=False, markup=False)

    def step_started(self, index: int, total: int, title: str) -> None:
        self.console.print(f"[bold cyan]\\[{index}/{total}][/bold cyan] {_m(title)}", highlight=False)

    def step_skipped(self, index: int, total: int, title: str, why: str) -> None:
        self.console.print(f"[dim]\\[{index}/{total}] {_m(title)}: {_m(why)}[/dim]", highlight=False)

    def step_done(self, index: int, total: int, title: str, summary: str) -> None:
        self.done_waiting()
        self.console.print(f"[bold green]✓[/bold green] \\[{index}/{total}] {_m(title)}: {_m(summary)}",
                           highlight=False, markup=True)

    def step_failed(self, index: int, total: int, title: str, message: str) -> None:
        self.done_waiting()
        self.console.print(f"[bold red]✗[/bold red] \\[{index}/{total}] {_m(title)}", highlight=False)

    def info(self, text: str) -> None:
        self.done_waiting()
        self.console.print(f"      {visible(text)}", highlight=False, markup=False)

    def warn(self, text: str) -> None:
        self.done_waiting()
        self.err_console.print(f"      [yellow]warning:[/yellow] {_m(text)}", highlight=False)

    def diff(self, ref: str, lines: list[str]) -> None:
        self.done_waiting()
        self.console.print(f"      [bold]{_m(ref)}[/bold]", highlight=False)
        for line in lines:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            self.console.print(f"        [{style}]{_m(line)}[/{style}]" if style else f"        {_m(line)}",
                               highlight=False)

    def waiting(self, text: str) -> None:
        if self._status is None:
            self._status = self.console.status(_m(text))
            self._status.start()
        else:
            self._status.update(_m(text))

    def done_waiting(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def ask(self, question: str) -> bool:
        from rich.prompt import Confirm

        self.done_waiting()
        return bool(Confirm.ask(_m(question), default=False, console=self.console))

    def footer(self, lines: list[str]) -> None:
        for line in lines:
            self.console.print(visible(line), highlight=False, markup=False)


def make_reporter(*, rich: bool | None = None, stdin: IO[str] | None = None) -> Reporter:
    if rich is None:
        rich = sys.stdout.isatty()
    return RichReporter() if rich else PlainReporter(stdin=stdin)


def can_ask(stdin: IO[str] | None = None) -> bool:
    stream = stdin or sys.stdin
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
