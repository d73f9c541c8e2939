"""The distribution as pip sees it: one top-level import package, `twoway` (SPEC §1).

The wheel is built from a clean copy of the checkout (what git tracks, or would track),
so a stale ignored `build/` folder cannot slip old top-level `collectors/` or `tui/`
into it; then installed into a fresh virtual environment and uninstalled again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-11-26T12:00:00Z"


def _tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the wheel is built from what git tracks")
    listed = subprocess.run(
        [git, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and ((ROOT / name).is_symlink() or (ROOT / name).is_file())]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clean = tmp_path_factory.mktemp("checkout")
    for name in _tracked_files():
        target = clean / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = ROOT / name
        if source.is_symlink():  # twoway/collectors -> ../collectors, as committed
            target.symlink_to(source.readlink())
        else:
            shutil.copy2(source, target)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(clean)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("twoway-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.rsplit("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        top_level = {n.split("/", 1)[0] for n in names} - {info}
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        tops = archive.read(f"{info}/top_level.txt").decode().split() if f"{info}/top_level.txt" in names else []
    assert top_level == {"twoway"}
    assert tops in ([], ["twoway"])
    for folder in ("twoway/collectors/mastodon.py", "twoway/collectors/importers/csv_generic.py", "twoway/tui/app.py"):
        assert folder in names
    assert "twoway/tui/app.tcss" in names and "twoway/py.typed" in names
    assert "twoway/publish/templates/report.html" in names
    targets = [line.split("=", 1)[1].strip() for line in entry_points.splitlines() if "=" in line]
    assert targets and all(t.startswith("twoway.") for t in targets), targets


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    yield venv


def _files(venv: Path) -> set[str]:
    return {str(p.relative_to(venv)) for p in venv.rglob("*") if "__pycache__" not in p.parts}


def test_the_wheel_installs_runs_the_demo_and_uninstalls_cleanly(wheel: Path, fresh_venv: Path) -> None:
    pip, twoway = fresh_venv / "bin" / "pip", fresh_venv / "bin" / "twoway"
    before = _files(fresh_venv)
    install = subprocess.run([pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    # the dependencies come from this test environment; twoway itself only from the fresh venv
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": sysconfig.get_paths()["purelib"], "TWOWAY_NOW": NOW, "HOME": str(fresh_venv)}
    where = subprocess.run(
        [fresh_venv / "bin" / "python", "-c", "import twoway.collectors, twoway.tui; print(twoway.__file__)"],
        capture_output=True, text=True, env=env, cwd=fresh_venv,  # not the checkout, whose twoway/ would win
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(fresh_venv)), where.stdout
    snapshot = subprocess.run([twoway, "snapshot", "--demo"], capture_output=True, text=True, env=env, cwd=fresh_venv)
    assert snapshot.returncode == 0, snapshot.stderr
    assert "DEMO" in snapshot.stdout and "Summer reading" in snapshot.stdout
    uninstall = subprocess.run([pip, "uninstall", "-y", "-q", "twoway"], capture_output=True, text=True)
    assert uninstall.returncode == 0, uninstall.stderr
    assert _files(fresh_venv) - before == set()
