"""A Discourse forum, played in its JSON shapes: topic lists by latest activity with
`more_topics_url`, topic views with a post stream read in chunks, `user_actions`,
`Api-Key`/`Api-Username`, 429 with `Retry-After`."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import ALL, SUMMER_WORDS, UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

KEY = "disc-admin-key-0123456789"
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
ago = Ago(NOW)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeDiscourse:
    """Discourse's topic lists, topic views and user actions, computed from a small world of posts."""

    def __init__(self, server: ReplayServer, chunk: int = 5, page: int = 2) -> None:
        self.server, self.chunk, self.page = server, chunk, page
        self.topics: dict[int, dict[str, Any]] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1000)
        self.limited = 0
        """Requests still to be answered 429."""
        self.admin = True
        """Whether the key's user (riverside) is an admin, who may read everyone's mentions."""
        server.route("GET", "/topics/created-by/*", self.created_by)
        server.route("GET", "/t/*", self.topic_view)
        server.route("GET", "/user_actions.json", self.user_actions)
        server.route("GET", "/posts/*", self.post_by_id)

    # -- the world
    def topic(self, tid: int, author: str, when: datetime, title: str, text: str = "", *, likes: int = 0,
              tags: tuple[str, ...] = (), mentions: tuple[str, ...] = (), raw: str | None = None) -> None:
        self.topics[tid] = {"id": tid, "title": title, "slug": title.lower().replace(" ", "-"), "tags": list(tags),
                            "deleted": False}
        self.post(tid, author, when, text or f"<p>{title}</p>", likes=likes, mentions=mentions, raw=raw)

    def post(self, tid: int, author: str, when: datetime, cooked: str, reply_to: int | None = None, *,
             likes: int = 0, kind: int = 1, mentions: tuple[str, ...] = (), withdrawn: bool = False,
             raw: str | None = None) -> int:
        """A post; `raw`, its Markdown, is sent where Discourse sends it: by `/posts/{id}.json` only."""
        pid = next(self.ids)
        number = 1 + sum(1 for p in self.posts.values() if p["topic_id"] == tid)
        self.posts[pid] = {
            "id": pid, "username": author, "name": author.title(), "created_at": iso(when), "post_number": number,
            "post_type": kind, "reply_to_post_number": reply_to, "topic_id": tid, "topic_slug": self.topics[tid]["slug"],
            "cooked": "<p>(post withdrawn by author, will be automatically deleted in 24 hours unless flagged)</p>"
            if withdrawn else cooked, "actions_summary": [{"id": 2, "count": likes}] if likes else [],
            "user_deleted": withdrawn, "deleted_at": None, "hidden": False, "_mentions": mentions, "_removed": False,
            "_raw": raw,
        }
        return number

    def number(self, tid: int, n: int) -> dict[str, Any]:
        return next(p for p in self.posts.values() if p["topic_id"] == tid and p["post_number"] == n)

    def live(self, tid: int) -> list[dict[str, Any]]:
        return sorted((p for p in self.posts.values() if p["topic_id"] == tid and not p["_removed"]),
                      key=lambda p: p["post_number"])

    # -- shapes
    def _refused(self, request: Request) -> Reply | None:
        if self.limited:
            self.limited -= 1
            body = {"errors": ["You’ve performed this action too many times. Please wait 7 seconds before trying again."],
                    "error_type": "rate_limit", "extras": {"wait_seconds": 7, "time_left": "7 seconds"}}
            return json_reply(body, 429, {"Retry-After": "7"})
        key = request.headers.get("api-key")
        if key is not None and (key != KEY or request.headers.get("api-username") != "riverside"):
            body = {"errors": ["You are not permitted to view the requested resource. The API username or key is invalid."],
                    "error_type": "invalid_access"}
            return json_reply(body, 403)
        return None

    def _public(self, post: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def _summary(self, tid: int) -> dict[str, Any]:
        posts = [p for p in self.live(tid) if p["post_type"] == 1]
        first = posts[0]
        likes = [sum(a["count"] for a in p["actions_summary"]) for p in posts]
        last = max(p["created_at"] for p in posts)
        return {**{k: v for k, v in self.topics[tid].items() if k != "deleted"}, "fancy_title": self.topics[tid]["title"],
                "posts_count": len(posts), "reply_count": len(posts) - 1, "highest_post_number": posts[-1]["post_number"],
                "created_at": first["created_at"], "last_posted_at": last, "bumped_at": last, "like_count": sum(likes),
                "op_like_count": likes[0], "views": 50, "archetype": "regular", "pinned": False, "visible": True,
                "posters": [{"description": "Original Poster", "user_id": 1}], "_author": first["username"]}

    def created_by(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        user = request.path.split("/")[-1].removesuffix(".json")
        mine = [self._summary(t) for t, topic in self.topics.items()
                if not topic["deleted"] and self._summary(t)["_author"].lower() == user.lower()]
        if not mine and user.lower() not in ("riverside", "maria"):
            return json_reply({"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}, 404)
        mine.sort(key=lambda t: t["bumped_at"], reverse=True)
        page = int(request.arg("page") or 0)
        items = [{k: v for k, v in t.items() if k != "_author"} for t in mine[page * self.page:(page + 1) * self.page]]
        listing: dict[str, Any] = {"can_create_topic": True, "per_page": self.page, "topics": items}
        if len(mine) > (page + 1) * self.page:
            listing["more_topics_url"] = f"/topics/created-by/{user}?page={page + 1}"
        return json_reply({"users": [{"id": 1, "username": user}], "topic_list": listing})

    def topic_view(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        parts = request.path.split("/")
        tid = int(parts[2].removesuffix(".json"))
        if tid not in self.topics or self.topics[tid]["deleted"]:
            return json_reply({"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}, 404)
        posts = self.live(tid)
        if len(parts) > 3:  # /t/{id}/posts.json?post_ids[]=...
            wanted = [int(i) for i in request.query.get("post_ids[]", [])]
            assert 0 < len(wanted) <= 20
            return json_reply({"post_stream": {"posts": [self._public(self.posts[i]) for i in wanted]}, "id": tid})
        summary = self._summary(tid)
        return json_reply({
            **{k: v for k, v in summary.items() if k != "_author"},
            "post_stream": {"posts": [self._public(p) for p in posts[: self.chunk]], "stream": [p["id"] for p in posts]},
            "chunk_size": self.chunk,
        })

    def user_actions(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        user, kind = (request.arg("username") or "").lower(), int(request.arg("filter") or 0)
        if kind == 7 and (request.headers.get("api-key") != KEY or (not self.admin and user != "riverside")):
            return json_reply({"errors": ["You are not permitted to view the requested resource."], "error_type": "invalid_access"}, 403)
        posts = [p for p in self.posts.values() if not p["_removed"] and p["post_type"] == 1]
        if kind == 5:
            chosen = [p for p in posts if p["username"].lower() == user and p["post_number"] > 1]
        else:
            chosen = [p for p in posts if user in {m.lower() for m in p["_mentions"]}]
        chosen.sort(key=lambda p: p["created_at"], reverse=True)
        offset = int(request.arg("offset") or 0)
        actions = [{
            "action_type": kind, "created_at": p["created_at"], "excerpt": p["cooked"].removeprefix("<p>").removesuffix("</p>"),
            "slug": self.topics[p["topic_id"]]["slug"], "topic_id": p["topic_id"], "target_username": user,
            "post_number": p["post_number"], "post_id": p["id"], "reply_to_post_number": p["reply_to_post_number"],
            "username": p["username"], "acting_username": p["username"], "title": self.topics[p["topic_id"]]["title"],
            "deleted": False, "hidden": False, "post_type": 1,
        } for p in chosen[offset: offset + self.page]]
        return json_reply({"user_actions": actions})

    def post_by_id(self, request: Request) -> Reply:
        refused = self._refused(request)
        if refused:
            return refused
        pid = int(request.path.split("/")[-1].removesuffix(".json"))
        post = self.posts[pid]
        return json_reply({**self._public(post), **({"raw": post["_raw"]} if post["_raw"] is not None else {})})


class World:
    """Sixty days of a library's forum: two of its users post topics, jane (staff) answers too."""

    def __init__(self, fake: FakeDiscourse) -> None:
        f = self.fake = fake
        f.topic(40, "riverside", ago(70), "Old news")
        f.post(40, "riverside", ago(69), "<p>Still old</p>")
        # T3, in the baseline window: bob answered after 1 h
        f.topic(30, "riverside", ago(45), "Spring sale", likes=5)
        f.post(30, "bob", ago(45, hours=-1), "<p>Any comics?</p>")
        f.post(30, "riverside", ago(45, hours=-2), "<p>Plenty!</p>", reply_to=2)
        # T1: a self-thread post, replies at several depths, answers by the library and jane, a small
        # action, a withdrawn post; its posts 6.. come from a second request (5 posts a chunk)
        t1 = ago(20)
        f.topic(10, "riverside", t1, "Summer reading kickoff",
                '<p>Log your books at <a href="https://library.example.org/summer">our page</a>.</p>',
                likes=7, tags=("summer-reading",))
        f.post(10, "riverside", t1 + timedelta(minutes=5), "<p>Pick up a reading log at the desk.</p>")
        f.post(10, "alice", t1 + timedelta(hours=1), "<p>Can adults join?</p>", likes=2)
        f.post(10, "riverside", t1 + timedelta(hours=4), "<p>Yes, everyone can!</p>", reply_to=3)
        f.post(10, "bob", t1 + timedelta(days=1), "<p>Great news</p>", reply_to=4)
        f.post(10, "carol", t1 + timedelta(days=1, hours=1), "<p>Is there a prize?</p>", reply_to=5)
        f.post(10, "jane", t1 + timedelta(days=1, hours=1, minutes=30), "<p>A tote bag!</p>", reply_to=6)
        f.post(10, "riverside", t1 + timedelta(days=1, hours=2), "<p>pinned globally</p>", kind=3)
        f.post(10, "dave", t1 + timedelta(days=2), "<p>Where are the logs?</p>", reply_to=2)
        f.post(10, "eve", t1 + timedelta(days=2, hours=1), "<p>spam</p>", withdrawn=True)
        # T2 by maria: carol names @riverside in it (a reply, counted once), answered a day later
        t2 = ago(10)
        f.topic(20, "maria", t2, "The library is closed on Tuesday", likes=3)
        f.post(20, "alice", t2 + timedelta(hours=1), "<p>Noted</p>")
        f.post(20, "carol", t2 + timedelta(hours=2), '<p>All day, <a class="mention" href="/u/riverside">@riverside</a>?</p>',
               reply_to=1, mentions=("riverside",))
        f.post(20, "riverside", t2 + timedelta(days=1, hours=2), "<p>Yes, all day.</p>", reply_to=3)
        # mentions in community topics: bob's answered after 2 h, carol's (naming maria) not; jane's is
        # staff; dave's is older than the horizon
        f.topic(50, "zed", ago(9), "Kits for kids")
        f.post(50, "bob", ago(8), '<p><a class="mention" href="/u/riverside">@riverside</a> do you have summer reading kits?</p>',
               reply_to=1, mentions=("riverside",))
        f.post(50, "riverside", ago(8, hours=-2), "<p>We do!</p>", reply_to=2)
        f.topic(70, "carol", ago(6), "Who runs the book club?", '<p><a class="mention" href="/u/maria">@maria</a> will know</p>',
                mentions=("maria",))
        f.topic(80, "jane", ago(5), "Staff note", "<p>ping @riverside</p>", mentions=("riverside",))
        f.topic(90, "dave", ago(90), "Hello", "<p>hi @riverside</p>", mentions=("riverside",))
        # T6: a broadcast nobody answered
        f.topic(60, "riverside", ago(3), "Book sale")



USERNAMES = ("riverside", "Maria")
"""The forum users whose topics are the organization's."""


def source(url: str, sid: str = "forum", key: str | None = "TEST_DISCOURSE_KEY") -> str:
    """The forum read as its users `USERNAMES`, with the API key in the environment variable `key`
    (acting as riverside), or anonymously without one."""
    return source_toml(
        sid, "discourse", url=url, usernames=list(USERNAMES), api_key=env(key) if key else None,
        api_username="riverside" if key else None,
    )


def described(request: Request) -> str:
    """A request as its path, with the `user_actions` filter and username it asked for."""
    asked = f"?filter={request.arg('filter')}&username={request.arg('username')}" if request.arg("filter") else ""
    return request.path + asked


def paths(server: ReplayServer, prefix: str = "") -> list[str]:
    return sorted(described(r) for r in server.requests(prefix))


GOALS = goals_toml(
    ALL, SUMMER_WORDS, goal_toml("Tagged", hashtags=["summer-reading"]), goal_toml("Read along", hashtags=["ReadAlong"])
)
"""Read along: a hashtag filter, which `#ReadAlong` written in a post meets (SPEC §3)."""


def hashtag_link(slug: str) -> str:
    """How Discourse cooks a `#word` naming a known tag: a link with no `#` left in its text."""
    return (
        f'<a class="hashtag-cooked" href="/tag/{slug}" data-type="tag" data-slug="{slug}" data-id="12">'
        '<span class="hashtag-icon-placeholder"><svg class="fa d-icon d-icon-square-full svg-icon svg-node">'
        f'<use href="#square-full"></use></svg></span><span>{slug}</span></a>'
    )

DISCOURSE = Platform(
    "discourse", "forum", NOW, {"TEST_DISCOURSE_KEY": KEY}, lambda server: World(FakeDiscourse(server)), source, GOALS,
    also("discourse:jane"),
)
