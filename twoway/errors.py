"""One base error, printed once at the edge (the CLI) on stderr, never as a traceback.

    TwowayError
    ├── ConfigError      the configuration is wrong: every problem, one line each
    ├── UsageError       the command line is wrong
    └── StoreError       the store cannot be opened or is from a newer twoway
"""

from __future__ import annotations

__all__ = ["ConfigError", "StoreError", "TwowayError", "UsageError"]


class TwowayError(Exception):
    """An error the user can act on; its message is the whole story."""

    exit_code = 1


class ConfigError(TwowayError):
    exit_code = 2

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class UsageError(TwowayError):
    exit_code = 2


class StoreError(TwowayError):
    exit_code = 1
