"""The report in a real browser: Debian's headless Chromium takes screenshots at phone and
desktop width and prints it to PDF, one page for the overview and one per goal (SPEC §10).

Skipped with the reason when Chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.core.test_cli import run
from twoway.wiring import demo_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--no-pdf-header-footer",
)


def _chromium(tmp_path: Path, page: Path, *args: str) -> None:
    assert CHROMIUM is not None
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def _png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG file."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, width, height, pixels = 8, 0, 0, b""
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            pixels += body
        at += 12 + length
    return width, height, zlib.decompress(pixels)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "report.html"
    result = run("report", "--demo", "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots_at_phone_and_desktop_width_are_not_blank(demo_report: Path, tmp_path: Path, width: int) -> None:
    shot = tmp_path / f"report-{width}.png"
    _chromium(tmp_path, demo_report, f"--window-size={width},1600", f"--screenshot={shot}")
    got_width, height, pixels = _png(shot)
    assert (got_width, height) == (width, 1600)
    assert len(set(pixels)) > 64, "a blank page has a handful of byte values"


@pytest.mark.parametrize("paper", ["Letter", "A4"])
def test_the_pdf_has_the_overview_and_one_page_per_goal(demo_report: Path, tmp_path: Path, paper: str) -> None:
    page = tmp_path / "report.html"
    html = demo_report.read_text(encoding="utf-8")
    if paper == "A4":  # Chromium prints on Letter unless the page asks for another size
        html = html.replace("<style>", "<style>@page { size: A4; }", 1)
    page.write_text(html, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    _chromium(tmp_path, page, f"--print-to-pdf={pdf}")
    pages = PdfReader(pdf).pages
    assert len(pages) == len(demo_config().goals) + 1
    width = float(pages[0].mediabox.width)
    assert round(width) == (612 if paper == "Letter" else 595)
    texts = [p.extract_text() for p in pages]
    assert all("DEMO" in t for t in texts)
    for goal, text in zip(demo_config().goals, texts[1:]):
        assert goal.name in text and "The broadcasts that drew the most two-way" in text
