"""No notification ever leaves its audience, over many generated cases.

A seeded generator plays random changes — opening with each audience,
posting as every kind of actor with every audience and with Cc's, the
customer writing to the shipper or to everyone, the shipper sharing a
customer's entry with the carrier, owners taken, watchers, status moves by
hand, solving and reopening, subscriptions turned off and on, a carrier that
does not collaborate — and after each change the worker delivers through a
capturing plugin. Every notification is then checked against the reading
rules (:func:`~casekit.domain.audience.entry_visible`, all four audiences
and shares), independently of the code that chose the recipients:

- nobody hears of their own change, and nobody twice of one change;
- a user hears only of a case their organization is a collaborating party
  of, and of an internal note only when it is their organization's;
- the customer hears only of ``customer`` and ``everyone`` messages and of
  solving;
- the carrier's people and desk never hear of a message of the shipper's
  conversation with its customer (``customer``), nor read a status of that
  conversation (``reply_received``, ``waiting``);
- a Cc'd address never hears of an internal note;
- every message body a mail carries is one its recipient may read;
- and, the other way round, every owner and watcher who may read a
  message and has not unsubscribed does hear of it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

from casekit import Actor, Audience, CaseKit, InvalidInput, NotFound, PermissionDenied, Side
from casekit.domain.audience import entry_visible
from casekit.testing import CapturedMail, FrozenClock, World, make_kit

SEEDS = range(6)
STEPS = 80
DESKS = {Side.SHIPPER: "desk@acme.test", Side.CARRIER: "desk@fast.test"}


@pytest.fixture
def captured() -> CapturedMail:
    return CapturedMail()


@pytest.fixture
def ckit(
    database_url: str, tmp_path: Path, clock: FrozenClock, kit: CaseKit, captured: CapturedMail
) -> Iterator[CaseKit]:
    capturing = make_kit(
        database_url,
        attachment_dir=tmp_path / "a",
        clock=clock,
        create_schema=False,
        plugins=[captured],
    )
    yield capturing
    capturing.close()


class Game:
    """The world, what each person may read, and the checks after every change."""

    def __init__(self, kit: CaseKit, captured: CapturedMail, rnd: random.Random) -> None:
        self.kit, self.captured, self.rnd = kit, captured, rnd
        self.w = World.build(kit)
        w = self.w
        host = Actor.host()
        for side, address in DESKS.items():
            kit.notifications.set_collaborator_address(
                host,
                shipper_org_id=w.shipper.id,
                carrier_org_id=w.carrier.id,
                side=side,
                email=address,
            )
        self.users = {
            u.id: u
            for u in (w.shipper_agent, w.shipper_manager, w.carrier_agent, w.carrier_manager)
        }
        self.staff = [
            w.shipper_actor,
            w.shipper_manager_actor,
            w.carrier_actor,
            w.carrier_manager_actor,
        ]
        self.cases: list[str] = []
        self.markers = count()
        #: marker -> (audience, author org) of every message body posted
        self.bodies: dict[str, tuple[Audience, int | None]] = {}
        #: markers of the entries the shipper shared with the carrier
        self.shared: set[str] = set()
        self.checked = 0

    # -- moves ----------------------------------------------------------------------
    def body(self, audience: Audience, org_id: int | None) -> str:
        marker = f"marker-{next(self.markers):05d}"
        self.bodies[marker] = (audience, org_id)
        return f"{marker} says hello"

    def step(self) -> None:
        rnd, kit, w = self.rnd, self.kit, self.w
        if not self.cases or rnd.random() < 0.15:
            return self.open()
        number = rnd.choice(self.cases)
        case = kit.cases.get(Actor.host(), number)
        move = rnd.choice(
            [
                *("post", "post", "post", "customer", "customer", "share", "share"),
                *("take", "watch", "status", "solve", "reopen", "subscribe"),
            ]
        )
        actor = rnd.choice(self.staff)
        try:
            if move == "post":
                audience = rnd.choice(list(Audience))
                cc = [f"cc{rnd.randrange(3)}@else.test"] if rnd.random() < 0.3 else []
                self.change(
                    actor,
                    number,
                    audience,
                    lambda: kit.messages.post(
                        actor, number, self.body(audience, actor.org_id), audience=audience, cc=cc
                    ),
                )
            elif move == "customer" and case.customer_id is not None:
                c = w.customer_actor
                said = rnd.choice([None, Audience.CUSTOMER, Audience.EVERYONE])
                audience = Audience.CUSTOMER if said is None else said  # the default: the shipper
                self.change(
                    c,
                    number,
                    audience,
                    lambda: kit.messages.post(c, number, self.body(audience, None), audience=said),
                )
            elif move == "share":
                self.share(actor, number)
            elif move == "status":
                target = rnd.choice(["open", "reply_received", "waiting"])
                self.change(
                    actor, number, None, lambda: kit.cases.change_status(actor, number, target)
                )
            elif move == "take":
                self.change(actor, number, None, lambda: kit.cases.take(actor, number))
            elif move == "watch":
                self.change(actor, number, None, lambda: kit.cases.watch(actor, number))
            elif move == "solve":
                self.change(actor, number, None, lambda: kit.cases.solve(actor, number))
            elif move == "reopen" and case.status == "solved":
                self.change(actor, number, None, lambda: kit.cases.reopen(actor, number))
            elif move == "subscribe":
                event = rnd.choice(
                    ["message_posted", "status_changed", "case_solved", "customer_feedback"]
                )
                kit.notifications.set_subscriptions(actor, {event: rnd.random() < 0.5})
        except (PermissionDenied, NotFound, InvalidInput):
            pass  # not this actor's to do: nothing changed, nothing to check

    def share(self, actor: Actor, number: str) -> None:
        """``actor`` shares a random message for ``customer`` of the case (the
        shipper's staff may; the carrier's are refused)."""
        entries = [
            e
            for e in self.kit.cases.timeline(Actor.host(), number)
            if e.kind == "message" and e.audience is Audience.CUSTOMER
        ]
        if not entries:
            return
        entry = self.rnd.choice(entries)
        self.change(
            actor,
            number,
            None,
            lambda: self.kit.cases.share_with_carrier(actor, number, entry.id),
        )
        self.shared.add(entry.body.split()[0])

    def open(self) -> None:
        rnd, w = self.rnd, self.w
        by_customer = rnd.random() < 0.2
        if by_customer:
            actor = w.customer_actor
            audience = rnd.choice([Audience.CUSTOMER, Audience.EVERYONE])
            args: dict = {}
        else:
            actor = rnd.choice(self.staff)
            audience = rnd.choice([Audience.PARTNERS, Audience.INTERNAL])
            if actor.org_id == w.shipper.id:
                args = {"carrier": w.carrier.id}
                if rnd.random() < 0.5:
                    args["customer"] = w.customer.id
                    audience = rnd.choice(list(Audience))
            else:
                args = {"shipper": w.shipper.id}
            args["carrier_collaborating"] = rnd.random() < 0.8
            args["take_ownership"] = rnd.random() < 0.6
        holder: list[str] = []

        def do() -> None:
            case = self.kit.cases.open(
                actor,
                type="customer_feedback" if by_customer else "lost",
                message=self.body(audience, actor.org_id),
                audience=audience,
                **args,
            )
            holder.append(case.number)

        self.change(actor, None, audience, do)
        self.cases.append(holder[0])

    # -- the checks ------------------------------------------------------------------
    def change(self, actor: Actor, number: str | None, audience: Audience | None, do) -> None:
        before = None
        if number is not None:
            before = self.kit.cases.get(Actor.host(), number)
        self.kit.clock.advance(minutes=1)
        self.captured.outbox.clear()
        do()
        self.kit.notifications.deliver()
        mails = list(self.captured.outbox)
        keys = [(m.user_id, m.customer_id, m.email.lower()) for m in mails]
        assert len(set(keys)) == len(keys), keys
        assert len({m.email.lower() for m in mails}) == len(mails), "two mails to one address"
        for mail in mails:
            self.check(actor, mail)
            # A message's audience, and an opening's whose message is for
            # the customer (an opening as such is for both parties).
            if audience is not None and (number is not None or audience.reaches_customer):
                self.check_message_audience(actor, audience, mail)
        if number is not None and audience is not None and before is not None:
            self.check_complete(actor, number, audience, mails)

    def check(self, actor: Actor, mail) -> None:
        kit = self.kit
        case = kit.cases.get(Actor.host(), mail.case_number)
        self.checked += 1
        assert mail.user_id is None or mail.user_id != actor.user_id, "told of their own change"
        assert mail.customer_id is None or mail.customer_id != actor.customer_id
        text = mail.message.get_payload(0).get_payload(decode=True).decode("utf-8")
        carrier_side = False
        readable_by: tuple[int | None, bool]
        if mail.recipient_kind == "user":
            user = self.users[mail.user_id]
            assert user.org_id in (case.shipper_org_id, case.carrier_org_id)
            if user.org_id == case.carrier_org_id:
                assert case.carrier_collaborating, "a non-collaborating carrier was told"
                carrier_side = True
            readable_by = (user.org_id, False)
        elif mail.recipient_kind == "customer":
            assert mail.customer_id == case.customer_id
            assert mail.event in ("message_posted", "case_opened", "case_solved"), mail.event
            readable_by = (None, True)
        elif mail.recipient_kind == "address":
            side = Side.SHIPPER if mail.email == DESKS[Side.SHIPPER] else Side.CARRIER
            side_org = case.shipper_org_id if side is Side.SHIPPER else case.carrier_org_id
            if side is Side.CARRIER:
                assert case.carrier_collaborating
                carrier_side = True
            assert (
                case.shipper_owner_id if side is Side.SHIPPER else case.carrier_owner_id
            ) is None
            readable_by = (side_org, False)
        else:
            assert mail.recipient_kind == "participant"
            readable_by = (-1, False)  # no organization: never an internal note
        if carrier_side:
            # The statuses of the shipper's conversation with its customer are
            # open to the carrier, in every mail (subject, headers and body).
            whole = mail.message.as_string().lower()
            for status in ("waiting", "reply_received"):
                assert status not in whole, (status, mail.email)
            if mail.event == "status_changed":  # never a move it reads as none
                (old, new), *_ = re.findall(r"from (\w+) to (\w+)", text)
                assert old != new, (mail.email, text)
        for marker, (audience, org) in self.bodies.items():
            if marker in text:
                viewer_org, is_customer = readable_by
                if viewer_org == -1:
                    assert audience is not Audience.INTERNAL, (marker, mail.email)
                else:
                    assert entry_visible(
                        audience,
                        org,
                        viewer_org_id=viewer_org,
                        viewer_is_customer=is_customer,
                        viewer_is_carrier=carrier_side,
                        shared=marker in self.shared,
                    ), (marker, audience, mail.email)

    def check_message_audience(self, actor: Actor, audience: Audience, mail) -> None:
        """A posted message's notifications stay in its audience, body or not."""
        if audience is Audience.EVERYONE:
            return
        if audience is Audience.CUSTOMER:
            # Nothing at all to the carrier's people or desk: not the message,
            # not the status move it makes, which moves the shipper's status
            # only (a solved case stays solved for the carrier, a new one new).
            if mail.recipient_kind == "user":
                assert self.users[mail.user_id].org_id != self.w.carrier.id, mail.email
            assert mail.email != DESKS[Side.CARRIER], "the carrier's desk heard of it"
            return
        assert mail.recipient_kind != "customer", "the customer heard of a partners message"
        if audience is Audience.INTERNAL:
            assert mail.recipient_kind != "participant", "a Cc heard of an internal note"
            if mail.recipient_kind == "user":
                assert self.users[mail.user_id].org_id == actor.org_id
            if mail.recipient_kind == "address":
                own = {Side.SHIPPER: self.w.shipper.id, Side.CARRIER: self.w.carrier.id}
                side = Side.SHIPPER if mail.email == DESKS[Side.SHIPPER] else Side.CARRIER
                assert own[side] == actor.org_id, "another side's desk heard of an internal note"

    def check_complete(self, actor: Actor, number: str, audience: Audience, mails) -> None:
        """After a message: every owner and watcher who may read it, subscribed, hears of it."""
        kit = self.kit
        case = kit.cases.get(Actor.host(), number)
        messages = [e for e in kit.cases.timeline(Actor.host(), number) if e.kind == "message"]
        if not messages or messages[-1].created_at != kit.clock.now():
            return  # the change was no message
        author_org = messages[-1].org_id
        told = {m.user_id for m in mails if m.user_id is not None}
        people = {case.shipper_owner_id, case.carrier_owner_id, *case.watcher_ids}
        for user_id in people - {None, actor.user_id}:
            user = self.users[user_id]
            carrier = user.org_id == case.carrier_org_id
            if carrier and not case.carrier_collaborating:
                continue
            may_read = entry_visible(
                audience,
                author_org,
                viewer_org_id=user.org_id,
                viewer_is_customer=False,
                viewer_is_carrier=carrier,
            )
            if not may_read:
                continue
            subs = {
                s.event.value: s.enabled
                for s in kit.notifications.subscriptions(Actor.host(), user_id)
            }
            heard_as_feedback = (
                actor.is_customer
                and subs["customer_feedback"]
                and user.org_id == case.shipper_org_id
            )
            if subs["message_posted"] or heard_as_feedback:
                assert user_id in told, (user_id, number, audience)


@pytest.mark.parametrize("seed", SEEDS)
def test_no_notification_leaves_its_audience(ckit, captured, seed):
    game = Game(ckit, captured, random.Random(seed))
    for _ in range(STEPS):
        game.step()
    assert game.checked > 20, "the game should have sent mail to check"
