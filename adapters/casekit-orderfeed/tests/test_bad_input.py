"""casekit-orderfeed: bad input is refused row by row, reported, and never half-written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from casekit_orderfeed import import_file
from click.testing import CliRunner
from sqlalchemy import func, select

from casekit.store import tables

HEADER = b"order_number,customer_email,customer_name,shipment_reference,carrier\n"


def good(number: int) -> bytes:
    return f"{number},c{number}@example.test,Customer {number},SHP-{number},fast\n".encode()


def stored(kit) -> tuple[int, int]:
    with kit.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (tables.orders, tables.shipments)
        )


def jsonl(*rows: object) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


GOOD_JSON = {"order_number": "1001", "shipment_reference": "SHP-1001", "carrier": "fast"}
LAST = {"order_number": "1003", "shipment_reference": "SHP-1003", "carrier": "fast"}

#: (file name, its bytes, line of the bad row, the start of its reason)
BAD_INPUTS = {
    "not UTF-8": (
        "orders.csv",
        HEADER + good(1001) + b"1002,r@example.test,Robin \xff\xfe,SHP-1002,fast\n" + good(1003),
        3,
        "customer_name: holds bytes that are not UTF-8 text",
    ),
    "over-long field": (
        "orders.csv",
        HEADER + good(1001) + b"X" * 201 + b",r@example.test,Robin,SHP-1002,fast\n" + good(1003),
        3,
        "order_number: at most 200 characters",
    ),
    "field past the CSV reader's limit": (
        "orders.csv",
        HEADER + good(1001) + b"1002,r@example.test," + b"R" * 200_000 + b",S,fast\n" + good(1003),
        3,
        "row: not CSV: field larger than field limit",
    ),
    "1,000-deep JSON": (
        "orders.jsonl",
        jsonl(GOOD_JSON)
        + b'{"order_number": "1002", "customer_name": '
        + b"[" * 1000
        + b"]" * 1000
        + b"}\n"
        + jsonl(LAST),
        2,
        "row: not JSON casekit reads: nested too deeply",
    ),
    "unclosed quote on the last row": (
        "orders.csv",
        HEADER + good(1001) + good(1003) + b'1002,r@example.test,"Robin,SHP-1002,fast\n',
        4,
        "row: not CSV: unexpected end of data",
    ),
    "nested object in a text field": (
        "orders.jsonl",
        jsonl(GOOD_JSON, {"order_number": "1002", "customer_name": {"first": "Robin"}}, LAST),
        2,
        "customer_name: text expected, not an object",
    ),
    "invalid email": (
        "orders.csv",
        HEADER + good(1001) + b"1002,robin at example,Robin,SHP-1002,fast\n" + good(1003),
        3,
        "customer_email: not an email address",
    ),
    "multi-line value in CSV": (
        "orders.csv",
        HEADER + good(1001) + b'"10\n02",r@example.test,Robin,SHP-1002,fast\n' + good(1003),
        3,
        "row: runs over lines 3 to 4: values are one line",
    ),
    "multi-line value in JSON": (
        "orders.jsonl",
        jsonl(GOOD_JSON, {"order_number": "10\n02", "customer_name": "Robin"}, LAST),
        2,
        "order_number: one line expected; this value holds a line break",
    ),
    "control character": (
        "orders.jsonl",
        jsonl(GOOD_JSON, {"order_number": "1002", "customer_name": "Ro\u0000bin"}, LAST),
        2,
        "customer_name: holds the control character U+0000",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_a_bad_row_is_reported_and_the_good_rows_stored(
    case, casekit_backend_kit, casekit_backend_world, tmp_path
):
    kit = casekit_backend_kit
    name, content, line, reason = BAD_INPUTS[case]
    path = tmp_path / name
    path.write_bytes(content)
    report = import_file(kit, path, shipper="acme")
    assert [(r.line, r.reason[: len(reason)]) for r in report.rejected] == [(line, reason)]
    assert report.rows == 3
    assert (report.orders_created, report.shipments_created) == (2, 2)
    assert stored(kit) == (2, 2)
    rejects = tmp_path / "rejects.csv"
    report.write_rejects(rejects)
    with rejects.open(encoding="utf-8") as f:
        assert [(r["line"], r["reason"][: len(reason)]) for r in csv.DictReader(f)] == [
            (str(line), reason)
        ]


def test_a_quote_left_open_takes_the_lines_it_swallowed_with_it(
    casekit_backend_kit, casekit_backend_world, tmp_path
):
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER + good(1001) + b'1002,r@example.test,"Robin,S,fast\n' + good(1003))
    report = import_file(casekit_backend_kit, path, shipper="acme")
    assert [r.line for r in report.rejected] == [3]
    assert "(lines 3 to 4; is a quote left open?)" in report.rejected[0].reason
    assert stored(casekit_backend_kit) == (1, 1)


def cli_import(url: str, monkeypatch, *args: str):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", url)
    return CliRunner().invoke(build_cli(), ["import", "orders", *args])


def test_a_bad_last_row_of_3001_loses_none_of_the_3000_before_it(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    path, rejects = tmp_path / "orders.csv", tmp_path / "rejects.csv"
    bad = b"4001,last@example.test,Caf\xe9 Latin-1,SHP-4001,fast\n"
    path.write_bytes(HEADER + b"".join(good(n) for n in range(1001, 4001)) + bad)
    result = cli_import(
        casekit_backend_url, monkeypatch, str(path), "--shipper", "acme", "--rejects", str(rejects)
    )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # the command's status, not a traceback
    assert (
        "3001 rows: orders 3000 created, 0 updated; shipments 3000 created, 0 updated; "
        "0 unchanged; 1 rejected" in result.output
    )
    assert "line 3002 (4001): customer_name: holds bytes that are not UTF-8 text" in result.output
    with rejects.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {
            "line": "3002",
            "key": "4001",
            "reason": "customer_name: holds bytes that are not UTF-8 text",
        }
    ]
    assert stored(casekit_backend_kit) == (3000, 3000)


def test_the_command_prints_every_reject_without_a_rejects_file(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER + b"".join(b"x,not-an-email,,,\n" for _ in range(25)))
    result = cli_import(casekit_backend_url, monkeypatch, str(path), "--shipper", "acme")
    assert result.exit_code == 1, result.output
    assert [f"line {n} (x)" in result.output for n in range(2, 27)] == [True] * 25
    assert "more" not in result.output


def test_a_header_that_is_not_csv_stores_nothing(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    path = tmp_path / "orders.csv"
    path.write_bytes(b'order_number,"customer_email\n' + good(1001))
    result = cli_import(casekit_backend_url, monkeypatch, str(path), "--shipper", "acme")
    assert result.exit_code == 1
    assert "the header is not CSV" in result.output
    assert stored(casekit_backend_kit) == (0, 0)


def test_rows_must_have_as_many_values_as_the_header(
    casekit_backend_kit, casekit_backend_world, tmp_path
):
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER + good(1001) + b"1002,r@example.test,Robin,SHP-1002,fast,extra\n")
    report = import_file(casekit_backend_kit, path, shipper="acme")
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "row: 6 values; the header has 5 columns")
    ]
    assert stored(casekit_backend_kit) == (1, 1)


def test_the_import_reads_no_file_it_cannot_open(casekit_backend_kit, casekit_backend_world):
    from casekit import InvalidInput

    with pytest.raises(InvalidInput, match="file"):
        import_file(casekit_backend_kit, Path("/nonexistent/orders.csv"), shipper="acme")


def test_a_rejects_file_that_cannot_be_written_stops_before_the_import(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER + good(1001))
    rejects = tmp_path / "no such directory" / "rejects.csv"
    result = cli_import(
        casekit_backend_url, monkeypatch, str(path), "--shipper", "acme", "--rejects", str(rejects)
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "cannot be written" in result.output
    assert stored(casekit_backend_kit) == (0, 0)
