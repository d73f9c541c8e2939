"""`twoway snapshot`: one Report, rendered once, as text, JSON, CSV, Markdown or Prometheus.

The JSON and CSV paths import neither Rich nor Textual, so a monitoring check that
asks for JSON starts fast; text and Markdown import `twoway.tui.render` when called,
Prometheus `twoway.tui.prometheus` (and with it `prometheus_client`).

Whatever the output's encoding, nothing here raises on a character it cannot hold:
text and Markdown choose ASCII glyphs and replace unencodable network text, JSON
falls back to `\\u` escapes, CSV replaces with `?`. JSON keeps network strings
exactly as collected (it is data for programs) but writes the characters that could
steer a terminal or reorder a line (C1 controls, bidi, zero-width, separators) as
`\\u` escapes, so `cat report.json` is as safe as the text view (SPEC §8).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
import re
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from twoway.report import METRICS, Report
from twoway.text import neutralize

if TYPE_CHECKING:
    from twoway.tui.render import Glyphs

__all__ = ["CSV_HEADER", "FORMATS", "render"]

FORMATS = ("text", "json", "csv", "markdown", "prometheus")
CSV_HEADER = (
    "goal", "status", "metric", "value", "baseline", "delta", "target", "met", "window_start", "window_end",
    "generated_at",
)
"""SPEC §4; columns are only ever added at the end, so appended files stay aligned."""
DEFAULT_WIDTH = 80

# Characters JSON leaves raw with ensure_ascii=False that a terminal or a reader
# should never get raw: DEL and C1, bidi controls, zero-width, line separators,
# lone surrogates. They only ever occur inside JSON strings, so escaping is lossless.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
_MD_METRICS = (
    "broadcast",
    "two_way",
    "community_messages",
    "responses",
    "reposts",
    "quotes",
    "likes",
    "conversation_rate",
    "response_rate",
    "median_response_seconds",
    "unanswered",
    "voices",
)
WAITING_LISTED = 5
"""Oldest waiting messages text and markdown list per goal by default; the JSON has up to 100
(`--waiting` changes both)."""


def render(
    report: Report,
    fmt: str,
    out: TextIO,
    *,
    width: int | None = None,
    color: bool | None = None,
    header: bool = True,
    ascii: bool = False,
    waiting: int | None = WAITING_LISTED,
) -> None:
    """Write `report` to `out` in `fmt` (one of `FORMATS`).

    Args:
        width: columns for text; else `COLUMNS`, else the terminal's, else 80.
        color: styles and colours for text; `None` means only when `out` is a
            terminal and `NO_COLOR` is unset. Never escape codes when `out` is not a
            terminal, unless `color=True` asks for them.
        header: CSV only: `False` leaves the header row out, for appending to a file.
        ascii: write as if `out` could hold ASCII only (`--ascii`): the plain glyphs and
            boxes, for proportional fonts and old mail clients, whatever the terminal says.
        waiting: how many waiting messages text and markdown list per goal, `None` for
            every one the report has (`--waiting`).
    """
    encoding = "ascii" if ascii else _encoding(out)
    if fmt == "json":
        _render_json(report, out, encoding)
    elif fmt == "csv":
        _write_safely(out, _csv(report, header=header), encoding)
    elif fmt == "markdown":
        _write_safely(out, _markdown(report, _glyphs(encoding), waiting), encoding)
    elif fmt == "prometheus":
        from twoway.tui.prometheus import exposition

        _write_safely(out, exposition(report), encoding)
    elif fmt == "text":
        _render_text(report, out, encoding, width=width, color=color, waiting=waiting)
    else:
        raise ValueError(f"unknown snapshot format {fmt!r}: use one of {', '.join(FORMATS)}")


def _encoding(out: TextIO) -> str:
    try:
        return codecs.lookup(getattr(out, "encoding", None) or "utf-8").name
    except LookupError:
        return "ascii"


def _write_safely(out: TextIO, text: str, encoding: str) -> None:
    out.write(text.encode(encoding, "replace").decode(encoding))


# -- JSON -------------------------------------------------------------------------


def _render_json(report: Report, out: TextIO, encoding: str) -> None:
    """Indented for a person at a terminal; one compact line for programs, like `gh` and `jq -c`."""
    unicode_ok = encoding.startswith("utf")
    indent = 2 if _isatty(out) else None
    text = json.dumps(report.to_json(), indent=indent, ensure_ascii=not unicode_ok)
    text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    out.write(text + "\n")


# -- CSV --------------------------------------------------------------------------


def _csv_number(value: float | None) -> str:
    """Ints as ints, floats to four decimals at most; empty for null."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return ""
    shown = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def _csv_text(value: str) -> str:
    """A string cell a spreadsheet will show, never run."""
    value = neutralize(value)
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(report: Report, *, header: bool = True) -> str:
    import csv

    from twoway.report import iso

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(CSV_HEADER)
    generated = iso(report.generated_at)
    for goal in report.goals:
        start, end = iso(goal.start), iso(goal.end)
        targets = {t.metric: t for t in goal.targets}
        for metric in METRICS:
            target = targets.get(metric)
            wanted = met = ""
            if target is not None:
                wanted = _csv_text(f"{target.op} {_csv_number(target.value)}")
                met = "" if target.met is None else str(target.met).lower()
            writer.writerow(
                [
                    _csv_text(goal.name),
                    _csv_text(goal.status),
                    metric,
                    _csv_number(goal.metrics.get(metric)),
                    _csv_number(goal.baseline.get(metric)),
                    _csv_number(goal.deltas.get(metric)),
                    wanted,
                    met,
                    start,
                    end,
                    generated,
                ]
            )
    return buffer.getvalue()


# -- Markdown -----------------------------------------------------------------------


def _glyphs(encoding: str) -> Glyphs:
    from twoway.tui.render import glyphs_for

    return glyphs_for(encoding)


def md_escape(text: str) -> str:
    """Network or config text as one line of literal Markdown, safe in a table cell."""
    line = " ".join(neutralize(text).split())
    line = _MD_SPECIAL.sub(r"\\\1", line)
    if line[:1] in ("-", "+"):
        line = "\\" + line
    return line


def md_url(url: str) -> str:
    """An autolink for http(s), else a code span; neither can carry markup or break a table."""
    url = "%20".join(neutralize(url).split())
    for ch in "<>|`":
        url = url.replace(ch, f"%{ord(ch):02X}")
    if re.match(r"https?://[^\s]+$", url, flags=re.IGNORECASE):
        return f"<{url}>"
    return f"`{url}`" if url else ""


def _markdown(report: Report, glyphs: Glyphs, waiting: int | None) -> str:
    from twoway.tui.render import (
        LABELS,
        WAITING_NOTE,
        coverage_note,
        describe_import,
        explains_waiting,
        format_delta,
        format_target,
        format_value,
        human_duration,
        local,
        waiting_headline,
        window_names,
    )

    def when(moment: datetime) -> str:
        """Markdown is read later, in a mail or a report: a date and an hour, never `5m ago`."""
        return f"{local(moment, report.timezone):%Y-%m-%d %H:%M}"


    lines: list[str] = []
    if report.demo:
        lines += [f"> **DEMO** {glyphs.null} built-in demo organization, not real data", ""]
    lines += [f"# {md_escape(report.organization)} {glyphs.null} social communication", ""]
    window = f"window {md_escape(report.window)} for every goal" if report.window else "each goal's own window"
    if report.period is not None:
        window = f"{report.period.name} for every goal"
    meta = f"Generated {when(report.generated_at)} {md_escape(report.timezone)} {glyphs.dot} {window}"
    if report.clock == "opening-hours":
        meta += f" {glyphs.dot} response times count opening hours only"
    lines += [meta + ".", ""]

    marks = {True: glyphs.met, False: glyphs.missed, None: glyphs.unknown}
    for goal in report.goals:
        lines += [f"### {md_escape(goal.name)} {glyphs.null} {goal.status}", ""]
        if goal.description:
            lines += [md_escape(goal.description), ""]
        dates = f"{when(goal.start)} to {when(goal.end)}"
        if goal.period is None:
            span = f"{md_escape(goal.window)} window, {dates}, compared with the window before."
        else:
            title, before = window_names(goal, glyphs)
            span = f"{title}, {dates}, compared with {before}."
        lines += [span, ""]
        uncovered = coverage_note(goal, glyphs)
        if uncovered:
            lines += [md_escape(uncovered[:1].upper() + uncovered[1:]) + ".", ""]
        lines += ["| metric | now | before | change |", "| --- | ---: | ---: | ---: |"]
        for metric in _MD_METRICS:
            now = format_value(metric, goal.metrics.get(metric), glyphs)
            if goal.unavailable.get(metric):
                now += "\\*"
            lines.append(
                f"| {LABELS[metric]} | {now} | {format_value(metric, goal.baseline.get(metric), glyphs)}"
                f" | {format_delta(metric, goal.deltas.get(metric), glyphs)} |"
            )
        lines.append("")
        missing = goal.unmeasured()
        if missing:
            notes = "; ".join(
                f"{md_escape(source)} cannot measure {', '.join(parts)}" for source, parts in missing.items()
            )
            lines += [f"\\* Partial or not measured: {notes}.", ""]
        for note in goal.imported:
            lines += [f"Imported: {md_escape(describe_import(note, glyphs))}.", ""]
        if goal.targets:
            lines += ["**Targets**", ""]
            for target in goal.targets:
                label = LABELS.get(target.metric) or md_escape(target.metric)
                actual = format_value(target.metric, target.actual, glyphs)
                wanted = md_escape(format_target(target.metric, target.op, target.value, glyphs))
                verdict = {True: "met", False: "missed", None: "no data"}[target.met]
                lines.append(f"- {marks[target.met]} {label}: {actual}, wanted {wanted} ({verdict})")
            lines.append("")
        else:
            lines += ["No targets set.", ""]
        if goal.waiting_total and not goal.not_polled:
            longest = f", longest {human_duration(goal.longest_wait)}" if goal.longest_wait is not None else ""
            headline = md_escape(waiting_headline(goal, glyphs).replace(" waiting", "", 1))
            lines += [f"**Waiting for a response:** {headline}{longest}.", ""]
            listed = goal.waiting[:waiting]
            for item in listed:
                lines.append(
                    f"- {human_duration(item.waiting_seconds)} {glyphs.dot} {md_escape(item.source)}"
                    f" {glyphs.dot} {md_url(item.url)}"
                )
            if goal.waiting_total > len(listed):
                lines.append(f"- {glyphs.ellipsis} and {goal.waiting_total - len(listed):,} more")
            lines.append("")
            if explains_waiting(goal):
                lines += [f"_{WAITING_NOTE[0].upper()}{WAITING_NOTE[1:]}._", ""]
        elif goal.not_polled or goal.failing:
            headline = waiting_headline(goal, glyphs).removeprefix("waiting: ")
            headline = headline.replace("nothing waiting for a response", "none", 1)
            lines += [f"**Waiting for a response:** {md_escape(headline)}.", ""]
        else:
            lines += ["**Waiting for a response:** none.", ""]

    lines += ["### Sources", ""]
    lines += [
        "| source | platform | status | last success | followers | error |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for source in report.sources:
        lines.append(
            f"| {md_escape(source.id)} | {md_escape(source.platform)} | {source.status}"
            f" | {when(source.last_success) if source.last_success else 'never'}"
            f" | {format_value('followers', source.followers, glyphs)}"
            f" | {md_escape(source.error) if source.error else ''} |"
        )
    imports = [f"- Imported: {md_escape(describe_import(s.imports[0], glyphs))}" for s in report.sources if s.imports]
    if imports:
        lines += ["", *imports]
    return "\n".join(lines) + "\n"


# -- text ---------------------------------------------------------------------------


class _Sink:
    """Hands Rich the output's encoding and tty-ness, and never lets a write raise."""

    def __init__(self, out: TextIO, encoding: str) -> None:
        self._out = out
        self.encoding = encoding

    def write(self, text: str) -> int:
        self._out.write(text.encode(self.encoding, "replace").decode(self.encoding))
        return len(text)

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return _isatty(self._out)


def _isatty(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _width(out: TextIO, width: int | None) -> int:
    if width:
        return max(20, width)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(20, int(columns))
    if _isatty(out):
        try:
            return max(20, os.get_terminal_size(out.fileno()).columns)
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            pass
    return DEFAULT_WIDTH


def _render_text(
    report: Report, out: TextIO, encoding: str, *, width: int | None, color: bool | None, waiting: int | None
) -> None:
    from rich.console import Console
    from rich.text import Text

    from twoway.tui.render import bar_top, glyphs_for, goal_panel, header, sources_table

    glyphs = glyphs_for(encoding)
    styled = _isatty(out) if color is None else color
    no_color = bool(os.environ.get("NO_COLOR")) if color is None else not color
    console = Console(
        file=_Sink(out, encoding),  # type: ignore[arg-type]  # a file-like object is all Rich needs
        width=_width(out, width),
        force_terminal=styled,
        color_system="auto" if styled else None,
        no_color=no_color,
        legacy_windows=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
        force_jupyter=False,
        force_interactive=False,
    )
    console.print(header(report, glyphs=glyphs))
    top = bar_top(report.goals)  # one scale for every goal's bars
    for goal in report.goals:
        console.print()
        console.print(goal_panel(goal, console.width, glyphs=glyphs, listed=waiting, top=top))
    if not report.goals:
        console.print()
        console.print(Text("No goals configured: add a [[goals]] table to config.toml.", style="dim"))
    console.print()
    console.print(sources_table(report, glyphs=glyphs))
