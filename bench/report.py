"""Time `twoway report` against `twoway snapshot --format json --no-poll`, on the same store, in one run.

    python bench/report.py DEST_DIR [--runs 7]

DEST_DIR is what bench/build_store.py made (config.toml with 10 goals + bench.db). Each
run is a whole process: the snapshot and the report (HTML, the last complete month,
`--no-poll`, to a file) alternate, `--runs` times each, after one untimed warm-up of
each; wall time and peak memory as in bench/snapshot_time.py. The report does more than
the snapshot (two calendar months and the month a year before where covered, each
goal's ISO weeks and busiest broadcasts, the template and the charts); the target is
at most 2x the snapshot. It is a measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

from snapshot_time import NOW_ISO, _run, compile_bytecode

TARGET_RATIO = 2.0


def measure(dest: Path, runs: int) -> None:
    twoway = str(Path(sys.executable).with_name("twoway"))
    env = {**os.environ, "TWOWAY_NOW": NOW_ISO}
    config = ["--config", str(dest / "config.toml")]
    snap_cmd = [twoway, *config, "snapshot", "--format", "json", "--no-poll"]
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryFile() as out:
        html = Path(work) / "report.html"
        report_cmd = [twoway, *config, "report", "--no-poll", "-o", str(html)]
        _run(snap_cmd, env, out)
        _, _, code = _run(report_cmd, env, out)
        found = re.search(r'id="twoway-report">(.*?)</script>', html.read_text(encoding="utf-8"), re.S)
        data = json.loads(found[1]) if code == 0 and found else None
        if not data or not data.get("goals"):
            print(f"warning: report exited {code} / holds no goals", file=sys.stderr)
        snaps: list[float] = []
        reports: list[float] = []
        report_rss: list[float] = []
        for i in range(runs):
            wall, _, _ = _run(snap_cmd, env, out)
            snaps.append(wall)
            wall, rss, _ = _run(report_cmd, env, out)
            reports.append(wall)
            report_rss.append(rss)
            print(f"  run {i + 1}: snapshot {snaps[-1] * 1000:7.1f} ms   report {reports[-1] * 1000:8.1f} ms   "
                  f"report peak {rss:6.1f} MB", file=sys.stderr, flush=True)
        size = html.stat().st_size
    snap, report = statistics.median(snaps), statistics.median(reports)
    label = data["period"]["label"] if data else "?"
    print(f"goals in report:        {len(data['goals']) if data else 0}, period {label}")
    print(f"median snapshot json:   {snap * 1000:.1f} ms   (min {min(snaps) * 1000:.1f}, max {max(snaps) * 1000:.1f})")
    print(f"median report html:     {report * 1000:.1f} ms   (min {min(reports) * 1000:.1f},"
          f" max {max(reports) * 1000:.1f}), {size / 1024:.0f} KiB")
    print(f"ratio:                  {report / snap:.2f}x   (target <= {TARGET_RATIO:g}x: "
          f"{'met' if report / snap <= TARGET_RATIO else 'MISSED'})")
    print(f"report peak memory:     {max(report_rss):.1f} MB max RSS")
    print(f"runs:                   {runs} each, alternating")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (args.dest / "config.toml").exists():
        parser.error(f"{args.dest}/config.toml not found: run bench/build_store.py {args.dest} first")
    compile_bytecode()
    measure(args.dest, max(args.runs, 5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
