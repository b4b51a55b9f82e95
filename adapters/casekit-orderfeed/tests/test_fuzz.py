"""casekit-orderfeed, fuzzed: whatever bytes a file holds, the import refuses row by row.

Each example imports a generated file into the same database; its rows are
numbered with a prefix of their own, so what the example stored is told
apart from the examples before it. Whatever the file, no exception escapes,
every reject names a line of the file, the counts are what the store holds,
and nothing is stored that the file did not name.
"""

from __future__ import annotations

import itertools
import json

from casekit_orderfeed import import_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casekit import InvalidInput
from casekit.store import tables

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLE = itertools.count(1)
FIELDS = ("customer_email", "customer_name", "carrier", "mode", "placed_at", "promised_date")
GOOD = {
    "customer_email": "c@example.test",
    "customer_name": "Casey",
    "carrier": "fast",
    "mode": "parcel",
    "placed_at": "2026-01-02T10:15:00Z",
    "promised_date": "2026-01-08",
}

#: Text of every kind: control characters, line breaks, quotes, long runs.
texts = st.one_of(
    st.text(max_size=30),
    st.text(alphabet='",\r\n\x00\t \\\u2028', max_size=6),
    st.integers(min_value=150, max_value=400).map(lambda n: "x" * n),
)
#: JSON values of every shape, nested a little.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def stored(kit, prefix: str) -> tuple[set[str], set[str]]:
    with kit.engine.connect() as conn:
        orders = conn.scalars(
            select(tables.orders.c.number).where(tables.orders.c.number.startswith(prefix))
        )
        shipments = conn.scalars(
            select(tables.shipments.c.reference).where(
                tables.shipments.c.reference.startswith(prefix)
            )
        )
        return set(orders), set(shipments)


def check(kit, path, content: bytes, prefix: str) -> None:
    path.write_bytes(content)
    report = import_file(kit, path, shipper="acme")  # raises nothing, whatever the rows
    orders, shipments = stored(kit, prefix)
    assert (len(orders), len(shipments)) == (report.orders_created, report.shipments_created)
    assert all(name.encode() in content for name in orders | shipments)
    lines = len(content.splitlines())
    assert all(1 <= r.line <= lines and r.reason for r in report.rejected)
    assert report.rows >= len(report.rejected)


def csv_cell(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value  # raw bytes: not UTF-8, stray quotes, whatever they are
    if any(c in value for c in ',"\r\n'):
        return b'"' + value.replace('"', '""').encode() + b'"'
    return value.encode()


cells = st.one_of(texts, st.binary(max_size=12))
csv_rows = st.lists(
    st.tuples(
        st.booleans(),  # whether the key is fuzzed too
        cells,
        st.dictionaries(st.sampled_from(FIELDS), cells),
        st.integers(min_value=-1, max_value=1),  # values too few, as many, too many
    ),
    max_size=8,
)


@FUZZ
@given(rows=csv_rows)
def test_csv_bytes(rows, casekit_backend_kit, casekit_backend_world, tmp_path_factory):
    prefix = f"F{next(EXAMPLE)}-"
    content = b"order_number,shipment_reference," + ",".join(FIELDS).encode() + b"\n"
    for i, (fuzz_key, key_cell, values, count) in enumerate(rows):
        key = f"{prefix}{i}"
        if fuzz_key:  # the key, then whatever follows it
            key_cell = key.encode() + key_cell if isinstance(key_cell, bytes) else key + key_cell
        row = [csv_cell(key_cell if fuzz_key else key), f"{key}-S".encode()]
        row += [csv_cell(values.get(field, GOOD[field])) for field in FIELDS]
        row = row[: len(row) + count] if count < 0 else row + [b"extra"] * count
        content += b",".join(row) + b"\n"
    check(casekit_backend_kit, tmp_path_factory.mktemp("f") / "o.csv", content, prefix)


jsonl_rows = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(FIELDS), json_values),
        json_values,  # not an object at all
        st.binary(max_size=20),  # not JSON, or not UTF-8
        st.integers(min_value=900, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    ),
    max_size=8,
)


@FUZZ
@given(rows=jsonl_rows)
def test_json_lines_bytes(rows, casekit_backend_kit, casekit_backend_world, tmp_path_factory):
    prefix = f"J{next(EXAMPLE)}-"
    content = b""
    for i, row in enumerate(rows):
        if isinstance(row, bytes):
            content += row.replace(b"\n", b" ") + b"\n"
            continue
        if isinstance(row, dict):
            key = f"{prefix}{i}"
            row = {"order_number": key, "shipment_reference": f"{key}-S", **row}
        content += json.dumps(row).encode() + b"\n"
    check(casekit_backend_kit, tmp_path_factory.mktemp("f") / "o.jsonl", content, prefix)


@FUZZ
@given(content=st.binary(max_size=300))
def test_any_bytes(content, casekit_backend_kit, casekit_backend_world, tmp_path_factory):
    for suffix in ("csv", "jsonl"):
        path = tmp_path_factory.mktemp("f") / f"o.{suffix}"
        path.write_bytes(content)
        try:
            report = import_file(casekit_backend_kit, path, shipper="acme")
        except InvalidInput as error:
            refused = error.errors
        else:
            lines = len(content.splitlines())
            assert all(1 <= r.line <= lines and r.reason for r in report.rejected)
            continue
        assert list(refused) == ["file"]  # only a header that is not CSV refuses a whole file
