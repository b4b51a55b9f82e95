"""Progress of the ``casekit`` command's long runs: one helper for casekit and its plugins.

On a terminal a long command (``casekit rules sweep``, ``casekit db upgrade``,
the ``casekit import ...`` commands) draws a progress bar on stderr; in a
pipe, a log or cron it prints nothing while it works, and the command ends
with one summary line, never a line per item. Plugins' commands use the same
helper, so every command behaves the same::

    from casekit.cli_progress import progress

    with progress("Importing", length=len(rows)) as bar:
        for row in rows:
            ...
            bar.advance()
    click.echo(f"imported {len(rows)} rows: ...")  # the summary line
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TextIO

import click

__all__ = ["Progress", "is_terminal", "progress"]


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether ``stream`` (stderr by default) is a terminal a bar may be drawn on."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """How far a long command has come: a bar on a terminal, silence elsewhere.

    The total may be unknown when the command starts (a sweep first finds
    what is due): :meth:`start` sets it, and the bar appears then.
    """

    def __init__(self, label: str, stack: ExitStack, stream: TextIO, shown: bool) -> None:
        self.label = label
        self.done = 0
        self.total: int | None = None
        self._stack = stack
        self._stream = stream
        self._shown = shown
        self._bar: Any = None

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn (on a terminal), so that per-step log lines can be left out."""
        return self._shown

    def start(self, total: int) -> None:
        """The number of steps of the run; draws the bar on a terminal."""
        self.total = total
        if self._shown and self._bar is None:
            self._bar = self._stack.enter_context(
                click.progressbar(
                    length=max(total, 0), label=self.label, file=self._stream, show_pos=True
                )
            )
            if self.done:
                self._bar.update(self.done)

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps done."""
        self.done += steps
        if self._bar is not None:
            self._bar.update(steps)

    def report(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps: the form of a service's ``progress`` callback."""
        if self.total is None:
            self.start(total)
        if done > self.done:
            self.advance(done - self.done)

    def step(self, name: str) -> None:
        """One named step done (a migration, a file): shown beside the bar."""
        if self._bar is not None:
            self._bar.label = f"{self.label} {name}"
        self.advance()


@contextmanager
def progress(
    label: str, length: int | None = None, *, file: TextIO | None = None
) -> Iterator[Progress]:
    """A :class:`Progress` for a run of ``length`` steps (or :meth:`Progress.start` later).

    The bar goes to ``file`` (stderr by default), and only when it is a
    terminal; elsewhere nothing is printed and the command's own summary
    line says what was done.
    """
    stream = sys.stderr if file is None else file
    with ExitStack() as stack:
        bar = Progress(label, stack, stream, is_terminal(stream))
        if length is not None:
            bar.start(length)
        yield bar
