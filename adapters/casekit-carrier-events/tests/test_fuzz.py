"""The three formats, fuzzed through parsing and recording: every event is accounted for.

Each example parses generated input and records it as the host. Whatever
the input, no exception escapes, each event read is recorded, a duplicate
or rejected with its reason, and the store holds exactly the events
recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from casekit_carrier_events import Batch, easypost, generic, record, x12
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casekit import Actor, ShipmentFacts
from casekit.store import tables

SAMPLES = Path(__file__).parent / "samples"
FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Text a field may hold: good values, odd characters, long runs, anything.
texts = st.one_of(
    st.sampled_from(["SHP-1001", "PRO778812", "delivered", "2026-01-05T10:00:00Z", "2026-01-05"]),
    st.text(alphabet="*~\r\n\x00 \ud800\U0001f4e6", min_size=1, max_size=5),
    st.integers(min_value=140, max_value=600).map(lambda n: "9" * n),
    st.text(max_size=20),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
#: A field's value: mostly text, sometimes any JSON.
values = st.one_of(texts, json_values)


@pytest.fixture
def shipments(casekit_backend_kit, casekit_backend_world):
    feed = Actor.system_actor("api", org_id=casekit_backend_world.shipper.id)
    casekit_backend_kit.shipments.upsert_shipments(
        feed,
        [
            ShipmentFacts(reference="SHP-1001", carrier="fast", tracking_number="PRO778812"),
            ShipmentFacts(reference="SHP-USPS", tracking_number="9400110898825022579493"),
        ],
    )
    return casekit_backend_kit


def recorded(kit) -> int:
    with kit.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.shipment_events)).scalar_one()


def check(kit, batch: Batch) -> None:
    before = recorded(kit)
    result = record(kit, batch)  # raises nothing, whatever the batch holds
    refused = len(result.rejected) - len(batch.bad)
    assert result.recorded + result.duplicates + refused == len(batch.events)
    assert recorded(kit) - before == result.recorded
    assert all(bad.position and bad.reason for bad in result.rejected)


@FUZZ
@given(
    events=st.lists(
        st.dictionaries(st.sampled_from(sorted(generic.FIELDS)), values, max_size=2), max_size=5
    ),
    lines=st.booleans(),
)
def test_generic(events, lines, shipments):
    base = {"reference": "SHP-1001", "status": "in_transit", "occurred_at": "2026-01-05T10:00Z"}
    items = [base | event for event in events]
    document = "\n".join(map(json.dumps, items)) if lines else json.dumps({"events": items})
    check(shipments, generic.parse(document.encode("utf-8", "surrogatepass")))


@FUZZ
@given(
    changes=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4),
            st.sampled_from(
                ["message", "status", "status_detail", "datetime", "tracking_location"]
            ),
            values,
        ),
        max_size=5,
    ),
    tracker=st.dictionaries(st.sampled_from(["tracking_code", "carrier", "id"]), values),
)
def test_easypost(changes, tracker, shipments):
    payload = json.loads((SAMPLES / "easypost_tracker_updated.json").read_bytes())
    payload["result"].update(tracker)
    for index, key, value in changes:
        payload["result"]["tracking_details"][index][key] = value
    check(shipments, easypost.parse(json.dumps(payload).encode("utf-8", "surrogatepass")))


SEGMENTS = (SAMPLES / "status_214.edi").read_text().split("~")


@FUZZ
@given(changes=st.lists(st.tuples(st.integers(min_value=0), texts), max_size=5))
def test_x12(changes, shipments):
    segments = list(SEGMENTS)
    for where, text in changes:
        index = where % len(segments)
        elements = segments[index].split("*")
        elements[where % len(elements)] += text
        segments[index] = "*".join(elements)
    check(shipments, x12.parse("~".join(segments), local_timezone=None))


#: Bytes of any kind, and JSON nested deeper or numbers longer than Python reads.
bodies = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=900, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=4301, max_value=6000).map(lambda n: b'{"events": [' + b"7" * n + b"]}"),
)


@FUZZ
@given(raw=bodies)
def test_any_bytes(raw, shipments):
    for parse in (generic.parse, easypost.parse, x12.parse):
        check(shipments, parse(raw))
