"""The X collector: every recorded X answer parsed, then a replay server playing X API v2.

The scenario's expected metrics are worked out by hand from SPEC §2–§3 in the comments
next to each assertion; nothing is copied from what the code computed. X's recent
search reaches 7 days back, so the scenario keeps old and new replies apart on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from twoway.plugin.protocol import Context, DailyQuota
from twoway.plugin.http import FetchError, Http
from twoway.collectors.x import XCollector, parse_counters, parse_tweet
from tests.collecting import FakeSleep, collect_once, fake_sleep, goals, run_cli, snapshot_json, write_config  # noqa: F401
from tests.replay import ReplayServer, Reply, Request, json_reply, replay_server
from twoway.config import Credential, Source
from twoway.model import Batch

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "x"
UTC = timezone.utc


# -- real recorded answers ------------------------------------------------------------


def recorded(name: str) -> dict[str, Any]:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"real X data not found at {REALDATA}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_every_recorded_post_and_user_parses() -> None:
    if not REALDATA.exists():
        pytest.skip(f"real X data not found at {REALDATA}")
    posts = users = 0
    for path in sorted(REALDATA.glob("*.json")):
        body = recorded(path.name)
        data = body["data"] if isinstance(body["data"], list) else [body["data"]]
        includes = body.get("includes", {})
        for tweet in [*(d for d in data if "text" in d), *includes.get("tweets", [])]:
            # the recorded requests did not all ask for author_id; ours always does
            post = parse_tweet({"author_id": "someone", **tweet}, "2244994945", "TwitterDev")
            posts += 1
            assert post.id == tweet["id"] and post.created_at.tzinfo is UTC, path.name
            assert post.created_at == datetime.fromisoformat(tweet["created_at"].replace("Z", "+00:00")), path.name
            assert post.text and "&amp;" not in post.text, path.name
            counters = parse_counters(tweet, post.id, datetime(2026, 1, 1, tzinfo=UTC))
            if "public_metrics" in tweet:
                assert counters.likes == tweet["public_metrics"]["like_count"], path.name
                assert counters.reposts == tweet["public_metrics"]["retweet_count"], path.name
        for user in [*(d for d in data if "username" in d), *includes.get("users", [])]:
            users += 1
            assert isinstance(user["id"], str) and user["username"], path.name
    # 5 timeline posts + 5 mentions + 4 search results and 3 expanded + 15 quotes + 2 looked up
    assert (posts, users) == (34, 20)  # users: 3 + 14 expanded, 2 expanded, 1 looked up


def test_recorded_timeline_counters_and_paging_token() -> None:
    body = recorded("users_id_tweets_public_metrics.json")
    first = body["data"][0]
    post = parse_tweet({**first, "author_id": "2244994945"}, "2244994945", "TwitterDev")
    assert (post.id, post.parent_id, post.root_id) == ("1364275610764201984", None, "1364275610764201984")
    assert post.created_at == datetime(2021, 2, 23, 18, 7, 7, tzinfo=UTC)
    assert post.hashtags == () and post.links == ()  # this request asked for no entities: the text keeps them
    assert "#TwitterAPI" in post.text and post.text.endswith("https://t.co/SQziibOD9P")
    counters = parse_counters(first, post.id, datetime(2021, 2, 24, tzinfo=UTC))
    assert (counters.replies, counters.reposts, counters.quotes, counters.likes) == (2, 10, 1, 37)
    assert body["meta"]["next_token"] == "7140dibdnow9c7btw3w3itbygz8uu5pbs45oy6erjc2ls"


def test_recorded_search_is_a_conversation_with_the_account_answering() -> None:
    body = recorded("search_recent_replies.json")
    # @snowman (17200003) asked a question (1273733248749690880, an expanded post); replies at two depths
    snowman = "17200003"
    posts = {p.id: p for p in (parse_tweet(t, snowman, "snowman") for t in body["data"] + body["includes"]["tweets"])}
    root, fave, answer = posts["1273733248749690880"], posts["1274086728471461889"], posts["1275653067283759104"]
    assert (root.author_id, root.parent_id, root.root_id) == (snowman, None, root.id)
    assert (fave.author_id, fave.parent_id) == ("63046977", root.id)
    assert fave.hashtags == ("fresh",) and fave.mentions_source  # "@snowman My fave is ..."
    # snowman answers happycamper's reply: an organization reply to a community message
    assert (answer.author_id, answer.parent_id) == (snowman, fave.id)
    assert not answer.mentions_source  # it names @happycamper only
    # without conversation_id in the answer, a reply's root is left for the store to take from its parent
    assert answer.root_id is None
    photo = posts["1276035977375477760"]
    assert photo.parent_id == answer.id and photo.mentions_source
    assert photo.links == ()  # a photo is not a link
    assert photo.text.endswith("https://twitter.com/happycamper/status/1276035977375477760/photo/1")
    assert posts["1275882613572583424"].parent_id == root.id  # snowman's self-thread


def test_recorded_quotes_have_their_conversation_as_root() -> None:
    body = recorded("quote_tweets_conversation_id.json")
    posts = [parse_tweet(t, "2244994945") for t in body["data"]]
    assert len(posts) == 15 and all(p.root_id for p in posts)
    reply = next(p for p in posts if p.id == "1427332549479526400")
    assert reply.root_id == "1427290387194974213" and reply.author_id == "857699969263964161"
    assert posts[0].text.startswith("RT @chris_bail: Twitter has created an entire course")
    assert "I’d be happy" in posts[-1].text


def test_recorded_mentions_and_lookup() -> None:
    body = recorded("users_id_mentions.json")
    # this request asked for no author_id; each names @TwitterDev somewhere in the text
    for tweet in body["data"]:
        assert "@twitterdev" in tweet["text"].lower()
        post = parse_tweet({**tweet, "author_id": "x"}, "2244994945", "TwitterDev")
        assert post.created_at.year == 2021 and post.root_id == post.id
    assert body["meta"]["newest_id"] == "1364398068313903104"
    lookup = recorded("tweets_lookup_with_includes.json")
    first, second = (parse_tweet(t, "2244994945", "TwitterDev") for t in lookup["data"])
    assert (first.author_id, second.author_id) == ("2244994945", "783214")
    assert second.text == "Good news and bad news: \n\n2020 is half over"


def test_edits_long_posts_and_escaped_text() -> None:
    edited = {
        "id": "22", "edit_history_tweet_ids": ["11", "22"], "conversation_id": "22", "author_id": "1",
        "created_at": "2026-06-01T10:03:00.000Z", "text": "Closed on Monday &amp; Tuesday (cut off at 280…",
        "note_tweet": {"text": "Closed on Monday &amp; Tuesday, see https://t.co/abc",
                       "entities": {"urls": [{"url": "https://t.co/abc", "expanded_url": "https://library.example.org/hours",
                                              "display_url": "library.example.org/hours"}],
                                    "hashtags": [{"tag": "Hours"}], "mentions": [{"username": "RiversideLib"}]}},
    }
    post = parse_tweet(edited, "100", "riversidelib")
    # the first id, whichever version X names as the conversation; the long text of note_tweet, unescaped
    assert (post.id, post.root_id, post.parent_id) == ("11", "11", None)
    assert post.text == "Closed on Monday & Tuesday, see https://library.example.org/hours"
    assert post.links == ("https://library.example.org/hours",) and post.hashtags == ("Hours",)
    assert post.mentions_source and post.url == "https://x.com/i/web/status/11"


def poll_direct(context: Context, now: datetime, cursor: str | None = None) -> Batch:
    async def run() -> Batch:
        try:
            return await XCollector(context).poll(cursor, now)
        finally:
            await context.http.client.aclose()

    return asyncio.run(run())


def direct_context(server: ReplayServer, user_id: str, **options: object) -> Context:
    source = Source("src", "x", 300, {"api": server.url, "user_id": user_id, "token": Credential(env="TEST_X_TOKEN"),
                                      **options})
    return Context(source, Http(httpx.AsyncClient()), 60 * 86400, 6 * 3600)


def test_recorded_timeline_through_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", "recorded-token")
    timeline = recorded("users_id_tweets_public_metrics.json")
    user = recorded("user_by_id_public_metrics.json")
    with replay_server() as server:
        empty = json_reply({"meta": {"result_count": 0}})
        server.route("GET", "/2/users/2244994945/tweets", lambda r: empty if r.arg("pagination_token") else json_reply(timeline))
        server.route("GET", "/2/users/2244994945", lambda r: json_reply(user))
        server.route("GET", "/2/users/2244994945/mentions", lambda r: json_reply({"meta": {"result_count": 0}}))
        server.route("GET", "/2/tweets/search/recent", lambda r: json_reply({"meta": {"result_count": 0}}))
        now = datetime(2021, 2, 24, tzinfo=UTC)
        batch = poll_direct(direct_context(server, "2244994945"), now)
        listing = server.requests("/2/users/2244994945/tweets")
        searches = sorted(r.arg("query") or "" for r in server.requests("/2/tweets/search/recent"))
        again = poll_direct(direct_context(server, "2244994945"), now + timedelta(minutes=5), batch.cursor)
    assert [r.arg("pagination_token") for r in listing] == [None, timeline["meta"]["next_token"]]
    assert listing[0].arg("start_time") == "2020-12-26T00:00:00Z"  # 60 days back
    assert listing[0].headers["authorization"] == "Bearer recorded-token"
    assert len(batch.posts) == 5 and {p.author_id for p in batch.posts} == {"2244994945"}
    # the recorded timeline brought no expanded user: one lookup gives the followers and the @name
    assert batch.followers == 514020 and batch.accounts[0].handle == "TwitterDev"
    # the @name came after the posts: links name the post alone, and the account from the next poll on
    assert batch.posts[0].url == "https://x.com/i/web/status/1364275610764201984"
    assert again.posts[0].url == "https://x.com/TwitterDev/status/1364275610764201984"
    assert sum(c.likes or 0 for c in batch.counters) == 37 + 58 + 9 + 8 + 74
    # every post has replies (reply_count 2, 7, 2, 2, 9): each conversation is searched once
    assert searches == sorted(f"conversation_id:{t['id']}" for t in timeline["data"])


# -- a replay server playing X ----------------------------------------------------------

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "x-bearer-AAAA-s3cret"
EPOCH_MS = 1288834974657
LIB, JANE, ALICE, BOB, CAROL, DAVE, ERIN, BRANCH = "100", "200", "301", "302", "303", "304", "305", "900"
SUMMER_LINK = "https://library.example.org/summer"


def ago(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def not_found(tid: str, parameter: str = "referenced_tweets.id") -> dict[str, Any]:
    return {
        "value": tid, "detail": f"Could not find tweet with {parameter}: [{tid}].", "title": "Not Found Error",
        "resource_type": "tweet", "parameter": parameter, "resource_id": tid,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


class FakeX:
    """X API v2's JSON shapes, computed from a small world of users and posts.

    Ids are snowflakes (time in the high bits), so id order is time order as on X;
    `reply_count` is counted from the posts, so a new reply moves its parent's counter.
    Posts after `now` are not there yet; recent search sees the last 7 days of `now`.
    """

    def __init__(self, server: ReplayServer, page: int = 5) -> None:
        self.server = server
        self.page = page
        self.now = NOW
        self.tokens = {TOKEN}
        self.users: dict[str, dict[str, Any]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.seq = itertools.count()
        self.answered = 0
        server.route("GET", "/2/users/by", self.users_by)
        server.route("GET", "/2/users/*", self.user_routes)
        server.route("GET", "/2/tweets", self.lookup)
        server.route("GET", "/2/tweets/search/recent", self.search)

    def user(self, uid: str, username: str, followers: int = 0) -> None:
        self.users[uid] = {"id": uid, "username": username, "name": username.title(), "followers": followers}

    def post(
        self, author: str, when: datetime, text: str, parent: str | None = None, *, mentions: tuple[str, ...] = (),
        tags: tuple[str, ...] = (), link: str | None = None, likes: int = 0, retweets: int = 0, quotes: int = 0,
        retweet_of: str | None = None,
    ) -> str:
        tid = str(((int(when.timestamp() * 1000) - EPOCH_MS) << 22) + next(self.seq))
        conversation = self.tweets[parent]["conversation"] if parent else tid
        self.tweets[tid] = {
            "id": tid, "author": author, "created": when, "text": text, "parent": parent, "conversation": conversation,
            "mentions": mentions, "tags": tags, "link": link, "likes": likes, "retweets": retweets, "quotes": quotes,
            "retweet_of": retweet_of, "versions": [], "deleted": False,
        }
        return tid

    def edit(self, tid: str, text: str, when: datetime) -> None:
        """X gives an edit a new id; the post keeps its history, replies keep pointing at the first id."""
        new = str(((int(when.timestamp() * 1000) - EPOCH_MS) << 22) + next(self.seq))
        self.tweets[tid]["versions"].append((new, text, when))

    def delete(self, tid: str) -> None:
        self.tweets[tid]["deleted"] = True

    def live(self) -> list[dict[str, Any]]:
        return [t for t in self.tweets.values() if not t["deleted"] and t["created"] <= self.now]

    def render(self, tid: str) -> dict[str, Any]:
        t = self.tweets[tid]
        latest, text, created = t["versions"][-1] if t["versions"] else (tid, t["text"], t["created"])
        if t["retweet_of"]:
            original = self.tweets[t["retweet_of"]]
            text = f"RT @{self.users[original['author']]['username']}: {original['text']}"
        entities: dict[str, list[dict[str, Any]]] = {}
        prefix = "".join(f"@{self.users[m]['username']} " for m in t["mentions"])
        if t["mentions"]:
            entities["mentions"], at = [], 0
            for m in t["mentions"]:
                name = self.users[m]["username"]
                entities["mentions"].append({"start": at, "end": at + len(name) + 1, "username": name, "id": m})
                at += len(name) + 2
        full = prefix + text.replace("&", "&amp;")
        for tag in t["tags"]:
            at = len(full) + 1
            entities.setdefault("hashtags", []).append({"start": at, "end": at + 1 + len(tag), "tag": tag})
            full += f" #{tag}"
        if t["link"]:
            short = f"https://t.co/{tid[-8:]}"
            entities["urls"] = [{"start": len(full) + 1, "end": len(full) + 1 + len(short), "url": short,
                                 "expanded_url": t["link"], "display_url": t["link"].split("//")[1]}]
            full += f" {short}"
        counted = self.tweets[t["retweet_of"]] if t["retweet_of"] else t
        body: dict[str, Any] = {
            "id": latest, "text": full, "author_id": t["author"], "created_at": iso(created),
            "conversation_id": t["conversation"], "edit_history_tweet_ids": [tid, *(v[0] for v in t["versions"])],
            "public_metrics": {
                "retweet_count": counted["retweets"], "like_count": counted["likes"], "quote_count": counted["quotes"],
                "reply_count": sum(1 for o in self.live() if o["parent"] == counted["id"]), "bookmark_count": 0,
                "impression_count": 100,
            },
        }
        if entities:
            body["entities"] = entities
        refs = [{"type": "replied_to", "id": t["parent"]}] if t["parent"] else []
        refs += [{"type": "retweeted", "id": t["retweet_of"]}] if t["retweet_of"] else []
        if refs:
            body["referenced_tweets"] = refs
        if t["parent"]:
            body["in_reply_to_user_id"] = self.tweets[t["parent"]]["author"]
        return body

    def user_body(self, uid: str) -> dict[str, Any]:
        u = self.users[uid]
        return {"id": uid, "username": u["username"], "name": u["name"],
                "public_metrics": {"followers_count": u["followers"], "following_count": 3, "tweet_count": 9,
                                   "listed_count": 1}}

    def reply(self, data: dict[str, Any], request: Request) -> Reply:
        """Every answer with X's rate-limit headers; a wrong bearer token is refused as X does."""
        if request.headers.get("authorization") not in {f"Bearer {t}" for t in self.tokens}:
            refused = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            return json_reply(refused, 401)
        self.answered += 1
        return json_reply(data, headers={
            "x-rate-limit-limit": "900", "x-rate-limit-remaining": str(900 - self.answered),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        })

    def timeline(self, items: list[dict[str, Any]], request: Request, *, token: str = "pagination_token") -> Reply:
        """Newest first, `self.page` a page, with X's `meta`, expansions and partial errors."""
        items = sorted(items, key=lambda t: int(t["id"]), reverse=True)
        if request.arg("start_time"):
            start = datetime.fromisoformat((request.arg("start_time") or "").replace("Z", "+00:00"))
            items = [t for t in items if t["created"] >= start]
        if request.arg("since_id"):
            items = [t for t in items if int(t["id"]) > int(request.arg("since_id") or 0)]
        offset = int((request.arg(token) or "p0")[1:])
        page = items[offset : offset + min(int(request.arg("max_results") or 10), self.page)]
        if not page:
            return self.reply({"meta": {"result_count": 0}}, request)
        data = [self.render(t["id"]) for t in page]
        body: dict[str, Any] = {"data": data, "meta": {"result_count": len(data), "newest_id": data[0]["id"],
                                                         "oldest_id": data[-1]["id"]}}
        if offset + len(page) < len(items):
            body["meta"]["next_token"] = f"p{offset + len(page)}"
        expansions = (request.arg("expansions") or "").split(",")
        if "author_id" in expansions:
            body["includes"] = {"users": [self.user_body(a) for a in dict.fromkeys(t["author"] for t in page)]}
        if "referenced_tweets.id" in expansions:
            wanted = dict.fromkeys(r["id"] for d in data for r in d.get("referenced_tweets", []))
            found = [self.render(i) for i in wanted if not self.tweets[i]["deleted"]]
            if found:
                body.setdefault("includes", {})["tweets"] = found
            errors = [not_found(i) for i in wanted if self.tweets[i]["deleted"]]
            if errors:
                body["errors"] = errors
        return self.reply(body, request)

    def user_routes(self, request: Request) -> Reply:
        parts = request.path.split("/")  # /2/users/:id[/tweets|/mentions]
        uid, what = parts[3], parts[4] if len(parts) > 4 else ""
        if uid not in self.users:
            return self.reply({"errors": [{"value": uid, "detail": f"Could not find user with id: [{uid}].",
                                           "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                                           "resource_id": uid,
                                           "type": "https://api.twitter.com/2/problems/resource-not-found"}]}, request)
        if what == "tweets":
            assert request.arg("tweet.fields") and "public_metrics" in (request.arg("tweet.fields") or "")
            return self.timeline([t for t in self.live() if t["author"] == uid], request)
        if what == "mentions":
            return self.timeline([t for t in self.live() if uid in t["mentions"] and t["author"] != uid], request)
        return self.reply({"data": self.user_body(uid)}, request)

    def users_by(self, request: Request) -> Reply:
        names = (request.arg("usernames") or "").split(",")
        found = [self.user_body(u["id"]) for u in self.users.values() if u["username"].lower() in names]
        missing = [n for n in names if n not in {u["username"].lower() for u in self.users.values()}]
        body: dict[str, Any] = {"data": found} if found else {}
        if missing:
            body["errors"] = [{"value": n, "detail": f"Could not find user with usernames: [{n}].",
                               "title": "Not Found Error", "resource_type": "user", "parameter": "usernames",
                               "resource_id": n, "type": "https://api.twitter.com/2/problems/resource-not-found"}
                              for n in missing]
        return self.reply(body, request)

    def lookup(self, request: Request) -> Reply:
        ids = (request.arg("ids") or "").split(",")
        data = [self.render(i) for i in ids if i in self.tweets and not self.tweets[i]["deleted"]]
        errors = [not_found(i, "ids") for i in ids if i not in self.tweets or self.tweets[i]["deleted"]]
        return self.reply({**({"data": data} if data else {}), **({"errors": errors} if errors else {})}, request)

    def search(self, request: Request) -> Reply:
        query = request.arg("query") or ""
        assert query.startswith("conversation_id:"), query
        cid = query.split(":", 1)[1]
        reach = self.now - timedelta(days=7)
        items = [t for t in self.live() if t["conversation"] == cid and t["created"] >= reach]
        return self.timeline(items, request, token="next_token")


SOURCES = """
[[sources]]
id = "library-x"
platform = "x"
user_id = "100"
api = "{url}"
token = {{ env = "TEST_X_TOKEN" }}
{extra}
"""

GOALS = """
[[goals]]
name = "All"

[[goals]]
name = "Summer reading"
hashtags = ["SummerReading"]

[[goals]]
name = "Closures"
keywords = ["closed on monday"]
"""


class World:
    """The scenario: 60 days of a library's X account, its staff and its community."""

    def __init__(self, fake: FakeX) -> None:
        f = self.fake = fake
        f.user(LIB, "riversidelib", followers=1234)
        f.user(JANE, "jane_at_lib")
        for uid, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (DAVE, "dave"), (ERIN, "erin")):
            f.user(uid, name)
        # B0, beyond the 60-day horizon; the library answers a reply two deep under it on day 25
        self.b0 = f.post(LIB, ago(70), "Welcome to our new account")
        self.e0 = f.post(ERIN, ago(26), "Quiet here", self.b0)
        self.c0 = f.post(ALICE, ago(25), "Are you still here?", self.e0, mentions=(LIB,))
        self.a0 = f.post(LIB, ago(25, hours=-1), "We are!", self.c0, mentions=(ALICE,))
        self.b4 = f.post(LIB, ago(45), "Spring sale", likes=4)  # in the baseline window
        # B1 (day 20): a self-thread; replies older than search's 7 days, and one of this week
        b1 = ago(20)
        self.b1 = f.post(LIB, b1, "Summer reading starts today!", tags=("SummerReading",), link=SUMMER_LINK,
                         likes=5, retweets=2, quotes=2)
        self.s1 = f.post(LIB, b1 + timedelta(minutes=5), "Pick up a reading log.", self.b1, tags=("SummerReading",))
        self.r1 = f.post(ALICE, b1 + timedelta(hours=1), "Can adults join?", self.b1, mentions=(LIB,))
        self.a1 = f.post(LIB, b1 + timedelta(hours=4), "Yes, everyone can!", self.r1, mentions=(ALICE,))
        self.r2 = f.post(BOB, b1 + timedelta(days=1), "Great news", self.r1, mentions=(ALICE,))
        self.r4 = f.post(DAVE, b1 + timedelta(days=2), "Where are the logs?", self.s1, mentions=(LIB,))
        self.r7 = f.post(ERIN, ago(2), "Still time to join?", self.b1, mentions=(LIB,))
        # B2 (day 5), edited; replies at two depths, a staff answer, a reply deleted before we ever saw it
        b2 = ago(5)
        self.b2 = f.post(LIB, b2, "The library is closed on Tuesday", likes=3, retweets=1, quotes=1)
        f.edit(self.b2, "The library is closed on Monday", b2 + timedelta(minutes=3))
        self.del1 = f.post(ERIN, b2 + timedelta(minutes=30), "first!", self.b2, mentions=(LIB,))
        self.a4 = f.post(LIB, b2 + timedelta(minutes=50), "Please keep it kind", self.del1, mentions=(ERIN,))
        f.delete(self.del1)
        self.r5 = f.post(ALICE, b2 + timedelta(hours=1), "Noted & thanks", self.b2, mentions=(LIB,))
        self.m2 = f.post(CAROL, b2 + timedelta(hours=2), "All day?", self.b2, mentions=(LIB,))
        self.r6 = f.post(BOB, b2 + timedelta(hours=3), "Is the book drop open?", self.b2, mentions=(LIB,))
        self.r8 = f.post(DAVE, b2 + timedelta(hours=4), "I wonder too", self.r6, mentions=(BOB,))
        self.j2 = f.post(JANE, b2 + timedelta(hours=4, minutes=30), "Yes, the drop is open", self.r8, mentions=(DAVE,))
        self.a3 = f.post(LIB, b2 + timedelta(days=1, hours=2), "Yes, all day.", self.m2, mentions=(CAROL,))
        # mentions outside our threads: one old, one answered after 2 h, one in alice's conversation
        self.m0 = f.post(DAVE, ago(15), "are you open late?", mentions=(LIB,))
        self.m1 = f.post(BOB, ago(6), "do you have kits?", mentions=(LIB,), tags=("SummerReading",))
        self.a2 = f.post(LIB, ago(6, hours=-2), "We do!", self.m1, mentions=(BOB,))
        self.x1 = f.post(ALICE, ago(4, hours=2), "Anyone know the opening hours?")
        self.y1 = f.post(BOB, ago(4, hours=1), "No idea", self.x1, mentions=(ALICE,))
        self.m3 = f.post(CAROL, ago(4), "the library will know", self.y1, mentions=(BOB, LIB))
        # B3 (day 3), retweeted by the library itself; and its retweet of someone else's post
        self.b3 = f.post(LIB, ago(3), "Book club tonight", likes=1, retweets=1)
        self.rt3 = f.post(LIB, ago(2), "", retweet_of=self.b3)
        self.p1 = f.post(ALICE, ago(2, hours=12), "My garden")
        self.rt1 = f.post(LIB, ago(1, hours=12), "", retweet_of=self.p1)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_sleep: object) -> Iterator[tuple[World, Path]]:  # noqa: F811
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW))
    with replay_server() as server:
        w = World(FakeX(server))
        config = write_config(
            tmp_path, SOURCES.format(url=server.url, extra=""), GOALS, organization='also = ["x:@jane_at_lib"]',
            dashboard='thread_refresh = "1h"',
        )
        yield w, config


def metrics(config: Path) -> dict[str, dict[str, Any]]:
    return {name: g["metrics"] for name, g in goals(config).items()}


def collect(w: World, config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    w.fake.now = at
    monkeypatch.setenv("TWOWAY_NOW", iso(at))
    assert collect_once(config) == (0, "")


def calls(server: ReplayServer) -> list[str]:
    """Each request as `path` or `path?query=...` for searches, in order."""
    return [r.path + (f"?{r.arg('query')}" if r.arg("query") else "") for r in server.requests()]


def test_scenario_metrics(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    server = w.fake.server
    collect(w, config, monkeypatch, NOW)
    listing, mentions = f"/2/users/{LIB}/tweets", f"/2/users/{LIB}/mentions"
    search = "/2/tweets/search/recent?conversation_id:"
    # 12 posts of the library inside 60 days, 5 a page: 3 pages; 10 mentions: 2 pages; the staff handle once;
    # one lookup for the starts of B0's and alice's conversations (C0 and M3 answer replies, not their first
    # posts); a search of each conversation of ours that has replies: B0 (through A0), B1, and B2, whose
    # 8 posts of this week take 2 pages. B3 and B4 have no reply: no search.
    assert sorted(calls(server)) == sorted(
        [listing] * 3 + [mentions] * 2 + ["/2/users/by", "/2/tweets"]
        + [search + w.b0, search + w.b1, search + w.b2, search + w.b2]
    )
    (lookup,) = [r for r in server.requests() if r.path == "/2/tweets"]
    assert sorted((lookup.arg("ids") or "").split(",")) == sorted([w.b0, w.x1])
    assert server.requests("/2/users/by")[0].arg("usernames") == "jane_at_lib"
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests())

    report = goals(config)
    m = report["All"]["metrics"]
    # broadcasts in the last 30 days: B1, B2, B3 (S1 is B1's self-thread; retweets are neither; B4, B0 older)
    assert m["broadcast"] == 3
    # replies: under B1 R1 (brought by the library's answer A1), R4 (it names the library: the mentions
    # timeline has it), R7 (this week's search); R2 is 19 days old, unanswered and names only alice: X's
    # search cannot reach it and nothing else brings it, so it is missing. Under B2: R5, M2, R6, R8 (depth 2);
    # DEL1 was deleted. B3: none. C0 is a reply in B0's thread (the lookup placed it), outside the window;
    # Y1 is bob's reply in alice's conversation and names nobody of ours.
    assert m["replies"] == 7
    # mentions: M0 (15 days old: the mentions timeline is not limited to 7 days), M1, M3; M2 counts as a reply
    assert m["mentions"] == 3
    assert m["community_messages"] == 10
    # responses: A1 to R1 after 3 h, J2 (staff) to R8 after 30 min, A3 to M2 after 1 day, A2 to M1 after 2 h;
    # A4 answers the deleted DEL1 and counts nowhere
    assert (m["responses"], m["answered"], m["unanswered"]) == (4, 4, 6)
    assert m["two_way"] == 14
    assert m["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2
    assert m["p90_response_seconds"] == 86400  # nearest rank: the 4th of 4
    # likes 5 + 3 + 1; retweets 2 + 1 + (1 - the library's own retweet of B3); quotes 2 + 1 + 0
    assert (m["likes"], m["reposts"], m["quotes"]) == (9, 3, 3)
    assert m["voices"] == 5  # alice, bob, carol, dave, erin
    assert m["conversation_rate"] == 7 / 3 and m["response_rate"] == 4 / 10
    assert report["All"]["unavailable"] == {}
    base = report["All"]["baseline"]
    assert (base["broadcast"], base["likes"], base["replies"]) == (1, 4, 0)  # B4 alone, 45 days ago
    assert report["All"]["deltas"]["broadcast"] == 2

    s = report["Summer reading"]["metrics"]
    # B1 (with S1's text) and its replies R1, R4, R7; the mention M1 tagged #SummerReading
    assert (s["broadcast"], s["replies"], s["mentions"], s["responses"]) == (1, 3, 1, 2)
    assert s["median_response_seconds"] == (2 * 3600 + 3 * 3600) / 2 and s["p90_response_seconds"] == 3 * 3600
    assert (s["likes"], s["reposts"], s["quotes"]) == (5, 2, 2)
    c = report["Closures"]["metrics"]
    # B2 was edited from Tuesday to Monday: the latest text is matched; R5, M2, R6, R8 and two answers under it
    assert (c["broadcast"], c["replies"], c["responses"]) == (1, 4, 2)

    (source,) = snapshot_json(config)["sources"]
    assert (source["status"], source["followers"], source["error"]) == ("ok", 1234, None)


def test_steady_state_counters_and_thread_refresh(world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    w, config = world
    f, server = w.fake, w.fake.server
    listing, mentions = f"/2/users/{LIB}/tweets", f"/2/users/{LIB}/mentions"
    collect(w, config, monkeypatch, NOW)
    before = metrics(config)

    # nothing changed: the listing's pages and the mentions since the newest seen; no lookup, no search
    server.reset_log()
    collect(w, config, monkeypatch, NOW + timedelta(minutes=5))
    assert sorted(calls(server)) == sorted([listing] * 3 + [mentions])
    assert server.requests(mentions)[0].arg("since_id") == w.r7  # the newest mention of the first poll, 2 days old
    assert metrics(config) == before

    # carol thanks the library under A3: A3's reply_count moves, so B2's conversation (only) is searched
    f.post(CAROL, NOW + timedelta(minutes=8), "Thanks!", w.a3, mentions=(LIB,))
    server.reset_log()
    collect(w, config, monkeypatch, NOW + timedelta(minutes=10))
    b2_pages = [f"/2/tweets/search/recent?conversation_id:{w.b2}"] * 2
    assert sorted(calls(server)) == sorted([listing] * 3 + [mentions] + b2_pages)
    assert metrics(config)["All"]["replies"] == 7 + 1

    # a reply under bob's reply moves no counter of ours: not searched until thread_refresh (1 h) is due
    f.post(ERIN, NOW + timedelta(minutes=15), "Me too", w.r6, mentions=(BOB,))
    server.reset_log()
    collect(w, config, monkeypatch, NOW + timedelta(minutes=20))
    assert server.requests("/2/tweets/search/recent") == []
    assert metrics(config)["All"]["replies"] == 8
    server.reset_log()
    collect(w, config, monkeypatch, NOW + timedelta(hours=2))
    # due again: the three conversations with replies; B3 and B4 still have none and cost nothing
    assert {r.arg("query") for r in server.requests("/2/tweets/search/recent")} == {
        f"conversation_id:{c}" for c in (w.b0, w.b1, w.b2)
    }
    m = metrics(config)["All"]
    assert m["replies"] == 9 and m["unanswered"] == 6 + 2

    # deletions: R5 vanishes from B2's conversation, B3 (and the library's retweet of it) from the listing,
    # and bob deletes M1, which only the library's answer A2 still points at (a partial error names it)
    for gone in (w.r5, w.b3, w.rt3, w.m1):
        f.delete(gone)
    collect(w, config, monkeypatch, NOW + timedelta(hours=2, minutes=10))
    m = metrics(config)["All"]
    # B3 goes (its like with it); R5: 9 - 1 replies; M1: 3 - 1 mentions, and A2 answers nothing: 4 - 1 responses
    assert (m["broadcast"], m["replies"], m["mentions"], m["responses"], m["likes"]) == (2, 8, 2, 3, 8)


def test_a_reply_read_once_stays_after_search_can_no_longer_see_it(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    collect(w, config, monkeypatch, NOW)
    before = metrics(config)["All"]
    # 8 days on, every reply of B2 and R7 is older than search reaches; the threads are due and searched
    # (finding nothing), yet nothing is marked deleted. The window moved 8 days: no broadcast or mention left it.
    collect(w, config, monkeypatch, NOW + timedelta(days=8))
    assert len(w.fake.server.requests("/2/tweets/search/recent")) >= 3
    assert metrics(config)["All"] == before


def test_a_daily_budget_stops_a_cycle_then_refuses_in_one_line(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    server = w.fake.server
    config.write_text(config.read_text(encoding="utf-8").replace('token = { env = "TEST_X_TOKEN" }',
                                                                 'token = { env = "TEST_X_TOKEN" }\nbudget = 6'),
                      encoding="utf-8")
    # the first poll needs 10 requests: the 3 listing pages, the staff lookup and 2 mention pages fit in 6;
    # what they read is kept, and the 6 spent are recorded
    collect(w, config, monkeypatch, NOW)
    assert len(server.requests()) == 6 and "/2/tweets" not in calls(server)
    m = metrics(config)["All"]
    # until the lookup places it in B0's thread, C0 (naming the library, answering erin) looks like a mention
    assert (m["broadcast"], m["mentions"]) == (3, 3 + 1)
    # the next cycle of the day sends nothing and says so in one line (midnight UTC is 12 h away)
    server.reset_log()
    monkeypatch.setenv("TWOWAY_NOW", iso(NOW + timedelta(minutes=5)))
    code, err = collect_once(config)
    assert code == 1 and server.requests() == []
    assert err == "twoway: library-x: daily budget of 6 requests used up (6 spent); it comes back in 11.9 h\n"
    (source,) = snapshot_json(config)["sources"]
    assert source["status"] == "error" and source["error"].startswith("daily budget of 6 requests used up")
    # a new day, a new budget: the conversations left unread are still due
    collect(w, config, monkeypatch, NOW + timedelta(hours=13))
    # 3 listing pages, the mentions since the newest, the lookup, then the first search of B0, B1, B2
    assert calls(server) == [f"/2/users/{LIB}/tweets"] * 3 + [f"/2/users/{LIB}/mentions", "/2/tweets",
                                                              f"/2/tweets/search/recent?conversation_id:{w.b0}"]
    assert metrics(config)["All"]["mentions"] == 3


def test_budgets_show_the_daily_quota_and_x_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        fake = FakeX(server)
        World(fake)
        context = direct_context(server, LIB, budget=50)
        batch = poll_direct(context, NOW)
        sent = len(server.requests())
    assert sent == 10  # the scenario's first poll without the staff lookup (no `also` here)
    quota = context.http.budgets[DailyQuota.KEY]
    assert (quota.remaining, quota.limit) == (50 - 10, 50)
    limit = context.http.budgets[server.url.split("//")[1]]
    assert (limit.remaining, limit.limit) == (900 - 10, 900)  # x-rate-limit-* of the last answer
    assert limit.reset_at is not None
    assert json.loads(batch.cursor or "{}")["quota"] == [NOW.date().isoformat(), 10]


def test_a_failed_poll_keeps_what_it_spent_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        World(FakeX(server))
        server.route("GET", f"/2/users/{LIB}/mentions", lambda r: Reply(503))
        monkeypatch.setattr("twoway.plugin.http.wait", FakeSleep())
        with pytest.raises(FetchError) as failed:
            poll_direct(direct_context(server, LIB, budget=50), NOW)
    # the three listing pages and the mentions call (its retries are the HTTP layer's, not paid twice) are
    # spent; what the pages said is not kept: the next cycle reads them again
    assert json.loads(failed.value.cursor or "{}") == {"quota": [NOW.date().isoformat(), 4]}


def test_missing_token_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_X_TOKEN", raising=False)
    config = write_config(tmp_path, SOURCES.format(url="https://api.x.com", extra=""))
    code, _, err = run_cli("--config", str(config), "check-config")
    assert code == 2
    assert "sources[0].token: TEST_X_TOKEN is not set: source 'library-x' cannot be polled" in err


def test_a_refused_token_is_one_line_and_the_other_source_is_collected(
    world: tuple[World, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, config = world
    w.fake.user(BRANCH, "riverbranch", followers=12)
    w.fake.post(BRANCH, ago(1), "Branch news")
    monkeypatch.setenv("TEST_X_TOKEN", "revoked-bearer-ZZZZ")
    monkeypatch.setenv("TEST_X_BRANCH_TOKEN", TOKEN)
    with config.open("a", encoding="utf-8") as out:
        out.write(SOURCES.format(url=w.fake.server.url, extra="").replace("library-x", "branch-x")
                  .replace('"100"', f'"{BRANCH}"').replace("TEST_X_TOKEN", "TEST_X_BRANCH_TOKEN"))
    code, err = collect_once(config)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("twoway: library-x: http://127.0.0.1")
    advice = "bearer token refused: renew it in the X developer portal (https://developer.x.com/en/portal/dashboard)"
    assert advice in err
    assert "revoked-bearer-ZZZZ" not in err and TOKEN not in err
    for stored in config.parent.glob("store.db*"):
        assert b"revoked-bearer-ZZZZ" not in stored.read_bytes() and TOKEN.encode() not in stored.read_bytes()
    sources = {s["id"]: s for s in snapshot_json(config)["sources"]}
    assert sources["library-x"]["status"] == "error" and sources["branch-x"]["status"] == "ok"
    assert sources["branch-x"]["followers"] == 12


@pytest.mark.parametrize(
    ("status", "body", "advice"),
    [
        (
            403,
            {"client_id": "123", "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use"
             " keys and tokens from a Twitter developer App that is attached to a Project.",
             "registration_url": "https://developer.twitter.com/en/docs/projects/overview", "title": "Client Forbidden",
             "required_enrollment": "Appropriate Level of API Access", "reason": "client-not-enrolled",
             "type": "https://api.twitter.com/2/problems/client-forbidden"},
            "this app is not enrolled for X API v2: attach it to a Project with paid access",
        ),
        (
            403,
            {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"},
            "the app's X API access does not include this endpoint: reading timelines, mentions and recent search"
            " needs paid access",
        ),
        (402, {"title": "CreditsDepleted", "detail": "Your enrolled account does not have any credits",
               "type": "https://api.twitter.com/2/problems/credits"}, "the app has no X API credits left"),
    ],
    ids=["client-not-enrolled", "forbidden", "credits-depleted"],
)
def test_access_refusals_say_what_access_is_needed(
    monkeypatch: pytest.MonkeyPatch, status: int, body: dict[str, Any], advice: str
) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        server.route("GET", "/2/users/*", lambda r: json_reply(body, status))
        with pytest.raises(FetchError) as error:
            poll_direct(direct_context(server, LIB), NOW)
    line = str(error.value)
    assert line.startswith(f"{server.url}/2/users/{LIB}/tweets: {advice}") and "\n" not in line
    assert "https://developer.x.com/en/portal/dashboard" in line and TOKEN not in line


def test_an_unknown_account_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_X_TOKEN", TOKEN)
    with replay_server() as server:
        FakeX(server)  # knows no user: X answers 200 with an error about the account and no data
        with pytest.raises(FetchError, match=r"/2/users/404404/tweets: Could not find user with id: \[404404\]\.$"):
            poll_direct(direct_context(server, "404404"), NOW)
