"""The Mastodon archive importer: an archive written here in Mastodon's own layout (outbox,
actor, likes; zip, folder, old tar.gz), imported alone and into a polled Mastodon source,
with every metric worked out by hand from the scenario (SPEC §2–§3, §6)."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import snapshot_json, write_config
from tests.importers.importing import dump, import_file
from twoway.collectors.importers.mastodon_archive import MastodonArchiveImporter
from twoway.collectors.mastodon import parse_status
from twoway.model import Account, Batch, Counters, Reaction
from twoway.plugin.importer import ImportFailed
from twoway.store import Store, StorePolicy

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EXPORTED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOST = "https://example.social"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
READER = f"{HOST}/users/reader"
ANN = "https://other.example/users/ann/statuses"
"""Statuses on another server."""


class Actor:
    """The archive's account, with Mastodon's classic (`/users/lib`) or numeric (`/ap/users/109000`) addresses."""

    def __init__(self, numeric: bool = False) -> None:
        self.uri = f"{HOST}/ap/users/109000" if numeric else f"{HOST}/users/lib"
        self.followers = f"{self.uri}/followers"

    def status(self, sid: str) -> str:
        return f"{self.uri}/statuses/{sid}"

    def json(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "following": f"{self.uri}/following",
            "followers": self.followers,
            "inbox": f"{self.uri}/inbox",
            "outbox": "outbox.json",
            "featured": f"{self.uri}/collections/featured",
            "preferredUsername": "lib",
            "name": "Riverside Library",
            "summary": "<p>Your library &amp; more</p>",
            "url": f"{HOST}/@lib",
            "manuallyApprovesFollowers": False,
            "published": "2022-11-01T00:00:00Z",
            "publicKey": {"id": f"{self.uri}#main-key", "owner": self.uri, "publicKeyPem": "-----BEGIN PUBLIC KEY"},
            "endpoints": {"sharedInbox": f"{HOST}/inbox"},
            "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
            "likes": "likes.json",
            "bookmarks": "bookmarks.json",
        }


def sid(n: int) -> str:
    return str(109000000000000000 + n)


AUDIENCE: dict[str, Callable[[Actor], tuple[list[str], list[str]]]] = {  # Mastodon's addressing of each visibility (ActivityPub::TagManager#to/#cc)
    "public": lambda a: ([PUBLIC], [a.followers]),
    "unlisted": lambda a: ([a.followers], [PUBLIC]),
    "private": lambda a: ([a.followers], []),
    "direct": lambda a: ([READER], []),
}


def create(
    actor: Actor, n: int, published: str, html: str, *, visibility: str = "public", reply_to: str | None = None,
    summary: str | None = None, hashtags: tuple[str, ...] = (), kind: str = "Note",
    counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """A `Create` as Mastodon's CreateNoteSerializer writes it into outbox.json."""
    uri = actor.status(sid(n))
    to, cc = AUDIENCE[visibility](actor)
    note: dict[str, Any] = {
        "id": uri,
        "type": kind,
        "summary": summary,
        "inReplyTo": reply_to,
        "published": published,
        "url": f"{HOST}/@lib/{sid(n)}",
        "attributedTo": actor.uri,
        "to": to,
        "cc": cc,
        "sensitive": summary is not None,
        "atomUri": uri,
        "inReplyToAtomUri": reply_to,
        "conversation": f"tag:example.social,2026-11-20:objectId={n}:objectType=Conversation",
        "content": html,
        "contentMap": {"en": html},
        "attachment": [],
        "tag": [{"type": "Hashtag", "href": f"{HOST}/tags/{t.lower()}", "name": f"#{t}"} for t in hashtags],
        "replies": {"id": f"{uri}/replies", "type": "Collection", "first": {"type": "CollectionPage", "items": []}},
    }
    if counts is not None:  # recent Mastodon versions count favourites and boosts in the Note
        note["likes"] = {"id": f"{uri}/likes", "type": "Collection", "totalItems": counts[0]}
        note["shares"] = {"id": f"{uri}/shares", "type": "Collection", "totalItems": counts[1]}
    if kind == "Question":
        note["oneOf"] = [{"type": "Note", "name": "Yes", "replies": {"type": "Collection", "totalItems": 4}}]
    return {"id": f"{uri}/activity", "type": "Create", "actor": actor.uri, "published": published,
            "to": to, "cc": cc, "object": note}


def announce(actor: Actor, n: int, published: str, boosted: str) -> dict[str, Any]:
    return {"id": f"{actor.status(sid(n))}/activity", "type": "Announce", "actor": actor.uri, "published": published,
            "to": [PUBLIC], "cc": [actor.followers], "object": boosted}


B1_HTML = (
    '<p>Story time &amp; crafts&#39; day <a href="https://example.social/tags/storytime" class="mention hashtag"'
    ' rel="tag">#<span>StoryTime</span></a> <a href="https://library.example.org/events" target="_blank"'
    ' rel="nofollow noopener noreferrer"><span class="invisible">https://</span><span class="">'
    'library.example.org/events</span><span class="invisible"></span></a></p>'
)
R3_HTML = (
    '<p><span class="h-card" translate="no"><a href="https://example.social/@reader" class="u-url mention">'
    "@<span>reader</span></a></span> Yes, all ages!</p>"
)
C_URI = f"{READER}/statuses/{sid(3)}"
"""A community reply on the same server under B1: polling stores it, the archive only points at it."""


def outbox(actor: Actor, counts: bool = True) -> dict[str, Any]:
    """The scenario. Window (30d): 2026-10-27 12:00 – 2026-11-26 12:00; baseline the 30 days before."""

    def c(likes: int, boosts: int) -> tuple[int, int] | None:
        return (likes, boosts) if counts else None

    items = [
        create(actor, 0, "2026-10-01T12:00:00Z", "<p>Autumn hours</p>", counts=c(3, 0)),  # baseline
        create(actor, 1, "2026-11-20T10:00:00Z", B1_HTML, hashtags=("StoryTime",), counts=c(5, 2)),
        create(actor, 2, "2026-11-20T10:05:00Z", "<p>(ages 3+)</p>", reply_to=actor.status(sid(1)), counts=c(0, 0)),
        create(actor, 4, "2026-11-20T12:00:00Z", R3_HTML, reply_to=C_URI, counts=c(0, 0)),
        create(actor, 5, "2026-11-21T09:00:00Z", "<p>Thanks!</p>", reply_to=f"{READER}/statuses/{sid(-10)}"),
        create(actor, 6, "2026-11-21T10:00:00Z", "<p>Agreed</p>", reply_to=f"{ANN}/5"),
        create(actor, 7, "2026-11-22T12:00:00Z", "<p>Quiet study room open</p>", visibility="unlisted", counts=c(1, 1)),
        create(actor, 8, "2026-11-23T12:00:00Z", "<p>Our top 3</p>", visibility="private",
               summary="Spoiler: staff picks", counts=c(0, 0)),
        create(actor, 9, "2026-11-24T12:00:00Z", "<p>More story times?</p>", kind="Question", counts=c(2, 1)),
        create(actor, 10, "2026-11-24T13:00:00Z", "<p>Your hold is in</p>", visibility="direct"),
        announce(actor, 11, "2026-11-25T08:00:00Z", f"{ANN}/556"),
        announce(actor, 12, "2026-11-25T09:00:00Z", actor.status(sid(7))),  # a boost of its own post
    ]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }


def files(actor: Actor, counts: bool = True) -> dict[str, Any]:
    return {
        "outbox.json": outbox(actor, counts),
        "actor.json": actor.json(),
        "likes.json": {"@context": "https://www.w3.org/ns/activitystreams", "id": "likes.json",
                       "type": "OrderedCollection",
                       "orderedItems": [actor.status(sid(1)), f"{ANN}/777"]},
        "bookmarks.json": {"@context": "https://www.w3.org/ns/activitystreams", "id": "bookmarks.json",
                           "type": "OrderedCollection", "orderedItems": []},
        "avatar.png": b"\x89PNG",
        "media_attachments/files/109/000/000/000/000/001/original/a.png": b"\x89PNG",
    }


def _bytes(content: Any) -> bytes:
    return content if isinstance(content, bytes) else json.dumps(content).encode()


def as_zip(path: Path, content: dict[str, Any], at: datetime = EXPORTED) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in content.items():
            zf.writestr(name, _bytes(data))
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def as_folder(path: Path, content: dict[str, Any]) -> Path:
    for name, data in content.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(_bytes(data))
    os.utime(path, (EXPORTED.timestamp(), EXPORTED.timestamp()))
    return path


def as_tar(path: Path, content: dict[str, Any]) -> Path:
    """The `.tar.gz` Mastodon wrote before 4.2."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in content.items():
            info = tarfile.TarInfo(name)
            info.size = len(_bytes(data))
            tar.addfile(info, io.BytesIO(_bytes(data)))
    return path


def read(path: Path, platform: str = "mastodon_archive") -> Batch:
    return MastodonArchiveImporter().read(path, "toots", platform, NOW)


# -- the importer ----------------------------------------------------------------------


def test_posts_replies_boosts_and_own_reactions(tmp_path: Path) -> None:
    actor = Actor()
    batch = read(as_zip(tmp_path / "archive-20261125120000-0f3a.zip", files(actor)))
    posts = {p.id: p for p in batch.posts}
    assert sid(10) not in posts  # the direct message
    assert len(posts) == 11
    b1 = posts[sid(1)]
    assert (b1.author_id, b1.url, b1.parent_id, b1.root_id) == (actor.uri, f"{HOST}/@lib/{sid(1)}", None, sid(1))
    assert b1.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert b1.text == "Story time & crafts' day #StoryTime https://library.example.org/events"
    assert b1.hashtags == ("StoryTime",) and b1.links == ("https://library.example.org/events",)
    assert posts[sid(2)].parent_id == sid(1)  # its self-thread
    assert posts[sid(4)].parent_id == sid(3)  # a reply on the same server: the API's id of the status
    assert posts[sid(4)].text == "@reader Yes, all ages!"
    assert posts[sid(6)].parent_id == f"{ANN}/5"  # another server: its address
    assert posts[sid(8)].text == "Spoiler: staff picks\n\nOur top 3"  # followers-only, behind a content warning
    assert posts[sid(9)].text == "More story times?"  # a poll
    boost = posts[sid(11)]
    assert boost.is_repost and boost.url == f"{ANN}/556" and boost.root_id == sid(11)
    assert [p.id for p in batch.posts] == sorted(posts, key=lambda i: posts[i].created_at)  # parents first
    assert sorted(batch.reactions) == [
        Reaction(sid(1), "likes", actor.uri),  # from likes.json: its favourite of its own post
        Reaction(sid(7), "reposts", actor.uri),  # its boost of its own post
    ]
    counters = {c.post_id: c[2:] for c in batch.counters}
    assert counters[sid(1)] == (None, 2, None, 5) and sid(5) not in counters
    assert all(c.observed_at == NOW for c in batch.counters)
    assert batch.accounts == (Account(actor.uri, "lib@example.social", "source"),)
    assert batch.measures == frozenset({"reposts", "likes"})


def test_numeric_addresses_give_the_api_account_id(tmp_path: Path) -> None:
    actor = Actor(numeric=True)
    batch = read(as_zip(tmp_path / "archive.zip", files(actor)))
    assert batch.accounts == (Account("109000", "lib@example.social", "source"),)
    assert {p.author_id for p in batch.posts} == {"109000"}
    assert {p.id for p in batch.posts} == {sid(n) for n in (0, 1, 2, 4, 5, 6, 7, 8, 9, 11, 12)}


def test_an_older_archive_has_no_counters(tmp_path: Path) -> None:
    batch = read(as_zip(tmp_path / "archive.zip", files(Actor(), counts=False)))
    assert batch.counters == () and batch.measures == frozenset()


def test_zip_folder_and_tar_read_the_same(tmp_path: Path) -> None:
    content = files(Actor())
    zipped = read(as_zip(tmp_path / "archive.zip", content))
    assert read(as_folder(tmp_path / "archive-20261125120000-0f3a", content)) == zipped
    assert read(as_tar(tmp_path / "archive.tar.gz", content)) == zipped
    nested = {f"archive-20261125120000-0f3a/{name}": data for name, data in content.items()}
    assert read(as_zip(tmp_path / "rezipped.zip", nested)) == zipped  # a folder zipped up again


def test_broken_json_names_the_file_the_line_and_the_column(tmp_path: Path) -> None:
    content = {**files(Actor()), "outbox.json": b'{"orderedItems": [\n  {"type": "Create",, }\n]}'}
    with pytest.raises(ImportFailed) as failed:
        read(as_zip(tmp_path / "archive.zip", content))
    assert str(failed.value) == (
        "archive.zip/outbox.json: line 2, column 21: not valid JSON (Expecting property name enclosed in double quotes)"
    )
    with pytest.raises(ImportFailed) as failed:
        read(as_folder(tmp_path / "archive", content))
    assert str(failed.value).startswith("archive/outbox.json: line 2, column 21: not valid JSON")


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    box = outbox(Actor())
    target: Any = box
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return box


@pytest.mark.parametrize(
    ("box", "message"),
    [
        (_without(("orderedItems", 2, "object", "published")),
         "outbox.json: orderedItems[2].object.published: missing"),
        (_without(("orderedItems", 11, "object")), "outbox.json: orderedItems[11].object: missing the boosted post"),
        ({"orderedItems": [{"type": "Create", "object": "https://example.social/users/lib/statuses/1"}]},
         "outbox.json: orderedItems[0].object: expected an object, found a string"),
        ({"orderedItems": {"type": "Create"}}, "outbox.json: orderedItems: expected a list, found an object"),
    ],
)
def test_a_wrong_field_names_the_file_and_its_json_path(tmp_path: Path, box: Any, message: str) -> None:
    with pytest.raises(ImportFailed) as failed:
        read(as_zip(tmp_path / "archive.zip", {**files(Actor()), "outbox.json": box}))
    assert str(failed.value).startswith(f"archive.zip/{message}")
    assert "\n" not in str(failed.value)


def test_missing_files(tmp_path: Path) -> None:
    content = {k: v for k, v in files(Actor()).items() if k != "actor.json"}
    with pytest.raises(ImportFailed, match="^archive.zip/actor.json: missing"):
        read(as_zip(tmp_path / "archive.zip", content))
    with pytest.raises(ImportFailed, match="no outbox.json: expected a Mastodon archive"):
        read(as_zip(tmp_path / "other.zip", {"tweets.js": b"[]"}))


def test_another_servers_archive(tmp_path: Path) -> None:
    """Akkoma's archive has the same files, with addresses the Mastodon API cannot be matched to."""
    content = files(Actor())
    box = outbox(Actor())
    box["orderedItems"][1]["object"]["id"] = "https://example.social/objects/0b1c2d3e"
    path = as_zip(tmp_path / "archive.zip", {**content, "outbox.json": box})
    assert "https://example.social/objects/0b1c2d3e" in {p.id for p in read(path).posts}
    with pytest.raises(ImportFailed) as failed:
        read(path, platform="mastodon")
    assert str(failed.value).startswith(
        "archive.zip/outbox.json: orderedItems[1].object.id: 'https://example.social/objects/0b1c2d3e' is no"
        " Mastodon status address"
    )
    assert 'platform = "mastodon_archive"' in str(failed.value)


# -- twoway import ---------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", "2026-11-26T12:00:00Z")
    return write_config(
        tmp_path,
        '[[sources]]\nid = "archive"\nplatform = "mastodon_archive"\n\n'
        '[[sources]]\nid = "toots"\nplatform = "mastodon"\ninstance = "https://example.social"\naccount = "lib"\n',
        '[[goals]]\nname = "Archive"\nsources = ["archive"]\nwindow = "30d"\n\n'
        '[[goals]]\nname = "Toots"\nsources = ["toots"]\nwindow = "30d"\n',
    )



def test_archive_alone(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = as_zip(tmp_path / "archive.zip", files(Actor()))
    assert import_file(config, path, "archive") == 0
    assert capsys.readouterr().out.strip() == f"imported 11 posts from {path} into archive"
    goal = snapshot_json(config)["goals"][0]
    m = goal["metrics"]
    # broadcasts in the window: B1, the unlisted and the followers-only posts, the poll; not the self-thread,
    # not the replies (what they answer is not in the archive), not the boosts, not the direct message
    assert m["broadcast"] == 4
    # favourites: B1 5 minus its own (likes.json), 1, 0, 2; boosts: 2, 1 minus its own, 0, 1
    assert (m["likes"], m["reposts"]) == (4 + 1 + 0 + 2, 2 + 0 + 0 + 1)
    assert m["applause_rate"] == pytest.approx(7 / 4) and m["amplification_rate"] == pytest.approx(3 / 4)
    for metric in ("replies", "mentions", "responses", "answered", "quotes", "conversation_rate", "response_rate",
                   "median_response_seconds", "unanswered", "voices"):
        assert m[metric] is None, metric
        assert goal["unavailable"][metric] == ["archive"]
    # the archive begins with its October post, after the baseline's start: not covered
    assert (goal["baseline"]["broadcast"], goal["baseline"]["likes"]) == (None, None)
    assert goal["coverage"]["baseline"] == {"covered_from": "2026-10-01T12:00:00Z", "sources": ["archive"]}


def polled() -> Batch:
    """What the Mastodon collector stores polling the account a day after the archive was made:
    B1, a community reply under it on the same server, and the library's answer an hour later."""

    def status(n: int, account: tuple[str, str], at: str, html: str, parent: int | None = None) -> dict[str, Any]:
        return {"id": sid(n), "account": {"id": account[0]}, "created_at": at, "url": f"{HOST}/@{account[1]}/{sid(n)}",
                "in_reply_to_id": sid(parent) if parent is not None else None, "content": html, "tags": []}

    at, actor_id = datetime(2026, 11, 26, 11, 0, tzinfo=UTC), "109000"
    lib, reader = (actor_id, "lib"), ("2001", "reader")
    b1 = status(1, lib, "2026-11-20T10:00:00.000Z", B1_HTML) | {"tags": [{"name": "storytime"}]}
    reply = status(3, reader, "2026-11-20T11:00:00.000Z", "<p>Can kids come?</p>", parent=1)
    answer = status(4, lib, "2026-11-20T12:00:00.000Z", R3_HTML, parent=3)
    return Batch(
        source_id="toots",
        platform="mastodon",
        polled_at=at,
        posts=(parse_status(b1, actor_id, sid(1)), parse_status(reply, actor_id, sid(1)),
               parse_status(answer, actor_id, sid(1))),
        counters=(Counters(sid(1), at, replies=1, reposts=2, likes=6), Counters(sid(4), at, 0, 0, None, 0)),
        accounts=(Account(actor_id, "lib", "source"),),
        measures=frozenset({"replies", "responses", "reposts", "likes"}),
    )


def poll(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.db", StorePolicy(horizon=60 * 86400))  # backfills 60 days
    try:
        store.write(polled())
    finally:
        store.close()


@pytest.mark.parametrize("numeric", [False, True], ids=["users-address", "numeric-address"])
def test_archive_into_the_polled_source_counts_nothing_twice(config: Path, tmp_path: Path, numeric: bool) -> None:
    poll(tmp_path)
    before = snapshot_json(config)["goals"][1]["metrics"]
    assert (before["broadcast"], before["replies"], before["responses"], before["likes"]) == (1, 1, 1, 6)
    path = as_zip(tmp_path / "archive.zip", files(Actor(numeric)))
    assert import_file(config, path, "toots") == 2  # a live source needs --format
    assert import_file(config, path, "toots", "--format", "mastodon_archive") == 0
    m = snapshot_json(config)["goals"][1]["metrics"]
    # B1 is the polled B1, not a second broadcast; the archive adds the unlisted, followers-only and poll posts
    assert m["broadcast"] == 1 + 3
    # the answer in the archive is the polled answer: still one reply, one response after 3600 s
    assert (m["replies"], m["responses"], m["answered"], m["unanswered"]) == (1, 1, 1, 0)
    assert m["median_response_seconds"] == 3600
    # B1: the poll's 6 favourites are newer than the archive's 5, minus the library's own (likes.json);
    # the others as the archive counts them: 1, 0, 2. Boosts: 2 (polled), 1 minus its own, 0, 1
    assert (m["likes"], m["reposts"]) == (6 - 1 + 1 + 0 + 2, 2 + 0 + 0 + 1)
    assert m["conversation_rate"] == pytest.approx(1 / 4)
    # importing again, and the next poll, change nothing
    report, db = snapshot_json(config)["goals"], dump(tmp_path / "store.db")
    assert import_file(config, path, "toots", "--format", "mastodon_archive") == 0
    assert dump(tmp_path / "store.db") == db
    poll(tmp_path)
    assert snapshot_json(config)["goals"] == report


def test_archive_first_then_the_poll(config: Path, tmp_path: Path) -> None:
    path = as_zip(tmp_path / "archive.zip", files(Actor()))
    assert import_file(config, path, "toots", "--format", "mastodon_archive") == 0
    poll(tmp_path)
    m = snapshot_json(config)["goals"][1]["metrics"]
    assert (m["broadcast"], m["replies"], m["responses"], m["likes"], m["reposts"]) == (4, 1, 1, 8, 3)


def test_broken_archive_stores_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    box = _without(("orderedItems", 3, "object", "published"))
    assert import_file(config, as_zip(tmp_path / "archive.zip", {**files(Actor()), "outbox.json": box}), "archive") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "archive.zip/outbox.json: orderedItems[3].object.published: missing" in err
    assert not (tmp_path / "store.db").exists()
