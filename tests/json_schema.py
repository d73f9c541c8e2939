"""A hand-written validator of SPEC §4's JSON object: every key, its type and its invariants."""

from __future__ import annotations

from datetime import datetime

from twoway.report import COUNTS, DURATIONS, METRICS, RATIOS


def _iso(value: object) -> datetime:
    assert isinstance(value, str) and value.endswith("Z"), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None
    return parsed


def _check_metrics(block: object) -> None:
    assert isinstance(block, dict)
    assert set(block) == set(METRICS), set(METRICS) ^ set(block)
    for name, value in block.items():
        if name in COUNTS or name in ("unanswered", "voices"):
            assert value is None or (isinstance(value, int) and not isinstance(value, bool)), (name, value)
        else:
            assert name in RATIOS + DURATIONS
            assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), (name, value)


def check_report_json(doc: object) -> None:
    """A hand-written validator for SPEC §4's JSON object."""
    assert isinstance(doc, dict)
    keys = {"schema_version", "generated_at", "demo", "window", "clock", "goals", "sources"}
    period = doc.get("period")  # with --period only (SPEC §10)
    assert set(doc) == keys | ({"period"} if period is not None else set()), set(doc) ^ keys
    if period is not None:
        assert isinstance(period, dict) and set(period) == {"label", "start", "end"}, period
        assert isinstance(period["label"], str) and _iso(period["start"]) < _iso(period["end"])
        assert doc["window"] is None
    assert doc["schema_version"] == 1
    _iso(doc["generated_at"])
    assert isinstance(doc["demo"], bool)
    assert doc["window"] is None or isinstance(doc["window"], str)
    assert doc["clock"] in ("always", "opening-hours")
    assert isinstance(doc["goals"], list) and isinstance(doc["sources"], list)
    source_ids = {s["id"] for s in doc["sources"]}
    for goal in doc["goals"]:
        assert set(goal) == {
            "name", "status", "window", "start", "end", "metrics", "baseline", "deltas",
            "unavailable", "targets", "by_source", "waiting_total", "waiting", "imported", "coverage",
        } | ({"year_before"} if period is not None else set())
        # "imported", "coverage" and, with a period, "year_before" were added in schema 1 (keys may be added, never renamed)
        if period is not None:
            assert (goal["window"], goal["start"]) == (period["label"], period["start"])
            _check_year_before(goal["year_before"])
        assert isinstance(goal["name"], str)
        assert goal["status"] in ("met", "missed", "no-data", "no-targets")
        assert isinstance(goal["window"], str)
        assert _iso(goal["start"]) < _iso(goal["end"])
        for key in ("metrics", "baseline", "deltas"):
            _check_metrics(goal[key])
        _check_coverage(goal, source_ids)
        assert isinstance(goal["unavailable"], dict)
        for metric, ids in goal["unavailable"].items():
            assert metric in METRICS
            assert isinstance(ids, list) and all(i in source_ids for i in ids)
        for target in goal["targets"]:
            assert set(target) == {"metric", "op", "value", "actual", "met"}
            assert target["metric"] in METRICS and isinstance(target["op"], str)
            assert isinstance(target["value"], (int, float)) and not isinstance(target["value"], bool)
            assert target["actual"] is None or isinstance(target["actual"], (int, float))
            assert target["met"] in (True, False, None)
        assert isinstance(goal["by_source"], dict)
        for sid, block in goal["by_source"].items():
            assert sid in source_ids
            _check_metrics(block)
        total = goal["waiting_total"]  # null while a source of the goal has never polled
        assert total is None or (isinstance(total, int) and not isinstance(total, bool) and total >= len(goal["waiting"]))
        assert len(goal["waiting"]) <= 100
        ats = []
        for item in goal["waiting"]:
            assert set(item) == {"source", "url", "at", "waiting_seconds"}
            assert item["source"] in source_ids and isinstance(item["url"], str)
            ats.append(_iso(item["at"]))
            assert isinstance(item["waiting_seconds"], (int, float))
        assert ats == sorted(ats), "waiting is oldest first"
        for note in goal["imported"]:
            _check_import(note, source_ids)
    for source in doc["sources"]:
        assert set(source) == {"id", "platform", "status", "last_success", "error", "followers", "imports"}
        for note in source["imports"]:
            _check_import(note, {source["id"]})
        assert isinstance(source["id"], str) and isinstance(source["platform"], str)
        assert source["status"] in ("ok", "stale", "error")
        if source["last_success"] is not None:
            _iso(source["last_success"])
        assert source["error"] is None or isinstance(source["error"], str)
        assert source["followers"] is None or (
            isinstance(source["followers"], int) and not isinstance(source["followers"], bool)
        )


def _check_coverage(goal: dict[str, object], source_ids: set[str]) -> None:
    """Per window, from when the goal's sources have data and which do not reach its start (SPEC §3)."""
    coverage = goal["coverage"]
    assert isinstance(coverage, dict) and set(coverage) == {"metrics", "baseline"}, coverage
    for window, block in coverage.items():
        assert isinstance(block, dict) and set(block) == {"covered_from", "sources"}, block
        if block["covered_from"] is not None:
            _iso(block["covered_from"])
        assert isinstance(block["sources"], list) and all(s in source_ids for s in block["sources"])
        if block["sources"] and window == "metrics":
            assert set(coverage["metrics"]["sources"]) <= set(coverage["baseline"]["sources"])
    deltas = goal["deltas"]
    if coverage["baseline"]["sources"]:
        assert isinstance(deltas, dict) and all(v is None for v in deltas.values()), "no change from nothing"


def _check_year_before(block: object) -> None:
    """The same calendar period a year before, or null where the store does not cover it."""
    if block is None:
        return
    assert isinstance(block, dict) and set(block) == {"start", "end", "metrics", "deltas"}, block
    assert _iso(block["start"]) < _iso(block["end"])
    _check_metrics(block["metrics"])
    _check_metrics(block["deltas"])


def _check_import(note: object, source_ids: set[str]) -> None:
    assert isinstance(note, dict)
    assert set(note) == {"source", "file", "format", "exported_at", "imported_at", "posts"}
    assert note["source"] in source_ids and isinstance(note["file"], str) and isinstance(note["format"], str)
    _iso(note["exported_at"])
    _iso(note["imported_at"])
    assert isinstance(note["posts"], int) and not isinstance(note["posts"], bool)
