"""casekit-shopify: signatures, the four topics, bad payloads, rules on fulfillment news."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from casekit_shopify import WebhookRejected, handle_webhook, sign
from click.testing import CliRunner
from sqlalchemy import func, select

from casekit import Actor, ExceptionKind, NotFound, ShipmentStatus, Status
from casekit.store import tables

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "hush-its-a-shopify-secret"


def body(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def deliver(kit, topic, raw, *, signature=None, **kw):
    return handle_webhook(
        kit,
        topic=topic,
        body=raw,
        signature=sign(raw, SECRET) if signature is None else signature,
        secret=SECRET,
        shipper="acme",
        **kw,
    )


def stored(kit) -> tuple[int, int, int]:
    with kit.engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (tables.orders, tables.shipments, tables.shipment_events)
        )


def feed(world):
    return Actor.system_actor("api", org_id=world.shipper.id)


def test_signatures_are_checked_before_anything_is_read(casekit_backend_kit, casekit_backend_world):
    kit = casekit_backend_kit
    raw = body("orders_create.json")
    for signature, reason in (
        ("", "missing"),
        (sign(raw + b" ", SECRET), "does not match"),
        (sign(raw, "another secret"), "does not match"),
        ("not base64 at all", "does not match"),
    ):
        with pytest.raises(WebhookRejected) as caught:
            deliver(kit, "orders/create", raw, signature=signature)
        assert list(caught.value.errors) == ["signature"]
        assert reason in caught.value.errors["signature"][0]
    # A tampered body with the original signature.
    with pytest.raises(WebhookRejected):
        deliver(kit, "orders/create", raw.replace(b"jon@", b"eve@"), signature=sign(raw, SECRET))
    assert stored(kit) == (0, 0, 0)


def test_orders_create_and_updated(casekit_backend_kit, casekit_backend_world):
    kit, world = casekit_backend_kit, casekit_backend_world
    result = deliver(kit, "orders/create", body("orders_create.json"))
    assert (result.orders, result.shipments, result.events) == (1, 0, 0)
    order = kit.shipments.order(feed(world), "9999")
    assert order.customer_email == "jon@example.com"
    assert order.customer_name == "John Smith"
    assert order.placed_at == datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
    result = deliver(kit, "orders/updated", body("orders_updated.json"), carriers={"UPS": "fast"})
    assert (result.shipments, result.events) == (1, 1)
    shipment = kit.shipments.shipment(feed(world), "shopify-4075788369")
    assert shipment.order_number == "9999"
    assert shipment.tracking_number == "1Z2345"
    assert shipment.carrier == "fast"
    assert shipment.carrier_name == "UPS"
    assert shipment.destination_postal_code == "40003"
    assert shipment.shipment_status is ShipmentStatus.IN_TRANSIT
    # The carrier sees it now, by its tracking number.
    assert kit.shipments.shipment(world.carrier_actor, "1Z2345").reference == "shopify-4075788369"
    # Shopify retries: the same webhook again stores nothing new.
    again = deliver(kit, "orders/updated", body("orders_updated.json"), carriers={"UPS": "fast"})
    assert (again.orders, again.shipments, again.events, again.duplicates) == (0, 0, 0, 1)


def test_fulfillment_news_opens_and_solves_a_rule_case(casekit_backend_kit, casekit_backend_world):
    kit, world = casekit_backend_kit, casekit_backend_world
    kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "Schedule delivery",
            "exceptions": ["delivery_scheduling_needed"],
            "case_type": "delivery_scheduling",
            "auto_solve": True,
        },
    )
    created = deliver(kit, "fulfillments/create", body("fulfillments_create.json"))
    assert (created.shipments, created.events) == (1, 0)  # pending: no tracking news yet
    facts = kit.shipments.shipment(feed(world), "shopify-123456")
    assert facts.order_number == "9999"
    assert facts.tracking_number == "1z827wk74630"
    assert facts.destination_name == "Steve Shipper"
    assert facts.shipment_status is None
    attempted = deliver(kit, "fulfillments/update", body("fulfillments_update.json"))
    assert attempted.events == 1
    assert len(attempted.opened) == 1
    facts = kit.shipments.shipment(feed(world), "shopify-123456")
    assert facts.shipment_status is ShipmentStatus.EXCEPTION
    assert facts.exception is ExceptionKind.DELIVERY_SCHEDULING_NEEDED
    case = kit.cases.get(Actor.host(), attempted.opened[0])
    assert case.type == "delivery_scheduling"
    delivered = deliver(kit, "fulfillments/update", body("fulfillments_update_delivered.json"))
    assert delivered.solved == attempted.opened
    assert kit.cases.get(Actor.host(), case.number).status is Status.SOLVED


def test_malformed_payloads_are_rejected_whole(casekit_backend_kit, casekit_backend_world):
    kit = casekit_backend_kit
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "fulfillments/update", body("bad_fulfillment.json"))
    assert set(caught.value.errors) == {
        "fulfillment.id",
        "fulfillment.shipment_status",
        "fulfillment.updated_at",
    }
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/create", b"{not json")
    assert "body" in caught.value.errors
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/create", b"[1, 2]")
    assert "order" in caught.value.errors
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "products/create", body("orders_create.json"))
    assert "topic" in caught.value.errors
    nameless = json.loads(body("orders_updated.json"))
    del nameless["name"]
    nameless["fulfillments"][0]["shipment_status"] = "warp"
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/updated", json.dumps(nameless).encode())
    assert set(caught.value.errors) == {"order.name", "order.fulfillments.0.shipment_status"}
    with pytest.raises(WebhookRejected) as caught:
        handle_webhook(
            kit,
            topic="orders/create",
            body=body("orders_create.json"),
            signature=sign(body("orders_create.json"), SECRET),
            secret=SECRET,
            shipper="nobody",
        )
    assert "shipper" in caught.value.errors
    assert stored(kit) == (0, 0, 0)
    with pytest.raises(NotFound):
        kit.shipments.order(Actor.host(), "9999")


def test_replaying_saved_payloads_from_the_command_line(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, monkeypatch
):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    cli = build_cli()
    result = CliRunner().invoke(
        cli,
        [
            "import",
            "shopify",
            "--topic",
            "fulfillments/update",
            "--shipper",
            "acme",
            str(PAYLOADS / "fulfillments_update.json"),
            str(PAYLOADS / "bad_fulfillment.json"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "1 shipment(s), 1 event(s)" in result.output
    assert "bad_fulfillment.json: rejected" in result.output
    assert stored(casekit_backend_kit) == (0, 1, 1)


def test_the_command_ends_with_one_summary_line(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, monkeypatch
):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    files = [str(PAYLOADS / "fulfillments_update.json")] * 3
    result = CliRunner().invoke(
        build_cli(),
        ["import", "shopify", "--topic", "fulfillments/update", "--shipper", "acme", *files],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        # The same payload three times: stored once, then nothing new.
        "3 of 3 payload(s) stored: 0 order(s), 1 shipment(s), 1 event(s), 0 case(s) opened"
    ]


def test_the_command_draws_a_bar_on_a_terminal(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url
):
    import os
    import sys

    from casekit.testing import run_in_terminal

    files = [str(PAYLOADS / "fulfillments_update.json")] * 4
    command = [sys.executable, "-m", "casekit", "import", "shopify"]
    status, shown = run_in_terminal(
        [*command, "--topic", "fulfillments/update", "--shipper", "acme", *files],
        env={**os.environ, "CASEKIT_DATABASE_URL": casekit_backend_url, "TERM": "xterm"},
    )
    assert status == 0, shown
    assert "Storing  [" in shown
    assert "4/4" in shown
    assert "4 of 4 payload(s) stored" in shown


def test_the_command_on_a_database_without_casekit_tables_is_one_line(tmp_path, monkeypatch):
    from casekit.cli import build_cli

    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{empty}")
    result = CliRunner().invoke(
        build_cli(),
        [
            "import",
            "shopify",
            "--topic",
            "fulfillments/update",
            "--shipper",
            "acme",
            str(PAYLOADS / "fulfillments_update.json"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: CASEKIT_DATABASE_URL: sqlite:///{empty} has no casekit tables: "
        "run `casekit db upgrade`"
    ]


def test_wrong_types_are_a_422_naming_each_field_and_nothing_is_stored(
    casekit_backend_kit, casekit_backend_world
):
    kit = casekit_backend_kit
    payload = json.loads(body("orders_updated.json"))
    payload["email"] = {"address": "jon@example.com"}
    payload["created_at"] = 1640995200
    payload["customer"]["first_name"] = True
    payload["fulfillments"][0]["tracking_number"] = ["1Z2345"]
    payload["fulfillments"][0]["destination"] = "40003"
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/updated", json.dumps(payload).encode())
    assert caught.value.status == 422
    assert caught.value.errors == {
        "order.email": ["text expected, not an object"],
        "order.created_at": ["not an ISO 8601 time"],
        "order.customer.first_name": ["text expected, not true or false"],
        "order.fulfillments.0.tracking_number": ["text expected, not a list"],
        "order.fulfillments.0.destination": ["an object is expected"],
    }
    assert stored(kit) == (0, 0, 0)


UNFIT = {  # the field, and where in the payload it goes
    "order.email": ({"email": "not an email"}, ()),
    "order.name": ({"name": "#" + "9" * 201}, ()),
    "order.customer.last_name": ({"last_name": "Smith\nJr"}, ("customer",)),
    "order.shipping_address.zip": ({"zip": "4" * 21}, ("shipping_address",)),
    "order.fulfillments.0.tracking_number": ({"tracking_number": "1Z" * 101}, ("fulfillments", 0)),
    "order.fulfillments.0.id": ({"id": "9" * 65}, ("fulfillments", 0)),
}


@pytest.mark.parametrize("field", UNFIT)
def test_a_payload_the_store_cannot_keep_whole_stores_none_of_it(
    field, casekit_backend_kit, casekit_backend_world
):
    """Before, the order was stored and then its fulfillment refused."""
    kit = casekit_backend_kit
    payload = json.loads(body("orders_updated.json"))
    change, place = UNFIT[field]
    part = payload
    for step in place:
        part = part[step]
    part.update(change)
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/updated", json.dumps(payload).encode(), carriers={"UPS": "fast"})
    assert caught.value.status == 422
    assert list(caught.value.errors) == [field]
    assert stored(kit) == (0, 0, 0)


def test_a_carrier_casekit_does_not_know_stores_nothing(casekit_backend_kit, casekit_backend_world):
    kit = casekit_backend_kit
    with pytest.raises(WebhookRejected) as caught:
        deliver(kit, "orders/updated", body("orders_updated.json"), carriers={"UPS": "nobody"})
    assert caught.value.status == 422
    assert caught.value.errors == {"carriers": ["'nobody' is not a known carrier"]}
    assert stored(kit) == (0, 0, 0)


def test_the_status_to_answer(casekit_backend_kit, casekit_backend_world):
    kit = casekit_backend_kit
    raw = body("orders_create.json")
    for signature, raw_body, status in (
        ("forged", raw, 401),
        (None, b"{not json", 400),
        (None, b"[1, 2]", 422),
    ):
        with pytest.raises(WebhookRejected) as caught:
            deliver(kit, "orders/create", raw_body, signature=signature)
        assert caught.value.status == status
