"""The store's series in the Prometheus text format (SPEC §11), through `prometheus_client`.

A custom collector reads a fresh `Report` at each collect and yields metric families
from it, instead of gauges kept in sync with the store: a scrape shows what the store
holds at that moment, like a snapshot. `twoway snapshot --format prometheus` and
`--metrics`' `/metrics` use the same collector, so both expose the same series.

Every label value is neutralised (SPEC §8); `prometheus_client` escapes quotes,
backslashes and newlines, so a goal's name always stays one label value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from twoway.report import METRICS, Report
from twoway.text import neutralize

__all__ = ["ReportCollector", "exposition"]


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
