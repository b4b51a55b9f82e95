"""The three formats, parsed without a database: real samples, bad input, fuzzing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from casekit_carrier_events import easypost, generic, x12
from hypothesis import given, settings
from hypothesis import strategies as st

from casekit import ExceptionKind, ShipmentStatus

SAMPLES = Path(__file__).parent / "samples"


def test_generic_sample():
    batch = generic.parse((SAMPLES / "generic.json").read_bytes())
    assert batch.positions == ["events[0]", "events[1]", "events[7]"]
    first = batch.events[0]
    assert first.reference == "SHP-1001"
    assert first.status is ShipmentStatus.IN_TRANSIT
    assert first.occurred_at == datetime(2026, 1, 5, 13, 30, tzinfo=UTC)
    assert first.estimated_date == date(2026, 1, 8)
    assert first.key == "evt-1"
    assert batch.events[1].tracking_number == "PRO778812"
    assert batch.events[1].exception is ExceptionKind.HELD_AT_TERMINAL
    bad = {b.position: b.reason for b in batch.bad}
    assert set(bad) == {"events[2]", "events[3]", "events[4]", "events[5]", "events[6]"}
    assert bad["events[2]"].startswith("status: unknown status 'teleported'")
    assert "no UTC offset" in bad["events[3]"]
    assert "reference" in bad["events[4]"]
    assert "colour: unknown field" in bad["events[5]"]
    assert "exception: unknown exception 'abducted'" in bad["events[5]"]
    assert bad["events[6]"] == "event: an object is expected"


def test_generic_json_lines_and_a_single_object():
    lines = (
        '{"reference": "A", "status": "delivered", "occurred_at": "2026-01-01T00:00:00Z"}\n'
        "{oops\n"
        "\n"
        '{"reference": "B", "status": "scheduled", "occurred_at": "2026-01-01T00:00:00Z"}\n'
    )
    batch = generic.parse(lines)
    assert [e.reference for e in batch.events] == ["A", "B"]
    assert batch.positions == ["line 1", "line 4"]
    assert batch.bad[0].position == "line 2"
    single = generic.parse(
        b'{"reference": "C", "status": "in_transit", "occurred_at": "2026-01-01T00:00:00+02:00"}'
    )
    assert single.events[0].occurred_at == datetime(2025, 12, 31, 22, tzinfo=UTC)
    assert generic.parse(b"\xff\xfe").bad[0].reason == "not UTF-8 text"
    assert generic.parse('{"events": 3}').bad[0].reason == "a list is expected"


def test_easypost_sample():
    batch = easypost.parse((SAMPLES / "easypost_tracker_updated.json").read_bytes())
    statuses = [(e.status, e.exception) for e in batch.events]
    assert statuses == [
        (ShipmentStatus.SCHEDULED, None),
        (ShipmentStatus.IN_TRANSIT, None),
        (ShipmentStatus.EXCEPTION, ExceptionKind.ADDRESS_ISSUE),
        (ShipmentStatus.RETURNING_TO_SENDER, ExceptionKind.RETURN_TO_SENDER),
    ]
    assert {e.tracking_number for e in batch.events} == {"9400110898825022579493"}
    assert batch.events[1].location == "COLUMBUS, OH, US"
    assert batch.events[2].description == "USPS: Addressee Unknown"
    assert len({e.key for e in batch.events}) == 4
    # The estimated date rides on the newest readable detail only... which is
    # the unknown scan, rejected: so none carries it.
    assert [b.position for b in batch.bad] == ["result.tracking_details[4]"]
    assert "says nothing casekit can record" in batch.bad[0].reason


def test_easypost_bad_payloads():
    assert easypost.parse(b"{").bad[0].position == "body"
    assert "Event object" in easypost.parse(b"[]").bad[0].reason
    payload = json.loads((SAMPLES / "easypost_tracker_updated.json").read_text())
    payload["result"] = {"object": "Batch"}
    assert "not a tracker event" in easypost.parse(json.dumps(payload)).bad[0].reason
    payload["result"] = {"object": "Tracker", "tracking_code": None}
    assert "tracking_code" in easypost.parse(json.dumps(payload)).bad[0].reason


def test_easypost_signature():
    body = (SAMPLES / "easypost_tracker_updated.json").read_bytes()
    easypost.verify(body, easypost.sign(body, "s3cret"), "s3cret")
    with pytest.raises(ValueError, match="signature"):
        easypost.verify(body + b" ", easypost.sign(body, "s3cret"), "s3cret")
    with pytest.raises(ValueError, match="missing"):
        easypost.verify(body, None, "s3cret")


def test_x12_214_sample():
    text = (SAMPLES / "status_214.edi").read_text()
    batch = x12.parse(text)
    assert [(e.reference, e.tracking_number, e.status, e.exception) for e in batch.events] == [
        ("SHP-1001", "PRO778812", ShipmentStatus.IN_TRANSIT, None),
        ("SHP-1001", "PRO778812", ShipmentStatus.EXCEPTION, ExceptionKind.ADDRESS_ISSUE),
    ]
    assert batch.events[0].occurred_at == datetime(2026, 1, 5, 13, 30, tzinfo=UTC)  # 08:30 ET
    assert batch.events[0].location == "Columbus, OH, US"
    assert batch.events[1].location == "Reno, NV, US"
    assert batch.events[0].source == "x12:FSTF"
    bad = {b.position: b.reason for b in batch.bad}
    assert bad == {
        "ST 0001 / LX 3 / AT7": "AT7-01 status code 'ZZ' is not one casekit reads",
        "ST 0002 / LX 1 / AT7": "local time (AT7-07 LT or none) needs a local_timezone",
        "ST 0003": "a 210 set, not a 214",
    }
    local = x12.parse(text, local_timezone=ZoneInfo("America/Los_Angeles"))
    delivered = local.events[-1]
    assert delivered.reference is None
    assert delivered.tracking_number == "PRO778813"
    assert delivered.status is ShipmentStatus.DELIVERED
    assert delivered.occurred_at == datetime(2026, 1, 6, 19, 30, tzinfo=UTC)
    assert delivered.location == "Sacramento, CA, US"


def test_x12_bare_segments_and_broken_interchanges():
    bare = "ST*214*1~B10*P1*S1*ABCD~LX*1~AT7***AA**20260110*0900*UT~SE*5*1~"
    batch = x12.parse(bare)
    assert batch.events[0].status is ShipmentStatus.PICKUP_APPOINTMENT
    assert batch.events[0].appointment_at == datetime(2026, 1, 10, 9, tzinfo=UTC)
    assert x12.parse("ISA*00*short~").bad[0].position == "interchange"
    assert "segment" in x12.parse("ST*214*1~1B*x~").bad[0].reason
    assert x12.parse("").bad[0].reason == "interchange: no segments"
    dates = x12.parse("ST*214*1~B10*P1*S1~LX*1~AT7*AF*NS***20261399*0900*UT~SE*1*1~")
    assert "not a date and time" in dates.bad[0].reason
    orphan = x12.parse("ST*214*1~LX*1~AT7*AF*NS***20260101*0900*UT~SE*1*1~")
    assert orphan.bad[0].reason == "no B10 names the shipment before this status"


# -- fuzzing the segment reader -----------------------------------------------------------

codes = st.sampled_from(sorted(x12.STATUS_CODES))
references = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
zones = st.sampled_from(sorted(x12.TIME_CODES))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_or_rejected_never_crashes(text):
    batch = x12.parse(text)
    assert len(batch.events) == len(batch.positions)
    for bad in batch.bad:
        assert bad.reason


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(references, references, codes, moments, zones), min_size=1, max_size=5),
    st.sampled_from(["*", "|", "^"]),
    st.sampled_from(["~", "\n", "'"]),
    st.booleans(),
)
def test_generated_interchanges_read_back(statuses, separator, terminator, with_isa):
    if not with_isa:  # without an ISA header the delimiters are the defaults
        separator, terminator = "*", "~"
    segments = []
    for i, (pro, ref, code, moment, zone) in enumerate(statuses, 1):
        segments += [
            ["ST", "214", f"{i:04d}"],
            ["B10", pro, ref, "SCAC"],
            ["LX", "1"],
            ["AT7", code, "NS", "", "", moment.strftime("%Y%m%d"), moment.strftime("%H%M"), zone],
            ["SE", "5", f"{i:04d}"],
        ]
    body = "".join(separator.join(s) + terminator for s in segments)
    if with_isa:
        isa = separator.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "02",
                "SCAC".ljust(15),
                "ZZ",
                "ACME".ljust(15),
                "260106",
                "1405",
                "U",
                "00401",
                "000000101",
                "0",
                "P",
                ">",
            ]
        )
        body = isa + terminator + "\n" + body
    batch = x12.parse(body)
    assert batch.bad == []
    assert len(batch.events) == len(statuses)
    for event, (pro, ref, code, moment, zone) in zip(batch.events, statuses, strict=True):
        assert event.reference == ref
        assert event.tracking_number == pro
        assert event.status is x12.STATUS_CODES[code][0]
        offset = x12.TIME_CODES[zone]
        expected = moment.replace(tzinfo=UTC) - timedelta(hours=offset)
        assert event.occurred_at == expected


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=6)
        ),
        max_leaves=20,
    )
)
def test_any_json_is_read_or_rejected_never_crashes(value):
    for parse in (generic.parse, easypost.parse):
        batch = parse(json.dumps(value))
        assert len(batch.events) == len(batch.positions)
