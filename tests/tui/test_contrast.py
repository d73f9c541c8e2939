"""Titles and status text readable in both themes: WCAG AA (4.5:1) against their background, in 256 colours.

The colours are the ones the app resolves for its widgets (theme variables through tui/*.tcss), each
downgraded to the 256-colour palette a terminal without truecolour shows, then compared by the WCAG
relative-luminance contrast ratio.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.color import ColorSystem
from textual.color import Color
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Label

from tests.tui.test_app import demo_app, settle
from twoway.tui.app import TwowayApp
from twoway.tui.screens.goal import GoalScreen
from twoway.tui.screens.sources import SourcesScreen
from twoway.tui.widgets.goal_panel import GoalPanel
from twoway.tui.widgets.header import DashboardHeader
from twoway.tui.widgets.title_bar import TitleBar

AA = 4.5
THEMES = ("textual-dark", "textual-light")
GOAL_STATUSES = ("-met", "-missed", "-no-data")
SOURCE_STATUSES = ("-ok", "-stale", "-error")



def eight_bit(color: Color) -> tuple[int, int, int]:
    """The 256-colour palette entry a terminal shows for `color`."""
    rgb = color.rich_color.downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
    return rgb.red, rgb.green, rgb.blue


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: Color, background: Color) -> float:
    """The WCAG contrast ratio of two opaque colours, as a 256-colour terminal shows them."""
    lighter, darker = sorted((luminance(eight_bit(foreground)), luminance(eight_bit(background))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colors(widget: Widget) -> tuple[Color, Color]:
    """The widget's text colour and the background it sits on, with every ancestor's background."""
    _, _, background, color = widget.colors
    return color, background


def title_colors(panel: GoalPanel) -> tuple[Color, Color]:
    """A panel's border title: its colour and background, swapped when the title is drawn reversed."""
    styles = panel.styles
    _, _, under, _ = panel.colors
    background = under + styles.border_title_background
    color = background + styles.border_title_color
    if "reverse" in str(styles.border_title_style):
        color, background = background, color
    return color, background


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TwowayApp]:
    yield from demo_app(monkeypatch, tmp_path)


async def measure(app: TwowayApp, pilot: Pilot[int]) -> dict[str, float]:
    """Every title and status text's contrast ratio on the current theme, by name."""
    ratios: dict[str, float] = {}
    panel = app.screen.query(GoalPanel).first()
    header = app.screen.query_one(DashboardHeader)
    source = header.query(".source").results(Label).__next__()

    for focused in (False, True):
        panel.focus() if focused else app.screen.set_focus(None)
        await pilot.pause()
        ratios[f"goal panel title{' focused' if focused else ''}"] = contrast(*title_colors(panel))
    for status in (*GOAL_STATUSES, "-stale"):
        for name in GOAL_STATUSES:
            panel.set_class(name == status, name)
        panel.set_class(status == "-stale", "-stale")
        await pilot.pause()
        ratios[f"goal panel text {status}"] = contrast(*text_colors(panel))
        ratios[f"goal panel title focused {status}"] = contrast(*title_colors(panel))
    for status in SOURCE_STATUSES:
        for name in SOURCE_STATUSES:
            source.set_class(name == status, name)
        await pilot.pause()
        ratios[f"header source {status}"] = contrast(*text_colors(source))
    for label in header.query(".count").results(Label):
        status = next(c for c in label.classes if c.startswith("-"))
        label.display = True
        await pilot.pause()
        ratios[f"header count {status}"] = contrast(*text_colors(label))

    await pilot.press("enter")
    await settle(app, pilot)
    goal_screen = app.screen
    assert isinstance(goal_screen, GoalScreen)
    title = goal_screen.query_one(TitleBar).query_one(".title", Label)
    for status in GOAL_STATUSES:
        for name in GOAL_STATUSES:
            goal_screen.set_class(name == status, name)
        await pilot.pause()
        ratios[f"goal screen title {status}"] = contrast(*text_colors(title))
    app.pop_screen()
    await settle(app, pilot)

    await pilot.press("s")
    await settle(app, pilot)
    sources_screen = app.screen
    assert isinstance(sources_screen, SourcesScreen)
    table = sources_screen.query_one("#sources-table")
    for status in ("-stale", "-error"):
        sources_screen.set_class(status == "-stale", "-stale")
        sources_screen.set_class(status == "-error", "-error")
        await pilot.pause()
        ratios[f"sources screen {status}"] = contrast(*text_colors(table))
    app.pop_screen()
    await settle(app, pilot)
    return ratios


@pytest.mark.parametrize("theme", THEMES)
async def test_titles_and_status_text_reach_aa(app: TwowayApp, theme: str) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        app.theme = theme
        await settle(app, pilot)
        ratios = await measure(app, pilot)
    print("\n".join(f"{theme} {name}: {ratio:.2f}" for name, ratio in ratios.items()))
    failing = {name: round(ratio, 2) for name, ratio in ratios.items() if ratio < AA}
    assert not failing, failing


def test_contrast_of_black_on_white_is_21() -> None:
    assert contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21)
    assert contrast(Color(119, 119, 119), Color(119, 119, 119)) == pytest.approx(1)


def drawn(app: TwowayApp) -> Iterator[tuple[str, Color, Color]]:
    """Every run of text on the screen as the terminal gets it: its characters, colour and background.

    The compositor's segments carry the colours after Textual's filters, so Rich's named
    colours in `twoway.tui.render` (`green`, `red`, `yellow`) come already mapped through the
    theme's ANSI palette, as a terminal shows them.
    """
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            if style is None or style.color is None or style.bgcolor is None:
                continue
            color, background = Color.from_rich_color(style.color), Color.from_rich_color(style.bgcolor)
            if style.reverse:
                color, background = background, color
            yield segment.text, color, background


SCREENS = {"panels": (), "overview": ("v",), "goal screen": ("enter",), "sources": ("s",)}
"""Each screen and the keys that open it from the home screen's panels."""
STATUS_TEXT = re.compile(r"[✓✗] (met|missed)|\([−+]\d|\d+ waiting")
"""The Rich-coloured status text of render.py: met green, missed red, a change, what waits."""


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", SCREENS)
async def test_every_word_drawn_reaches_aa(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, theme: str, screen: str
) -> None:
    """Not only the CSS classes: the titles (the first line, each goal's name) and the status text
    whatever coloured it, Rich's colours from render.py included, as drawn."""
    for app in demo_app(monkeypatch, tmp_path):
        async with app.run_test(size=(160, 48)) as pilot:
            app.theme = theme
            await settle(app, pilot)
            for key in SCREENS[screen]:
                await pilot.press(key)
                await settle(app, pilot)
            names = [g.name for g in app.config.goals]
            first = app.screen._compositor.render_strips()[0].text if screen != "panels" else ""
            runs = [
                (text, fg, bg)
                for text, fg, bg in drawn(app)
                if text.strip()
                and (STATUS_TEXT.search(text) or any(n in text for n in names) or text.strip() in first)
            ]
            failing = {
                (text.strip()[:40], fg.hex, bg.hex): round(contrast(fg, bg), 2)
                for text, fg, bg in runs
                if contrast(fg, bg) < AA
            }
            assert not failing, failing
            if screen in ("panels", "overview"):
                assert any(STATUS_TEXT.search(text) for text, _, _ in runs)  # the Rich colours were measured
