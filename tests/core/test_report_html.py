"""`twoway report` (SPEC §10): the HTML parsed as a browser parses it (html5lib), for the
demo and for a hand-made store with hostile names, texts and links."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import html5lib
import pytest

from tests.core.test_cli import NOW, run
from tests.scenario import ORG, Scenario, post
from twoway.config import load_config
from twoway.metrics import build_report
from twoway.model import Post
from twoway.periods import iso_weeks, last_complete_month, parse_period
from twoway.publish.html import render_html
from twoway.publish.markdown import render_markdown
from twoway.wiring import demo_config

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
LOADING = {"img", "image", "iframe", "frame", "object", "embed", "link", "video", "audio", "source", "track",
           "use", "feImage", "base", "form", "input", "picture"}
"""Elements that fetch, embed or submit something; a report has none of them."""
HOSTILE_NAME = '</script><script>alert(1)</script><b onclick="x()">Summer</b> \u202egnidaer'
HOSTILE_ORG = "Riverside <Library> & \u202eFriends"
HOSTILE_TEXT = "<img src=x onerror=alert(1)> [click](javascript:alert(2)) & \x1b[31mred\x1b[0m"


def _parse(html: str) -> ET.Element:
    tree: ET.Element = html5lib.parse(html, namespaceHTMLElements=False)
    return tree


def _local(tag: str) -> str:
    """An element's name without its namespace (html5lib keeps SVG's)."""
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _json_block(root: ET.Element) -> Any:
    scripts = [e for e in root.iter() if _local(e.tag) == "script"]
    assert len(scripts) == 1, "the JSON block is the only script"
    (script,) = scripts
    assert script.get("type") == "application/json" and script.get("id") == "twoway-report"
    return json.loads(script.text or "")


def _assert_loads_nothing(root: ET.Element) -> None:
    """No element, attribute or style that fetches anything; only links to http(s) posts and anchors."""
    for element in root.iter():
        name = _local(element.tag)
        assert name not in LOADING, name
        for attribute, value in element.attrib.items():
            attribute = _local(attribute)
            assert attribute not in ("src", "srcset", "poster", "data", "action", "background", "formaction"), attribute
            assert not attribute.startswith("on"), attribute  # no event handler
            if attribute == "href":
                assert name == "a", name
                assert value.startswith(("https://", "http://", "#")), value
            assert "url(" not in value.replace(" ", "").lower()
        if name == "style":
            css = (element.text or "").lower()
            assert "@import" not in css and "url(" not in css and "@font-face" not in css
        if name == "meta" and element.get("http-equiv", "").lower() == "refresh":
            raise AssertionError("a meta refresh navigates")


def _csp(root: ET.Element) -> list[str]:
    return [
        e.get("content", "")
        for e in root.iter()
        if _local(e.tag) == "meta" and e.get("http-equiv", "").lower() == "content-security-policy"
    ]


# -- the demo ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[ET.Element, str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run("report", "--demo", "-o", str(out))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    html = out.read_text(encoding="utf-8")
    period = last_complete_month(datetime.fromisoformat(NOW.replace("Z", "+00:00")), "America/Chicago").label
    snapshot = run("snapshot", "--demo", "--format", "json", "--period", period)
    assert snapshot.returncode == 0, snapshot.stderr
    return _parse(html), html, json.loads(snapshot.stdout)


def test_the_demo_report_has_every_goal_and_the_snapshots_numbers(demo: tuple[ET.Element, str, dict[str, Any]]) -> None:
    root, _, snapshot = demo
    assert _json_block(root) == snapshot  # the same numbers, to the last digit
    assert snapshot["period"]["label"] == "2026-10"  # the last complete month in Chicago on 26 November
    goals = [e for e in root.iter() if _local(e.tag) == "section" and "goal" in e.get("class", "").split()]
    names = [_text(next(h for h in g.iter() if _local(h.tag) == "h2")) for g in goals]
    assert [n.rsplit(" ", 1)[0] for n in names] == [g["name"] for g in snapshot["goals"]]
    assert [n.rsplit(" ", 1)[1] for n in names] == [g["status"] for g in snapshot["goals"]]
    glance = _text(next(e for e in root.iter() if e.get("class") == "glance"))
    for g in snapshot["goals"]:
        assert f"{g['metrics']['broadcast']:,}" in glance and g["name"] in glance


def test_one_chart_per_goal_with_one_bar_per_week(demo: tuple[ET.Element, str, dict[str, Any]]) -> None:
    root, _, snapshot = demo
    start = datetime.fromisoformat(snapshot["period"]["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(snapshot["period"]["end"].replace("Z", "+00:00"))
    weeks = iso_weeks(start, end, "America/Chicago")
    goals = [e for e in root.iter() if _local(e.tag) == "section" and "goal" in e.get("class", "").split()]
    assert len(goals) == len(snapshot["goals"])
    for section, goal in zip(goals, snapshot["goals"]):
        charts = [e for e in section.iter() if _local(e.tag) == "svg" and "weekly" in e.get("class", "").split()]
        assert len(charts) == 1
        bars = [e for e in charts[0].iter() if _local(e.tag) == "rect" and "bar" in e.get("class", "").split()]
        broadcast = [b for b in bars if "broadcast" in b.get("class", "").split()]
        assert len(broadcast) == len(weeks) == 5  # 1 Oct 2026 is a Thursday: 5 ISO weeks touch October
        # each bar says its number; the weeks add up to the period's total
        counts = [int(_text(next(t for t in b if _local(t.tag) == "title")).split(": ")[1].split()[0]) for b in broadcast]
        assert sum(counts) == goal["metrics"]["broadcast"]
        assert [_local(e.tag) for e in section.iter()].count("svg") == 2  # and the response times


def test_the_demo_report_loads_nothing_and_says_demo_on_every_page(demo: tuple[ET.Element, str, dict[str, Any]]) -> None:
    root, html, _ = demo
    _assert_loads_nothing(root)
    assert _csp(root) == [CSP]
    head = next(e for e in root.iter() if _local(e.tag) == "head")
    assert any(_local(e.tag) == "meta" and e.get("http-equiv") == "Content-Security-Policy" for e in head)
    pages = [e for e in root.iter() if _local(e.tag) == "section" and "page" in e.get("class", "").split()]
    assert len(pages) == len(demo_config().goals) + 1
    for page in pages:
        assert "DEMO" in _text(next(e for e in page.iter() if e.get("class") == "demo"))
    assert "<link" not in html and " src=" not in html


# -- a hand-made store, hostile -------------------------------------------------------------


def _hostile(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[organization]\nname = {json.dumps(HOSTILE_ORG)}\ntimezone = "UTC"\n'
        f'[dashboard]\ndatabase = "{tmp_path / "store.db"}"\n'
        '[[sources]]\nid = "src"\nplatform = "mastodon"\ninstance = "https://m.example"\naccount = "lib"\n'
        f"[[goals]]\nname = {json.dumps(HOSTILE_NAME)}\ndescription = {json.dumps(HOSTILE_TEXT)}\n"
        'targets = { response_rate = ">= 0.5" }\n'
        '[[goals]]\nname = "Plain"\n',
        encoding="utf-8",
    )
    sc = Scenario(tmp_path, load_config(config))
    may = datetime(2026, 5, 12, 12, tzinfo=timezone.utc)
    sc.write(
        Post("b1", ORG, may, url="javascript:alert(3)", text=f"<script>alert(4)</script> {HOSTILE_TEXT}"),
        post("r1", "alice", may.replace(hour=13), parent_id="b1", root_id="b1"),
        Post("b2", ORG, may.replace(day=20), url="https://m.example/@lib/2\"><img src=x>", text="Story time"),
        post("r2", "bob", may.replace(day=21), parent_id="b2", root_id="b2"),
        post("a2", ORG, may.replace(day=21, hour=14), parent_id="r2", root_id="b2"),
    )
    sc.store.conn.execute("UPDATE sources SET covers_from = ?", (int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()),))
    sc.store.close()
    return config


def test_hostile_names_texts_and_links_stay_inert(tmp_path: Path) -> None:
    config = _hostile(tmp_path)
    out = tmp_path / "report.html"
    env = {"TWOWAY_NOW": "2026-06-30T12:00:00Z"}
    result = run("--config", str(config), "report", "--no-poll", "--period", "2026-05", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    root = _parse(html)
    _assert_loads_nothing(root)
    assert _csp(root) == [CSP]
    # the JSON block keeps the names exactly, and equals the snapshot's JSON for the period
    snapshot = run("--config", str(config), "snapshot", "--no-poll", "--format", "json", "--period", "2026-05", env=env)
    assert snapshot.returncode == 0, snapshot.stderr
    data = _json_block(root)
    assert data == json.loads(snapshot.stdout)
    assert data["goals"][0]["name"] == HOSTILE_NAME and data["goals"][0]["metrics"]["broadcast"] == 2
    # nothing closed the script, no markup became an element, no link went anywhere but http(s)
    assert "</script><script>" not in html and "\u202e" not in html and "\x1b" not in html
    assert not [e for e in root.iter() if _local(e.tag) in ("b", "img") or e.get("onclick") or e.get("onerror")]
    links = [e.get("href", "") for e in root.iter() if _local(e.tag) == "a"]
    assert not [h for h in links if h.lower().startswith("javascript")]
    assert 'https://m.example/@lib/2"><img src=x>' not in html
    heading = _text(next(e for e in root.iter() if _local(e.tag) == "h2"))
    assert heading.startswith('</script><script>alert(1)</script><b onclick="x()">Summer</b> \\u202egnidaer')
    description = _text(next(e for e in root.iter() if e.get("class") == "description"))
    assert description == "<img src=x onerror=alert(1)> [click](javascript:alert(2)) & red"  # ANSI removed (SPEC §8)
    posts = _text(next(e for e in root.iter() if e.get("class") == "busiest"))
    assert "javascript:alert(3)" in posts  # shown as text, never as a link


def test_the_markdown_report_is_the_same_content_escaped(tmp_path: Path) -> None:
    config = _hostile(tmp_path)
    env = {"TWOWAY_NOW": "2026-06-30T12:00:00Z"}
    result = run("--config", str(config), "report", "--no-poll", "--period", "2026-05", "--format", "markdown", env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "# Riverside \\<Library\\> \\& \\\\u202eFriends: social communication, May 2026" in text
    # every < is escaped but an autolink's to http(s); no ](...) makes a link
    assert not re.findall(r"(?<!\\)<(?!https?://)", text) and not re.findall(r"(?<!\\)\]\(", text)
    assert "## \\</script\\>\\<script\\>" in text
    assert "`javascript:alert(3)`" in text  # a code span, never a link
    assert "> \\<img src=x onerror=alert(1)\\> \\[click\\](javascript:alert(2))" in text
    for heading in ("### Targets", "### Week by week", "### Per source", "### The broadcasts that drew the most two-way"):
        assert text.count(heading) == 2  # once per goal


def test_the_report_in_process_is_the_engines_report(tmp_path: Path) -> None:
    config = load_config(_hostile(tmp_path))
    sc = Scenario(tmp_path, config)
    report = build_report(sc.store, config, datetime(2026, 6, 30, 12, tzinfo=timezone.utc),
                          period=parse_period("2026-05"), weekly=True)
    assert _json_block(_parse(render_html(report))) == json.loads(json.dumps(report.to_json()))
    assert "May 2026" in render_markdown(report)


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-12"], "twoway: --period: 2026-12 has not begun: it starts 2026-12-01 00:00 America/Chicago"),
        (["--period", "2026-10", "--window", "7d"], "twoway: --window and --period: give one or the other"),
        (["--format", "pdf"], "twoway report: argument --format: invalid choice: 'pdf'"),
        (["-o", "/nonexistent/dir/report.html"], "twoway report: -o /nonexistent/dir/report.html: cannot write it"),
    ],
)
def test_bad_report_arguments_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run("report", "--demo", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1


def test_the_report_goes_to_stdout_and_a_window_instead_of_a_period() -> None:
    result = run("report", "--demo", "--window", "30d", "--goal", "events")
    assert result.returncode == 0, result.stderr
    data = _json_block(_parse(result.stdout))
    assert "period" not in data and data["window"] == "30d" and [g["name"] for g in data["goals"]] == ["Events"]


def test_a_month_not_ended_and_one_before_any_data_say_so() -> None:
    current = _parse(run("report", "--demo", "--period", "2026-11").stdout)
    meta = _text(next(e for e in current.iter() if e.get("class") == "meta"))
    assert meta.startswith("Report for November 2026 so far, compared with October 2026.")
    before = _parse(run("report", "--demo", "--period", "2026-06").stdout)
    notes = [_text(e) for e in before.iter() if e.get("class") == "notes"]
    assert len(notes) == len(demo_config().goals)
    assert all("No data before 2026-08-28" in n and "not counted in June 2026" in n for n in notes)
    data = _json_block(before)
    assert all(g["metrics"]["broadcast"] is None for g in data["goals"])  # null, never 0
