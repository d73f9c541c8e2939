"""`twoway report --format markdown`: the HTML report's content as text with tables.

The same page model as the HTML; every string is escaped as the Markdown snapshot
escapes it (`md_escape`, links through `md_url`, only http(s) as links). The charts'
numbers are the week-by-week table.
"""

from __future__ import annotations

from twoway.publish.page import BY_SOURCE, OVERVIEW, GoalPage, Page, build_page
from twoway.report import Report
from twoway.tui.snapshot import md_escape, md_url

__all__ = ["render_markdown"]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]], *, left: int = 1) -> list[str]:
    """A table whose first `left` columns are text, the rest numbers (right-aligned)."""
    rule = ["---"] * left + ["---:"] * (len(header) - left)
    return [_row(header), _row(rule), *(_row(r) for r in rows), ""]


def _goal(page: Page, goal: GoalPage) -> list[str]:
    lines = [f"## {md_escape(goal.name)} ({goal.status})", ""]
    if page.demo:
        lines += ["> **DEMO**: built-in demo organization, not real data", ""]
    if goal.description:
        lines += [f"> {md_escape(goal.description)}", ""]
    lines += [md_escape(goal.window) + ".", "", "### Targets", ""]
    if goal.targets:
        lines += _table(
            ["metric", "actual", "wanted", "verdict"],
            [[t.label, t.actual, md_escape(t.wanted), t.verdict] for t in goal.targets],
        )
    else:
        lines += ["No targets set.", ""]
    lines += ["### Week by week", ""]
    lines += _table(
        ["ISO week", "broadcast", "two-way", "median response", "90th percentile"],
        [[w.label, w.broadcast, w.two_way, w.median, w.p90] for w in goal.weeks],
    )
    lines += ["### Per source", ""]
    lines += _table(
        ["source", *(page.labels[m] for m in BY_SOURCE)],
        [[md_escape(s.source), *s.cells] for s in goal.sources],
    )
    lines += ["### The broadcasts that drew the most two-way", ""]
    if goal.busiest:
        lines += _table(
            ["date", "source", "post", "two-way", "replies", "responses", "reposts", "likes"],
            [
                [
                    b.date, md_escape(b.source),
                    " ".join(filter(None, [md_escape(b.excerpt), md_url(b.link.href or b.link.text)])),
                    b.two_way, b.replies, b.responses, b.reposts, b.likes,
                ]
                for b in goal.busiest
            ],
            left=3,
        )
    else:
        lines += ["No broadcast in this period.", ""]
    lines += [f"- {md_escape(note)}" for note in goal.notes]
    return lines + ([""] if goal.notes else [])


def render_markdown(report: Report) -> str:
    page = build_page(report)
    lines = []
    if page.demo:
        lines += ["> **DEMO**: built-in demo organization, not real data", ""]
    lines += [f"# {md_escape(page.organization)}: social communication, {md_escape(page.title)}", ""]
    compared = f"compared with {md_escape(page.compared)}"
    if page.year_title:
        compared += f" and with {md_escape(page.year_title)}"
    meta = f"Generated {page.generated} ({md_escape(page.timezone)}), {compared}."
    lines += [meta + (f" {page.clock_note}" if page.clock_note else ""), "", "## Every goal at a glance", ""]
    glance = []
    for goal in page.goals:
        cells = [md_escape(goal.name), goal.status]
        for metric in OVERVIEW:
            cell = goal.overview[metric]
            changes = f"{cell.change} vs {md_escape(page.compared)}"
            if cell.year is not None and page.year_title:
                changes += f", {cell.year} vs {md_escape(page.year_title)}"
            cells.append(f"{cell.value} ({changes})")
        glance.append(cells)
    lines += _table(["goal", "status", *(page.labels[m] for m in OVERVIEW)], glance, left=2)
    lines += ["## Sources", ""]
    lines += _table(
        ["source", "platform", "status", "last success", "followers"],
        [[md_escape(s.source), *(md_escape(c) for c in s.cells)] for s in page.sources],
        left=4,
    )
    for goal in page.goals:
        lines += _goal(page, goal)
    return "\n".join(lines).rstrip("\n") + "\n"
