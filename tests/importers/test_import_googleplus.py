"""The Google+ Takeout importer: a Takeout written here in its real layout and quirks, read
from a folder and from a zip, then imported with `twoway import` and every metric worked
out by hand from the scenario (SPEC §2–§3)."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.collecting import snapshot_json, write_config
from tests.importers.importing import dump, import_file
from twoway.collectors.importers.googleplus import GooglePlusImporter
from twoway.model import Batch, Reaction
from twoway.plugin.importer import ImportFailed

UTC = timezone.utc
NOW = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
EXPORTED = datetime(2019, 2, 28, 12, 0, tzinfo=UTC)
POSTS = "Takeout/Google+ Stream/Posts"

OWNER = {
    "displayName": "Riverside Library",
    "profilePageUrl": "https://plus.google.com/+RiversideLibrary",
    "avatarImageUrl": "https://lh3.googleusercontent.com/-abc/photo.jpg",
    "resourceName": "users/1001",
}


def person(uid: str, name: str) -> dict[str, str]:
    return {
        "displayName": name,
        "profilePageUrl": f"https://plus.google.com/{uid}",
        "avatarImageUrl": f"https://lh3.googleusercontent.com/-{uid}/photo.jpg",
        "resourceName": f"users/{uid}",
    }


ANN, BEN, CY = person("2001", "Ann"), person("2002", "Ben"), person("2003", "Cy")
PUBLIC = {"visibleToStandardAcl": {"circles": [{"type": "CIRCLE_TYPE_PUBLIC"}]}, "isPublic": True}


def url(thread: str) -> str:
    return f"https://plus.google.com/+RiversideLibrary/posts/{thread}"


def comment(thread: str, n: int, who: dict[str, str], at: str, html: str) -> dict[str, Any]:
    return {
        "creationTime": at,
        "author": who,
        "content": html,
        "postUrl": url(thread),
        "resourceName": f"users/1001/posts/Ugx{thread}/comments/7cc1{thread}-{n}",
    }


def post(thread: str, at: str, html: str | None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "url": url(thread),
        "creationTime": at,
        "updateTime": at,
        "author": OWNER,
        "resourceName": f"users/1001/posts/Ugx{thread}",
        "postAcl": PUBLIC,
        **extra,
    }
    if html is not None:
        record["content"] = html
    return record


# The scenario. Window (30d): 2019-01-30 12:00 – 2019-03-01 12:00; baseline the 30 days before.
P1 = post(
    "P1",
    "2019-02-10 10:00:00+0000",
    # HTML entities, a hashtag link and a +mention to Google+'s own pages, an outside link
    "Story time &amp; crafts&#39; day! Ask &quot;us&quot;<br><br>"
    '<a rel="nofollow" class="ot-hashtag bidi_isolate" href="https://plus.google.com/s/%23SummerReading/posts">'
    "#SummerReading</a> with "
    '<span class="proflinkWrapper"><span class="proflinkPrefix">+</span><a class="proflink" '
    'href="https://plus.google.com/2001" oid="2001">Ann</a></span> '
    '<a href="https://library.example.org/events">library.example.org/events</a>',
    link={"title": "Events", "url": "https://library.example.org/events", "imageUrl": "https://x.example/i.png"},
    # Ann and Ben +1'd, and the library itself: its own +1 is left out of likes
    plusOnes=[{"plusOner": ANN}, {"plusOner": BEN}, {"plusOner": OWNER}],
    reshares=[{"resharer": CY}],
    comments=[  # not in time order in the file: c5 is listed before c4
        comment("P1", 1, ANN, "2019-02-10 10:30:00+0000", "Can kids come?"),
        comment("P1", 2, OWNER, "2019-02-10 11:30:00+0000", "Yes, all ages!"),  # answers c1 after 3600 s
        comment("P1", 3, BEN, "2019-02-10 12:00:00+0000", "What time?"),  # never answered
        comment("P1", 5, OWNER, "2019-02-10 15:00:00+0000", "At 10 &amp; at 2."),  # answers c4 (the latest above)
        comment("P1", 4, ANN, "2019-02-10 13:00:00+0000", "Thanks!"),
    ],
)
P2 = post("P2", "2019-02-20 09:00:00+0000", "Closed Monday.", plusOnes=[{"plusOner": ANN}])  # no comments, no reshares
P3 = post(
    "P3",
    "2019-02-25 08:00:00+0100",  # 07:00 UTC
    "Book sale Saturday",
    comments=[
        comment("P3", 1, OWNER, "2019-02-25 08:30:00+0100", "Update: room 2"),  # before any community comment
        comment("P3", 2, CY, "2019-02-25 09:00:00+0100", "Which floor?"),  # unanswered
    ],
)
P4 = post(  # a reshare without words of its own: the library's repost, not a broadcast
    "P4",
    "2019-02-26 10:00:00+0000",
    None,
    resharedPost={
        "url": "https://plus.google.com/+CityMuseum/posts/Zz9",
        "author": person("3001", "City Museum"),
        "content": "New exhibit",
        "resourceName": "users/3001/posts/Zz9",
    },
    plusOnes=[{"plusOner": BEN}],
    comments=[comment("P4", 1, ANN, "2019-02-26 11:00:00+0000", "Going!")],
)
P5 = post(  # the baseline window
    "P5",
    "2019-01-15 12:00:00+0000",
    "Winter hours",
    comments=[
        comment("P5", 1, BEN, "2019-01-15 12:30:00+0000", "Open Sunday?"),
        comment("P5", 2, OWNER, "2019-01-15 13:00:00+0000", "No, sorry"),  # 1800 s
    ],
)
SCENARIO = {
    f"{POSTS}/20190210 - Story time & crafts' day! Ask _us_.json": P1,
    f"{POSTS}/20190220 - Closed Monday..json": P2,
    f"{POSTS}/20190225 - Book sale Saturday.json": P3,
    f"{POSTS}/20190226 - Post.json": P4,
    f"{POSTS}/20190115 - Winter hours.json": P5,
}
BESIDE = {  # what else a Takeout holds: never read as posts
    f"{POSTS}/cake.jpg": b"\xff\xd8\xff",
    f"{POSTS}/cake.jpg.metadata.csv": b"title,description\ncake.jpg,\n",
    "Takeout/Google+ Stream/ActivityLog/Comments.json": {"items": []},
    "Takeout/Google Photos/2019/IMG_1.jpg.json": {"creationTime": {"timestamp": "1550000000"}},
    "Takeout/archive_browser.html": b"<html></html>",
}


def _bytes(content: Any) -> bytes:
    return content if isinstance(content, bytes) else json.dumps(content, indent=2).encode()


def folder(tmp_path: Path, files: dict[str, Any], at: datetime = EXPORTED) -> Path:
    """The unpacked Takeout: PATH is its `Takeout` folder, modified when exported."""
    for name, content in {**files, **BESIDE}.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_bytes(content))
    os.utime(tmp_path / "Takeout", (at.timestamp(), at.timestamp()))
    return tmp_path / "Takeout"


def archive(path: Path, files: dict[str, Any], at: datetime = EXPORTED) -> Path:
    """The Takeout as downloaded: `takeout-….zip` with `Takeout/…` inside."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in {**files, **BESIDE}.items():
            zf.writestr(name, _bytes(content))
    os.utime(path, (at.timestamp(), at.timestamp()))
    return path


def read(path: Path) -> Batch:
    return GooglePlusImporter().read(path, "gplus", "googleplus", NOW)


# -- the importer ----------------------------------------------------------------------


def test_posts_comments_and_counters(tmp_path: Path) -> None:
    batch = read(folder(tmp_path, SCENARIO))
    posts = {p.id: p for p in batch.posts}
    assert len(posts) == 5 + 5 + 2 + 1 + 2  # five post files and their ten comments
    p1 = posts[url("P1")]
    assert (p1.author_id, p1.url, p1.root_id, p1.parent_id) == ("users/1001", url("P1"), url("P1"), None)
    assert p1.created_at == datetime(2019, 2, 10, 10, 0, tzinfo=UTC)
    assert p1.text == 'Story time & crafts\' day! Ask "us"\n\n#SummerReading with +Ann library.example.org/events'
    assert p1.hashtags == ("SummerReading",)
    assert p1.links == ("https://library.example.org/events",)  # Google+'s own pages left out, the preview once
    assert not p1.is_repost

    def c(thread: str, n: int) -> str:
        return f"users/1001/posts/Ugx{thread}/comments/7cc1{thread}-{n}"

    parents = {cid: posts[cid].parent_id for cid in (c("P1", 1), c("P1", 2), c("P1", 3), c("P1", 4), c("P1", 5))}
    assert parents == {
        c("P1", 1): url("P1"), c("P1", 3): url("P1"), c("P1", 4): url("P1"),  # community comments reply to the post
        c("P1", 2): c("P1", 1),  # the library's first comment answers Ann's, the latest community comment above it
        c("P1", 5): c("P1", 4),  # its second answers Ann's thanks (listed after it in the file, but later in time)
    }
    assert posts[c("P1", 5)].text == "At 10 & at 2."
    assert posts[c("P1", 1)].root_id == url("P1") and posts[c("P1", 1)].url == url("P1")
    assert posts[c("P3", 1)].parent_id == url("P3")  # before any community comment: answers nothing
    assert posts[url("P3")].created_at == datetime(2019, 2, 25, 7, 0, tzinfo=UTC)
    assert posts[url("P4")].is_repost and posts[url("P4")].text == ""

    counters = {k.post_id: k for k in batch.counters}
    assert counters[url("P1")][2:] == (5, 1, None, 3)  # replies, reposts, quotes, likes as the file lists them
    assert counters[url("P2")][2:] == (0, 0, None, 1)  # absent lists are none, not unknown
    assert all(k.observed_at == NOW for k in counters.values())
    assert batch.reactions == (Reaction(url("P1"), "likes", "users/1001"),)  # its own +1
    assert [tuple(a) for a in batch.accounts] == [("users/1001", "Riverside Library", "source")]
    assert batch.measures == frozenset({"replies", "responses", "reposts", "likes"})


def test_a_comment_without_its_own_id_gets_a_stable_one(tmp_path: Path) -> None:
    def without_id(text: str) -> dict[str, Any]:
        loose = {k: v for k, v in comment("P2", 1, ANN, "2019-02-20 10:00:00+0000", text).items() if k != "resourceName"}
        return {**P2, "comments": [loose]}

    one = read(folder(tmp_path / "a", {f"{POSTS}/20190220 - Closed Monday..json": without_id("Sad!")}))
    edited = read(folder(tmp_path / "b", {f"{POSTS}/20190220 - Closed Monday..json": without_id("Sad! (edited)")}))
    assert one.posts[1].id == edited.posts[1].id and one.posts[1].id.startswith(f"{url('P2')}#comment-")


def test_zip_posts_folder_and_single_file_read_the_same(tmp_path: Path) -> None:
    unpacked = read(folder(tmp_path / "unpacked", SCENARIO))
    zipped = read(archive(tmp_path / "takeout-20190228T120000Z-001.zip", SCENARIO))
    assert zipped == unpacked
    assert read(tmp_path / "unpacked" / POSTS) == unpacked  # PATH may be the Posts folder
    assert read(tmp_path / "unpacked" / "Takeout" / "Google+ Stream") == unpacked
    single = read(tmp_path / "unpacked" / POSTS / "20190220 - Closed Monday..json")
    assert [p.id for p in single.posts] == [url("P2")]


def test_a_posts_folder_in_another_language(tmp_path: Path) -> None:
    posts = tmp_path / "Takeout" / "Stream do Google+" / "Postagens"  # a Portuguese Takeout
    posts.mkdir(parents=True)
    (posts / "20190220 - Fechado.json").write_text(json.dumps(P2))
    assert [p.id for p in read(posts).posts] == [url("P2")]
    with pytest.raises(ImportFailed, match="no Google\\+ posts: expected Takeout/Google\\+ Stream/Posts/\\*.json"):
        read(tmp_path / "Takeout")  # its top folder: the posts folder is not known by that name


def test_broken_json_names_the_file_the_line_and_the_column(tmp_path: Path) -> None:
    broken = {**SCENARIO, f"{POSTS}/20190220 - Closed Monday..json": b'{\n  "url": "x",\n  "creationTime" "2019"\n}'}
    with pytest.raises(ImportFailed) as failed:
        read(folder(tmp_path / "unpacked", broken))
    assert str(failed.value) == (
        "Takeout/Google+ Stream/Posts/20190220 - Closed Monday..json: line 3, column 18: not valid JSON"
        " (Expecting ':' delimiter)"
    )
    with pytest.raises(ImportFailed) as failed:
        read(archive(tmp_path / "takeout.zip", broken))
    assert str(failed.value).startswith(f"takeout.zip/{POSTS}/20190220 - Closed Monday..json: line 3, column 18")


def _without_comment_author_id() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(json.dumps(P1))
    del record["comments"][1]["author"]["resourceName"]
    return record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_without_comment_author_id(), "comments[1].author.resourceName: missing"),
        ({**P2, "creationTime": "yesterday"}, "creationTime: 'yesterday' is not a time like 2018-10-09 11:38:31+0000"),
        ({**P2, "plusOnes": {"plusOner": ANN}}, "plusOnes: expected a list, found an object"),
        ({k: v for k, v in P2.items() if k not in ("url", "resourceName")}, "url: missing"),
        ([P2], "expected a JSON object, found a list"),
    ],
)
def test_a_wrong_field_names_the_file_and_its_json_path(tmp_path: Path, record: Any, message: str) -> None:
    with pytest.raises(ImportFailed) as failed:
        read(folder(tmp_path, {f"{POSTS}/20190210 - Post.json": record}))
    assert str(failed.value).startswith(f"Takeout/Google+ Stream/Posts/20190210 - Post.json: {message}")
    assert "\n" not in str(failed.value)


def test_an_html_takeout_is_no_json_takeout(tmp_path: Path) -> None:
    html = tmp_path / "Takeout" / "Google+ Stream" / "Posts"
    html.mkdir(parents=True)
    (html / "20190210 - Story time.html").write_text("<html></html>")
    with pytest.raises(ImportFailed, match="export the Google\\+ Stream as JSON, not HTML"):
        read(tmp_path / "Takeout")
    with pytest.raises(ImportFailed, match="no such file"):
        read(tmp_path / "missing.zip")


# -- twoway import ---------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TWOWAY_NOW", "2019-03-01T12:00:00Z")
    return write_config(
        tmp_path,
        '[[sources]]\nid = "gplus"\nplatform = "googleplus"\n',
        '[[goals]]\nname = "All"\nwindow = "30d"\n',
    )


def imported(config: Path, path: Path) -> int:
    return import_file(config, path, "gplus")



def test_import_then_metrics(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = archive(tmp_path / "takeout.zip", SCENARIO)
    assert imported(config, path) == 0
    assert capsys.readouterr().out.strip() == f"imported 15 posts from {path} into gplus"
    goal = snapshot_json(config)["goals"][0]
    m = goal["metrics"]
    # broadcasts in the window: P1, P2, P3 (P4 is a reshare, P5 is in the baseline)
    assert m["broadcast"] == 3
    # community comments: Ann, Ben, Ann under P1; Cy under P3 (Ann's under the reshare counts nowhere)
    assert m["replies"] == 4
    assert m["mentions"] is None and m["quotes"] is None  # not in a Takeout
    assert m["community_messages"] == 4
    # the library answered Ann's question (after 3600 s) and Ann's thanks (7200 s); its first comment
    # under P3 came before any community comment and answers nothing
    assert (m["responses"], m["answered"], m["unanswered"]) == (2, 2, 2)
    assert m["two_way"] == 4 + 2
    assert m["median_response_seconds"] == (3600 + 7200) / 2
    assert m["p90_response_seconds"] == 7200  # nearest rank: ceil(0.9 × 2) = 2nd of 2
    assert m["response_rate"] == pytest.approx(2 / 4)
    assert m["voices"] == 3  # Ann, Ben, Cy
    # +1s: P1 three minus the library's own, P2 one; reshares: P1 one
    assert (m["likes"], m["reposts"]) == (2 + 1, 1)
    assert m["conversation_rate"] == pytest.approx(4 / 3)
    assert m["applause_rate"] == pytest.approx(3 / 3)
    assert m["amplification_rate"] == pytest.approx(1 / 3)
    assert m["two_way_per_broadcast"] == pytest.approx(6 / 3)
    assert goal["unavailable"] == {"mentions": ["gplus"], "quotes": ["gplus"]}
    # waiting: Ben's question under P1, Cy's under P3, oldest first
    assert goal["waiting_total"] == 2
    assert [(w["url"], w["at"]) for w in goal["waiting"]] == [
        (url("P1"), "2019-02-10T12:00:00Z"),
        (url("P3"), "2019-02-25T08:00:00Z"),
    ]
    # the archive begins with P5, after the baseline's start: the baseline is not covered, no change shown
    b = goal["baseline"]
    assert (b["broadcast"], b["replies"], b["responses"], b["median_response_seconds"]) == (None, None, None, None)
    assert goal["coverage"]["baseline"]["sources"] == ["gplus"]
    assert all(delta is None for delta in goal["deltas"].values())


def test_importing_twice_changes_nothing(config: Path, tmp_path: Path) -> None:
    path = folder(tmp_path / "unpacked", SCENARIO)
    assert imported(config, path) == 0
    before, report = dump(tmp_path / "store.db"), snapshot_json(config)
    assert imported(config, path) == 0
    assert dump(tmp_path / "store.db") == before
    assert snapshot_json(config) == report
    # the same Takeout as a zip is the same records too (only the list of imported files grows)
    assert imported(config, archive(tmp_path / "takeout.zip", SCENARIO)) == 0
    again = snapshot_json(config)["goals"][0]
    assert {k: again[k] for k in ("metrics", "baseline", "waiting")} == {
        k: report["goals"][0][k] for k in ("metrics", "baseline", "waiting")
    }


def test_newer_export_updates_counters(config: Path, tmp_path: Path) -> None:
    assert imported(config, archive(tmp_path / "old.zip", SCENARIO)) == 0
    more = {**P2, "plusOnes": [{"plusOner": ANN}, {"plusOner": CY}]}
    newer = {**SCENARIO, f"{POSTS}/20190220 - Closed Monday..json": more}
    assert imported(config, archive(tmp_path / "new.zip", newer, datetime(2019, 3, 1, 9, 0, tzinfo=UTC))) == 0
    assert snapshot_json(config)["goals"][0]["metrics"]["likes"] == 2 + 2
    # the older export imported again does not undo the newer counters
    assert imported(config, archive(tmp_path / "old.zip", SCENARIO)) == 0
    assert snapshot_json(config)["goals"][0]["metrics"]["likes"] == 2 + 2


def test_broken_file_stores_nothing(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = {**SCENARIO, f"{POSTS}/20190225 - Book sale Saturday.json": {**P3, "creationTime": "25.02.2019"}}
    assert imported(config, archive(tmp_path / "takeout.zip", broken)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "takeout.zip/Takeout/Google+ Stream/Posts/20190225 - Book sale Saturday.json: creationTime:" in err
    assert not (tmp_path / "store.db").exists()
