"""The report's charts: inline SVG drawn here from a goal's weeks, nothing fetched.

Readable without colour: broadcast is a dark bar and two-way a light one with a dark
outline (a lightness apart that greyscale printing keeps, blue and orange for colour-blind
readers), the median a solid line with dots and the 90th percentile a dashed one with
squares, each named in a legend. Every bar and point carries its number as a `<title>`,
and the bars their numbers as text, so a screen reader and a printout have them too. The
only text in a chart is made here (dates and numbers), escaped all the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from twoway.report import Week
from twoway.tui.render import human_duration, local

__all__ = ["BROADCAST", "LABELLED_WEEKS", "TWO_WAY", "response_lines", "weekly_bars"]

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 6, 30, 30
BROADCAST, TWO_WAY = "#1f4e79", "#f4b860"
"""Dark blue and light orange: apart in lightness (greyscale) and in hue (colour-blind readers)."""
INK, GRID = "#222", "#bbb"
LABELLED_WEEKS = 14
"""Up to a quarter's weeks, every bar is labelled with its number; a printed page has the weekly table too."""
DATED_WEEKS = 7
"""At most this many weeks are named under a chart: every other one of a quarter's, and so on."""


def _week_name(week: Week, zone: str) -> str:
    day = local(week.start, zone)
    return f"{day.day} {day:%b}"


def _compact(value: float) -> str:
    """`950`, `1.2k`, `17.7k`, `177k`, `1.2M`: a number that fits above a bar or beside an axis."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            scaled = value / size
            return f"{scaled:.0f}{suffix}" if scaled >= 100 or scaled.is_integer() else f"{scaled:.1f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power >= value)


def _svg(kind: str, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "middle", size: int = 13) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{INK}">{escape(text)}</text>'
    )


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    """Swatches and names along the top, left to right: (swatch SVG, name)."""
    out, x = [], LEFT
    for swatch, name in items:
        out.append(f'<g transform="translate({x},8)">{swatch}</g>')
        out.append(_text(x + 20, 18, name, anchor="start"))
        x += 30 + 8 * len(name)
    return out


def _axis(top: float, label: str) -> list[str]:
    """Horizontal gridlines at 0, half and the top, labelled on the left."""
    plot_h = HEIGHT - TOP - BOTTOM
    out = []
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(LEFT - 4, y + 4, _compact(top * fraction), anchor="end", size=12))
    out.append(_text(WIDTH - RIGHT, 18, label, anchor="end", size=12))
    return out


def _week_labels(weeks: Sequence[Week], zone: str) -> list[str]:
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    every = math.ceil(len(weeks) / DATED_WEEKS)
    return [
        _text(LEFT + slot * (n + 0.5), HEIGHT - BOTTOM + 16, _week_name(week, zone), size=12)
        for n, week in enumerate(weeks)
        if n % every == 0
    ]


def weekly_bars(weeks: Sequence[Week], zone: str) -> Markup:
    """Broadcast next to two-way, one pair of bars per ISO week (a week not covered has none)."""
    values = [v for w in weeks for v in (w.broadcast, w.two_way) if v is not None]
    upright = len(weeks) <= DATED_WEEKS  # labels across the bars; more weeks, labels up the bars
    top = _nice_ceiling(max(values, default=0) * (1.0 if upright else 1.25))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    bar = slot * 0.36
    body = _legend(
        [
            (f'<rect width="14" height="12" fill="{BROADCAST}"/>', "broadcast"),
            (f'<rect width="14" height="12" fill="{TWO_WAY}" stroke="{INK}" stroke-width="1"/>', "two-way"),
        ]
    )
    body += _axis(top, "per ISO week")
    labelled = len(weeks) <= LABELLED_WEEKS
    for n, week in enumerate(weeks):
        name = _week_name(week, zone)
        for k, (kind, value, fill) in enumerate(
            (("broadcast", week.broadcast, BROADCAST), ("two-way", week.two_way, TWO_WAY))
        ):
            if value is None:
                continue
            height = plot_h * value / top
            x = LEFT + slot * n + slot * 0.12 + bar * k
            y = TOP + plot_h - height
            outline = f' stroke="{INK}" stroke-width="1"' if kind == "two-way" else ""
            body.append(
                f'<rect class="bar {kind}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}"'
                f' fill="{fill}"{outline}><title>{escape(f"week of {name}: {value:,} {kind}")}</title></rect>'
            )
            if labelled and upright:
                body.append(_text(x + bar / 2, y - 3, f"{value:,}", size=12))
            elif labelled:
                cx = x + bar / 2 + 3.5
                body.append(
                    f'<text x="{cx:.1f}" y="{y - 3:.1f}" transform="rotate(-90 {cx:.1f} {y - 3:.1f})"'
                    f' font-size="10" fill="{INK}">{escape(_compact(value))}</text>'
                )
    body += _week_labels(weeks, zone)
    if not values:
        body.append(_text(WIDTH / 2, TOP + plot_h / 2, "no data for these weeks"))
    return _svg("weekly", "Broadcast and two-way per ISO week", body)


def _unit(seconds: float) -> tuple[float, str]:
    """The axis unit: minutes under 2 hours, hours under 3 days, else days."""
    if seconds < 7200:
        return 60.0, "minutes"
    if seconds < 3 * 86400:
        return 3600.0, "hours"
    return 86400.0, "days"


def response_lines(weeks: Sequence[Week], zone: str) -> Markup:
    """The median and the 90th percentile response time per week; a week without answers breaks the line."""
    values = [v for w in weeks for v in (w.median_response_seconds, w.p90_response_seconds) if v is not None]
    size, unit = _unit(max(values, default=0))
    top = _nice_ceiling(max(values, default=0) / size)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    body = _legend(
        [
            (f'<line x1="0" x2="14" y1="6" y2="6" stroke="{BROADCAST}" stroke-width="2.5"/>'
             f'<circle cx="7" cy="6" r="3" fill="{BROADCAST}"/>', "median"),
            (f'<line x1="0" x2="14" y1="6" y2="6" stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
             f'<rect x="4" y="3" width="6" height="6" fill="#fff" stroke="{INK}"/>', "90th percentile"),
        ]
    )
    body += _axis(top, f"response time, {unit}")
    series = (
        ("median", [w.median_response_seconds for w in weeks], f'stroke="{BROADCAST}" stroke-width="2.5"'),
        ("p90", [w.p90_response_seconds for w in weeks], f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="4 3"'),
    )
    for kind, points, stroke in series:
        placed = [
            None if v is None else (LEFT + slot * (n + 0.5), TOP + plot_h * (1 - v / size / top), v)
            for n, v in enumerate(points)
        ]
        run: list[tuple[float, float, float]] = []
        for point in [*placed, None]:
            if point is not None:
                run.append(point)
                continue
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                body.append(f'<polyline class="line {kind}" points="{path}" fill="none" {stroke}/>')
            run = []
        for n, point in enumerate(placed):
            if point is None:
                continue
            x, y, v = point
            words = "median" if kind == "median" else "90th percentile"
            tip = f"<title>{escape(f'week of {_week_name(weeks[n], zone)}: {words} {human_duration(v)}')}</title>"
            if kind == "median":
                body.append(
                    f'<circle class="point {kind}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BROADCAST}">{tip}</circle>'
                )
            else:
                body.append(
                    f'<rect class="point {kind}" x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7"'
                    f' fill="#fff" stroke="{INK}">{tip}</rect>'
                )
    body += _week_labels(weeks, zone)
    if not values:
        body.append(_text(WIDTH / 2, TOP + plot_h / 2, "no message answered in these weeks"))
    return _svg("response-times", "Median and 90th percentile response time per ISO week", body)
