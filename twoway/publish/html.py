"""`twoway report` as one self-contained HTML file (SPEC §10).

The template (templates/report.html, package data) is rendered by Jinja2 with
autoescape on; what it inserts unescaped is built here: the charts (twoway.publish.charts
escapes their text) and the JSON block. The JSON is SPEC §4's object plus `period`,
the same as `snapshot --format json`, written so no value can end the `<script>`
element: `<`, `>` and `&` as `\\u003c`, `\\u003e`, `\\u0026`, every other non-ASCII
character as a `\\u` escape too. HTML's own escaping would turn quotes into `&#34;`,
which a JSON parser reading the element's text cannot read.
"""

from __future__ import annotations

import json

from markupsafe import Markup

from twoway.publish.charts import LABELLED_WEEKS, response_lines, weekly_bars
from twoway.publish.page import BY_SOURCE, OVERVIEW, build_page
from twoway.report import Report

__all__ = ["json_block", "render_html"]

_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\x7f": "\\u007f"})


def json_block(report: Report) -> str:
    """The report's JSON as the text of a `<script type="application/json">`: nothing in it can close it."""
    return json.dumps(report.to_json(), ensure_ascii=True).translate(_IN_SCRIPT)


def render_html(report: Report) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("twoway.publish", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    page = build_page(report)
    charts = [
        (weekly_bars(g.weekly, g.timezone), response_lines(g.weekly, g.timezone)) for g in report.goals
    ]
    return environment.get_template("report.html").render(
        page=page,
        charts=charts,
        overview=OVERVIEW,
        by_source=BY_SOURCE,
        labelled_weeks=LABELLED_WEEKS,
        data=Markup(json_block(report)),
    )
