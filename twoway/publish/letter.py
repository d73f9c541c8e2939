"""The email that carries a report (`twoway report --email`, SPEC §10): a subject, a short
text body with every goal's headline numbers, and the attachment's file name.

Built from the same page model as the HTML and the Markdown, so the body says the
numbers the attachment shows, neutralised the same way.
"""

from __future__ import annotations

import re

from twoway.publish.page import build_page
from twoway.report import Report

__all__ = ["HEADLINE", "attachment_name", "body", "subject"]

HEADLINE = ("broadcast", "two_way", "response_rate")
"""Each goal's numbers in the body, after its status."""


def attachment_name(report: Report, extension: str = "html") -> str:
    """`twoway-report-2026-11.html`; a rolling window names its length (`twoway-report-30d.html`)."""
    label = report.period.label if report.period is not None else (report.window or "goals")
    return f"twoway-report-{re.sub(r'[^A-Za-z0-9-]+', '-', label)}.{extension}"


def subject(report: Report) -> str:
    page = build_page(report)
    return f"{page.organization}: the twoway report for {page.title}"


def body(report: Report, attachment: str) -> str:
    page = build_page(report)
    lines = []
    if page.demo:
        lines += ["DEMO: built-in demo organization, not real data.", ""]
    lines += [f"{page.organization}: {page.title}, compared with {page.compared}. The whole report is attached"
              f" ({attachment}): open it in any browser, or print it.", ""]
    for goal in page.goals:
        numbers = ", ".join(f"{page.labels[m]} {goal.overview[m].value}" for m in HEADLINE)
        lines.append(f"{goal.name}: {goal.status}; {numbers}")
    lines += ["", f"Generated {page.generated} ({page.timezone})."]
    return "\n".join(lines)
