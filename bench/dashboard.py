"""Time the live dashboard's first full paint and measure its CPU use while idle.

    python bench/dashboard.py [--runs 7] [--idle 60] [--idle-runs 1] [--no-idle]

Each run starts `twoway --demo` in a real terminal: a tmux server of its own
(`tmux -L twoway-bench-<pid>`), one 120x40 pane, `TWOWAY_NOW` fixed and `NO_COLOR`
unset. It polls `tmux capture-pane -p` every ~10 ms until the home screen is
complete, that is until the header shows the last poll (`last poll ... UTC`), every
demo goal has its name on screen, there are as many "N waiting" / "nothing waiting"
lines as goals (each panel's last line, drawn only from a report), no panel still
says `loading…`, and the footer key bar (`q Quit`) is there. The time from spawn to
that capture is the first paint; the server is killed between runs. For context it
also times `python -c "import textual.app"`, the floor any Textual app pays.

Idle: after a first paint it leaves the app alone for `--idle` seconds and reads the
app process's user+sys CPU time from /proc/<pid>/stat before and after (the pid is
the pane's process or its descendant running twoway), and the voluntary context
switches of each of its threads (how often each wakes up). It prints CPU seconds
over wall seconds as a percentage of one core, and whether the screen changed.
`--real-clock` runs the idle part without `TWOWAY_NOW`, so the 60 s re-read yields a
newer report (relative times move) instead of one equal to the last.

It is a measurement: it prints the figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

NOW_ISO = "2026-06-30T12:00:00Z"
WIDTH, HEIGHT = 120, 40
TARGET_PAINT = 1.0
TARGET_CPU = 2.0
POLL = 0.01
TIMEOUT = 30.0
TICK = os.sysconf("SC_CLK_TCK")
WAITING = re.compile(r"\d waiting\b|nothing waiting for a response")


class Session:
    """One private tmux server running the dashboard in a 120x40 pane."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.tmux = shutil.which("tmux") or "/usr/bin/tmux"
        self.socket = f"twoway-bench-{os.getpid()}"
        self.command = command
        self.env = env

    def _tmux(self, *args: str) -> str:
        done = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, env=self.env)
        return done.stdout

    def start(self) -> float:
        """Spawn the app; returns the perf_counter time just before the spawn."""
        self.kill()
        start = time.perf_counter()
        subprocess.run(
            [
                self.tmux,
                "-L",
                self.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "bench",
                "-x",
                str(WIDTH),
                "-y",
                str(HEIGHT),
                *self.command,
            ],
            check=True,
            env=self.env,
        )
        return start

    def capture(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "bench")

    def pane_pid(self) -> int:
        return int(self._tmux("list-panes", "-t", "bench", "-F", "#{pane_pid}").split()[0])

    def kill(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, env=self.env)

    def remove_socket(self) -> None:
        """kill-server leaves the socket file behind; remove ours."""
        base = Path(self.env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (base / self.socket).unlink(missing_ok=True)


def complete(screen: str, goal_names: list[str]) -> bool:
    """The home screen with every panel and the header filled from a report, and the footer."""
    waiting = len(WAITING.findall(screen))
    return (
        "last poll" in screen
        and "q Quit" in screen
        and "loading…" not in screen
        and all(name in screen for name in goal_names)
        and waiting >= len(goal_names)
    )


def first_paint(session: Session, goal_names: list[str]) -> tuple[float, float, str]:
    """Seconds from spawn to the first non-blank capture, to the complete home screen, and that screen."""
    start = session.start()
    first_frame = 0.0
    while True:
        screen = session.capture()
        now = time.perf_counter()
        if not first_frame and screen.strip():
            first_frame = now - start
        if complete(screen, goal_names):
            return first_frame, now - start, screen
        if now - start > TIMEOUT:
            raise RuntimeError(f"no complete home screen after {TIMEOUT:.0f} s; last capture:\n{screen}")
        time.sleep(POLL)


def floor_time(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import textual.app"], check=True, env=env)
    return time.perf_counter() - start


# -- /proc ------------------------------------------------------------------------------


def _stat_fields(path: str) -> list[str]:
    text = Path(path).read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on; comm may hold spaces


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(f"/proc/{pid}/stat")
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def thread_stats(pid: int) -> dict[int, tuple[float, int]]:
    """tid -> (user+sys CPU seconds, voluntary context switches)."""
    out: dict[int, tuple[float, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = _stat_fields(f"{task}/stat")
            status = (task / "status").read_text()
        except OSError:
            continue
        switches = next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_ctxt_switches")
        )
        out[int(task.name)] = ((int(fields[11]) + int(fields[12])) / TICK, switches)
    return out


def app_pid(pane_pid: int) -> int:
    """The python process running twoway: the pane's process or one of its descendants."""
    todo = [pane_pid]
    while todo:
        pid = todo.pop(0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "twoway" in cmdline and ("python" in cmdline or "twoway" in cmdline.split(" ")[0]):
            return pid
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            todo.extend(int(c) for c in children)
    return pane_pid


def idle(session: Session, goal_names: list[str], seconds: float) -> dict[str, object]:
    _, paint, _ = first_paint(session, goal_names)
    time.sleep(1.0)  # let the first report's follow-up work (poll cycle, layout) settle
    pid = app_pid(session.pane_pid())
    before_screen = session.capture()
    threads_before = thread_stats(pid)
    cpu_before, wall_before = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    cpu_after, wall_after = cpu_seconds(pid), time.perf_counter()
    threads_after = thread_stats(pid)
    after_screen = session.capture()
    session.kill()
    wall = wall_after - wall_before
    threads = []
    for tid, (cpu, switches) in sorted(threads_after.items()):
        cpu0, switches0 = threads_before.get(tid, (0.0, 0))
        threads.append((tid, cpu - cpu0, (switches - switches0) / wall, tid not in threads_before))
    return {
        "paint": paint,
        "pid": pid,
        "wall": wall,
        "cpu": cpu_after - cpu_before,
        "threads": threads,
        "screen_changed": before_screen != after_screen,
        "diff": [(a, b) for a, b in zip(before_screen.splitlines(), after_screen.splitlines()) if a != b],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="first-paint runs (at least 5)")
    parser.add_argument("--idle", type=float, default=60.0, help="idle seconds to measure CPU over")
    parser.add_argument("--idle-runs", type=int, default=1)
    parser.add_argument("--no-idle", action="store_true", help="only time the first paint")
    parser.add_argument(
        "--real-clock", action="store_true", help="idle runs without TWOWAY_NOW, so the 60 s re-read sees time move"
    )
    args = parser.parse_args()

    from snapshot_time import compile_bytecode  # bench/ is sys.path[0]

    from twoway.wiring import demo_config

    compile_bytecode()
    goal_names = [g.name for g in demo_config().goals]
    twoway = str(Path(sys.executable).with_name("twoway"))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TMUX")}
    env.update(TWOWAY_NOW=NOW_ISO, TERM=env.get("TERM", "xterm-256color"))
    session = Session([twoway, "--demo"], env)

    try:
        # Warm-up (page cache), untimed.
        floor_time(env)
        first_paint(session, goal_names)
        session.kill()
        floors: list[float] = []
        paints: list[float] = []
        frames: list[float] = []
        for i in range(max(args.runs, 5)):
            floors.append(floor_time(env))
            frame, paint, _ = first_paint(session, goal_names)
            frames.append(frame)
            paints.append(paint)
            session.kill()
            print(
                f"  run {i + 1}: import textual.app {floors[-1] * 1000:6.1f} ms   "
                f"first frame {frames[-1] * 1000:6.1f} ms   first full paint {paints[-1] * 1000:7.1f} ms",
                file=sys.stderr,
                flush=True,
            )
        paint, floor = statistics.median(paints), statistics.median(floors)
        root = Path(__file__).resolve().parents[1]
        head = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True
        ).stdout.strip()
        print(f"code:                   {head or 'unknown'}")
        print(f"terminal:               tmux {WIDTH}x{HEIGHT}, TWOWAY_NOW={NOW_ISO}, NO_COLOR unset")
        print(
            f"median import floor:    {floor * 1000:.1f} ms   (python -c 'import textual.app'; "
            f"min {min(floors) * 1000:.1f}, max {max(floors) * 1000:.1f})"
        )
        print(
            f"median first frame:     {statistics.median(frames) * 1000:.1f} ms   (first non-blank capture; "
            f"min {min(frames) * 1000:.1f}, max {max(frames) * 1000:.1f})"
        )
        print(
            f"median first paint:     {paint * 1000:.1f} ms   (min {min(paints) * 1000:.1f}, "
            f"max {max(paints) * 1000:.1f}; {len(paints)} runs; {paint / floor:.1f}x the floor)"
        )
        print(f"  target < {TARGET_PAINT:g} s: {'met' if paint < TARGET_PAINT else 'MISSED'}")

        if not args.no_idle:
            if args.real_clock:
                del env["TWOWAY_NOW"]
                session.kill()
                session.remove_socket()
                session = Session([twoway, "--demo"], env)
                print("idle runs:              real clock (TWOWAY_NOW unset)")
            for i in range(args.idle_runs):
                print(f"  idle run {i + 1}: {args.idle:.0f} s without input ...", file=sys.stderr, flush=True)
                r = idle(session, goal_names, args.idle)
                pct = 100 * r["cpu"] / r["wall"]  # type: ignore[operator]
                print(
                    f"idle run {i + 1}:             {r['cpu']:.2f} CPU s over {r['wall']:.1f} s = {pct:.2f} % "
                    f"of one core (pid {r['pid']}; target < {TARGET_CPU:g} %: "
                    f"{'met' if pct < TARGET_CPU else 'MISSED'})"
                )
                for tid, cpu, rate, new in r["threads"]:  # type: ignore[attr-defined]
                    print(f"  thread {tid}{' (new)' if new else ''}: {cpu:.2f} CPU s, {rate:.1f} wake-ups/s")
                print(f"  screen changed while idle: {'yes' if r['screen_changed'] else 'no'}")
                for a, b in r["diff"]:  # type: ignore[attr-defined]
                    print(f"    - {a.rstrip()}\n    + {b.rstrip()}")
    finally:
        session.kill()
        session.remove_socket()
    return 0


if __name__ == "__main__":
    sys.exit(main())
