"""`twoway init`'s probes: what an address staff know turns out to be (SPEC §12).

Every request goes through `twoway.plugin.Http`, the collectors' own layer, so a probe
has the same timeouts, size limit and redirect rules as the polls that follow it. A
probe never raises: it answers `Found` (what to write, and the one line to say) or
`Failed` (the one line saying why not). Network text (display names, hashtags) is
neutralised here, once, before anything prints or writes it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from twoway.hosts import is_loopback
from twoway.plugin.http import FetchError, Http, Response
from twoway.plugin.text import hashtags_in, html_to_text
from twoway.text import neutralize

__all__ = [
    "CREDENTIAL_PLATFORMS",
    "DEFAULT_BLUESKY",
    "Failed",
    "Found",
    "Probe",
    "display",
    "probe",
    "top_hashtags",
]

DEFAULT_BLUESKY = "https://public.api.bsky.app"
CREDENTIAL_PLATFORMS = (
    "facebook", "instagram", "threads", "x", "linkedin", "pinterest", "youtube", "reddit", "discourse",
)
"""Platforms whose API answers nothing without credentials: written with placeholders, never probed."""
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
NAME_CELLS = 80
"""Longest display name kept: a name is a title, not a post."""
_HANDLE = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$", re.I)
_TAG = re.compile(r"^\w{1,60}$")


def display(text: object) -> str:
    """Network text made inert, on one line and of a bounded length (SPEC §8)."""
    line = " ".join(neutralize(str(text or "")).split())
    return line if len(line) <= NAME_CELLS else line[: NAME_CELLS - 1].rstrip() + "…"


@dataclass(frozen=True)
class Found:
    """A confirmed account: the source's keys and what the probe saw."""

    platform: str
    keys: dict[str, object]
    line: str
    name: str = ""
    tags: tuple[str, ...] = ()
    """Every hashtag of the first page, once per post that carries it."""
    needs_token: bool = False
    """A server that answers only with a credential: written with a placeholder for it."""
    notes: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    """Every feed a page named, when there were several: the first is written unless the user picks."""


@dataclass(frozen=True)
class Failed:
    address: str
    line: str


Probe = Found | Failed


@dataclass(frozen=True)
class _Address:
    kind: str
    """mastodon, bluesky, site, platform, domain or bad."""
    value: str
    extra: str = ""


def classify(address: str) -> _Address:
    """Which form an address is written in; nothing is asked of the network yet."""
    text = address.strip()
    if text.lower() in CREDENTIAL_PLATFORMS:
        return _Address("platform", text.lower())
    mastodon = re.fullmatch(r"@?([\w.-]+)@([\w.-]+(?::\d+)?)", text)
    if mastodon and text.startswith("@"):
        return _Address("mastodon", _origin_of(mastodon.group(2)), mastodon.group(1))
    if text.startswith("@") and _HANDLE.match(text[1:]):
        return _Address("bluesky", text[1:].lower())
    if re.match(r"^https?://", text, re.I):
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
        if not host:
            return _Address("bad", text, "no host in this address")
        if parts.scheme.lower() == "http" and not is_loopback(host):
            return _Address("bad", text, "http:// is for a server on this machine only: use https://")
        profile = re.fullmatch(r"/profile/([^/]+)/?", parts.path)
        if host in ("bsky.app", "www.bsky.app") and profile:
            return _Address("bluesky", profile.group(1).lower())
        account = re.fullmatch(r"/@([\w.-]+)/?", parts.path)
        if account:
            return _Address("mastodon", f"{parts.scheme.lower()}://{parts.netloc}", account.group(1))
        return _Address("site", text)
    if _HANDLE.match(text):
        return _Address("domain", text.lower())
    host = text.split("/", 1)[0]
    if re.fullmatch(r"[\w.-]+(:\d+)?", host) and is_loopback(host.rsplit(":", 1)[0]):
        return _Address("site", f"http://{text}")
    return _Address("bad", text, "not an address twoway knows: @account@server, a Bluesky handle or a site's URL")


def _origin_of(host: str) -> str:
    """A server named without a scheme: https, or http on this machine (tests, a local server)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return f"{'http' if is_loopback(name) else 'https'}://{host.lower()}"


async def probe(http: Http, address: str, bluesky_service: str | None = None) -> Probe:
    """One address, confirmed or not; never raises."""
    where = classify(address)
    service = (bluesky_service or DEFAULT_BLUESKY).rstrip("/")
    try:
        if where.kind == "mastodon":
            return await _mastodon(http, where.value, where.extra, address)
        if where.kind == "bluesky":
            return await _bluesky(http, service, where.value, address, bluesky_service)
        if where.kind == "site":
            return await _site(http, where.value, address)
        if where.kind == "domain":
            found = await _bluesky(http, service, where.value, address, bluesky_service)
            if isinstance(found, Found):
                return found
            site = await _site(http, f"{_origin_of(where.value)}", address)
            if isinstance(site, Found):
                return site
            return Failed(address, f"{address}: no Bluesky handle on {service}, and {site.line}")
        if where.kind == "platform":
            return Found(where.value, {}, _TITLES.get(where.value, where.value))
    except FetchError as error:  # a probe's own reads raise only through unexpected shapes
        return Failed(address, f"{address}: {_reason(error)}")
    return Failed(address, f"{address}: {where.extra}")


_TITLES = {
    "x": "X", "youtube": "YouTube", "linkedin": "LinkedIn", "facebook": "Facebook", "instagram": "Instagram",
    "threads": "Threads", "pinterest": "Pinterest", "reddit": "Reddit", "discourse": "Discourse",
}


def _reason(error: FetchError) -> str:
    """A FetchError's message without the URL it starts with: the line names the address already;
    an XRPC error's own sentence (`message`) rather than its code."""
    said = error.data.get("message") if isinstance(error.data, dict) else None
    if error.status and isinstance(said, str) and said.strip():
        return f"HTTP {error.status}: {display(said)}"
    text = str(error)
    head, sep, rest = text.partition(": ")
    return rest if sep and head.startswith(("http://", "https://")) else text


def _moved(asked: str, response: Response) -> str | None:
    """The origin an answer came from when a redirect took the probe to another host."""
    before, after = urlsplit(asked), urlsplit(response.url)
    if (before.hostname, before.port) == (after.hostname, after.port):
        return None
    return f"{after.scheme}://{after.netloc}"


async def _json(http: Http, url: str, **params: Any) -> tuple[Response, Any]:
    response = await http.get(url, params=params or None)
    return response, response.json()


# -- Mastodon -----------------------------------------------------------------------------


async def _mastodon(http: Http, origin: str, account: str, address: str) -> Probe:
    try:
        response, instance = await _json(http, f"{origin}/api/v1/instance")
    except FetchError as error:
        return Failed(address, f"{address}: no Mastodon server at {origin} ({_reason(error)})")
    if not isinstance(instance, dict) or not ({"uri", "domain", "version"} & set(instance)):
        return Failed(address, f"{address}: {origin} answers, but not as a Mastodon server")
    moved = _moved(f"{origin}/", response)
    origin = moved or origin
    host = urlsplit(origin).netloc
    keys: dict[str, object] = {"instance": origin, "account": account}
    notes = (f"reached by a redirect from {address}",) if moved else ()
    try:
        _, found = await _json(http, f"{origin}/api/v1/accounts/lookup", acct=account)
    except FetchError as error:
        if error.status in (401, 403):
            return Found(
                "mastodon", keys, f"Mastodon @{account}@{host}: the server refuses anonymous lookups",
                needs_token=True, notes=notes,
            )
        return Failed(address, f"{address}: no account @{account} on {origin} ({_reason(error)})")
    if not isinstance(found, dict) or "id" not in found:
        return Failed(address, f"{address}: {origin} answered no account for @{account}")
    name = display(found.get("display_name") or found.get("username") or account)
    posts = found.get("statuses_count")
    tags: list[str] = []
    try:
        _, statuses = await _json(
            http, f"{origin}/api/v1/accounts/{quote(str(found['id']))}/statuses", limit=40, exclude_replies="false"
        )
    except FetchError:
        statuses = []
    for status in statuses if isinstance(statuses, list) else []:
        if isinstance(status, dict):
            text, _ = html_to_text(str(status.get("content") or ""))
            named = [str(t.get("name")) for t in status.get("tags") or [] if isinstance(t, dict)]
            tags += _once([*hashtags_in(text), *named])  # the text keeps the author's capitals, the API may not
    count = f", {posts:,} posts" if isinstance(posts, int) else ""
    return Found("mastodon", keys, f'Mastodon @{account}@{host}, "{name}"{count}', name, tuple(tags), notes=notes)


# -- Bluesky ------------------------------------------------------------------------------


async def _bluesky(http: Http, service: str, handle: str, address: str, chosen: str | None) -> Probe:
    try:
        _, profile = await _json(http, f"{service}/xrpc/app.bsky.actor.getProfile", actor=handle)
    except FetchError as error:
        return Failed(address, f"{address}: no Bluesky account found on {service} ({_reason(error)})")
    if not isinstance(profile, dict) or not isinstance(profile.get("did"), str):
        return Failed(address, f"{address}: {service} answered no Bluesky profile")
    resolved = display(profile.get("handle") or handle).lower()
    if not _HANDLE.match(resolved):
        resolved = handle
    name = display(profile.get("displayName") or resolved)
    keys: dict[str, object] = {"handle": resolved}
    if chosen:
        keys["service"] = service
    tags: list[str] = []
    try:
        _, feed = await _json(
            http, f"{service}/xrpc/app.bsky.feed.getAuthorFeed", actor=profile["did"],
            filter="posts_with_replies", limit=50,
        )
    except FetchError:
        feed = {}
    for item in (feed.get("feed") if isinstance(feed, dict) else None) or []:
        post = item.get("post") if isinstance(item, dict) else None
        if not isinstance(post, dict) or item.get("reason") or (post.get("author") or {}).get("did") != profile["did"]:
            continue
        tags += _bluesky_tags(post.get("record") or {})
    posts = profile.get("postsCount")
    count = f", {posts:,} posts" if isinstance(posts, int) else ""
    return Found("bluesky", keys, f'Bluesky @{resolved}, "{name}"{count}', name, tuple(tags))


def _bluesky_tags(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return []
    given = [str(t) for t in record.get("tags") or []]
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or [] if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and feature.get("$type") == "app.bsky.richtext.facet#tag":
                given.append(str(feature.get("tag")))
    return list(hashtags_in(str(record.get("text") or ""), given))


# -- a site: WordPress, else a feed ----------------------------------------------------------


class _Links(HTMLParser):
    """The `<link>` elements of a page: its REST API and its feeds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.links.append({k.lower(): (v or "").strip() for k, v in attrs})


def _page_links(html: str, base: str) -> tuple[str | None, list[str]]:
    parser = _Links()
    try:
        parser.feed(html[:1_000_000])
        parser.close()
    except Exception:  # a broken page may still have named its links before breaking
        pass
    api: str | None = None
    feeds: list[str] = []
    for link in parser.links:
        rels = link.get("rel", "").lower().split()
        href = link.get("href", "")
        if not href or neutralize(href) != href or any(c.isspace() for c in href):
            continue  # an address no one could have meant, or one trying to steer the terminal
        if "https://api.w.org/" in rels and api is None:
            api = urljoin(base, href)
        elif "alternate" in rels and link.get("type", "").lower() in FEED_TYPES:
            feeds.append(urljoin(base, href))
    return api, list(dict.fromkeys(f for f in feeds if urlsplit(f).scheme in ("http", "https")))


def _is_wordpress(index: Any) -> bool:
    return isinstance(index, dict) and "wp/v2" in (index.get("namespaces") or [])


async def _site(http: Http, url: str, address: str) -> Probe:
    url = url.rstrip("/") if urlsplit(url).path in ("", "/") else url
    base = url.rstrip("/")
    try:
        response, index = await _json(http, f"{base}/wp-json/")
    except FetchError as error:
        if error.status is None and "JSON" not in str(error):  # nothing answers there: the page will not either
            return Failed(address, f"{address}: no Mastodon, WordPress or feed found ({_reason(error)})")
    else:
        if _is_wordpress(index):
            moved = _moved(base, response)
            return await _wordpress(http, _api_root(response.url) or base, index, address, moved)
    try:
        page = await http.get(url)
    except FetchError as error:
        return Failed(address, f"{address}: no Mastodon, WordPress or feed found ({_reason(error)})")
    feed = _feed(page)
    if feed is not None:
        return _feed_found(page.url, feed, address, _moved(url, page))
    api, feeds = _page_links(page.text, page.url)
    if api:
        try:
            response, index = await _json(http, api)
        except FetchError:
            index = None
        root = _api_root(api)
        if _is_wordpress(index) and root:
            return await _wordpress(http, root, index, address, _moved(url, page))
    for candidate in feeds[:3]:
        try:
            answer = await http.get(candidate)
        except FetchError:
            continue
        parsed = _feed(answer)
        if parsed is not None:
            found = _feed_found(answer.url, parsed, address, _moved(url, answer))
            if len(feeds) > 1:
                others = ", ".join(f for f in feeds if f != candidate)
                note = f"the first of {len(feeds)} feeds on the page; the others: {others}"
                found = Found(found.platform, found.keys, found.line, found.name, found.tags,
                              notes=(*found.notes, note), feeds=tuple(feeds))
            return found
    if await _is_mastodon_server(http, base):
        return Failed(address, f"{address}: a Mastodon server; name the account: @NAME@{urlsplit(base).netloc}")
    what = "an HTML page without feed links" if page.text.lstrip()[:1] == "<" else "no feed"
    if feeds:
        what = f"its feed links answer no feed: {', '.join(feeds[:3])}"
    return Failed(address, f"{address}: no Mastodon, WordPress or feed found (HTTP {page.status}, {what})")


def _api_root(api: str) -> str | None:
    """The site address behind a `.../wp-json/` API link; None for the `?rest_route=` form, which no collector reads."""
    parts = urlsplit(api)
    path = parts.path.rstrip("/")
    if not path.endswith("/wp-json") or parts.query:
        return None
    return f"{parts.scheme}://{parts.netloc}{path.removesuffix('/wp-json')}"


async def _is_mastodon_server(http: Http, base: str) -> bool:
    try:
        _, instance = await _json(http, f"{base}/api/v1/instance")
    except FetchError:
        return False
    return isinstance(instance, dict) and "uri" in instance


async def _wordpress(http: Http, url: str, index: Any, address: str, moved: str | None) -> Probe:
    name = display(index.get("name") or urlsplit(url).netloc)
    tags: list[str] = []
    total = ""
    try:
        response, posts = await _json(http, f"{url}/wp-json/wp/v2/posts", per_page=20, _embed="wp:term")
    except FetchError:
        posts = []
    else:
        if response.headers.get("x-wp-total", "").isdigit():
            total = f", {int(response.headers['x-wp-total']):,} posts"
    for post in posts if isinstance(posts, list) else []:
        groups = ((post.get("_embedded") or {}).get("wp:term") or []) if isinstance(post, dict) else []
        terms = [t for g in groups if isinstance(g, list) for t in g if isinstance(t, dict)]
        tags += _once("".join(str(t.get("name") or "").split()) for t in terms if t.get("taxonomy") == "post_tag")
    notes = (f"reached by a redirect from {address}",) if moved else ()
    return Found("wordpress", {"url": url}, f'WordPress {url}, "{name}"{total}', name, tuple(tags), notes=notes)


def _feed(response: Response) -> Any | None:
    """The parsed feed when the answer is one (RSS, Atom, RDF), else None."""
    start = response.body[:512].lstrip().lower()
    kind = response.headers.get("content-type", "").lower()
    if not (b"<rss" in start or b"<feed" in start or b"<rdf" in start or "xml" in kind):
        if not start.startswith(b"<?xml"):
            return None
    import feedparser  # only for a site that may be a feed

    parsed = feedparser.parse(response.body)
    return parsed if parsed.get("version") else None


def _feed_found(url: str, feed: Any, address: str, moved: str | None) -> Found:
    title = display((feed.get("feed") or {}).get("title") or urlsplit(url).netloc)
    entries = feed.get("entries") or []
    tags: list[str] = []
    for entry in entries:
        tags += _once("".join(str(t.get("term") or t.get("label") or "").split()) for t in entry.get("tags") or [])
    notes = (f"reached by a redirect from {address}",) if moved else ()
    count = f", {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    return Found("rss", {"url": url}, f'Feed {url}, "{title}"{count}', title, tuple(tags), notes=notes)


def _once(tags: Iterable[str]) -> list[str]:
    """A post's tags, once each whatever the case, inert and hashtag-shaped."""
    seen: dict[str, str] = {}
    for tag in tags:
        clean = neutralize(tag).lstrip("#＃")
        if _TAG.match(clean) and not clean.isdigit():
            seen.setdefault(clean.casefold(), clean)
    return list(seen.values())


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    spellings: dict[str, Counter[str]] = field(default_factory=dict)

    def spelling(self, key: str) -> str:
        """The most used way of writing it, capitals first: #SummerReading reads better than #summerreading."""
        seen = self.spellings[key]
        return max(seen, key=lambda s: (s != s.lower(), seen[s]))


def top_hashtags(found: Iterable[Found], n: int = 3) -> list[str]:
    """The `n` hashtags the accounts used most on their first pages; ties in the order first met."""
    tally = _Tally()
    for account in found:
        for tag in account.tags:
            key = tag.casefold()
            tally.counts[key] += 1
            tally.spellings.setdefault(key, Counter())[tag] += 1
    order = {key: i for i, key in enumerate(tally.spellings)}
    ranked = sorted(tally.counts, key=lambda k: (-tally.counts[k], order[k]))
    return [tally.spelling(k) for k in ranked[:n]]
