"""The customer portal's reads (``kit.portal``): the customer's cases in their words, and
their orders to pick from. On every backend; the pure rules at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from casekit import Actor, CaseKit, OrderFacts, PermissionDenied, Status
from casekit.domain.portal import CUSTOMER_STATUS, customer_status, portal_title
from casekit.sample import World
from casekit.testing import FakeShipments

PLACED = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def test_the_customer_lists_their_cases_newest_first_with_title_status_and_latest(
    kit: CaseKit, world: World
) -> None:
    customer = world.customer_actor
    kit.shipments.upsert_orders(
        Actor.host(),
        [OrderFacts(number="NW-5046", shipper="acme", customer_email=world.customer.email)],
    )
    first = kit.cases.open(customer, order="NW-5046", message="The box arrived crushed.")
    second = kit.cases.open(customer, message="  **Where** is my   refund?  ")
    staff = world.shipper_actor
    kit.messages.post(staff, first.number, "SECRET note", audience="internal")
    kit.messages.post(staff, first.number, "PARTNER note")
    kit.messages.post(staff, first.number, "Sorry! A new box ships today.", audience="customer")
    kit.messages.post(staff, first.number, "LATER partner note")
    # A case the shipper opened with an internal first message: titled by the first
    # message meant for the customer.
    third = kit.cases.open(
        staff, type="lost", customer=world.customer.id, message="INTERNAL start",
        audience="internal",
    )  # fmt: skip
    kit.messages.post(staff, third.number, "We are on it.", audience="everyone")
    # Another customer's case is not in the list.
    other = kit.directory.add_customer(
        Actor.host(), shipper_org_id=world.shipper.id, email="other@example.test"
    )
    kit.cases.open(Actor.of_customer(other), message="not yours")

    page = kit.portal.cases(customer)
    assert [c.number for c in page.cases] == [third.number, second.number, first.number]
    assert page.next_before is None
    by_number = {c.number: c for c in page.cases}
    one = by_number[first.number]
    assert one.title == "Order NW-5046: The box arrived crushed."
    assert one.status is Status.WAITING
    assert one.words.label == "Waiting for your reply"
    assert one.latest_message_excerpt == "Sorry! A new box ships today."
    assert one.latest_message_by_customer is False
    assert by_number[second.number].title == "Where is my refund?"
    assert by_number[second.number].latest_message_by_customer is True
    assert by_number[second.number].words.label == "Received"
    assert by_number[third.number].title == "We are on it."
    shown = repr(page)
    assert "SECRET" not in shown
    assert "PARTNER" not in shown
    assert "INTERNAL" not in shown
    assert "not yours" not in shown

    # Pages: newest first, the next one before the last one's id.
    top = kit.portal.cases(customer, limit=2)
    assert [c.number for c in top.cases] == [third.number, second.number]
    rest = kit.portal.cases(customer, limit=2, before=top.next_before)
    assert [c.number for c in rest.cases] == [first.number]
    assert rest.next_before is None


def test_the_list_marks_the_cases_with_a_reply_the_customer_has_not_read(
    kit: CaseKit, world: World
) -> None:
    customer, staff = world.customer_actor, world.shipper_actor
    cases = [kit.cases.open(customer, message=f"case {i}").number for i in range(3)]
    kit.messages.post(staff, cases[0], "We are on it.", audience="customer")
    kit.messages.post(staff, cases[1], "SECRET note", audience="internal")
    kit.messages.post(staff, cases[2], "Everyone, look.", audience="everyone")
    kit.live.open(customer, cases[2])
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(kit.engine, "before_cursor_execute", count)
    try:
        page = kit.portal.cases(customer)
    finally:
        event.remove(kit.engine, "before_cursor_execute", count)
    assert {c.number: c.unread for c in page.cases} == {
        cases[0]: True,
        cases[1]: False,
        cases[2]: False,
    }
    # One statement for the page's marks, whatever its length.
    assert len([s for s in statements if "casekit_customer_read_markers" in s]) == 1
    kit.live.open(customer, cases[0])
    assert not any(c.unread for c in kit.portal.cases(customer).cases)


def test_the_portal_is_the_customers(kit: CaseKit, world: World) -> None:
    for actor in (world.shipper_actor, world.carrier_actor, Actor.host()):
        with pytest.raises(PermissionDenied):
            kit.portal.cases(actor)
        with pytest.raises(PermissionDenied):
            kit.portal.orders(actor)


def test_the_customers_orders_from_the_orders_casekit_stores(kit: CaseKit, world: World) -> None:
    email = world.customer.email
    kit.shipments.upsert_orders(
        Actor.host(),
        [
            OrderFacts(number="A-1", shipper="acme", customer_email=email.upper()),
            OrderFacts(number="A-2", shipper="acme", customer_email=email, placed_at=PLACED),
            OrderFacts(number="A-3", shipper="acme", customer_email="someone@else.test"),
        ],
    )
    orders = kit.portal.orders(world.customer_actor)
    assert [o.number for o in orders] == ["A-2", "A-1"]  # newest first, undated last
    assert orders[0].placed_at == PLACED


@pytest.mark.backends("sqlite")
def test_the_customers_orders_are_read_by_their_index(kit: CaseKit, world: World) -> None:
    """SQLite's plan; PostgreSQL's and MariaDB's use the same index (docs/portal.rst)."""
    from casekit.services.portal import orders_of

    stmt = orders_of(world.shipper.id, "Casey@Example.TEST")
    sql = str(stmt.compile(kit.engine, compile_kwargs={"literal_binds": True}))
    with kit.engine.connect() as conn:
        plan = " ".join(row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "USING INDEX ix_casekit_orders_customer_email" in plan
    assert "customer_email_key=?" in plan


def test_a_plugins_orders_are_kept_to_the_customers_own(database_url: str, tmp_path: Path) -> None:
    from casekit.testing import empty_tables, make_kit

    fake = FakeShipments()
    kit = make_kit(database_url, attachment_dir=tmp_path / "a", plugins=[fake], create_schema=False)
    try:
        world = World.build(kit)
        email = world.customer.email
        fake.add_order(OrderFacts(number="MINE", shipper="acme", customer_email=email))
        fake.add_order(OrderFacts(number="UNNAMED", customer_email=email, placed_at=PLACED))
        # Named as the customer's by email, but of another shipper.
        fake.add_order(OrderFacts(number="ELSEWHERE", shipper="other", customer_email=email))
        fake.add_order(OrderFacts(number="STRANGER", shipper="acme", customer_email="x@y.test"))
        orders = kit.portal.orders(world.customer_actor)
        assert [o.number for o in orders] == ["UNNAMED", "MINE"]
        assert ("customer_orders", email) in fake.lookups
    finally:
        empty_tables(kit)
        kit.close()


# -- the pure rules ----------------------------------------------------------------------


def test_every_status_has_the_customers_words() -> None:
    assert set(CUSTOMER_STATUS) == set(Status)
    assert customer_status("waiting").label == "Waiting for your reply"
    assert customer_status(Status.SOLVED).label == "Resolved"
    labels = [words.label for words in CUSTOMER_STATUS.values()]
    assert len(set(labels)) == len(labels)
    # Never the staff's workflow words.
    assert not {"Waiting", "Reply Received", "Reply received", "New", "Open"} & set(labels)


def test_a_title_is_the_order_and_the_first_message_shortened() -> None:
    long = "The box arrived crushed on one corner, and two of the four mugs inside were broken."
    title = portal_title("NW-5046", "", long)
    assert title.startswith("Order NW-5046: The box arrived crushed")
    assert title.endswith("…")
    assert len(title) <= len("Order NW-5046: ") + 60
    assert portal_title("NW-1", "Late parcel", long) == "Order NW-1: Late parcel"
    assert portal_title(None, "", "# Hello\n\n> quoted `code`") == "Hello quoted code"
    assert portal_title("NW-2", "", None) == "Order NW-2"
    assert portal_title(None, "  ", "  ") == "Your feedback"


def test_the_customers_mail_says_the_status_in_their_words(
    database_url: str, tmp_path: Path
) -> None:
    from casekit.testing import CapturedMail, empty_tables, make_kit

    mail = CapturedMail()
    kit = make_kit(
        database_url,
        attachment_dir=tmp_path / "a",
        plugins=[mail],
        create_schema=False,
        mail_from="cases@acme.test",
    )
    try:
        world = World.build(kit)
        case = kit.cases.open(world.customer_actor, message="The box is broken.")
        kit.messages.post(
            world.shipper_actor, case.number, "Sorry! A new one ships.", audience="customer"
        )
        kit.notifications.deliver()
        (to_customer,) = mail.to(world.customer.email)
        text, html = (_part(to_customer.message, kind) for kind in ("plain", "html"))
        assert "Status: Waiting for your reply" in text
        assert "Status: <strong>Waiting for your reply</strong>" in html
        staff = [n for n in mail.outbox if n.email != world.customer.email]
        assert staff  # the merchant heard of the feedback
        assert all("Waiting for your reply" not in str(n.message) for n in staff)
        # Solved: the customer reads that their case is resolved, staff that it was solved.
        mail.outbox.clear()
        kit.cases.watch(world.shipper_manager_actor, case.number)  # staff who hear of it
        kit.notifications.deliver()
        mail.outbox.clear()
        kit.cases.solve(world.shipper_actor, case.number)
        kit.notifications.deliver()
        (solved,) = mail.to(world.customer.email)
        assert solved.message["Subject"].startswith(f"[{case.number}] Resolved: ")
        assert f"Your case {case.number} is now: Resolved." in _part(solved.message, "plain")
        (told,) = mail.to(world.shipper_manager.email)
        assert told.message["Subject"].startswith(f"[{case.number}] Solved: ")
        assert f"marked case {case.number} solved." in _part(told.message, "plain")
    finally:
        empty_tables(kit)
        kit.close()


def _part(message: Any, kind: str) -> str:
    """The text of a mail's ``text/<kind>`` part."""
    for piece in message.walk():
        if piece.get_content_type() == f"text/{kind}":
            payload = piece.get_payload(decode=True)
            return str(payload.decode(piece.get_content_charset() or "utf-8"))
    raise AssertionError(f"no text/{kind} part")
