"""A WordPress site, played in the REST API's shapes: paging headers, `after=` in site-local time,
`_embed=wp:term`, approved comments only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import UTC, Ago, Platform, also, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
SITE_OFFSET = timedelta(hours=2)
"""The site's local time is UTC+2: `date` and `after=` are local, `date_gmt` is UTC."""
LIBRARY, MARIA, JANE, SAM = 1, 2, 7, 9
"""Listed authors: library, maria. Jane is staff (`also`) without posts; Sam a subscriber."""
NAMES = {LIBRARY: "Riverside Library", MARIA: "Maria", JANE: "Jane", SAM: "Sam"}


def _wp_time(moment: datetime, local: bool = False) -> str:
    return (moment + SITE_OFFSET if local else moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _avatar(name: str) -> dict[str, str]:
    digest = hashlib.md5(name.encode()).hexdigest()  # Gravatar hashes the e-mail; a name stands in
    return {s: f"https://secure.gravatar.com/avatar/{digest}?s={s}&d=mm&r=g" for s in ("24", "48", "96")}


@dataclass
class Site:
    """Published posts and approved comments, served with WordPress's paging and filters."""

    base: str = ""
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    broken: Reply | None = None

    def post(self, pid: int, author: int, at: datetime, title: str, html: str = "", tags: tuple[str, ...] = ()) -> None:
        self.posts[pid] = {
            "id": pid,
            "date": _wp_time(at, local=True),
            "date_gmt": _wp_time(at),
            "status": "publish",
            "type": "post",
            "link": f"{self.base}/?p={pid}",
            "title": {"rendered": title},
            "content": {"rendered": html or f"<p>{title}</p>\n", "protected": False},
            "author": author,
            "tags": [100 + i for i, _ in enumerate(tags)],
            "comment_status": "open",
            "_tags": tags,
        }

    def comment(self, cid: int, pid: int, parent: int, who: str | int, at: datetime, html: str = "<p>Hi</p>") -> None:
        name = NAMES[who] if isinstance(who, int) else who
        self.comments[cid] = {
            "id": cid,
            "post": pid,
            "parent": parent,
            "author": who if isinstance(who, int) else 0,
            "author_name": name,
            "author_url": "",
            "date": _wp_time(at, local=True),
            "date_gmt": _wp_time(at),
            "content": {"rendered": html},
            "link": f"{self.base}/?p={pid}#comment-{cid}",
            "status": "approved",
            "type": "comment",
            "author_avatar_urls": _avatar(str(name)),
        }

    def _page(self, items: list[dict[str, Any]], request: Request) -> Reply:
        if self.broken is not None:
            return self.broken
        per_page = int(request.arg("per_page", "10") or 10)
        page = int(request.arg("page", "1") or 1)
        if per_page > 100:
            return json_reply(
                {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page", "data": {"status": 400}},
                400,
            )
        pages = max(1, -(-len(items) // per_page))
        if page > pages:
            return json_reply(
                {
                    "code": "rest_post_invalid_page_number",
                    "message": "The page number requested is larger than the number of pages available.",
                    "data": {"status": 400},
                },
                400,
            )
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}
        return json_reply(items[(page - 1) * per_page : page * per_page], headers=headers)

    def users(self, request: Request) -> Reply:
        listed = [(LIBRARY, "library", "Riverside Library"), (MARIA, "maria", "Maria")]  # authors of published posts
        return self._page(
            [{"id": i, "name": n, "slug": s, "link": f"{self.base}/author/{s}/"} for i, s, n in listed], request
        )

    def list_posts(self, request: Request) -> Reply:
        after = request.arg("after") or ""
        chosen = sorted((p for p in self.posts.values() if p["date"] > after), key=lambda p: p["date"], reverse=True)
        items = []
        for raw in chosen:
            item = {k: v for k, v in raw.items() if k != "_tags"}
            if request.arg("_embed") is not None:
                terms = [
                    {"id": 100 + i, "name": t, "slug": t.lower().replace(" ", "-"), "taxonomy": "post_tag"}
                    for i, t in enumerate(raw["_tags"])
                ]
                item["_embedded"] = {
                    "wp:term": [[{"id": 1, "name": "News", "slug": "news", "taxonomy": "category"}], terms]
                }
            items.append(item)
        return self._page(items, request)

    def list_comments(self, request: Request) -> Reply:
        posts = {int(p) for p in (request.arg("post") or "").split(",") if p}
        after = request.arg("after") or ""
        chosen = [c for c in self.comments.values() if c["post"] in posts and c["date"] > after]
        return self._page(sorted(chosen, key=lambda c: c["date"], reverse=True), request)


def serve(server: ReplayServer, site: Site) -> None:
    site.base = server.url
    server.route("GET", "/wp-json/wp/v2/users", site.users)
    server.route("GET", "/wp-json/wp/v2/posts", site.list_posts)
    server.route("GET", "/wp-json/wp/v2/comments", site.list_comments)


ago = Ago(NOW)


def build(site: Site) -> None:
    """The scenario; comments are placed in hours after their post (`t`)."""
    # 110 routine posts, one every 12 hours from 1.25 to 55.75 days ago: two pages of posts
    for i in range(110):
        site.post(2000 + i, LIBRARY, ago(days=1.25 + 0.5 * i), f"Opening hours update {i}")

    t = ago(days=20)
    site.post(
        501,
        LIBRARY,
        t,
        "Summer Reading kickoff",
        '<p>Log your books at <a href="https://library.example.org/summer/">our page</a>.</p>',
        tags=("Summer Reading",),
    )
    site.comment(1000, 501, 0, LIBRARY, t + timedelta(minutes=10), "<p>Update: prizes announced!</p>")  # self-thread
    site.comment(1001, 501, 0, "Ann", t + timedelta(hours=1), "<p>Can kids join?</p>")
    site.comment(1002, 501, 1001, LIBRARY, t + timedelta(hours=3), "<p>Yes, all ages!</p>")
    site.comment(1003, 501, 1002, "Ann", t + timedelta(hours=4), "<p>And audiobooks?</p>")
    site.comment(1004, 501, 1003, JANE, t + timedelta(hours=5), "<p>They count too.</p>")
    site.comment(1005, 501, 0, SAM, t + timedelta(hours=6), "<p>Where do I sign up?</p>")
    site.comment(1006, 501, 1005, "Bob", t + timedelta(hours=7), "<p>Same question</p>")
    site.comment(1007, 501, 1006, MARIA, t + timedelta(hours=10), "<p>At the front desk.</p>")
    site.comment(1008, 501, 1006, LIBRARY, t + timedelta(hours=12), "<p>Or online.</p>")
    site.comment(1009, 501, 1000, "Dee", t + timedelta(days=1), "<p>What prizes?</p>")

    t = ago(days=10)
    site.post(502, MARIA, t, "Teen summer reading picks")
    site.comment(1010, 502, 0, "Cara", t + timedelta(minutes=30), "<p>Any manga?</p>")
    site.comment(1011, 502, 1010, MARIA, t + timedelta(hours=1, minutes=30), "<p>Plenty!</p>")
    site.comment(1012, 502, 1011, "Cara", t + timedelta(hours=2), "<p>Thanks</p>")

    site.post(503, LIBRARY, ago(days=5), "Summer reading raffle")
    site.comment(1020, 503, 0, "Gus", ago(days=5, hours=-1))
    site.post(504, LIBRARY, ago(days=3), "Book sale")

    t = ago(days=45)  # the baseline window
    site.post(505, LIBRARY, t, "Summer reading last year", tags=("SummerReading",))
    site.comment(1030, 505, 0, "Hal", t + timedelta(hours=1))
    site.comment(1031, 505, 1030, LIBRARY, t + timedelta(hours=2))



def served(server: ReplayServer) -> Site:
    site = Site()
    serve(server, site)
    build(site)
    return site


def thread_reads(server: ReplayServer) -> list[Request]:
    """Full comment reads; the recent-comments query always carries `after`."""
    return [r for r in server.requests("/wp-json/wp/v2/comments") if r.arg("after") is None]


def source(url: str, sid: str = "blog") -> str:
    return source_toml(sid, "wordpress", url=url)


GOALS = goals_toml(
    goal_toml("Summer reading", hashtags=["SummerReading"], keywords=["summer reading"], window="30d"),
    goal_toml("Everything", window="30d"),
)
WORDPRESS = Platform("wordpress", "blog", NOW, {}, served, source, GOALS, also("wordpress:jane"))
