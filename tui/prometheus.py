"""The store's series in the Prometheus text format (SPEC §11), through `prometheus_client`.

A custom collector reads a fresh `Report` at each collect and yields metric families
from it, instead of gauges kept in sync with the store: a scrape shows what the store
holds at that moment, like a snapshot. `twoway snapshot --format prometheus` and
`--metrics`' `/metrics` use the same collector, so both expose the same series.

`ProcessSeries` adds what only a serving process knows (`--metrics`, never in the
snapshot): the requests each source sent, how long its polls took, and the alerts it
delivered per rule and channel (SPEC §9).

Every label value is neutralised (SPEC §8); `prometheus_client` escapes quotes,
backslashes and newlines, so a goal's name always stays one label value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from twoway.report import METRICS, Report
from twoway.text import neutralize

if TYPE_CHECKING:
    from twoway.model import Batch
    from twoway.plugin import Collector as SourceCollector
    from twoway.plugin import Context

__all__ = ["POLL_BUCKETS", "ProcessSeries", "ReportCollector", "exposition"]

POLL_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Seconds: a poll takes from a tenth of a second (nothing new) to minutes (a backfill, a rate limit)."""


class ReportCollector(Collector):
    """The store's series, from the report `read` returns at each collect."""

    def __init__(self, read: Callable[[], Report]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        yield from _families(self._read())


def _families(report: Report) -> Iterator[Metric]:
    """`twoway_goal_*` and `twoway_source_*`: a null value has no sample, never a 0."""
    metric = GaugeMetricFamily(
        "twoway_goal_metric",
        "A metric of a goal (SPEC section 3) over its window (current) or the window before it (baseline).",
        labels=["goal", "metric", "window"],
    )
    met = GaugeMetricFamily(
        "twoway_goal_met", "1 when every target of the goal is met, 0 when one is missed.", labels=["goal"]
    )
    waiting = GaugeMetricFamily(
        "twoway_goal_waiting", "Community messages of the goal waiting for a response.", labels=["goal"]
    )
    for goal in report.goals:
        name = neutralize(goal.name)
        for window, values in (("current", goal.metrics), ("baseline", goal.baseline)):
            for key in METRICS:
                value = values.get(key)
                if value is not None:
                    metric.add_metric([name, key, window], value)
        if goal.status in ("met", "missed"):
            met.add_metric([name], 1 if goal.status == "met" else 0)
        if goal.waiting_known is not None:
            waiting.add_metric([name], goal.waiting_known)
    up = GaugeMetricFamily(
        "twoway_source_up",
        "1 when the source's status is ok; 0 when it is in error or stale (not polled within twice its interval).",
        labels=["source", "platform"],
    )
    last = GaugeMetricFamily(
        "twoway_source_last_success_timestamp_seconds",
        "When the source last polled successfully (or, filled by imports only, was last imported into).",
        labels=["source"],
    )
    for source in report.sources:
        up.add_metric([neutralize(source.id), neutralize(source.platform)], 1 if source.status == "ok" else 0)
        if source.last_success is not None:
            last.add_metric([neutralize(source.id)], source.last_success.timestamp())
    yield from (metric, met, waiting, up, last)


def exposition(report: Report) -> str:
    """The report's series as one scrape would show them, for node_exporter's textfile collector."""
    registry = CollectorRegistry()
    registry.register(ReportCollector(lambda: report))
    return generate_latest(registry).decode("utf-8")


class Sent(Protocol):
    """A digest an evaluation sent (`twoway.alerts.evaluate.Sent`), as far as counting it goes."""

    @property
    def rule(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def alerts(self) -> int: ...
    @property
    def ok(self) -> bool: ...


class ProcessSeries(Collector):
    """`twoway_source_requests_total`, `twoway_source_poll_seconds` and `twoway_alerts_sent_total`,
    for this process only.

    Requests are read at each collect from the collectors a factory made (`watch`), so
    nothing is counted twice; poll durations are observed by the collectors `timed` wraps;
    alerts are counted from each evaluation's digests the channel accepted (`delivered`).
    """

    def __init__(self, sources: Sequence[str], alert_channels: Sequence[tuple[str, str]] = ()) -> None:
        """`sources`: the ids this process polls; `alert_channels`: (rule, channel kind) pairs; each
        with its series from the start (at 0, nothing done yet)."""
        self._alerts_sent = Counter(
            "twoway_alerts_sent",
            "Alerts this process delivered (each one listed or counted in a digest a channel accepted).",
            ["rule", "channel"],
            registry=None,
        )
        for rule, channel in alert_channels:
            self._alerts_sent.labels(rule=neutralize(rule), channel=channel)
        self._sources = tuple(sources)
        self._made: list[Mapping[str, SourceCollector]] = []
        self._poll_seconds = Histogram(
            "twoway_source_poll_seconds",
            "How long each poll of a source took, from its first request to its batch (the store's write aside).",
            ["source"],
            registry=None,
            buckets=POLL_BUCKETS,
        )
        for source in self._sources:
            self._poll_seconds.labels(source=neutralize(source))

    def watch(self, made: Mapping[str, SourceCollector]) -> None:
        """Count the requests of the collectors a factory keeps in `made` (filled as sources first poll)."""
        self._made.append(made)

    def delivered(self, digests: Iterable[Sent]) -> None:
        """Count the alerts of every digest its channel accepted."""
        for sent in digests:
            if sent.ok:
                kind = sent.channel.split(" ", 1)[0]  # the channel id's kind: webhook, email, command, apprise
                self._alerts_sent.labels(rule=neutralize(sent.rule), channel=kind).inc(sent.alerts)

    def timed(self, collector: SourceCollector) -> SourceCollector:
        return _Timed(collector, self._poll_seconds.labels(source=neutralize(collector.context.source.id)).observe)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "twoway_source_requests",
            "HTTP requests a source sent since this process started, each retry and redirect counted.",
            labels=["source"],
        )
        sent = dict.fromkeys(self._sources, 0)
        for made in self._made:
            for collector in list(made.values()):  # one C-level copy: polls may add a collector meanwhile
                source = collector.context.source.id
                sent[source] = sent.get(source, 0) + collector.context.http.requests
        for source, count in sent.items():
            requests.add_metric([neutralize(source)], count)
        yield requests
        yield from self._poll_seconds.collect()
        yield from self._alerts_sent.collect()


class _Timed:
    """A source's collector whose every poll, failed or not, is observed in seconds."""

    def __init__(self, inner: SourceCollector, observe: Callable[[float], None]) -> None:
        self.context: Context = inner.context
        self._inner = inner
        self._observe = observe

    async def poll(self, cursor: str | None, now: datetime) -> Batch:
        started = time.perf_counter()
        try:
            return await self._inner.poll(cursor, now)
        finally:
            self._observe(time.perf_counter() - started)
