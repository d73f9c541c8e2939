"""One goal in detail: its sources side by side, its broadcasts, and the messages waiting
for a response.

`o` opens the selected broadcast or waiting message (`twoway.tui.links`: only an http(s)
URL, and only in a browser when there is a display; over SSH it is copied instead). `x`
marks the selected waiting message "no reply needed" and `u` takes back the last mark
(SPEC §9): the screen asks the app (`MarkDone`), which owns the store, and the list
follows the report that comes back.

The first line (`TitleBar`) is docked: the goal's name, its status and DEMO stay in
view while the rest scrolls. Under it, the goal's `description` (the purpose behind it),
wrapped. Every table is laid out for the width it has (see
`twoway.tui.widgets.fit`): by source, each row keeps its label and the goal's total
and the source columns that do not fit give way, whole, to a `+N sources` column;
a post's text and a link take whatever width the other columns leave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Label

from twoway.text import excerpt
from twoway.tui.explanations import explain
from twoway.tui.links import open_link
from twoway.tui.render import (
    LABELS,
    UNICODE,
    WAITING_NOTE,
    WAITING_NOTE_SHORT,
    clean,
    coverage_note,
    explains_waiting,
    format_value,
    goal_status,
    human_duration,
    local,
    waiting_headline,
)
from twoway.tui.widgets.fit import CELL_PADDING, FitTable, column_width, fit_columns, more_sources
from twoway.tui.widgets.keys_footer import KeysFooter
from twoway.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from textual.coordinate import Coordinate

    from twoway.report import GoalReport, Report, Waiting

__all__ = ["GoalScreen"]

SHORT = {
    "community_messages": "community msgs",
    "amplification_rate": "amplification",
    "two_way_per_broadcast": "two-way/broadcast",
    "median_response_seconds": "median response",
}
"""Shorter labels, so a goal's three sources and its total fit in 80 columns."""
BY_SOURCE = (
    "broadcast",
    "two_way",
    "community_messages",
    "responses",
    "reposts",
    "quotes",
    "likes",
    "conversation_rate",
    "amplification_rate",
    "applause_rate",
    "two_way_per_broadcast",
    "response_rate",
    "median_response_seconds",
    "unanswered",
)
LIST_MIN = 5
"""Fewest rows (header included) the waiting list and the broadcasts get; below, the screen scrolls."""
TEXT_MIN = 12
"""Narrowest a post's text or a link gets before a column beside it gives way."""
WHEN_LONG, WHEN_SHORT = "%Y-%m-%d %H:%M", "%m-%d %H:%M"


def share_rows(room: int, needs: list[int]) -> tuple[int, int]:
    """Two lists' heights in `room` rows: a list that needs less than half gives the rest to the other."""
    need_a, need_b = needs
    half = room // 2
    if need_a <= half:
        a = need_a
    elif need_b <= room - half:
        a = room - need_b
    else:
        a = half
    a = max(LIST_MIN, a)
    return a, max(LIST_MIN, room - a)


def answering(item: Waiting, zone: str) -> str:
    """`“Is it for toddlers?” on 11-02 Storytime on Saturday`: the message's words where they are
    kept, and the broadcast it answers (its date and first words), or `a mention`."""
    words = " ".join(clean(item.text).split())
    said = f"“{words}” " if words else ""
    if item.broadcast_at is None:
        return f"{said}a mention"
    about = " ".join(clean(item.broadcast).split())
    return f"{said}on {local(item.broadcast_at, zone):%m-%d} {about}".rstrip()


class MetricTable(FitTable):
    """The goal's numbers, a metric a row: the row under the mouse says what it means."""

    def watch_hover_coordinate(self, old: Coordinate, value: Coordinate) -> None:
        super().watch_hover_coordinate(old, value)
        metrics = [key.value for key in self.rows]
        metric = metrics[value.row] if 0 <= value.row < len(metrics) else None
        self.tooltip = explain(metric) if metric is not None else None


class GoalScreen(Screen[None]):
    """A goal's sources and its waiting list."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open", "Open link"),
        Binding("x", "done", "Done"),
        Binding("u", "undo_done", "Undo x", show=False),
        # `a` works here, unlisted: the panel's marker said so, and `? Help` stays whole at 80 columns
        Binding("a", "app.alerts", show=False),
    ]

    class MarkDone(Message):
        """Mark a waiting message "no reply needed" (`url`), or take the last mark back (`None`)."""

        def __init__(self, url: str | None) -> None:
            super().__init__()
            self.url = url

    def __init__(self, goal_name: str) -> None:
        super().__init__()
        self.goal_name = goal_name

    def compose(self) -> ComposeResult:
        yield TitleBar(clean(self.goal_name), id="goal-bar")
        with VerticalScroll(id="goal-body", can_focus=False):
            yield Label("", id="description")
            yield Label("by source", id="by-source-title", classes="section")
            yield Label("", id="coverage")
            yield MetricTable(id="by-source", cursor_type="row", zebra_stripes=True)
            yield Label("", id="explain")
            yield Label("waiting for a response", id="waiting-title", classes="section")
            yield FitTable(id="waiting", cursor_type="row")
            yield Label("broadcasts", id="broadcasts-title", classes="section")
            yield FitTable(id="broadcasts", cursor_type="row")
        yield KeysFooter()

    def on_mount(self) -> None:
        # Focus without scrolling: the goal's numbers come first, even on a short terminal.
        self.set_focus(self.query_one("#waiting", DataTable), scroll_visible=False)
        self.watch(self.app, "report", self._show)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "by-source":
            self._explain()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`Enter` on a waiting message or a broadcast opens it, as `o` does."""
        if event.data_table.id in ("waiting", "broadcasts"):
            event.stop()
            self.action_open()

    def on_descendant_focus(self) -> None:
        self._explain()

    def _explain(self) -> None:
        """Under the numbers: the focused metric's definition, else why waiting and unanswered differ."""
        table = self.query_one("#by-source", MetricTable)
        goal = self._goal(getattr(self.app, "report", None))
        text = ""
        if table.has_focus and table.row_count:
            text = explain(BY_SOURCE[min(table.cursor_row, len(BY_SOURCE) - 1)])
        elif goal is not None and explains_waiting(goal):
            room = self.query_one("#goal-body", VerticalScroll).scrollable_content_region.width - 2  # its padding
            fits = len(WAITING_NOTE) <= room
            text = WAITING_NOTE if fits else WAITING_NOTE_SHORT
        label = self.query_one("#explain", Label)
        label.update(Content(text))
        label.display = bool(text)

    def _goal(self, report: Report | None) -> GoalReport | None:
        if report is None:
            return None
        return next((g for g in report.goals if g.name == self.goal_name), None)

    def _show(self, report: Report | None) -> None:
        goal = self._goal(report)
        if goal is None or report is None:
            return
        zone = goal.timezone
        dates = f"{local(goal.start, zone):%Y-%m-%d} {UNICODE.arrow} {local(goal.end, zone):%Y-%m-%d}"
        window, named = f"{clean(goal.window)} {UNICODE.dot} ", f" {UNICODE.dot} {clean(zone)}"
        # the zone before the window's length, which the dates also tell
        forms = (window + dates + named, dates + named, window + dates, dates)
        details = tuple(Text(form) for form in forms)
        status = Text(goal_status(goal, UNICODE).plain)  # coloured by the screen's status class
        self.query_one(TitleBar).show(demo=report.demo, status=status, details=details)
        for name in ("met", "missed", "no-data", "no-targets"):
            self.set_class(goal.status == name, f"-{name}")
        description = self.query_one("#description", Label)
        description.update(Content(" ".join(clean(goal.description or "").split())))  # the purpose, as configured
        description.display = bool(goal.description)
        self._by_source(goal)
        self._waiting(goal)
        self._broadcasts(goal)
        self._explain()
        self.call_after_refresh(self._share_height)

    def on_resize(self) -> None:
        self._explain()
        self.call_after_refresh(self._share_height)

    def _share_height(self) -> None:
        """The waiting list and the broadcasts share what the goal's numbers leave, and keep `LIST_MIN` rows each.

        Computed, not `1fr`: inside a scrolling body a fraction is of the whole body, so the
        broadcasts were pushed out of view even when the numbers left room for both.
        """
        body = self.query_one("#goal-body", VerticalScroll)
        lists = [self.query_one("#waiting", FitTable), self.query_one("#broadcasts", FitTable)]
        fixed = sum(
            child.outer_size.height + child.styles.margin.top + child.styles.margin.bottom
            for child in body.children
            if child not in lists and child.display
        )
        room = body.size.height - fixed - sum(t.styles.margin.top + t.styles.margin.bottom for t in lists)
        heights = share_rows(room, [table.row_count + 1 for table in lists])
        for table, height in zip(lists, heights):
            if table.styles.height is None or table.styles.height.value != height:
                table.styles.height = height

    def on_fit_table_resized(self, event: FitTable.Resized) -> None:
        goal = self._goal(getattr(self.app, "report", None))
        if goal is None:
            return
        layout = {"by-source": self._by_source, "waiting": self._waiting, "broadcasts": self._broadcasts}
        if event.table.id in layout:
            layout[event.table.id](goal)

    @staticmethod
    def _width(table: DataTable[Text]) -> int:
        """The cells a table's columns may take: its width, less a vertical scrollbar when it has rows to scroll."""
        return max(0, table.scrollable_content_region.width or table.size.width)

    def _by_source(self, goal: GoalReport) -> None:
        table = self.query_one("#by-source", FitTable)
        row = table.cursor_row
        sources = list(goal.by_source)
        labels = [Text(SHORT.get(m, LABELS[m])) for m in BY_SOURCE]
        totals = [Text(format_value(m, goal.metrics.get(m)), style="bold", justify="right") for m in BY_SOURCE]
        columns = {
            source: [Text(format_value(m, goal.by_source[source].get(m)), justify="right") for m in BY_SOURCE]
            for source in sources
        }
        label_w = column_width("metric", labels)
        total_w = column_width("goal", totals)
        source_ws = [column_width(clean(s), columns[s]) for s in sources]
        marker_w = len(more_sources(len(sources)))
        shown = fit_columns(self._width(table), [label_w, total_w], source_ws, marker_w)
        hidden = sources[shown:]
        table.clear(columns=True)
        table.add_column("metric", key="metric", width=label_w)
        for source, width in zip(sources[:shown], source_ws):
            table.add_column(Text(clean(source), style="bold", justify="right"), key=source, width=width)
        if hidden:
            table.add_column(Text(more_sources(len(hidden)), style="dim"), key="more", width=marker_w)
        table.add_column(Text("goal", style="bold", justify="right"), key="goal", width=total_w)
        for index, metric in enumerate(BY_SOURCE):
            cells = [labels[index], *(columns[s][index] for s in sources[:shown])]
            if hidden:
                cells.append(Text())
            table.add_row(*cells, totals[index], key=metric)
        table.move_cursor(row=row)
        title = "by source"
        if hidden:
            title += f" ({more_sources(len(hidden))} not shown: {', '.join(clean(s) for s in hidden)})"
        self.query_one("#by-source-title", Label).update(Content(title))
        # Wrapped on a line of its own: cut at the edge, it lost the sources and what it means for the changes.
        note = coverage_note(goal)
        coverage = self.query_one("#coverage", Label)
        coverage.update(Content(note or ""))
        coverage.display = note is not None

    def _waiting(self, goal: GoalReport) -> None:
        title = f"waiting for a response: {goal.waiting_total:,}"
        if goal.not_polled or goal.failing:  # unknown, or as of the last good poll: never a reassuring count
            title = waiting_headline(goal)
        if goal.longest_wait is not None:
            title += f", longest {human_duration(goal.longest_wait)}"
        if goal.waiting_total > len(goal.waiting):
            title += f" (the {len(goal.waiting)} oldest listed)"
        self.query_one("#waiting-title", Label).update(Content(title))
        table = self.query_one("#waiting", FitTable)
        row = table.cursor_row
        ages = [Text(human_duration(item.waiting_seconds), justify="right") for item in goal.waiting]
        sources = [Text(clean(item.source)) for item in goal.waiting]
        urls = [clean(item.url) for item in goal.waiting]
        contexts = [answering(item, goal.timezone) for item in goal.waiting]
        fixed = [column_width("waiting", ages), column_width("source", sources), len("2026-01-01 00:00")]
        # what the message answers and its link share what is left: half each, or what the other leaves
        pad = 2 * CELL_PADDING
        room = self._width(table) - sum(w + pad for w in fixed) - 2 * pad
        link_need, context_need = column_width("link", urls), column_width("answers", contexts)
        context_w = max(TEXT_MIN, min(context_need, room // 2))
        link_w = max(TEXT_MIN, min(link_need, room - context_w))
        context_w = max(TEXT_MIN, min(context_need, room - link_w))
        table.clear(columns=True)
        for label, width in zip(("waiting", "source", "since"), fixed):
            table.add_column(label, width=width)
        table.add_column("answers", width=context_w)
        table.add_column("link", width=link_w)
        for index, item in enumerate(goal.waiting):
            table.add_row(
                ages[index],
                sources[index],
                Text(f"{local(item.at, goal.timezone):%Y-%m-%d %H:%M}"),
                Text(excerpt(contexts[index], context_w), style="italic"),
                Text(excerpt(urls[index], link_w)),
                key=str(index),
            )
        if goal.waiting:
            table.move_cursor(row=min(row, len(goal.waiting) - 1))

    def _rest(self, table: DataTable[Text], fixed: list[int], texts: list[str], header: str) -> int:
        """The width left for the one column of free text, beside the `fixed` ones (at least `TEXT_MIN`)."""
        pad = 2 * CELL_PADDING
        room = self._width(table) - sum(w + pad for w in fixed) - pad
        return max(TEXT_MIN, min(room, column_width(header, texts)))

    def _broadcasts(self, goal: GoalReport) -> None:
        count = goal.metrics.get("broadcast") or 0
        self.query_one("#broadcasts-title", Label).update(Content(f"broadcasts: {count:,}"))
        table = self.query_one("#broadcasts", FitTable)
        row = table.cursor_row
        items = goal.broadcasts
        heads = ("replies", "responses", "reposts", "likes")
        numbers = [
            [Text(f"{n:,}", justify="right") for n in (item.replies, item.responses, item.reposts, item.likes)]
            for item in items
        ]
        number_ws = [column_width(h, [r[i] for r in numbers]) for i, h in enumerate(heads)]
        sources = [Text(clean(item.source)) for item in items]
        posts = [" ".join(clean(item.excerpt).split()) for item in items]
        # What gives way, in turn, so the post keeps TEXT_MIN: the year, then the source.
        full_source_w = column_width("source", sources)
        when, source_w, fixed = WHEN_LONG, full_source_w, []
        for when, source_w in ((WHEN_LONG, full_source_w), (WHEN_SHORT, full_source_w), (WHEN_SHORT, 0)):
            fixed = [len(f"{goal.end:{when}}"), *([source_w] if source_w else []), *number_ws]
            pad = 2 * CELL_PADDING
            if self._width(table) - sum(w + pad for w in fixed) - pad >= TEXT_MIN:
                break
        post_w = self._rest(table, fixed, posts, "post")
        table.clear(columns=True)
        table.add_column("when", width=fixed[0])
        if source_w:
            table.add_column("source", width=source_w)
        table.add_column("post", width=post_w)
        for head, width in zip(heads, number_ws):
            table.add_column(Text(head, justify="right"), width=width)
        for index, item in enumerate(items):
            table.add_row(
                Text(f"{local(item.at, goal.timezone):{when}}"),
                *([sources[index]] if source_w else []),
                Text(excerpt(posts[index], post_w)),
                *numbers[index],
                key=str(index),
            )
        if items:
            table.move_cursor(row=min(row, len(items) - 1))

    def selected_url(self) -> str | None:
        """The link of the selected row: in the broadcasts table when it has focus, else the waiting list."""
        goal = self._goal(getattr(self.app, "report", None))
        if goal is None:
            return None
        broadcasts = self.query_one("#broadcasts", DataTable)
        items = goal.broadcasts if broadcasts.has_focus else goal.waiting
        table = broadcasts if broadcasts.has_focus else self.query_one("#waiting", DataTable)
        if not items or table.row_count == 0:
            return None
        return items[min(table.cursor_row, len(items) - 1)].url

    def action_done(self) -> None:
        """`x`: the selected waiting message needs no reply; a broadcast cannot be marked."""
        goal = self._goal(getattr(self.app, "report", None))
        table = self.query_one("#waiting", DataTable)
        if self.query_one("#broadcasts", DataTable).has_focus or goal is None or not goal.waiting:
            self.notify("x marks a message of the waiting list: select one there.", severity="warning")
            return
        self.post_message(self.MarkDone(goal.waiting[min(table.cursor_row, len(goal.waiting) - 1)].url))

    def action_undo_done(self) -> None:
        self.post_message(self.MarkDone(None))

    def action_open(self) -> None:
        open_link(self, self.selected_url())
