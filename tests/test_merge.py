"""Merging a duplicate into the original, on every database: what moves and
keeps its audience, what the duplicate becomes, who may merge, which cases
cannot, and where mail to the duplicate lands."""

from __future__ import annotations

import io
import socket
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from test_inbound_replies import SECRET, answer, send
from test_rules import ship

from casekit import (
    Actor,
    CaseKit,
    CaseMerged,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Status,
)
from casekit.attachments import Upload
from casekit.mail.server import InboundServer
from casekit.services.inbound import Outcome
from casekit.store import tables
from casekit.testing import SmtpSink, World


def _events(kit: CaseKit, actor: Actor, number: str) -> list[tuple[str, str | None]]:
    return [
        (str(e.event), e.new_value) for e in kit.cases.timeline(actor, number) if e.kind == "event"
    ]


def test_everything_moves_with_its_audience_and_the_duplicate_goes_for_good(
    kit: CaseKit, world: World
) -> None:
    sam, mia, carl = world.shipper_actor, world.shipper_manager_actor, world.carrier_actor
    customer = world.customer_actor
    ship(kit, world, "SHP-9")
    original = kit.cases.open(
        sam, type="osd_damaged", carrier=world.carrier.id, customer=world.customer.id,
        subject="Crushed pallet", message="Pallet arrived crushed",
    )  # fmt: skip
    dup = kit.cases.open(
        mia, type="osd_damaged", carrier=world.carrier.id, customer=world.customer.id,
        shipment="SHP-9", subject="Crushed pallet again", message="Second report",
    )  # fmt: skip
    shipper_note = kit.messages.post(mia, dup.number, "SHIPPER-NOTE", audience="internal")
    carrier_note = kit.messages.post(carl, dup.number, "CARRIER-NOTE", audience="internal")
    to_customer = kit.messages.post(
        mia, dup.number, "FOR-CUSTOMER", audience="customer",
        attachments=[Upload("photo.jpg", io.BytesIO(b"jpeg"), "image/jpeg")],
    )  # fmt: skip
    kit.cases.watch(carl, dup.number)
    kit.cases.set_crm_number(carl, dup.number, "CARRIER-CRM-1")
    kit.cases.set_crm_number(sam, original.number, "SHIPPER-CRM-O")
    kit.cases.set_crm_number(mia, dup.number, "SHIPPER-CRM-D")
    tag = kit.tags.create(mia, "Duplicate")
    kit.cases.change(mia, dup.number, {"tags": [tag.id]})

    merged = kit.cases.merge(sam, dup.number, into=original.number.lower())
    assert merged.number == original.number

    # The duplicate: solved, says where it went, takes no more changes.
    gone = kit.cases.get(carl, dup.number)
    assert (gone.merged_into, gone.status) == (original.number, Status.SOLVED)
    assert gone.merged_at is not None
    assert _events(kit, carl, dup.number)[-1] == ("merged_into", original.number)
    for write in (
        lambda: kit.messages.post(sam, dup.number, "Still here?"),
        lambda: kit.cases.reopen(sam, dup.number),
        lambda: kit.cases.watch(mia, dup.number),
        lambda: kit.cases.merge(sam, dup.number, into=original.number),
    ):
        with pytest.raises(CaseMerged) as refused:
            write()
        assert (refused.value.number, refused.value.merged_into) == (dup.number, original.number)
        assert original.number in str(refused.value)

    # The original: the duplicate's timeline, each entry read by whom it was before.
    def bodies(actor: Actor) -> set[str]:
        return {e.body for e in kit.cases.timeline(actor, original.number) if e.kind == "message"}

    assert {"SHIPPER-NOTE", "FOR-CUSTOMER", "Second report"} <= bodies(sam)
    assert "CARRIER-NOTE" not in bodies(sam)
    assert "CARRIER-NOTE" in bodies(carl)
    assert not {"SHIPPER-NOTE", "FOR-CUSTOMER"} & bodies(carl)
    assert not {"SHIPPER-NOTE", "CARRIER-NOTE"} & bodies(customer)
    assert "FOR-CUSTOMER" in bodies(customer)
    ids = {e.id for e in kit.cases.timeline(Actor.host(), original.number)}
    assert {shipper_note.id, carrier_note.id, to_customer.id} <= ids
    [moved] = [e for e in kit.cases.timeline(sam, original.number) if e.id == to_customer.id]
    assert [a.filename for a in moved.attachments] == ["photo.jpg"]
    # Audited on both for everyone who sees them, the customer included.
    for actor in (sam, carl, customer):
        assert ("merged_from", dup.number) in _events(kit, actor, original.number)
        assert kit.cases.get(actor, original.number).merged_into is None
    # Watchers, CRM numbers (each side its own; the original's kept), tags, the shipment.
    assert world.carrier_agent.id in kit.cases.get(carl, original.number).watcher_ids
    assert kit.cases.get(carl, original.number).crm_number == "CARRIER-CRM-1"
    assert kit.cases.get(sam, original.number).crm_number == "SHIPPER-CRM-O"
    assert [t.name for t in kit.cases.get(sam, original.number).tags] == ["Duplicate"]
    assert kit.cases.get(carl, original.number).tags == ()
    assert ("shipment_linked", "SHP-9") in _events(kit, sam, original.number)
    assert kit.cases.facts(sam, original.number).shipment is not None
    # The original's latest message is the later of the two.
    assert kit.cases.get(sam, original.number).latest_message_at == to_customer.created_at
    with kit.engine.connect() as conn:
        e = tables.entries.c
        left = conn.scalar(select(func.count()).where(e.case_id == gone.id))
    assert left == 4  # opened, solved (as each side reads it), merged_into
    assert [k for k, _ in _events(kit, sam, dup.number)] == [
        EventKind.OPENED.value,
        EventKind.SOLVED.value,
        EventKind.MERGED_INTO.value,
    ]


def test_who_may_merge_and_which_cases_cannot(kit: CaseKit, world: World) -> None:
    sam, carl = world.shipper_actor, world.carrier_actor
    other = World.build(kit, tag="2")

    def case(actor: Actor, **parties: int) -> str:
        return kit.cases.open(actor, type="osd_damaged", message="Hi", **parties).number

    with_carrier = case(sam, carrier=world.carrier.id)
    with_carrier_2 = case(sam, carrier=world.carrier.id)
    no_carrier = case(sam)
    other_carrier = case(sam, carrier=other.carrier.id)
    with_customer = case(sam, customer=world.customer.id)
    someone = kit.directory.add_customer(
        Actor.host(), shipper_org_id=world.shipper.id, email="other@customer.test"
    )
    other_customer = case(sam, customer=someone.id or 0)
    other_shipper = case(other.shipper_actor, carrier=world.carrier.id)

    def refused(error: type[Exception], actor: Actor, dup: str, into: str) -> Exception:
        with pytest.raises(error) as raised:
            kit.cases.merge(actor, dup, into=into)
        return raised.value

    # Never a customer, not even on two cases of their own.
    also_customer = case(sam, customer=world.customer.id)
    refused(PermissionDenied, world.customer_actor, with_customer, also_customer)
    # The carrier's staff only where it is the carrier of both (the other is not there).
    assert list(refused(InvalidInput, carl, with_carrier, no_carrier).errors) == ["into"]  # type: ignore[attr-defined]
    # The carrier of both shippers' cases still cannot merge across shippers.
    problem = refused(InvalidInput, carl, with_carrier, other_shipper)
    assert problem.errors == {"into": ["cases of different shippers cannot be merged"]}  # type: ignore[attr-defined]
    # The original has every party of the duplicate.
    for dup, into, words in (
        (with_carrier, other_carrier, "carrier"),
        (with_carrier, no_carrier, "carrier"),
        (with_customer, other_customer, "another customer"),
        (with_customer, no_carrier, "another customer"),
        (with_carrier, with_carrier, "itself"),
    ):
        problem = refused(InvalidInput, sam, dup, into)
        assert words in problem.errors["into"][0]  # type: ignore[attr-defined]
    # An original nobody named, or one the actor cannot see: 400 on ``into``, alike.
    for into in ("", "CV999999", other_shipper):
        problem = refused(InvalidInput, sam, no_carrier, into)
        assert list(problem.errors) == ["into"]  # type: ignore[attr-defined]
    refused(NotFound, sam, other_shipper, no_carrier)
    # The carrier of both merges; a duplicate without a carrier into one with.
    assert kit.cases.merge(carl, with_carrier_2, into=with_carrier).number == with_carrier
    assert kit.cases.merge(sam, no_carrier, into=with_carrier).number == with_carrier
    # A case merged away is no original: name the one it went into.
    problem = refused(InvalidInput, sam, other_carrier, no_carrier)
    assert "merged into another" in problem.errors["into"][0]  # type: ignore[attr-defined]
    allowed = kit.cases.allowed
    assert allowed(sam, with_carrier).merge
    assert allowed(carl, with_carrier).merge
    assert not allowed(sam, no_carrier).merge  # merged away
    assert not allowed(world.customer_actor, with_customer).merge


@pytest.fixture
def mkit(mailing_kit: Callable[..., CaseKit]) -> CaseKit:
    return mailing_kit(reply_address="reply@inbound.acme.test", reply_secrets=(SECRET,))


def test_mail_answering_the_duplicate_lands_on_the_original(mkit: CaseKit, sink: SmtpSink) -> None:
    w = World.build(mkit)
    sam = w.shipper_actor
    original = mkit.cases.open(sam, type="where_is_my_order", customer=w.customer.id, message="Hi")
    dup = mkit.cases.open(sam, type="where_is_my_order", customer=w.customer.id, message="Hi")
    mkit.messages.post(sam, dup.number, "Where is it?", audience="everyone")
    mkit.notifications.deliver()
    mail = sink.to(w.customer.email)[-1]
    assert dup.number in str(mail["Subject"])
    mkit.cases.merge(sam, dup.number, into=original.number)
    # The merge mails nobody; the parties read it on the timelines.
    mkit.notifications.deliver()
    assert sink.to(w.customer.email)[-1] is mail
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = InboundServer(mkit, port=port)
    server.start()
    try:
        # The token of the duplicate's mail, then its thread alone (no token).
        result = send(server, answer(mail, w.customer.email, "It came, thanks!"))
        assert (result.outcome, result.case_number) == (Outcome.APPENDED, original.number)
        threaded = answer(mail, w.customer.email, "And the invoice?", to="shop@acme.test")
        result = send(server, threaded)
        assert (result.outcome, result.case_number) == (Outcome.APPENDED, original.number)
    finally:
        server.stop()
    landed = [e for e in mkit.cases.timeline(sam, original.number) if e.kind == "message"]
    assert [e.body for e in landed][-2:] == ["It came, thanks!", "And the invoice?"]
    assert landed[-1].customer_id == w.customer.id
    assert mkit.cases.get(sam, original.number).status is Status.REPLY_RECEIVED
