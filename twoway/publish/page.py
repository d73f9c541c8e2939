"""What the report says, as plain strings: one page model for the HTML and the Markdown.

Built from the Report view-model alone. Every string that came from the network or the
config (names, ids, descriptions, URLs, file names) is neutralised here (SPEC §8); each
renderer then escapes for its own format (Jinja2's autoescape, or Markdown's). A link
is kept only when it is http(s); any other becomes plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from twoway.report import GoalReport, Report, Week
from twoway.text import excerpt, neutralize
from twoway.tui.render import (
    LABELS,
    coverage_note,
    describe_import,
    format_delta,
    format_target,
    format_value,
    local,
    window_names,
)

__all__ = ["OVERVIEW", "Cell", "GoalPage", "Link", "Page", "build_page", "safe_href"]

OVERVIEW = ("broadcast", "two_way", "response_rate", "median_response_seconds")
"""Every goal at a glance (SPEC §10), with its changes."""
BY_SOURCE = ("broadcast", "two_way", "response_rate", "median_response_seconds")
EXCERPT = 60
"""Characters of a broadcast's own text beside its link (the organization's words, never the community's)."""
_HTTP = re.compile(r"https?://[^\s\"'<>`]+", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    text: str
    href: str | None
    """Only ever an http(s) URL; `None` shows `text` unlinked."""


@dataclass(frozen=True)
class Cell:
    """A number, its change against the baseline, and against the year before where known."""

    value: str
    change: str
    year: str | None


@dataclass(frozen=True)
class Target:
    label: str
    actual: str
    wanted: str
    verdict: str
    met: bool | None


@dataclass(frozen=True)
class WeekRow:
    label: str
    broadcast: str
    two_way: str
    median: str
    p90: str


@dataclass(frozen=True)
class SourceRow:
    source: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Busy:
    date: str
    source: str
    link: Link
    excerpt: str
    two_way: str
    replies: str
    responses: str
    reposts: str
    likes: str


@dataclass(frozen=True)
class GoalPage:
    anchor: str
    name: str
    status: str
    description: str | None
    window: str
    """`November 2026, 1 Nov to 30 Nov 2026, compared with October 2026`."""
    overview: dict[str, Cell]
    targets: tuple[Target, ...]
    weeks: tuple[WeekRow, ...]
    sources: tuple[SourceRow, ...]
    busiest: tuple[Busy, ...]
    notes: tuple[str, ...]
    """What could not be measured, what is not covered, which numbers came from imports."""


@dataclass(frozen=True)
class Page:
    organization: str
    title: str
    """`November 2026`, `November 2026 so far`, or `the last 30d`."""
    compared: str
    year_title: str | None
    """The year before's title where any goal has one, for the overview's last column."""
    generated: str
    timezone: str
    demo: bool
    clock_note: str | None
    goals: tuple[GoalPage, ...]
    sources: tuple[SourceRow, ...]
    labels: dict[str, str]


def safe_href(url: str) -> str | None:
    """The URL when it is http(s) and nothing but a URL, else `None`: a `javascript:` link never becomes one."""
    url = neutralize(url).strip()
    return url if _HTTP.fullmatch(url) else None


def _day(moment: datetime, zone: str) -> str:
    day = local(moment, zone)
    return f"{day.day} {day:%b %Y}"


def _span(goal: GoalReport) -> str:
    """The window's first and last day, in the organization's timezone."""
    ended = goal.period is not None and goal.period.ended  # it ends at midnight after its last day
    start = local(goal.start, goal.timezone)
    last = local(goal.end - timedelta(seconds=1) if ended else goal.end, goal.timezone)
    first = f"{start.day} {start:%b}" + ("" if start.year == last.year else f" {start.year}")
    return f"{first} to {last.day} {last:%b %Y}"


def _overview(goal: GoalReport, metric: str) -> Cell:
    year = goal.year_before
    return Cell(
        format_value(metric, goal.metrics.get(metric)),
        format_delta(metric, goal.deltas.get(metric)),
        format_delta(metric, year.deltas.get(metric)) if year else None,
    )


def _week(week: Week, zone: str) -> WeekRow:
    start = local(week.start, zone)
    return WeekRow(
        f"W{start.isocalendar()[1]:02d} · {start.day} {start:%b}",
        format_value("broadcast", week.broadcast),
        format_value("two_way", week.two_way),
        format_value("median_response_seconds", week.median_response_seconds),
        format_value("p90_response_seconds", week.p90_response_seconds),
    )


def _notes(goal: GoalReport) -> tuple[str, ...]:
    notes = [f"{neutralize(source)} cannot measure {', '.join(parts)}." for source, parts in goal.unmeasured().items()]
    uncovered = coverage_note(goal)
    if uncovered:
        notes.append(uncovered[0].upper() + uncovered[1:] + ".")
    if goal.year_before is None and goal.period is not None:
        notes.append(f"No comparison with {goal.period.year_before}: the data does not reach back that far.")
    notes += [f"Imported: {describe_import(note)}." for note in goal.imported]
    return tuple(notes)


def _goal(goal: GoalReport, n: int) -> GoalPage:
    window, before = window_names(goal)
    zone = goal.timezone
    return GoalPage(
        anchor=f"goal-{n}",
        name=neutralize(goal.name),
        status=goal.status,
        description=neutralize(goal.description) if goal.description else None,
        window=f"{window}: {_span(goal)}, compared with {before}",
        overview={m: _overview(goal, m) for m in OVERVIEW},
        targets=tuple(
            Target(
                LABELS.get(t.metric) or neutralize(t.metric),
                format_value(t.metric, t.actual),
                format_target(t.metric, t.op, t.value),
                {True: "met", False: "missed", None: "no data"}[t.met],
                t.met,
            )
            for t in goal.targets
        ),
        weeks=tuple(_week(w, zone) for w in goal.weekly),
        sources=tuple(
            SourceRow(neutralize(sid), tuple(format_value(m, metrics.get(m)) for m in BY_SOURCE))
            for sid, metrics in goal.by_source.items()
        ),
        busiest=tuple(
            Busy(
                _day(b.at, zone),
                neutralize(b.source),
                Link(neutralize(b.url), safe_href(b.url)),
                excerpt(b.excerpt, EXCERPT),
                f"{b.replies + b.responses:,}",
                f"{b.replies:,}",
                f"{b.responses:,}",
                f"{b.reposts:,}",
                f"{b.likes:,}",
            )
            for b in goal.busiest
        ),
        notes=_notes(goal),
    )


def build_page(report: Report) -> Page:
    period = report.period
    if period is not None:
        title, compared = period.name, period.baseline
    elif report.window:
        title, compared = f"the last {neutralize(report.window)}", f"the {neutralize(report.window)} before"
    else:
        title, compared = "each goal's own window", "the window before"
    years = [g.year_before.title for g in report.goals if g.year_before is not None]
    generated = local(report.generated_at, report.timezone)
    return Page(
        organization=neutralize(report.organization),
        title=title,
        compared=compared,
        year_title=years[0] if years else None,
        generated=f"{generated.day} {generated:%b %Y %H:%M}",
        timezone=neutralize(report.timezone),
        demo=report.demo,
        clock_note="Response times count opening hours only." if report.clock == "opening-hours" else None,
        goals=tuple(_goal(g, n) for n, g in enumerate(report.goals, 1)),
        sources=tuple(
            SourceRow(
                neutralize(s.id),
                (
                    neutralize(s.platform),
                    s.status,
                    _day(s.last_success, report.timezone) if s.last_success else "never",
                    format_value("followers", s.followers),
                ),
            )
            for s in report.sources
        ),
        labels={**LABELS, "median_response_seconds": "median response", "response_rate": "response rate"},
    )

