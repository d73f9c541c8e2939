"""The command palette's goals: type a goal's name to open it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from twoway.tui.render import clean

__all__ = ["GoalCommands"]


class GoalCommands(Provider):
    """One command per configured goal, opening its screen."""

    def _goals(self) -> list[str]:
        return list(getattr(self.app, "goal_names", ()))

    def _open(self, name: str) -> None:
        from twoway.tui.screens.goal import GoalScreen

        self.app.push_screen(GoalScreen(name))

    async def discover(self) -> Hits:
        for name in self._goals():
            yield DiscoveryHit(Content(f"Goal: {clean(name)}"), partial(self._open, name), help="open this goal")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._goals():
            title = f"Goal: {clean(name)}"
            score = matcher.match(title)
            if score > 0:
                yield Hit(
                    score, _highlight(matcher, title), partial(self._open, name), text=title, help="open this goal"
                )


def _highlight(matcher: Matcher, title: str) -> Content:
    """`Matcher.highlight` reads its candidate as markup; a goal name must stay literal."""
    content = Content(title)
    _, offsets = matcher.fuzzy_search.match(matcher.query, title)
    for offset in offsets:
        if not title[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
