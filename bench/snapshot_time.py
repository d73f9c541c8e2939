"""Time `twoway snapshot --format json --no-poll` against the Rich import floor.

    python bench/snapshot_time.py DEST_DIR [--runs 7] [--profile]

DEST_DIR is what bench/build_store.py made (config.toml + bench.db). Each run is a
whole process: the floor `python -c "import rich.console, rich.table"` and the
snapshot alternate, `--runs` times each, after one untimed warm-up of each. Wall
time is `time.perf_counter()` around spawn-and-reap; peak memory (max RSS) comes
from the child's own rusage via `os.wait4`. Prints the medians, their ratio and the
snapshot's peak memory; it is a measurement and exits 0 whatever the figures.

`--profile` instead runs the snapshot once in this process under cProfile, prints
the top 25 functions by cumulative time, then every distinct SQL statement the
report ran with its count, total time and `EXPLAIN QUERY PLAN`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW_ISO = "2026-06-30T12:00:00Z"
TARGET_RATIO = 3.0
TARGET_MB = 150.0


def _run(cmd: list[str], env: dict[str, str], out) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Wall seconds, peak RSS in MB, exit status of one whole process."""
    out.seek(0)
    out.truncate()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    return wall, usage.ru_maxrss / 1024, proc.returncode  # ru_maxrss is KiB on Linux


def measure(dest: Path, runs: int) -> None:
    twoway = str(Path(sys.executable).with_name("twoway"))
    env = {**os.environ, "TWOWAY_NOW": NOW_ISO}
    floor_cmd = [sys.executable, "-c", "import rich.console, rich.table"]
    snap_cmd = [twoway, "--config", str(dest / "config.toml"), "snapshot", "--format", "json", "--no-poll"]
    floors: list[float] = []
    snaps: list[float] = []
    snap_rss: list[float] = []
    floor_rss: list[float] = []
    with tempfile.TemporaryFile() as out:
        # Warm-up (page cache, .pyc), untimed; and check the snapshot really produced a report.
        _run(floor_cmd, env, out)
        _, _, code = _run(snap_cmd, env, out)
        out.seek(0)
        report = json.loads(out.read() or b"null")
        if code != 0 or not report or not report.get("goals"):
            print(f"warning: snapshot exited {code} / produced no goals", file=sys.stderr)
        for i in range(runs):
            wall, rss, _ = _run(floor_cmd, env, out)
            floors.append(wall)
            floor_rss.append(rss)
            wall, rss, _ = _run(snap_cmd, env, out)
            snaps.append(wall)
            snap_rss.append(rss)
            print(f"  run {i + 1}: floor {floors[-1] * 1000:7.1f} ms   snapshot {snaps[-1] * 1000:8.1f} ms   "
                  f"snapshot peak {rss:6.1f} MB", file=sys.stderr, flush=True)
    floor, snap = statistics.median(floors), statistics.median(snaps)
    peak = max(snap_rss)
    print(f"goals in report:        {len(report['goals']) if report else 0}")
    print(f"median floor:           {floor * 1000:.1f} ms   (python -c 'import rich.console, rich.table', "
          f"peak {max(floor_rss):.1f} MB)")
    print(f"median snapshot:        {snap * 1000:.1f} ms   (min {min(snaps) * 1000:.1f}, max {max(snaps) * 1000:.1f})")
    print(f"ratio:                  {snap / floor:.2f}x   (target <= {TARGET_RATIO:g}x: "
          f"{'met' if snap / floor <= TARGET_RATIO else 'MISSED'})")
    print(f"snapshot peak memory:   {peak:.1f} MB max RSS   (target < {TARGET_MB:g} MB: "
          f"{'met' if peak < TARGET_MB else 'MISSED'})")
    print(f"runs:                   {runs} each, alternating")


def profile(dest: Path) -> None:
    import cProfile
    import io
    import pstats
    import sqlite3

    os.environ["TWOWAY_NOW"] = NOW_ISO
    from twoway import clock
    from twoway.config import load_config
    from twoway.metrics import build_report
    from twoway.store import Store, StorePolicy
    from twoway.tui.snapshot import render

    config = load_config(dest / "config.toml")
    policy = StorePolicy(also=config.organization.also, keywords=config.keywords,
                         keep_community_text=config.dashboard.store_community_text)
    store = Store.open_readonly(config.dashboard.database, policy)  # type: ignore[arg-type]

    # Capture each statement with its parameters by wrapping the connection's execute.
    stats: dict[str, list] = {}
    real = store.conn

    class Tracing:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def execute(self, sql: str, params=()):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            rows = self._conn.execute(sql, params).fetchall()
            spent = time.perf_counter() - t0
            key = _shape(sql)
            entry = stats.setdefault(key, [0, 0.0, 0, sql, params])
            entry[0] += 1
            entry[1] += spent
            entry[2] += len(rows)
            return _Rows(rows)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self._conn, name)

    store.conn = Tracing(real)  # type: ignore[assignment]
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    report = build_report(store, config, clock.now())
    render(report, "json", io.StringIO())
    profiler.disable()
    wall = time.perf_counter() - t0
    print(f"in-process build_report + render: {wall:.2f}s (under cProfile and SQL tracing)\n")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)

    print("SQL statements (grouped by shape, IN-lists collapsed), by total time:\n")
    for key, (count, spent, rows, sql, params) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
        print(f"-- {count} calls, {spent:.3f}s, {rows:,} rows")
        print(f"   {key}")
        try:
            plan = real.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        except sqlite3.Error as e:
            print(f"   (no plan: {e})\n")
            continue
        for _, parent, _, detail in plan:
            print(f"   plan: {'  ' if parent else ''}{detail}")
        print()
    real.close()


class _Rows(list):
    def fetchall(self) -> list:
        return list(self)

    def fetchone(self):  # type: ignore[no-untyped-def]
        return self[0] if self else None


def _shape(sql: str) -> str:
    import re

    return re.sub(r"IN \((\?,?)+\)", "IN (?…)", " ".join(sql.split()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile one in-process snapshot instead of timing")
    args = parser.parse_args()
    if not (args.dest / "config.toml").exists():
        parser.error(f"{args.dest}/config.toml not found: run bench/build_store.py {args.dest} first")
    compile_bytecode()
    if args.profile:
        profile(args.dest)
    else:
        measure(args.dest, max(args.runs, 5))
    return 0


def compile_bytecode() -> None:
    """Write twoway's bytecode, as `pip install` does.

    An editable install under `PYTHONDONTWRITEBYTECODE` (set on these machines) would
    otherwise compile every module from source in every run, which no installed
    twoway does; rich, the floor's import, is installed with its bytecode.
    """
    import compileall

    root = Path(__file__).resolve().parents[1]
    for package in ("twoway", "tui", "collectors"):
        compileall.compile_dir(root / package, quiet=1)


if __name__ == "__main__":
    sys.exit(main())
