"""Posting messages: audiences, automatic status moves, participants, latest message."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import event, select

from casekit import Actor, Audience, InvalidInput, PermissionDenied, Status, Upload
from casekit.domain.case import Participant
from casekit.store import tables


@pytest.fixture
def number(kit, world):
    return kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Opening note",
    ).number


def status(kit, number):
    return kit.cases.get(Actor.host(), number).status


def test_first_partner_response_opens_a_new_case(kit, world, number):
    kit.messages.post(world.shipper_actor, number, "note to self", audience="internal")
    assert status(kit, number) is Status.NEW
    entry = kit.messages.post(world.carrier_actor, number, "We are on it")
    assert entry.audience is Audience.PARTNERS
    assert status(kit, number) is Status.OPEN


def test_customer_and_staff_exchange(kit, world, number):
    kit.messages.post(world.shipper_actor, number, "We are checking", audience="everyone")
    assert status(kit, number) is Status.WAITING
    reply = kit.messages.post(world.customer_actor, number, "Thanks!")
    # A customer writes to the shipper unless they say everyone.
    assert reply.audience is Audience.CUSTOMER
    assert status(kit, number) is Status.REPLY_RECEIVED
    kit.messages.post(world.shipper_actor, number, "Refund on its way", audience="customer")
    assert status(kit, number) is Status.WAITING
    to_all = kit.messages.post(
        world.customer_actor, number, "Carrier, ring twice", audience="everyone"
    )
    assert to_all.audience is Audience.EVERYONE
    assert status(kit, number) is Status.REPLY_RECEIVED
    # The carrier sees the case open all along, and only what is for it.
    assert kit.cases.get(world.carrier_actor, number).status is Status.OPEN
    bodies = [
        e.body for e in kit.cases.timeline(world.carrier_actor, number) if e.kind == "message"
    ]
    assert bodies == ["Opening note", "We are checking", "Carrier, ring twice"]


def test_partner_message_does_not_reopen_a_solved_case(kit, world, number):
    kit.cases.solve(world.shipper_actor, number)
    kit.messages.post(world.carrier_actor, number, "Delivered, by the way")
    kit.messages.post(world.shipper_actor, number, "Noted", audience="everyone")
    assert status(kit, number) is Status.SOLVED


def test_customer_message_reopens_a_solved_case(kit, world, number):
    kit.cases.solve(world.shipper_actor, number)
    kit.messages.post(world.customer_actor, number, "Still not here!")
    view = kit.cases.get(Actor.host(), number)
    assert view.status is Status.REPLY_RECEIVED
    assert view.solved_at is None


def test_audience_rules_for_writers(kit, world, number):
    for audience in ("customer", "everyone"):
        with pytest.raises(PermissionDenied):
            kit.messages.post(world.carrier_actor, number, "hi customer", audience=audience)
    for audience in ("internal", "partners"):
        with pytest.raises(PermissionDenied):
            kit.messages.post(world.customer_actor, number, "secret", audience=audience)
    no_customer = kit.cases.open(world.shipper_actor, type="lost").number
    for audience in ("customer", "everyone"):
        with pytest.raises(PermissionDenied):
            kit.messages.post(world.shipper_actor, no_customer, "hello?", audience=audience)
    with pytest.raises(InvalidInput) as error:
        kit.messages.post(world.shipper_actor, number, "x", audience="nobody")
    assert "audience" in error.value.errors


def test_empty_or_huge_bodies_are_refused(kit, world, number):
    with pytest.raises(InvalidInput) as error:
        kit.messages.post(world.shipper_actor, number, "   ")
    assert "body" in error.value.errors
    with pytest.raises(InvalidInput):
        kit.messages.post(world.shipper_actor, number, "x" * 100_001)
    with pytest.raises(InvalidInput) as error:
        kit.messages.post(world.shipper_actor, number, "hi", cc=["not-an-address"])
    assert "cc" in error.value.errors


def test_latest_message_ignores_internal_notes(kit, world, number, clock):
    clock.advance(minutes=10)
    kit.messages.post(world.carrier_actor, number, "partner news")
    at = clock.now()
    clock.advance(minutes=10)
    kit.messages.post(world.shipper_actor, number, "internal", audience="internal")
    view = kit.cases.get(world.carrier_actor, number)
    assert view.latest_message_at == at
    assert view.latest_message_org_id == world.carrier.id
    assert view.latest_message_user_id == world.carrier_agent.id
    # The shipper's internal note is not the carrier's to see moving: its last
    # update is the message it read; the shipper's is the note.
    assert view.updated_at == at
    assert kit.cases.get(world.shipper_actor, number).updated_at == clock.now()


def test_participants_are_recorded_once(kit, world, number):
    kit.messages.post(world.carrier_actor, number, "one", cc=["Ops@Fast.test", "ops@fast.test"])
    kit.messages.post(world.carrier_actor, number, "two", cc=["ops@fast.test"])
    kit.messages.post(world.customer_actor, number, "three")
    with kit.sessions(write=False) as session:
        rows = session.scalars(
            select(Participant)
            .join(tables.cases, tables.cases.c.id == Participant.case_id)
            .where(tables.cases.c.number == number)
        ).all()
    keys = sorted((p.user_id or 0, p.customer_id or 0, p.email or "") for p in rows)
    assert keys == sorted(
        [
            (world.shipper_agent.id, 0, ""),
            (world.carrier_agent.id, 0, ""),
            (0, 0, "ops@fast.test"),
            (0, world.customer.id, ""),
        ]
    )


def test_email_only_author_becomes_participant(kit, world, number):
    email = Actor.system_actor("email", org_id=world.carrier.id)
    entry = kit.messages.post(email, number, "Replied from Outlook", author_email="Dock@Fast.test")
    assert entry.author_email == "Dock@Fast.test"
    assert entry.system == "email"
    with kit.sessions(write=False) as session:
        emails = set(session.scalars(select(tables.participants.c.email)))
    assert "dock@fast.test" in emails


def test_message_with_attachments(kit, world, number):
    entry = kit.messages.post(
        world.carrier_actor,
        number,
        "",
        attachments=[Upload("../../evil/photo.jpg", io.BytesIO(b"jpegbytes"), "image/jpeg")],
    )
    (att,) = entry.attachments
    assert att.filename == "photo.jpg"
    assert att.size == len(b"jpegbytes")
    row, stream = kit.open_attachment(world.shipper_actor, number, att.id)
    with stream:
        assert stream.read() == b"jpegbytes"
    assert row.content_type == "image/jpeg"


def test_a_changes_entries_are_written_in_order_together(kit, world, number):
    """The status move a message causes follows it on the timeline, with its file
    on the message; on a server database the two entries are one INSERT."""
    inserts: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO CASEKIT_ENTRIES"):
            inserts.append(statement)

    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        entry = kit.messages.post(
            world.carrier_actor,
            number,
            "Picked up",
            attachments=[Upload("pod.pdf", io.BytesIO(b"%PDF"), "application/pdf")],
        )
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    assert len(inserts) == (2 if kit.engine.dialect.name == "sqlite" else 1)
    timeline = kit.cases.timeline(world.shipper_actor, number)
    assert [(e.kind.value, e.event.value if e.event else None) for e in timeline] == [
        ("event", "opened"),
        ("message", None),
        ("message", None),
        ("event", "status_changed"),
    ]
    assert [e.id for e in timeline] == sorted(e.id for e in timeline)
    assert timeline[2].id == entry.id
    assert [a.filename for a in timeline[2].attachments] == ["pod.pdf"]
    assert (timeline[3].old_value, timeline[3].new_value) == ("new", "open")
