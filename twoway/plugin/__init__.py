"""The plugin API: everything a collector or an importer builds on, built-in or third-party.

A collector (registered under the entry-point group `twoway.collectors`) is a class
made with a `Context` whose `poll` returns one `Batch` of `twoway.model` records; an
importer (`twoway.importers`) reads one file into a `Batch`. Both get their network,
text and file rules from here, so no plugin has paging, backoff, hashtag or date rules
of its own:

- `protocol`: `Collector`, `Context`, `CursorState`, `ThreadWatch`, `DailyQuota`, `explain`;
- `cycle`: `Cycle`, the state of one poll and the one way it ends as a `Batch`;
- `http`: the one polite HTTP layer (`Http`, `Response`, `Budget`, `FetchError`);
- `fields`, `text`: counters, times, hashtags, links and HTML as every platform reads them;
- `importer`, `files`, `table`: the importer protocol and the export readers it shares.

Plugins import from `twoway.plugin` (names in `__all__` are the stable API) and
`twoway.model`; never from the store, the metrics engine or the views (SPEC §1).
"""

from __future__ import annotations

from twoway.config import Source
from twoway.model import PARTS, Account, Batch, Counters, Imported, Part, Post, Reaction
from twoway.plugin import table
from twoway.plugin.cycle import Cycle
from twoway.plugin.fields import utc, whole
from twoway.plugin.files import ExportFiles, JsonDoc
from twoway.plugin.http import USER_AGENT, Budget, FetchError, Http, Response
from twoway.plugin.importer import ORG_AUTHOR, Importer, ImportFailed
from twoway.plugin.protocol import Collector, Context, CursorState, DailyQuota, ThreadWatch, explain
from twoway.plugin.text import hashtags_in, html_to_text, links_in

__all__ = [
    "ORG_AUTHOR",
    "PARTS",
    "USER_AGENT",
    "Account",
    "Batch",
    "Budget",
    "Collector",
    "Context",
    "Counters",
    "CursorState",
    "Cycle",
    "DailyQuota",
    "ExportFiles",
    "FetchError",
    "Http",
    "ImportFailed",
    "Imported",
    "Importer",
    "JsonDoc",
    "Part",
    "Post",
    "Reaction",
    "Response",
    "Source",
    "ThreadWatch",
    "explain",
    "hashtags_in",
    "html_to_text",
    "links_in",
    "table",
    "utc",
    "whole",
]
