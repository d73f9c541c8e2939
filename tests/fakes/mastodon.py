"""Mastodon, played from a small world of accounts and statuses, and its recorded answers served back."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "s3cret-token"
ago = Ago(NOW)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeMastodon:
    """Mastodon's JSON shapes and Link headers, computed from a small world of accounts and statuses.

    Ids are snowflakes (time in the high bits), so id order is time order as on Mastodon;
    `replies_count` is counted from the statuses, so a new reply moves its parent's counter.
    """

    def __init__(self, server: ReplayServer, page: int = 4) -> None:
        self.server = server
        self.page = page
        self.accounts: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.seq = itertools.count()
        self.broken: Reply | None = None
        server.route("GET", "/api/v1/accounts/lookup", self.lookup)
        server.route("GET", "/api/v1/accounts/*", self.listing)
        server.route("GET", "/api/v1/statuses/*", self.context)
        server.route("GET", "/api/v1/notifications", self.notifications)

    def account(self, aid: str, username: str, followers: int = 0) -> dict[str, Any]:
        self.accounts[aid] = {
            "id": aid, "username": username, "acct": username, "display_name": username.title(),
            "url": f"https://glammr.us/@{username}", "followers_count": followers, "following_count": 1,
            "statuses_count": 0, "last_status_at": "2026-06-30",
        }
        return self.accounts[aid]

    def post(
        self, author: str, when: datetime, text: str, parent: str | None = None, *, mentions: tuple[str, ...] = (),
        tags: tuple[str, ...] = (), link: str | None = None, likes: int = 0, boosts: int = 0, quotes: int = 0,
        reblog: str | None = None, edited: datetime | None = None,
    ) -> str:
        sid = str((int(when.timestamp() * 1000) << 16) + next(self.seq))
        html = "".join(
            f'<span class="h-card" translate="no"><a href="{self.accounts[m]["url"]}" class="u-url mention">'
            f'@<span>{self.accounts[m]["username"]}</span></a></span> ' for m in mentions
        ) + text
        html += "".join(f' <a href="https://glammr.us/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>' for t in tags)
        if link:
            html += f' <a href="{link}" target="_blank" rel="nofollow noopener">{link}</a>'
        self.statuses[sid] = {
            "id": sid, "author": author, "created_at": iso(when), "in_reply_to_id": parent,
            "content": f"<p>{html}</p>" if not reblog else "", "mentions": mentions, "tags": tags, "link": link,
            "likes": likes, "boosts": boosts, "quotes": quotes, "reblog": reblog,
            "edited_at": iso(edited) if edited else None, "deleted": False,
        }
        return sid

    def edit(self, sid: str, text: str, when: datetime) -> None:
        self.statuses[sid].update(content=f"<p>{text}</p>", edited_at=iso(when))

    def delete(self, sid: str) -> None:
        self.statuses[sid]["deleted"] = True

    def live(self) -> list[dict[str, Any]]:
        return [s for s in self.statuses.values() if not s["deleted"]]

    def render(self, sid: str) -> dict[str, Any]:
        s = self.statuses[sid]
        parent = self.statuses.get(s["in_reply_to_id"] or "")
        author = self.accounts[s["author"]]
        return {
            "id": sid, "created_at": s["created_at"], "in_reply_to_id": s["in_reply_to_id"],
            "in_reply_to_account_id": parent["author"] if parent else None, "sensitive": False, "spoiler_text": "",
            "visibility": "public", "language": "en", "uri": f"https://glammr.us/users/{author['username']}/statuses/{sid}",
            "url": f"https://glammr.us/@{author['username']}/{sid}",
            "replies_count": sum(1 for o in self.live() if o["in_reply_to_id"] == sid),
            "reblogs_count": s["boosts"], "favourites_count": s["likes"], "quotes_count": s["quotes"],
            "edited_at": s["edited_at"], "content": s["content"],
            "reblog": self.render(s["reblog"]) if s["reblog"] else None, "account": author,
            "mentions": [{"id": m, "username": self.accounts[m]["username"], "acct": self.accounts[m]["acct"],
                          "url": self.accounts[m]["url"]} for m in s["mentions"]],
            "tags": [{"name": t.lower(), "url": f"https://glammr.us/tags/{t.lower()}"} for t in s["tags"]],
            "emojis": [], "media_attachments": [],
            "card": {"url": s["link"], "title": "Card", "type": "link"} if s["link"] else None,
        }

    def _page(self, path: str, items: list[tuple[str, Any]], request: Request) -> Reply:
        """Newest first, `limit` capped at the server's page, with Mastodon's Link header."""
        items = sorted(items, key=lambda pair: int(pair[0]), reverse=True)
        if request.arg("max_id"):
            items = [p for p in items if int(p[0]) < int(request.arg("max_id") or 0)]
        if request.arg("since_id"):
            items = [p for p in items if int(p[0]) > int(request.arg("since_id") or 0)]
        page = items[: min(int(request.arg("limit") or 20), self.page)]
        headers = {}
        if page:
            base = f"{self.server.url}{path}?limit={self.page}"
            links = [f'<{base}&min_id={page[0][0]}>; rel="prev"']
            if len(page) == self.page:
                links.insert(0, f'<{base}&max_id={page[-1][0]}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return json_reply([body for _, body in page], headers=headers)

    def lookup(self, request: Request) -> Reply:
        name = (request.arg("acct") or "").split("@")[0]
        found = next((a for a in self.accounts.values() if a["username"] == name), None)
        return json_reply(found) if found else json_reply({"error": "Record not found"}, 404)

    def listing(self, request: Request) -> Reply:
        if self.broken:
            return self.broken
        assert request.arg("exclude_replies") == "false"
        aid = request.path.split("/")[4]
        mine = [(s["id"], self.render(s["id"])) for s in self.live() if s["author"] == aid]
        return self._page(request.path, mine, request)

    def context(self, request: Request) -> Reply:
        sid = request.path.split("/")[4]
        if sid not in self.statuses or self.statuses[sid]["deleted"] or not request.path.endswith("/context"):
            return json_reply({"error": "Record not found"}, 404)
        ancestors: list[dict[str, Any]] = []
        up = self.statuses[sid]["in_reply_to_id"]
        while up and not self.statuses[up]["deleted"]:
            ancestors.insert(0, self.render(up))
            up = self.statuses[up]["in_reply_to_id"]
        descendants: list[dict[str, Any]] = []

        def walk(parent: str) -> None:
            for child in sorted((s["id"] for s in self.live() if s["in_reply_to_id"] == parent), key=int):
                descendants.append(self.render(child))
                walk(child)

        walk(sid)
        return json_reply({"ancestors": ancestors, "descendants": descendants})

    def notifications(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return json_reply({"error": "The access token is invalid"}, 401)
        assert request.arg("types") == "mention"
        notes = [
            (s["id"], {"id": s["id"], "type": "mention", "created_at": s["created_at"],
                       "account": self.accounts[s["author"]], "status": self.render(s["id"])})
            for s in self.live() if LIBRARY in s["mentions"] and s["author"] != LIBRARY
        ]
        return self._page(request.path, notes, request)



LIBRARY, JANE, ALICE, BOB, CAROL, DAVE = "100", "200", "301", "302", "303", "304"
SUMMER_LINK = "https://library.example.org/summer"


class World:
    """The scenario: 60 days of a library's Mastodon account, its staff and its community."""

    def __init__(self, fake: FakeMastodon) -> None:
        f = self.fake = fake
        f.account(LIBRARY, "library", followers=321)
        f.account(JANE, "jane")
        for aid, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (DAVE, "dave")):
            f.account(aid, name)
        # an old broadcast beyond the 60-day horizon; the library answers under it on day 25
        self.b0 = f.post(LIBRARY, ago(70), "Welcome to our new account")
        self.c0 = f.post(ALICE, ago(25), "Are you still here?", self.b0, mentions=(LIBRARY,))
        self.a0 = f.post(LIBRARY, ago(25, hours=-1), "We are!", self.c0, mentions=(ALICE,))
        self.b4 = f.post(LIBRARY, ago(45), "Spring sale", likes=4)  # in the baseline window
        # B1 (day 20): a self-thread, replies at several depths, answers by the library and by jane
        b1 = ago(20)
        self.b1 = f.post(LIBRARY, b1, "Summer reading starts today!", tags=("SummerReading",), link=SUMMER_LINK,
                         likes=5, boosts=2, quotes=2)
        self.s1 = f.post(LIBRARY, b1 + timedelta(minutes=5), "Pick up a reading log.", self.b1, tags=("SummerReading",))
        self.r1 = f.post(ALICE, b1 + timedelta(hours=1), "Can adults join?", self.b1, mentions=(LIBRARY,))
        self.a1 = f.post(LIBRARY, b1 + timedelta(hours=4), "Yes, everyone can!", self.r1, mentions=(ALICE,))
        self.r2 = f.post(BOB, b1 + timedelta(days=1), "Great news", self.a1, mentions=(LIBRARY, ALICE))
        self.r3 = f.post(CAROL, b1 + timedelta(days=1, hours=1), "Is there a prize?", self.r2, mentions=(BOB,))
        self.j1 = f.post(JANE, b1 + timedelta(days=1, hours=1, minutes=30), "A tote bag!", self.r3, mentions=(CAROL,))
        self.r4 = f.post(DAVE, b1 + timedelta(days=2), "Where are the logs?", self.s1, mentions=(LIBRARY,))
        # B2 (day 10): edited; a reply, and a mention that is also a reply, answered a day later
        b2 = ago(10)
        self.b2 = f.post(LIBRARY, b2, "The library is closed on Tuesday", likes=3, quotes=1,
                         edited=b2 + timedelta(minutes=3))
        self.r5 = f.post(ALICE, b2 + timedelta(hours=1), "Noted", self.b2)
        self.m2 = f.post(CAROL, b2 + timedelta(hours=2), "All day?", self.b2, mentions=(LIBRARY,))
        self.a3 = f.post(LIBRARY, b2 + timedelta(days=1, hours=2), "Yes, all day.", self.m2, mentions=(CAROL,))
        # mentions outside any thread of ours: one answered after 2 h, one inside someone else's thread
        self.m1 = f.post(BOB, ago(8), "do you have kits?", mentions=(LIBRARY,), tags=("SummerReading",))
        self.a2 = f.post(LIBRARY, ago(8, hours=-2), "We do!", self.m1, mentions=(BOB,))
        self.x1 = f.post(ALICE, ago(6), "Anyone know the opening hours?")
        self.m3 = f.post(CAROL, ago(6, hours=-1), "will know", self.x1, mentions=(LIBRARY,))
        # B3 (day 5), which the library boosts itself; and a boost of someone else's post
        self.b3 = f.post(LIBRARY, ago(5), "Book club tonight", likes=1, boosts=1)
        self.r6 = f.post(BOB, ago(5, hours=-3), "See you there", self.b3)
        self.boost_b3 = f.post(LIBRARY, ago(4), "", reblog=self.b3)
        self.p1 = f.post(ALICE, ago(3, hours=12), "My garden")
        self.boost_p1 = f.post(LIBRARY, ago(3), "", reblog=self.p1)


def cassette_server(server: ReplayServer, items: list[dict[str, Any]]) -> None:
    """Serves the recorded GET answers, choosing by path and the recorded query."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if item["method"] == "GET":
            by_path.setdefault(urlsplit(item["uri"]).path, []).append(item)

    def recorded(item: dict[str, Any]) -> dict[str, list[str]]:
        return {k: v for k, v in parse_qs(urlsplit(item["uri"]).query).items() if k != "limit"}

    def handler(request: Request) -> Reply:
        paging = {k: v for k, v in request.query.items() if k in ("max_id", "min_id", "since_id")}
        fits = [i for i in by_path.get(request.path, []) if recorded(i).items() <= request.query.items()]
        fits = [i for i in fits if {k: v for k, v in recorded(i).items() if k in paging or k.endswith("_id")} == paging]
        if not fits:
            return json_reply([])
        item = fits[0]
        headers = {"Link": item["headers"]["link"]} if "link" in item["headers"] else {}
        return json_reply(item["body"], item["status"], headers)

    for path in by_path:
        server.route("GET", path, handler)



def source(url: str, sid: str = "library-mastodon", token: str | None = "TEST_MASTODON_TOKEN") -> str:
    return source_toml(sid, "mastodon", instance=url, account="library", token=env(token) if token else None)


GOALS = goals_toml(ALL, SUMMER_TAG, goal_toml("Closures", keywords=["closed on monday"]))

MASTODON = Platform(
    "mastodon", "library-mastodon", NOW, {"TEST_MASTODON_TOKEN": TOKEN}, lambda server: World(FakeMastodon(server)),
    source, GOALS, also("mastodon:@jane@glammr.us"),
)
