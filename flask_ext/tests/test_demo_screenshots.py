"""``casekit demo --screenshots DIR``: eight pictures of the key pages, by Chromium."""

from __future__ import annotations

import os
import shutil
import struct

import pytest
from click.testing import CliRunner

from casekit.cli import build_cli
from casekit_flask.demo_screenshots import CHROMIUM, screenshot_names

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


def _size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its header."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_demo_photographs_its_key_pages_at_two_widths(tmp_path):
    if shutil.which(CHROMIUM) is None:
        missing = f"the screenshots need Chromium: apt-get install -y chromium ({CHROMIUM})"
        if os.environ.get("CASEKIT_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    folder = tmp_path / "shots"
    result = CliRunner().invoke(
        build_cli(), ["demo", "--screenshots", str(folder), "--shipments", "14"]
    )
    assert result.exit_code == 0, result.output
    names = screenshot_names()
    assert len(names) == 8
    assert result.output.splitlines() == [str(folder / name) for name in names]
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    for name in names:
        data = (folder / name).read_bytes()
        width = 1366 if name.endswith("-1366.png") else 390
        assert _size(data) == (width, 900 if width == 1366 else 844), name
        assert 10_000 < len(data) < 400_000, name  # a page, not a blank; small enough
    # Different pages, not one page eight times.
    assert len({(folder / n).read_bytes() for n in names}) == 8
