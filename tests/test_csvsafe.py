"""casekit.csvsafe: which cells a spreadsheet would run, and what is left alone."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from casekit import csvsafe


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tcmd", "\rcmd", "-2"]
)
def test_text_a_spreadsheet_would_run_gets_a_quote(text: str) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow([csvsafe.cell(text)])
    assert next(csv.reader(io.StringIO(buffer.getvalue(), newline=""))) == ["'" + text]


@pytest.mark.parametrize("value", [-3, -1.5, 0, None, date(2026, 12, 6), "Acme", " =x", ""])
def test_numbers_and_other_text_stay_as_they_are(value: object) -> None:
    assert csvsafe.cell(value) == value
