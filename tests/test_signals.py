"""Signals: what each operation announces, with what, and only after it has committed."""

from __future__ import annotations

import io
import logging

import blinker
import pytest

from casekit import (
    Audience,
    CaseView,
    Conflict,
    EntryView,
    EventKind,
    InvalidInput,
    PermissionDenied,
    Side,
    Status,
    Upload,
    signals,
)
from casekit.testing import make_kit


class Received:
    """Every signal casekit sends while connected: (name, sender, kwargs)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, dict]] = []
        self._receivers = []

    def connect(self) -> None:
        # The case signals; the notification signals are tested in test_notify.py.
        for signal in signals.CASE_SIGNALS:

            def receive(sender, _name=signal.name, **kwargs):
                self.calls.append((_name, sender, kwargs))

            signal.connect(receive, weak=False)
            self._receivers.append((signal, receive))

    def disconnect(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def only(self, name: str) -> dict:
        found = [kwargs for n, _, kwargs in self.calls if n == name]
        assert len(found) == 1, (name, self.names())
        return found[0]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def received():
    recorder = Received()
    recorder.connect()
    yield recorder
    recorder.disconnect()


@pytest.fixture
def connect():
    """Connect a receiver to a signal for this test only."""
    connected = []

    def do(signal, receiver, **options):
        signal.connect(receiver, weak=False, **options)
        connected.append((signal, receiver))
        return receiver

    yield do
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def case(kit, world):
    return kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is the order?",
    )


# -- the signals themselves -----------------------------------------------------------


def test_the_signals_live_in_casekits_own_namespace():
    names = [s.name for s in signals.ALL_SIGNALS]
    assert names == [
        "case-opened",
        "case-updated",
        "status-changed",
        "case-solved",
        "case-reopened",
        "message-posted",
        "owner-changed",
        "watcher-changed",
        "carrier-changed",
        "priority-changed",
        "tags-changed",
        "custom-fields-changed",
        "action-recorded",
        "claim-recorded",
        "notification-queued",
        "notification-sent",
        "notification-failed",
        "webhook-queued",
        "delivery-attempted",
        "mail-received",
        "rules-swept",
    ]
    for signal in signals.ALL_SIGNALS:
        assert signals.casekit_signals[signal.name] is signal
        assert blinker.signal(signal.name) is not signal  # not blinker's default namespace
        assert signal.__doc__


def test_send_calls_every_receiver_and_logs_one_that_fails(connect, caplog):
    signal = signals.casekit_signals.signal("test-only-send")
    calls = []

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    def fine(sender, **kwargs):
        calls.append((sender, kwargs))
        return "ignored"

    connect(signal, broken)
    connect(signal, fine)
    with caplog.at_level(logging.ERROR, logger="casekit.signals"):
        signals.send(signal, "the-sender", value=1)
    assert calls == [("the-sender", {"value": 1})]
    [record] = [r for r in caplog.records if r.name == "casekit.signals"]
    assert "test-only-send" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_send_without_receivers_does_nothing():
    signals.send(signals.casekit_signals.signal("test-only-empty"), object(), value=1)


def test_send_honours_the_sender_a_receiver_chose(connect):
    signal = signals.casekit_signals.signal("test-only-sender")
    mine, theirs = object(), object()
    calls = []
    connect(signal, lambda sender, **kw: calls.append(sender), sender=mine)
    signals.send(signal, theirs)
    signals.send(signal, mine)
    assert calls == [mine]


# -- what each operation sends --------------------------------------------------------


def test_open_sends_case_opened_with_the_first_message(kit, world, received):
    opened = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Lost pallet"
    )
    # The case is announced before its first message.
    assert received.names() == ["case-opened", "message-posted"]
    for _name, sender, _kwargs in received.calls:
        assert sender is kit
    kwargs = received.only("case-opened")
    assert set(kwargs) == {"case", "actor", "message"}
    assert isinstance(kwargs["case"], CaseView)
    assert kwargs["case"].number == opened.number
    assert kwargs["case"].status is Status.NEW
    assert kwargs["actor"] == world.shipper_actor
    assert isinstance(kwargs["message"], EntryView)
    assert kwargs["message"].body == "Lost pallet"
    assert kwargs["message"].case_number == opened.number
    assert received.only("message-posted")["message"] == kwargs["message"]


def test_open_without_a_message_sends_message_none(kit, world, received):
    kit.cases.open(world.shipper_actor, type="lost")
    assert received.names() == ["case-opened"]
    assert received.only("case-opened")["message"] is None


def test_the_case_is_the_hosts_view(kit, world, received):
    """Even when a customer acts, receivers get the unrestricted view of the case."""
    opened = kit.cases.open(world.customer_actor, message="My parcel is late")
    kwargs = received.only("case-opened")
    assert kwargs["actor"] == world.customer_actor
    assert opened.shipper_owner_id is None  # the customer sees no owners...
    kit.cases.take(world.shipper_actor, opened.number)
    received.clear()
    kit.messages.post(world.customer_actor, opened.number, "Any news?")
    # ...but the host's view handed to receivers shows them
    assert received.only("message-posted")["case"].shipper_owner_id == world.shipper_agent.id


def test_posting_on_a_new_case_moves_it_to_open(kit, world, case, received):
    entry = kit.messages.post(world.carrier_actor, case.number, "On its way")
    # One case-updated for the one change (the message), however much it moved.
    assert received.names() == ["status-changed", "message-posted", "case-updated"]
    status = received.only("status-changed")
    assert (status["old"], status["new"]) == (Status.NEW, Status.OPEN)
    assert status["actor"] == world.carrier_actor
    assert status["case"].status is Status.OPEN
    posted = received.only("message-posted")
    assert posted["message"] == entry
    assert posted["message"].body == "On its way"
    assert received.only("case-updated")["change"] == "message"


def test_posting_without_a_status_move_sends_message_posted_only(kit, world, case, received):
    kit.messages.post(
        world.shipper_actor, case.number, "Called the carrier", audience=Audience.INTERNAL
    )
    assert received.names() == ["message-posted", "case-updated"]
    assert received.only("message-posted")["message"].audience is Audience.INTERNAL
    assert received.only("case-updated")["change"] == "message"


def test_a_customer_message_on_a_solved_case_reopens_it(kit, world, case, received):
    kit.cases.solve(world.shipper_actor, case.number)
    received.clear()
    kit.messages.post(world.customer_actor, case.number, "It still has not arrived")
    assert received.names() == [
        "status-changed",
        "case-reopened",
        "message-posted",
        "case-updated",
    ]
    assert received.only("case-reopened")["new"] is Status.REPLY_RECEIVED
    status = received.only("status-changed")
    assert (status["old"], status["new"]) == (Status.SOLVED, Status.REPLY_RECEIVED)


def test_solve_sends_status_changed_case_solved_and_case_updated(kit, world, case, received):
    kit.cases.solve(world.carrier_actor, case.number)
    assert received.names() == ["status-changed", "case-solved", "case-updated"]
    status = received.only("status-changed")
    assert (status["old"], status["new"]) == (Status.NEW, Status.SOLVED)
    solved = received.only("case-solved")
    assert set(solved) == {"case", "actor"}
    assert solved["actor"] == world.carrier_actor
    assert solved["case"].status is Status.SOLVED
    assert solved["case"].solved_by == f"user:{world.carrier_agent.id}"
    assert received.only("case-updated")["change"] is EventKind.SOLVED


def test_reopen_sends_case_reopened(kit, world, case, received):
    kit.cases.solve(world.shipper_actor, case.number)
    received.clear()
    kit.cases.reopen(world.shipper_actor, case.number, status=Status.WAITING)
    assert received.names() == ["status-changed", "case-reopened", "case-updated"]
    assert received.only("case-reopened")["new"] is Status.WAITING
    assert received.only("case-reopened")["case"].status is Status.WAITING
    assert received.only("case-updated")["change"] is EventKind.REOPENED


def test_set_owner_sends_owner_changed(kit, world, case, received):
    kit.cases.set_owner(world.shipper_actor, case.number, world.shipper_manager.id)
    assert received.names() == ["owner-changed", "case-updated"]
    owner = received.only("owner-changed")
    assert owner["side"] is Side.SHIPPER
    assert owner["old"] == world.shipper_agent.id
    assert owner["new"] == world.shipper_manager.id
    assert owner["case"].shipper_owner_id == world.shipper_manager.id
    assert received.only("case-updated")["change"] is EventKind.OWNER_CHANGED


def test_taking_an_empty_slot_sends_old_none(kit, world, case, received):
    kit.cases.take(world.carrier_actor, case.number)
    owner = received.only("owner-changed")
    assert (owner["side"], owner["old"], owner["new"]) == (
        Side.CARRIER,
        None,
        world.carrier_agent.id,
    )


def test_no_change_no_signal(kit, world, case, received):
    kit.cases.set_owner(world.shipper_actor, case.number, world.shipper_agent.id)  # already
    kit.cases.watch(world.carrier_actor, case.number)
    received.clear()
    kit.cases.watch(world.carrier_actor, case.number)  # already watching
    kit.cases.change_type(world.shipper_actor, case.number, "where_is_my_order")  # same type
    assert received.names() == []


def test_watch_and_unwatch_send_watcher_changed(kit, world, case, received):
    kit.cases.watch(world.carrier_actor, case.number)
    assert received.names() == ["watcher-changed", "case-updated"]
    watched = received.only("watcher-changed")
    assert (watched["user_id"], watched["watching"]) == (world.carrier_agent.id, True)
    assert world.carrier_agent.id in watched["case"].watcher_ids
    assert received.only("case-updated")["change"] is EventKind.WATCHER_ADDED
    received.clear()
    kit.cases.unwatch(world.carrier_actor, case.number)
    unwatched = received.only("watcher-changed")
    assert (unwatched["user_id"], unwatched["watching"]) == (world.carrier_agent.id, False)
    assert unwatched["case"].watcher_ids == ()
    assert received.only("case-updated")["change"] is EventKind.WATCHER_REMOVED


def test_change_type_sends_case_updated(kit, world, case, received):
    kit.cases.change_type(world.shipper_actor, case.number, "lost")
    updated = received.only("case-updated")
    assert received.names() == ["case-updated"]
    assert updated["change"] is EventKind.TYPE_CHANGED
    assert updated["case"].type == "lost"


def test_receivers_for_one_kit_hear_nothing_from_another(
    kit, world, case, database_url, tmp_path, clock, connect
):
    other = make_kit(
        database_url, attachment_dir=tmp_path / "other", clock=clock, create_schema=False
    )
    heard = []
    connect(signals.case_solved, lambda sender, **kw: heard.append(sender), sender=kit)
    try:
        other.cases.solve(world.shipper_actor, case.number)
        assert heard == []
        kit.cases.reopen(world.shipper_actor, case.number)
        kit.cases.solve(world.shipper_actor, case.number)
        assert heard == [kit]
    finally:
        other.close()


# -- failing receivers -----------------------------------------------------------------


def test_a_failing_receiver_is_logged_and_the_operation_commits(
    kit, world, case, connect, received, caplog
):
    def broken(sender, **kwargs):
        raise RuntimeError("the host's receiver is broken")

    connect(signals.case_solved, broken)
    connect(signals.status_changed, broken)
    with caplog.at_level(logging.ERROR, logger="casekit.signals"):
        solved = kit.cases.solve(world.shipper_actor, case.number)
    assert solved.status is Status.SOLVED
    assert kit.cases.get(world.carrier_actor, case.number).status is Status.SOLVED
    logged = [r for r in caplog.records if r.name == "casekit.signals"]
    assert sorted(r.getMessage() for r in logged) == [
        "casekit: a receiver of the 'case-solved' signal failed",
        "casekit: a receiver of the 'status-changed' signal failed",
    ]
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in logged)
    # the other receivers still heard every signal
    assert received.names() == ["status-changed", "case-solved", "case-updated"]


def test_a_failing_receiver_does_not_break_opening(kit, world, connect, caplog):
    def broken(sender, **kwargs):
        raise ValueError("nope")

    connect(signals.case_opened, broken)
    with caplog.at_level(logging.ERROR, logger="casekit.signals"):
        opened = kit.cases.open(world.shipper_actor, type="lost", message="hello")
    assert kit.cases.get(world.shipper_actor, opened.number).number == opened.number
    assert any("case-opened" in r.getMessage() for r in caplog.records)


# -- no signal without a commit --------------------------------------------------------


def test_no_signal_when_the_operation_is_denied(kit, world, case, received):
    with pytest.raises(PermissionDenied):
        # only the shipper's staff write to the shipper's customer
        kit.messages.post(
            world.carrier_actor, case.number, "Hello customer", audience=Audience.EVERYONE
        )
    with pytest.raises(PermissionDenied):
        kit.cases.solve(world.customer_actor, case.number)
    with pytest.raises(PermissionDenied):
        kit.cases.set_owner(world.carrier_actor, case.number, None, side=Side.SHIPPER)
    assert received.names() == []


def test_no_signal_when_the_operation_rolls_back(kit, world, case, database_url, tmp_path, clock):
    small = make_kit(
        database_url,
        attachment_dir=tmp_path / "small",
        clock=clock,
        create_schema=False,
        max_attachment_bytes=10,
    )
    recorder = Received()
    recorder.connect()
    try:
        # the message row is written, then the attachment is refused: all rolls back
        with pytest.raises(InvalidInput):
            small.messages.post(
                world.carrier_actor,
                case.number,
                "Photo",
                attachments=[Upload("big.bin", io.BytesIO(b"x" * 11))],
            )
        with pytest.raises(InvalidInput):
            small.cases.open(
                world.shipper_actor,
                type="lost",
                message="with a big file",
                attachments=[Upload("big.bin", io.BytesIO(b"x" * 11))],
            )
    finally:
        recorder.disconnect()
        small.close()
    assert recorder.names() == []
    assert kit.cases.get(world.shipper_actor, case.number).status is Status.NEW
    assert len(kit.cases.list(world.shipper_actor)) == 1


def test_no_signal_on_a_conflict(kit, world, case, received):
    kit.cases.change_type(world.shipper_actor, case.number, "lost")
    received.clear()
    with pytest.raises(Conflict):
        kit.cases.solve(world.shipper_actor, case.number, expected_version=case.version)
    assert received.names() == []


# -- after commit ------------------------------------------------------------------------


def test_signals_are_sent_after_commit(kit, world, case, connect):
    """A receiver reading through a new transaction already sees the change."""
    seen = {}

    def on_solved(sender, case, actor):
        seen["status"] = sender.cases.get(actor, case.number).status
        seen["timeline"] = [e.event for e in sender.cases.timeline(actor, case.number)]

    def on_posted(sender, case, actor, message):
        bodies = [e.body for e in sender.cases.timeline(actor, case.number)]
        seen["posted"] = message.body in bodies

    def on_opened(sender, case, actor, message):
        seen["opened"] = sender.cases.get(actor, case.number).number

    connect(signals.case_solved, on_solved)
    connect(signals.message_posted, on_posted)
    connect(signals.case_opened, on_opened)
    kit.cases.solve(world.shipper_actor, case.number)
    assert seen["status"] is Status.SOLVED
    assert EventKind.SOLVED in seen["timeline"]
    kit.messages.post(world.shipper_actor, case.number, "Closing note")
    assert seen["posted"] is True
    opened = kit.cases.open(world.shipper_actor, type="cancel")
    assert seen["opened"] == opened.number


def test_a_receiver_can_change_the_case_it_heard_about(kit, world, case, connect):
    """The case's lock is released before receivers run: they can write to it."""

    def auto_watch(sender, case, actor):
        sender.cases.watch(actor, case.number)

    connect(signals.case_solved, auto_watch)
    kit.cases.solve(world.carrier_actor, case.number)
    after = kit.cases.get(world.carrier_actor, case.number)
    assert after.watcher_ids == (world.carrier_agent.id,)


def test_the_operation_signals_tell_the_work_and_no_case(kit, world):
    from casekit.testing import SignalRecorder

    with SignalRecorder(signals.OPERATION_SIGNALS) as recorded:
        kit.inbound.receive(b"From: a@b.test\r\nTo: c@d.test\r\nSubject: hi\r\n\r\nHello\r\n")
        kit.rules.sweep()
    assert recorded.names() == ["mail-received", "rules-swept"]
    [received] = recorded.of(signals.mail_received)
    assert received == {"outcome": "triaged"}
    [swept] = recorded.of(signals.rules_swept)
    assert set(swept) == {"seconds", "opened"}
    assert swept["opened"] == 0
    assert swept["seconds"] >= 0
