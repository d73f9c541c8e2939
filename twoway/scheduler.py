"""Polls sources into the store: each under its lease, none able to touch another.

A source's failure becomes its one-line `error` in the store; its stored data and
every other source carry on.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from twoway.config import Config, Source
from twoway.store import Store
from twoway.text import neutralize

if TYPE_CHECKING:
    from twoway.plugin import Collector
    from twoway.progress import Progress

__all__ = ["CollectorFor", "LEASE_SECONDS", "backfilling", "due_sources", "poll_once", "polled_sources"]

CollectorFor = Callable[[Source], "Collector"]
"""Each source's collector, made once per process by whoever wires the command."""

OWNER = f"{socket.gethostname()}:{os.getpid()}"
LEASE_SECONDS = 120
"""A poll's lease: renewed every `RENEW_SECONDS` while it runs, so a collector that died
(killed, its machine gone) leaves its sources to another within two minutes."""
RENEW_SECONDS = 40
wait = asyncio.sleep
"""The pause between renewals (tests replace it: they never wait on real time)."""


def _dead(owner: str | None) -> bool:
    """A lease left by a process of this machine that no longer runs (killed mid-poll)."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _one_line(error: BaseException) -> str:
    """The error as one line; a collector tripping over data it did not expect says so."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, (KeyError, TypeError, ValueError, AttributeError, IndexError)):
        text = f"unexpected answer from the platform ({type(error).__name__}: {text})"
    return text[:300]


async def poll_once(
    store: Store,
    sources: Sequence[Source],
    collector_for: CollectorFor,
    now: Callable[[], datetime],
    *,
    deadline: float | None = None,
    progress: Progress | None = None,
    elsewhere: dict[str, str] | None = None,
) -> dict[str, str | None]:
    """One cycle over `sources`, concurrently; returns each source's error or `None`.

    With a `deadline` (seconds), a source still polling then is given up for this
    cycle: a snapshot never waits on a dead network longer than `[dashboard] timeout`.
    `progress` hears each source start, read its pages, store its posts and finish; a
    source another process is polling never starts, and `elsewhere` (when given) gets a
    line saying who holds it. A poll renews its lease while it runs.
    """

    from twoway.plugin import FetchError

    async def poll(source: Source) -> str | None:
        error = await attempt(source)
        if progress is not None:
            progress.finished(source.id, error)
        return error

    async def attempt(source: Source) -> str | None:
        started = now()
        if source.missing:
            message = source.missing_message()
            store.record_error(source.id, source.platform, started, message)
            return message
        state = store.source_states().get(source.id)
        if state is not None and state.lease_owner is not None and _dead(state.lease_owner):
            store.release_lease(source.id, state.lease_owner)
        if not store.acquire_lease(source.id, source.platform, OWNER, started, LEASE_SECONDS):
            if elsewhere is not None:  # another process is polling it right now; its result will land
                elsewhere[source.id] = _held(store, source)
            return None
        http = None
        renewing = asyncio.create_task(renew(source))
        try:
            collector = collector_for(source)
            if progress is not None:
                progress.started(source.id)
                http = collector.context.http
                http.on_page = partial(progress.paged, source.id)
            poll = collector.poll(store.cursor(source.id), started)
            batch = await (asyncio.wait_for(poll, deadline) if deadline else poll)
            if progress is not None:
                progress.storing(source.id, len(batch.posts))
            await asyncio.to_thread(store.write, batch)  # a big backfill must not freeze the live app
            return None
        except asyncio.TimeoutError:
            message = f"gave up after {deadline:g} s without an answer"
            store.record_error(source.id, source.platform, now(), message)
            return message
        except FetchError as e:
            message = _one_line(e)
            store.record_error(source.id, source.platform, now(), message, e.cursor)
            return message
        except Exception as e:  # one source's failure must never reach another
            message = _one_line(e)
            store.record_error(source.id, source.platform, now(), message)
            return message
        finally:
            renewing.cancel()
            if http is not None:
                http.on_page = None
            store.release_lease(source.id, OWNER)

    async def renew(source: Source) -> None:
        while True:
            await wait(RENEW_SECONDS)
            await asyncio.to_thread(store.renew_lease, source.id, OWNER, now(), LEASE_SECONDS)

    results = await asyncio.gather(*(poll(s) for s in sources))
    return {s.id: r for s, r in zip(sources, results)}


def _held(store: Store, source: Source) -> str:
    """Who polls `source` instead, and until when at most."""
    state = store.source_states().get(source.id)
    if state is None or state.lease_owner is None or state.lease_until is None:
        return "polled by another collector: skipped"
    until = state.lease_until.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"polled by {neutralize(state.lease_owner)} (its lease runs until {until}): skipped"


def polled_sources(config: Config) -> list[Source]:
    """The sources a collector polls: all but those only `twoway import` fills."""
    from twoway.platforms import PLATFORMS

    return [s for s in config.sources if not (s.platform in PLATFORMS and PLATFORMS[s.platform].importer)]


def due_sources(config: Config, store: Store) -> list[Source]:
    """Polled sources whose data is older than their interval."""
    from twoway import clock

    now = clock.now()
    states = store.source_states()
    due = []
    for source in polled_sources(config):
        state = states.get(source.id)
        if state is None or state.last_success is None:
            due.append(source)
        elif (now - state.last_success).total_seconds() >= source.interval:
            due.append(source)
    return due


def backfilling(config: Config, store: Store) -> list[str]:
    """The ids of the polled sources whose first backfill has not succeeded yet, in config order.

    A source with no successful poll reads back `horizon` (twice the longest window) at its
    next poll: long work, which `twoway collect` shows and the live app counts in its header
    ("backfilling 2/3 sources": this list's length against `polled_sources(config)`'s). A
    source whose polls all failed so far stays in (its error says why, and its next poll
    is still the backfill); one whose credentials are missing is left out, as it cannot poll.
    """
    states = store.source_states()
    return [
        s.id
        for s in polled_sources(config)
        if not s.missing and (s.id not in states or states[s.id].last_success is None)
    ]
