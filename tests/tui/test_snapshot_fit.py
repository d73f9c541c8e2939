"""No figure or source id split across lines: the text snapshot at every width, the Markdown at
any `COLUMNS`, and the live panels' rates (`median 6h 25m (−6h 30m)` whole at 80 columns).

A figure's whole occurrences are counted at each width against a rendering too wide to wrap
anything: a figure broken over two lines is one whole occurrence fewer.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tui.test_app import NOW, demo_app, settle
from twoway import clock
from twoway.metrics import build_report
from twoway.report import Report
from twoway.tui.app import TwowayApp
from twoway.tui.render import ONE_WAY, UNICODE, metric_inline
from twoway.tui.screens.home import HomeScreen
from twoway.tui.widgets.goal_panel import RATES, GoalDetails, GoalPanel
from twoway.wiring import demo_config, open_demo_store

FIGURE = re.compile(r"(?<![\w/.@-])[(]?[−+±-]?\d[\d,.:/-]*(?:[dhms%]\b)?(?: \d+[hms]\b)*[)]?")
"""A number as a view writes it: `1,220`, `0.69`, `(−2h 9m)`, `29d 21h`, `2026-10-27`; not digits inside a link."""
WIDE = 400
WIDTHS = (50, 60, 70, 80, 100, 120)
"""From 50 columns: narrower, the key rates table itself no longer fits a panel."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TWOWAY_NOW", NOW)
        config = demo_config()
        config = config._replace(dashboard=config.dashboard._replace(database=tmp_path_factory.mktemp("demo") / "d.db"))
        store = open_demo_store(config)
        try:
            yield build_report(store, config, clock.now(), demo=True)
        finally:
            store.close()


def rendered(report: Report, fmt: str, width: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("COLUMNS", str(width))
    from twoway.tui.snapshot import render

    out = io.StringIO()
    render(report, fmt, out, width=width if fmt == "text" else None, color=False, waiting=None)
    return out.getvalue().splitlines()


def phrases(report: Report) -> list[str]:
    """What must stay on one line besides the figures: each source id, and `likes 605 (−62)`."""
    inline = [metric_inline(g, m, UNICODE).plain for g in report.goals for m in ONE_WAY]
    return [*(s.id for s in report.sources), *inline]


def whole(lines: list[str], report: Report) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(FIGURE.findall(line))
        counts.update({p: line.count(p) for p in phrases(report) if p in line})
    return counts


@pytest.mark.parametrize("fmt", ["text", "markdown"])
@pytest.mark.parametrize("width", WIDTHS)
def test_no_figure_or_source_id_splits_across_lines(
    report: Report, fmt: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = whole(rendered(report, fmt, WIDE, monkeypatch), report)
    lines = rendered(report, fmt, width, monkeypatch)
    if fmt == "text":
        assert max(len(line) for line in lines) <= width
    narrow = whole(lines, report)
    split = {item: (narrow[item], count) for item, count in wide.items() if narrow[item] < count}
    assert not split, f"at {width} columns, whole (here, unwrapped): {split}"


def test_the_figures_counted_include_durations_with_two_units(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = whole(rendered(report, "text", WIDE, monkeypatch), report)
    assert any(re.fullmatch(r"\d+h \d+m", figure) for figure in counts)
    assert any(re.fullmatch(r"\(?−\d+h \d+m\)?", figure) for figure in counts)
    assert all(counts[s.id] for s in report.sources)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


async def test_the_panels_rates_and_one_way_stay_whole_at_every_width(app: TwowayApp) -> None:
    """`median 6h 25m (−6h 30m)` and `likes 1,220 (−117)` each on one line of the panel, as wide as it is."""
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, HomeScreen) and not screen.compact
        for width in (80, 90, 100, 120, 140, 160, 200):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            for panel in screen.query(GoalPanel).results(GoalPanel):
                goal = panel.goal
                assert goal is not None
                details = panel.query_one(GoalDetails)
                lines = [strip.text for strip in details.render_lines(details.region.reset_offset)]
                atoms = [GoalDetails._rate(goal, m, label).plain for m, label in RATES.items()]
                atoms += [metric_inline(goal, m, UNICODE).plain for m in ONE_WAY]
                cut = [atom for atom in atoms if not any(atom in line for line in lines)]
                assert not cut, f"at {width} columns, {goal.name}: {cut} in {lines}"
