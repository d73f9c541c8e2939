"""What each number means, in a sentence: the `?` screen and a focused metric row say it.

The definitions are docs/metrics.md's, word for word after the `=`, so the screen and
the documentation cannot drift apart (tests/tui/test_explanations.py holds them to it).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from twoway.tui.render import LABELS, UNICODE, local

if TYPE_CHECKING:
    from twoway.report import GoalReport

__all__ = ["EXPLAINED", "GENERAL", "baseline_dates", "explain"]

EXPLAINED: dict[str, tuple[str, str]] = {
    "broadcast": ("number of broadcasts", "posts by the organization's accounts that match the goal"),
    "replies": ("community replies in those broadcasts' threads", "at any depth"),
    "mentions": ("mentions matched to the goal", "community posts naming one of the organization's accounts"),
    "community_messages": ("replies + mentions", "what the community said to the organization"),
    "responses": ("organization replies to community messages in scope", "the organization answering"),
    "answered": ("community messages with at least one response", "two staff answering one message count once"),
    "two_way": ("community_messages + responses", "the conversation, both sides"),
    "reposts": ("sums of the broadcasts' latest counters", "boosts, shares, reblogs: one-way"),
    "quotes": ("sums of the broadcasts' latest counters", "one-way"),
    "likes": ("sums of the broadcasts' latest counters", "favourites, reactions: applause, one-way"),
    "conversation_rate": ("replies / broadcast", "replies per broadcast"),
    "amplification_rate": ("(reposts + quotes) / broadcast", "reposts and quotes per broadcast"),
    "applause_rate": ("likes / broadcast", "likes per broadcast"),
    "two_way_per_broadcast": ("two_way / broadcast", "conversation per broadcast"),
    "response_rate": ("answered / community_messages", "the share of messages that got an answer"),
    "median_response_seconds": (
        "median, over answered messages, of first response time minus message time",
        "half the answers came faster",
    ),
    "p90_response_seconds": ("90th percentile of the same (nearest rank)", "nine answers in ten came faster"),
    "unanswered": (
        "community messages with no response yet",
        "on this window's broadcasts; waiting also counts messages on older ones",
    ),
    "voices": ("distinct community members among those community messages", "how many people, not messages"),
}
"""Metric → (its definition in docs/metrics.md, what it means for staff)."""

GENERAL = (
    (
        "(+3) (−0.05)",
        "the change against the window of the same length just before this one (the baseline)",
    ),
    (
        UNICODE.null,
        "no value: nothing to divide by (no broadcast, no message), or no source of the goal can measure it;"
        " never a zero",
    ),
    (
        "waiting",
        "every community message written in the window with no response yet, whatever broadcast it answers:"
        " the to-do list",
    ),
    ("one-way", "reposts, quotes and likes: applause, kept apart from the conversation"),
)
"""The marks and words around the numbers, as the `?` screen lists them."""


def explain(metric: str) -> str:
    """`conversation rate = replies / broadcast: replies per broadcast`."""
    definition, meaning = EXPLAINED[metric]
    return f"{LABELS[metric]} = {definition}: {meaning}"


def baseline_dates(goal: GoalReport) -> str:
    """`2026-09-27 → 2026-10-27`: the window a goal's changes compare against, in its organization's days."""
    length: timedelta = goal.end - goal.start
    start, end = local(goal.start - length, goal.timezone), local(goal.start, goal.timezone)
    return f"{start:%Y-%m-%d} {UNICODE.arrow} {end:%Y-%m-%d}"
