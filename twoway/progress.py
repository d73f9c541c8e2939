"""Long work shown while it runs: a source's first backfill, a large import (issue 13).

The core reports plain events through `Progress`: `twoway.scheduler.poll_once` as each
source starts, reads a page and stores its posts (pages are counted in the shared HTTP
layer, so no collector reports anything itself); `twoway import` as it reads and stores
its file. `Tracker` turns them into a Rich display on stderr when stderr is a terminal
(transient: it is gone when the work is), and keeps each source's pages, posts and time
for the one summary line the command line prints, terminal or not, so a piped run or a
cron mail reads the same as what the terminal showed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from twoway.text import neutralize

if TYPE_CHECKING:
    from collections.abc import Collection

    from rich.console import Console
    from rich.progress import Progress as Display
    from rich.progress import TaskID

__all__ = ["Progress", "Tally", "Tracker", "seconds", "terminal"]


def seconds() -> float:
    """The clock work is timed with; tests replace it, so that no test reads real time."""
    return time.monotonic()


def terminal() -> Console | None:
    """A console on stderr when stderr is a terminal that can redraw; `None` when piped or under cron."""
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal and not console.is_dumb_terminal else None


class Progress(Protocol):
    """What long work reports as it goes, source by source."""

    def started(self, source_id: str) -> None: ...

    def paged(self, source_id: str) -> None:
        """One more page read: an answer from the platform."""
        ...

    def storing(self, source_id: str, posts: int) -> None:
        """Reading is done; `posts` are being stored."""
        ...

    def finished(self, source_id: str, error: str | None) -> None:
        """Stored, or failed with `error` (its one line); also said of a source never started (skipped)."""
        ...


@dataclass
class Tally:
    """One source's work so far."""

    began: float
    pages: int = 0
    posts: int | None = None
    took: float | None = None
    """Seconds from start to finish, once finished."""
    error: str | None = None

    def read(self) -> str:
        """`3 pages, 57 posts`; no pages for work that read none (a file, a collector off the HTTP layer)."""
        read = [_count(self.pages, "page")] if self.pages else []
        return ", ".join([*read, _count(self.posts or 0, "post")])

    def summary(self, source_id: str) -> str:
        """`library-mastodon: backfilled 3 pages, 57 posts in 1.2 s`."""
        return f"{neutralize(source_id)}: backfilled {self.read()} in {_took(self.took or 0.0)}"


class Tracker:
    """The `Progress` of the sources in `watched`, shown live on `console` when there is one;
    every other source's events are ignored. Use it as a context manager around the work."""

    def __init__(self, watched: Collection[str], console: Console | None, *, reading: str = "reading") -> None:
        self.watched = set(watched)
        self.tallies: dict[str, Tally] = {}
        """By source, in the order they started."""
        self._console = console
        self._reading = neutralize(reading)
        self._display: Display | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Tracker:
        if self._console is not None and self.watched:
            self._display = _display(self._console)
            self._display.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._display is not None:
            self._display.stop()
            self._display = None

    def started(self, source_id: str) -> None:
        if source_id not in self.watched:
            return
        self.tallies[source_id] = Tally(seconds())
        if self._display is not None:
            self._tasks[source_id] = self._display.add_task(self._reading, source=neutralize(source_id), total=None)

    def paged(self, source_id: str) -> None:
        tally = self.tallies.get(source_id)
        if tally is not None:
            tally.pages += 1
            self._show(source_id, f"{self._reading}: {_count(tally.pages, 'page')}")

    def storing(self, source_id: str, posts: int) -> None:
        tally = self.tallies.get(source_id)
        if tally is not None:
            tally.posts = posts
            self._show(source_id, f"storing {_count(posts, 'post')}")

    def finished(self, source_id: str, error: str | None) -> None:
        tally = self.tallies.get(source_id)
        if tally is None or tally.took is not None:
            return
        tally.took, tally.error = seconds() - tally.began, error
        self._show(source_id, f"failed: {neutralize(error)}" if error else f"done: {tally.read()}", done=True)

    def lines(self) -> list[str]:
        """One summary line per source that finished without an error; a failure has its error line instead."""
        return [t.summary(sid) for sid, t in self.tallies.items() if t.took is not None and t.error is None]

    def _show(self, source_id: str, description: str, *, done: bool = False) -> None:
        task = self._tasks.get(source_id)
        if self._display is None or task is None:
            return
        if done:  # a total reached stops the elapsed clock of that row
            self._display.update(task, description=description, total=1, completed=1)
        else:
            self._display.update(task, description=description)


def _display(console: Console) -> Display:
    """One row a source: a spinner, the source, what it is doing, the time elapsed. Never markup:
    source ids come from the configuration and errors from the network (SPEC §8)."""
    from rich.progress import Progress as Display
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Column

    spinner = "dots" if console.encoding.lower().startswith("utf") else "line"
    return Display(
        SpinnerColumn(spinner, finished_text=" "),
        TextColumn("{task.fields[source]}", markup=False, table_column=Column(no_wrap=True)),
        # a long error gives way, never the source or the time
        TextColumn("{task.description}", markup=False, table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        TimeElapsedColumn(table_column=Column(no_wrap=True)),
        console=console,
        expand=True,  # the ratio column takes what is left: a long line is cut, not wrapped
        transient=True,
        redirect_stdout=False,  # the summary lines go to stdout once the display is gone
        redirect_stderr=False,
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _took(span: float) -> str:
    """`0.4 s`, `12.3 s`, then `4m 05s`, `1h 02m`."""
    if span < 60:
        return f"{span:.1f} s"
    minutes, secs = divmod(int(round(span)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    return f"{minutes // 60}h {minutes % 60:02d}m"
