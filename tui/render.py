"""Rich renderables built from the view-model, shared by `twoway snapshot` and the live app.

Only `twoway.report` objects come in; nothing here reads the store or the network.
Every string that did not come from this module (URLs, source errors, ids, goal and
organization names) goes through `clean` and into a `rich.text.Text`, never into
markup, so `[bold red]` in a URL stays literal (SPEC §8).

What goes to the terminal depends on its encoding: `Glyphs` holds the few non-ASCII
characters the views draw (bars, ✓/✗, the em dash for a null) and `glyphs_for`
falls back to ASCII when the output cannot encode them. `clean` also replaces what
the encoding cannot hold before Rich measures the text, so layout stays right.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from twoway.report import DURATIONS, RATIOS, GoalReport, Report, human_duration
from twoway.text import excerpt, neutralize

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from twoway.report import ImportNote

__all__ = [
    "ONE_WAY",
    "STATUS_STYLE",
    "bar_top",
    "bars",
    "delta_style",
    "join_texts",
    "Flowing",
    "flow",
    "metric_inline",
    "targets",
    "titled_table",
    "ASCII",
    "LABELS",
    "UNICODE",
    "Glyphs",
    "clean",
    "coverage_note",
    "demo_banner",
    "describe_import",
    "format_delta",
    "format_target",
    "format_value",
    "glyphs_for",
    "goal_panel",
    "goal_status",
    "header",
    "human_duration",
    "imported_note",
    "local",
    "relative_time",
    "sources_table",
    "utc",
    "window_names",
    "WAITING_NOTE",
    "WAITING_NOTE_SHORT",
    "explains_waiting",
    "waiting_headline",
    "waiting_summary",
]

LABELS: dict[str, str] = {
    "broadcast": "broadcast",
    "replies": "replies",
    "mentions": "mentions",
    "community_messages": "community messages",
    "responses": "responses",
    "answered": "answered",
    "two_way": "two-way",
    "reposts": "reposts",
    "quotes": "quotes",
    "likes": "likes",
    "conversation_rate": "conversation rate",
    "amplification_rate": "amplification rate",
    "applause_rate": "applause rate",
    "two_way_per_broadcast": "two-way per broadcast",
    "response_rate": "response rate",
    "median_response_seconds": "median response time",
    "p90_response_seconds": "90th pct response time",
    "unanswered": "unanswered",
    "voices": "voices",
}
"""Metric names as a reader says them."""

LOWER_IS_BETTER = frozenset({"median_response_seconds", "p90_response_seconds", "unanswered"})
KEY_RATES = ("conversation_rate", "two_way_per_broadcast", "response_rate", "median_response_seconds")
ONE_WAY = ("reposts", "quotes", "likes")
STATUS_STYLE = {
    "met": "bold green",
    "missed": "bold red",
    "no-data": "bold yellow",
    "no-targets": "bold",
    "ok": "green",
    "stale": "yellow",
    "error": "bold red",
}
BAR_MAX = 60
"""Longest bar, so the numbers stay near their bars on a wide terminal."""


@dataclass(frozen=True)
class Glyphs:
    """The non-ASCII characters views draw, and the encoding text must fit."""

    bar: str = "█"
    met: str = "✓"
    missed: str = "✗"
    unknown: str = "?"
    null: str = "—"
    minus: str = "−"
    plusminus: str = "±"
    ellipsis: str = "…"
    dot: str = "·"
    arrow: str = "→"
    ge: str = "≥"
    le: str = "≤"
    flag: str = "⚑"
    """An alert fires."""
    encoding: str = "utf-8"


UNICODE = Glyphs()
ASCII = Glyphs(
    bar="#",
    met="+",
    missed="x",
    unknown="?",
    null="-",
    minus="-",
    plusminus="+",
    ellipsis="...",
    dot="|",
    arrow="->",
    ge=">=",
    le="<=",
    flag="!",
    encoding="ascii",
)


def _encoding_name(encoding: str | None) -> str:
    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        return "ascii"


def glyphs_for(encoding: str | None) -> Glyphs:
    """The glyphs an output in `encoding` can show: Unicode when it can hold them all."""
    name = _encoding_name(encoding)
    drawn = "".join(v for k, v in vars(UNICODE).items() if k != "encoding")
    try:
        drawn.encode(name)
    except UnicodeEncodeError:
        return replace(ASCII, encoding=name)
    return replace(UNICODE, encoding=name)


def clean(text: str, glyphs: Glyphs = UNICODE) -> str:
    """Network or config text made inert and representable in the output encoding."""
    text = neutralize(text)
    if glyphs.encoding.startswith("utf"):
        return text
    return text.encode(glyphs.encoding, "replace").decode(glyphs.encoding)


def utc(moment: datetime) -> datetime:
    """The moment in UTC, the zone every view labels its times with."""
    return moment.astimezone(timezone.utc)


def local(moment: datetime, zone: str) -> datetime:
    """The moment in the organization's timezone (an IANA name), UTC if the name is unknown."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return utc(moment)


def coverage_note(goal: GoalReport, glyphs: Glyphs = UNICODE) -> str | None:
    """Why a window's numbers or the changes are missing: its sources' data begins after it does.

    `no data before 2026-09-07 (library-blog): no change against the 30d before`, the date
    in the organization's timezone; `None` when both windows are covered.
    """
    current, baseline = goal.coverage.get("metrics"), goal.coverage.get("baseline")
    shown = current if current is not None and not current.covered else baseline
    if shown is None or shown.covered:
        return None
    who = ", ".join(clean(s, glyphs) for s in shown.sources)
    if shown.covered_from is None:
        head = f"no data yet from {who}"
    else:
        head = f"no data before {local(shown.covered_from, goal.timezone):%Y-%m-%d} ({who})"
    window, before = window_names(goal, glyphs)
    if shown is current:
        this = f"this {window}" if goal.period is None else window
        return f"{head}: not counted in {this} nor compared with {before}"
    return f"{head}: no change against {before}"


def window_names(goal: GoalReport, glyphs: Glyphs = UNICODE) -> tuple[str, str]:
    """The goal's window and its baseline as a sentence names them: `30d` and `the 30d before`,
    or for a calendar period `November 2026` (`November 2026 so far` until it ends) and `October 2026`."""
    if goal.period is None:
        window = clean(goal.window, glyphs)
        return window, f"the {window} before"
    return goal.period.name, goal.period.baseline


def relative_time(moment: datetime | None, now: datetime) -> str:
    """`5m ago` against `now` (the report's generation time), `never` for no moment."""
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "in " + human_duration(-seconds)
    if seconds < 60:
        return "just now"
    return human_duration(seconds) + " ago"


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def format_value(metric: str, value: float | None, glyphs: Glyphs = UNICODE) -> str:
    """A metric's value as views show it; a null is the null glyph."""
    if value is None:
        return glyphs.null
    if metric in DURATIONS:
        return human_duration(value)
    if metric in RATIOS or not float(value).is_integer():
        return _number(value, 2)
    return _number(value, 0)


def format_delta(metric: str, delta: float | None, glyphs: Glyphs = UNICODE) -> str:
    """`+12`, `−0.05`, `+25m`, `±0`; the null glyph when either window had no value."""
    if delta is None:
        return glyphs.null
    magnitude = format_value(metric, abs(delta), glyphs)
    if magnitude.strip("0.s") == "":  # rounds to zero
        return glyphs.plusminus + magnitude
    return ("+" if delta > 0 else glyphs.minus) + magnitude


def format_target(metric: str, op: str, value: float, glyphs: Glyphs = UNICODE) -> str:
    """`≥ 0.50`, `≤ 4h`: the wanted side of a target."""
    shown_op = {">=": glyphs.ge, "<=": glyphs.le}.get(op, op)
    return f"{clean(shown_op, glyphs)} {format_value(metric, value, glyphs)}"


def delta_style(metric: str, delta: float | None) -> str:
    if not delta:
        return "dim"
    better = (delta < 0) if metric in LOWER_IS_BETTER else (delta > 0)
    return "green" if better else "red"


def _unavailable_note(goal: GoalReport, metric: str) -> Text:
    """Marks a metric no source of the goal can measure, so `—` is not read as "none"."""
    if goal.metrics.get(metric) is not None or not goal.unavailable.get(metric):
        return Text()
    return Text(" (not measured)", style="dim italic")


def metric_inline(goal: GoalReport, metric: str, glyphs: Glyphs, *, delta: bool = True) -> Text:
    """`reposts 52 (+3)`, or `likes — (not measured)`."""
    text = Text.assemble(
        (LABELS[metric] + " ", "dim"),
        (format_value(metric, goal.metrics.get(metric), glyphs), "bold"),
    )
    if delta and goal.metrics.get(metric) is not None:
        d = goal.deltas.get(metric)
        text.append(f" ({format_delta(metric, d, glyphs)})", delta_style(metric, d))
    text.append_text(_unavailable_note(goal, metric))
    return text


def join_texts(parts: list[Text], separator: str) -> Text:
    return Text(separator, style="dim").join(parts)


def flow(atoms: Sequence[Text], width: int, *, separator: str = " ", lead: Text | None = None) -> Text:
    """`atoms` on lines of `width` cells, breaking only between two of them, so `likes 605 (−62)`
    or `median 6h 25m (−6h 30m)` is never split mid-value; the lines after the first start under
    the first atom, past `lead` (an atom wider than a line still wraps, as nothing else can)."""
    text = lead.copy() if lead is not None else Text()
    indent = text.cell_len
    column, empty = indent, True
    for atom in atoms:
        gap = 0 if empty else cell_len(separator)
        if not empty and column + gap + atom.cell_len > width:
            text.append("\n" + " " * indent)
            column, gap = indent, 0
        if gap:
            text.append(separator, "dim")
        text.append_text(atom)
        column += gap + atom.cell_len
        empty = False
    return text


class Flowing:
    """`flow` at the width a renderable is given when drawn: a widget's width is not known before its layout."""

    def __init__(self, atoms: Sequence[Text], *, separator: str = " ", lead: Text | None = None) -> None:
        self.atoms, self.separator, self.lead = atoms, separator, lead

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield flow(self.atoms, options.max_width, separator=self.separator, lead=self.lead)


def bar_top(goals: Sequence[GoalReport]) -> float:
    """The longest bar of a screen: the largest broadcast or two-way count of its goals,
    so every goal's bars are on one scale."""
    values = [g.metrics.get(m) for g in goals for m in ("broadcast", "two_way")]
    return max((v for v in values if v is not None), default=0)


def bars(goal: GoalReport, width: int, glyphs: Glyphs, top: float = 0) -> Text:
    """Broadcast next to two-way as bars on one scale (`top`, shared by the goals of a
    screen, else the goal's own larger number), numbers at the end."""
    rows = [("broadcast", "broadcast", "blue"), ("two-way", "two_way", "green")]
    values = [goal.metrics.get(metric) for _, metric, _ in rows]
    numbers = [format_value(metric, v, glyphs) for (_, metric, _), v in zip(rows, values)]
    deltas = [
        f"({format_delta(metric, goal.deltas.get(metric), glyphs)})" if v is not None else ""
        for (_, metric, _), v in zip(rows, values)
    ]
    label_w = max(len(label) for label, _, _ in rows)
    number_w = max(len(n) for n in numbers)
    delta_w = max(len(d) for d in deltas)
    bar_w = max(4, min(BAR_MAX, width - label_w - number_w - delta_w - 3))
    scale = max(top, *(v for v in values if v is not None), 0)
    lines = Text()
    for (label, metric, style), value, number, delta in zip(rows, values, numbers, deltas):
        length = 0
        if value and scale:
            length = max(1, round(value / scale * bar_w))
        if lines:
            lines.append("\n")
        lines.append(label.ljust(label_w) + " ", "bold")
        lines.append(glyphs.bar * length, style)
        lines.append(" " * (bar_w - length) + " ")
        lines.append(number.rjust(number_w), "bold")
        if delta:
            lines.append(" " + delta, delta_style(metric, goal.deltas.get(metric)))
    return lines


def _breakdown(goal: GoalReport, indent: int, width: int, glyphs: Glyphs) -> Text:
    """What the two-way number is made of: messages, responses, people; each count beside its noun."""
    m = goal.metrics

    def part(*pieces: str | tuple[str, str]) -> Text:
        return Text.assemble(*(p if isinstance(p, tuple) else (p, "dim") for p in pieces))

    def value(metric: str) -> tuple[str, str]:
        return (format_value(metric, m.get(metric), glyphs), "bold")

    pad = Text(" " * indent)
    messages = [
        part(value("community_messages"), " community messages"),
        part("(", value("replies"), " replies,"),
        part(value("mentions"), " mentions)"),
        part("from ", value("voices"), " voices"),
    ]
    responses = [part(value("responses"), " responses,"), part(value("answered"), " messages answered")]
    text = flow(messages, width, lead=pad)
    text.append("\n")
    text.append_text(flow(responses, width, lead=pad))
    return text


def _rates(goal: GoalReport, glyphs: Glyphs) -> Table:
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="dim")
    table.add_column("key rates", style="bold", no_wrap=True)
    table.add_column("now", justify="right", no_wrap=True)
    table.add_column("before", justify="right", no_wrap=True)
    table.add_column("change", justify="right", no_wrap=True)
    for metric in KEY_RATES:
        delta = goal.deltas.get(metric)
        table.add_row(
            LABELS[metric],
            Text(format_value(metric, goal.metrics.get(metric), glyphs), style="bold"),
            Text(format_value(metric, goal.baseline.get(metric), glyphs), style="dim"),
            Text(format_delta(metric, delta, glyphs), style=delta_style(metric, delta)),
        )
    return table


def targets(goal: GoalReport, glyphs: Glyphs) -> Text:
    if not goal.targets:
        return Text("no targets set", style="dim")
    text = Text("targets", style="bold")
    marks = {True: (glyphs.met, "green"), False: (glyphs.missed, "red"), None: (glyphs.unknown, "yellow")}
    for target in goal.targets:
        mark, style = marks[target.met]
        label = LABELS.get(target.metric, clean(target.metric, glyphs))
        text.append("\n  ")
        text.append(mark, f"bold {style}")
        text.append(f" {label} ")
        text.append(format_value(target.metric, target.actual, glyphs), "bold")
        text.append(", wanted " + format_target(target.metric, target.op, target.value, glyphs), "dim")
        if target.met is None:
            text.append(" (no data)", "yellow")
    return text


def waiting_headline(goal: GoalReport, glyphs: Glyphs = UNICODE) -> str:
    """`3 waiting`, `3 waiting as of 10:42, library-mastodon failing`, or `waiting: unknown,
    library-mastodon has not polled yet`: unknown is never shown as none (SPEC §4)."""
    if goal.not_polled:
        who = ", ".join(clean(s, glyphs) for s in goal.not_polled)
        return f"waiting: unknown, {who} {'has' if len(goal.not_polled) == 1 else 'have'} not polled yet"
    count = f"{goal.waiting_total:,} waiting" if goal.waiting_total else "nothing waiting for a response"
    if goal.failing and goal.as_of is not None:
        when = local(goal.as_of, goal.timezone)
        shown = f"{when:%H:%M}" if when.date() == local(goal.end, goal.timezone).date() else f"{when:%Y-%m-%d %H:%M}"
        return f"{count} as of {shown}, {', '.join(clean(s, glyphs) for s in goal.failing)} failing"
    return count


def waiting_summary(goal: GoalReport, glyphs: Glyphs = UNICODE) -> Text:
    """The waiting headline styled, with the longest wait: one line for a panel or a snapshot."""
    headline = waiting_headline(goal, glyphs)
    if not goal.waiting_total or goal.not_polled:
        return Text(headline, style="yellow" if goal.not_polled or goal.failing else "dim")
    text = Text(headline, style="bold yellow")
    if goal.longest_wait is not None:
        text.append(f", longest {human_duration(goal.longest_wait)}")
    return text


def _waiting(goal: GoalReport, width: int, glyphs: Glyphs, listed_at_most: int | None) -> Text:
    text = waiting_summary(goal, glyphs)
    if not goal.waiting_total or goal.not_polled:
        return text
    text.overflow = "fold"  # a link longer than the panel goes on over the next line, whole
    listed = goal.waiting[:listed_at_most]
    age_w = max((len(human_duration(w.waiting_seconds)) for w in listed), default=0)
    source_w = min(20, max((cell_len(clean(w.source, glyphs)) for w in listed), default=0))
    url_w = max(10, width - 2 - age_w - 2 - source_w - 2)
    for item in listed:
        source = excerpt(clean(item.source, glyphs), source_w, ellipsis=glyphs.ellipsis)
        text.append("\n  ")
        text.append(human_duration(item.waiting_seconds).rjust(age_w), "yellow")
        text.append("  " + set_cell_size(source, source_w) + "  ", "dim")
        url = clean(item.url, glyphs)
        # a link is never cut (it is how staff reach the message): on its own line when it does not fit
        text.append(url if cell_len(url) <= url_w else f"\n    {url}")
    more = goal.waiting_total - len(listed)
    if more > 0:
        text.append(f"\n  {glyphs.ellipsis} and {more:,} more", "dim")
    return text


WAITING_NOTE = (
    "waiting counts every message written in the window that has no response yet, whatever broadcast it"
    " answers; unanswered counts the messages on this window's broadcasts"
)
"""Why the two numbers differ on one screen: a director will ask which is true (both are)."""
WAITING_NOTE_SHORT = "waiting: all unanswered messages of the window; unanswered: on its broadcasts"
"""The same in one line of 80 columns, where rows are few."""


def explains_waiting(goal: GoalReport) -> bool:
    """Both numbers show, so both are named: the waiting count and `unanswered`."""
    return bool(goal.waiting_total) and not goal.not_polled and goal.metrics.get("unanswered") is not None


def _footnotes(goal: GoalReport, glyphs: Glyphs) -> Text | None:
    """Which source cannot measure which part (its `—` and its gaps in the sums), which
    numbers came from an imported export, and what waiting counts."""
    missing = goal.unmeasured()
    lines = [f"{clean(source, glyphs)} cannot measure {', '.join(parts)}" for source, parts in missing.items()]
    if explains_waiting(goal):
        lines.append(WAITING_NOTE)
    imported = imported_note(goal.imported, glyphs)
    if imported is not None:
        lines.append(imported.plain)
    return Text("\n".join(lines), style="dim italic") if lines else None


def describe_import(note: ImportNote, glyphs: Glyphs = UNICODE) -> str:
    """`posts.xlsx into library-linkedin, exported 2024-06-01 (120 posts)`: what a number's provenance says."""
    return (
        f"{clean(note.file, glyphs)} into {clean(note.source, glyphs)},"
        f" exported {utc(note.exported_at):%Y-%m-%d} ({note.posts:,} posts)"
    )


def imported_note(notes: Sequence[ImportNote], glyphs: Glyphs = UNICODE) -> Text | None:
    """One line per file whose numbers a view shows: they are an export's, not collected."""
    if not notes:
        return None
    return Text("\n".join(f"imported: {describe_import(n, glyphs)}" for n in notes), style="dim italic")


def goal_status(goal: GoalReport, glyphs: Glyphs = UNICODE) -> Text:
    mark = {"met": glyphs.met, "missed": glyphs.missed, "no-data": glyphs.unknown}.get(goal.status, glyphs.dot)
    return Text(f"{mark} {goal.status}", style=STATUS_STYLE.get(goal.status, ""))


def goal_panel(
    goal: GoalReport, width: int, *, listed: int | None, glyphs: Glyphs = UNICODE, top: float = 0
) -> RenderableType:
    """One goal: status, broadcast next to two-way, one-way apart, rates, targets, waiting.

    `width` is the whole panel's, borders included; `listed`, how many waiting messages
    it lists (`None`: every one the report has); `top`, the bars' shared scale.
    """
    inner = max(20, width - 4)
    window, before = window_names(goal, glyphs)
    dates = f"{local(goal.start, goal.timezone):%Y-%m-%d} {glyphs.arrow} {local(goal.end, goal.timezone):%Y-%m-%d},"
    status_line = flow(
        [Text(f"{window}: {dates}", "dim"), Text(f"compared with {before}", "dim")],
        inner,
        lead=goal_status(goal, glyphs) + "  ",
    )
    one_way = flow(
        [metric_inline(goal, m, glyphs) for m in ONE_WAY],
        inner,
        separator=f" {glyphs.dot} ",
        lead=Text("one-way  ", style="bold"),
    )
    uncovered = coverage_note(goal, glyphs)
    parts: list[RenderableType] = [
        status_line,
        *([Text(uncovered, style="yellow")] if uncovered else []),
        Text(),
        bars(goal, inner, glyphs, top),
        _breakdown(goal, len("broadcast") + 1, inner, glyphs),
        Text(),
        one_way,
        Text(),
        _rates(goal, glyphs),
        Text(),
        targets(goal, glyphs),
        Text(),
        _waiting(goal, inner, glyphs, listed),
    ]
    footnotes = _footnotes(goal, glyphs)
    if footnotes is not None:
        parts += [Text(), footnotes]
    return Panel(
        Group(*parts),
        title=Text(clean(goal.name, glyphs), style="bold"),
        title_align="left",
        border_style=STATUS_STYLE.get(goal.status, "").replace("bold ", "") or "dim",
        box=box.ROUNDED,
        padding=(0, 1),
        width=width,
    )


def demo_banner(glyphs: Glyphs = UNICODE) -> Text:
    return Text(f"DEMO {glyphs.null} built-in demo organization, not real data", style="bold reverse yellow")


def _summary(report: Report, glyphs: Glyphs) -> Text:
    def count(items: list[str], order: tuple[str, ...]) -> str:
        return ", ".join(f"{items.count(s)} {s}" for s in order if items.count(s))

    goals: list[str] = [g.status for g in report.goals]
    sources: list[str] = [s.status for s in report.sources]
    text = Text(f"{len(goals)} goal{'s' * (len(goals) != 1)}", style="bold")
    if goals:
        text.append(": " + count(goals, ("missed", "no-data", "met", "no-targets")))
    text.append(f" {glyphs.dot} ", style="dim")
    text.append(f"{len(sources)} source{'s' * (len(sources) != 1)}", style="bold")
    if sources:
        text.append(": " + count(sources, ("error", "stale", "ok")))
    return text


def header(report: Report, *, glyphs: Glyphs = UNICODE) -> RenderableType:
    """The demo banner when it applies, who and when, and the one-line verdict."""
    lines: list[RenderableType] = []
    if report.demo:
        lines.append(demo_banner(glyphs))
    lines.append(
        Text.assemble(
            (clean(report.organization, glyphs), "bold"),
            (f" {glyphs.dot} social communication", ""),
        )
    )
    window = f"window {clean(report.window, glyphs)} for every goal" if report.window else "each goal's own window"
    if report.period is not None:
        window = f"{report.period.name} for every goal"
    # the organization's clock, named once here by its IANA name (SPEC §4: JSON and CSV stay UTC)
    when = f"{local(report.generated_at, report.timezone):%Y-%m-%d %H:%M} {clean(report.timezone, glyphs)}"
    lines.append(Text(f"{when} {glyphs.dot} {window}", style="dim"))
    if report.clock == "opening-hours":
        lines.append(Text("response and waiting times count opening hours only", style="dim"))
    lines.append(_summary(report, glyphs))
    return Group(*lines)


def titled_table(title: str) -> Table:
    """The plain table every list of sources uses: a bold title, a rule under the header."""
    return Table(
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
        header_style="bold",
        title=Text(title, style="bold"),
        title_justify="left",
    )


def sources_table(report: Report, *, glyphs: Glyphs = UNICODE) -> RenderableType:
    """One row per source: is it collecting, and since when; errors in full below."""
    table = titled_table("sources")
    table.add_column("source", no_wrap=True)  # a source id is never split: "last success" wraps first
    table.add_column("platform", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("last success")
    table.add_column("followers", justify="right", no_wrap=True)
    errors = Text()
    for source in report.sources:
        source_id = clean(source.id, glyphs)
        table.add_row(
            Text(source_id, style="bold"),
            Text(clean(source.platform, glyphs)),
            Text(source.status, style=STATUS_STYLE.get(source.status, "")),
            Text(relative_time(source.last_success, report.generated_at)),
            Text(format_value("followers", source.followers, glyphs)),
        )
        if source.error:
            if errors:
                errors.append("\n")
            errors.append(f"{source_id}: ", style="bold red")
            errors.append(" ".join(clean(source.error, glyphs).split()))
    latest = [s.imports[0] for s in report.sources if s.imports]
    notes = [n for n in (errors or None, imported_note(latest, glyphs)) if n is not None]
    return Group(table, *notes) if notes else table
