"""casekit-shopify, fuzzed through handle_webhook: a webhook is stored whole or refused whole.

Each example signs a real payload whose fields casekit reads were replaced
with values of any JSON type (or a body of any bytes) and delivers it. A
refusal is a 400 or 422 that stored nothing; an accepted webhook stored
every order and shipment it names.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from casekit_shopify import WebhookRejected, handle_webhook, parse, sign
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casekit import Actor
from casekit.store import tables

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "hush-its-a-shopify-secret"
CARRIERS = {"UPS": "fast", "USPS": "fast"}
FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXAMPLE = itertools.count(1)

FULFILLMENT = (
    "id",
    "name",
    "status",
    "shipment_status",
    "tracking_number",
    "tracking_numbers",
    "tracking_company",
    "destination",
    "created_at",
    "updated_at",
)
#: Where a value may be replaced, by topic: paths of keys in the payload.
PLACES = {
    "orders/updated": [
        *((key,) for key in ("name", "email", "created_at", "customer", "shipping_address")),
        *(("customer", key) for key in ("email", "first_name", "last_name")),
        *(("shipping_address", key) for key in ("zip", "first_name", "name")),
        ("fulfillments",),
        *(("fulfillments", 0, key) for key in FULFILLMENT),
    ],
    "fulfillments/update": [
        *((key,) for key in FULFILLMENT),
        *(("destination", key) for key in ("zip", "first_name", "last_name")),
    ],
}
BASE = {
    "orders/updated": json.loads((PAYLOADS / "orders_updated.json").read_bytes()),
    "fulfillments/update": json.loads((PAYLOADS / "fulfillments_update.json").read_bytes()),
}

texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "delivered", "cancelled", "2026-01-05T10:00:00Z", "2026-01-05T10:00"]),
    st.text(alphabet="#.\r\n\x00 \u2028", max_size=5),
    st.integers(min_value=60, max_value=400).map(lambda n: "9" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


def counts(kit) -> tuple[int, ...]:
    with kit.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (tables.orders, tables.shipments, tables.shipment_events)
        )


def deliver(kit, topic: str, raw: bytes) -> None:
    """Deliver ``raw``; whatever it holds, it is stored whole or refused whole."""
    before = counts(kit)
    refused = None
    try:
        handle_webhook(
            kit,
            topic=topic,
            body=raw,
            signature=sign(raw, SECRET),
            secret=SECRET,
            shipper="acme",
            carriers=CARRIERS,
        )
    except WebhookRejected as error:
        refused = error
    event(f"refused, {refused.status}" if refused else "stored")
    if refused is not None:
        assert refused.status in (400, 422)
        assert refused.errors
        assert counts(kit) == before
        return
    parsed = parse(topic, json.loads(raw), shipper="acme", carriers=CARRIERS)
    host = Actor.host()
    for order in parsed.orders:
        assert kit.shipments.order(host, order.number).customer_email == order.customer_email
    for shipment in parsed.shipments:
        stored = kit.shipments.shipment(host, shipment.reference)
        assert stored.tracking_number == shipment.tracking_number
    after = counts(kit)
    assert after[0] - before[0] <= len(parsed.orders)
    assert after[1] - before[1] <= len(parsed.shipments)
    assert after[2] - before[2] <= len(parsed.events)


@FUZZ
@given(
    topic=st.sampled_from(sorted(PLACES)),
    changes=st.lists(st.tuples(st.integers(min_value=0), json_values), max_size=4),
)
def test_payloads(topic, changes, casekit_backend_kit, casekit_backend_world):
    payload = json.loads(json.dumps(BASE[topic]))
    example = next(EXAMPLE)
    if topic == "orders/updated":
        payload["name"] = f"#F{example}"
        payload["fulfillments"][0]["id"] = f"F{example}"
    else:
        payload["id"], payload["name"] = f"F{example}", f"#F{example}.1"
    for which, value in changes:
        *path, key = PLACES[topic][which % len(PLACES[topic])]
        part = payload
        for step in path:  # the place may be gone: a change before replaced what held it
            if isinstance(part, dict) and isinstance(step, str):
                part = part.get(step)
            else:
                part = part[step] if isinstance(part, list) and len(part) > step else None
        if isinstance(part, dict):
            part[key] = value
    deliver(casekit_backend_kit, topic, json.dumps(payload).encode())


#: Bytes of any kind, and JSON nested deeper or numbers longer than Python reads.
bodies = st.one_of(
    st.binary(max_size=200),
    st.integers(min_value=900, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=4301, max_value=6000).map(lambda n: b'{"name": ' + b"7" * n + b"}"),
)


@FUZZ
@given(topic=st.sampled_from(sorted(PLACES)), raw=bodies | json_values)
def test_bodies(topic, raw, casekit_backend_kit, casekit_backend_world):
    deliver(casekit_backend_kit, topic, raw if isinstance(raw, bytes) else json.dumps(raw).encode())
