"""X, played as X API v2 answers from a small world of users and posts: snowflake ids, `meta`
paging, expansions, partial errors, rate-limit headers, and a recent search that reaches
seven days back."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

from tests.fakes import ALL, SUMMER_TAG, UTC, Ago, Platform, also, env, goal_toml, goals_toml, source_toml
from tests.replay import ReplayServer, Reply, Request, json_reply

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TOKEN = "x-bearer-AAAA-s3cret"
EPOCH_MS = 1288834974657
LIB, JANE, ALICE, BOB, CAROL, DAVE, ERIN, BRANCH = "100", "200", "301", "302", "303", "304", "305", "900"
SUMMER_LINK = "https://library.example.org/summer"
ago = Ago(NOW)


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



def source(url: str, sid: str = "library-x", token: str = "TEST_X_TOKEN", user: str = LIB, budget: int | None = None) -> str:
    return source_toml(sid, "x", user_id=user, api=url, token=env(token), budget=budget)


def set_clock(world: World, moment: datetime) -> None:
    """Posts after `moment` are not there yet; recent search reaches 7 days before it."""
    world.fake.now = moment


def calls(server: ReplayServer) -> list[str]:
    """Each request as `path` or `path?query=...` for searches, in order."""
    return [r.path + (f"?{r.arg('query')}" if r.arg("query") else "") for r in server.requests()]


GOALS = goals_toml(ALL, SUMMER_TAG, goal_toml("Closures", keywords=["closed on monday"]))

X = Platform(
    "x", "library-x", NOW, {"TEST_X_TOKEN": TOKEN}, lambda server: World(FakeX(server)), source, GOALS,
    also("x:@jane_at_lib"), set_clock,
)
