"""What a page offers an actor on a case: :func:`casekit.domain.policy.allowed`, pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from casekit.domain import policy
from casekit.domain.actor import Actor, ActorKind
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Source
from casekit.domain.workflow import Status

SHIPPER, CARRIER = 1, 2
AGENT = Actor(ActorKind.USER, user_id=10, org_id=SHIPPER)
COLLEAGUE = Actor(ActorKind.USER, user_id=11, org_id=SHIPPER)
MANAGER = Actor(ActorKind.USER, user_id=12, org_id=SHIPPER, is_manager=True)
DISPATCHER = Actor(ActorKind.USER, user_id=20, org_id=CARRIER)
CUSTOMER = Actor(ActorKind.CUSTOMER, customer_id=30)
N, P, C, E = Audience.INTERNAL, Audience.PARTNERS, Audience.CUSTOMER, Audience.EVERYONE


def case(**kw: object) -> Case:
    return Case(
        type=str(kw.pop("type", "lost")),
        source=kw.pop("source", Source.USER),  # type: ignore[arg-type]
        shipper_org_id=SHIPPER,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("actor", "kw", "audiences", "default"),
    [
        # The shipper alone: a note is all that reaches anyone.
        (AGENT, {}, (N,), N),
        # A collaborating carrier: partners.
        (AGENT, {"carrier_org_id": CARRIER}, (N, P), P),
        # A carrier that does not collaborate is offered, not chosen.
        (AGENT, {"carrier_org_id": CARRIER, "carrier_collaborating": False}, (N, P), N),
        # A customer and no carrier: the customer.
        (AGENT, {"customer_id": 30}, (N, C), C),
        # All three on a case the shipper opened: the carrier it works with.
        (AGENT, {"carrier_org_id": CARRIER, "customer_id": 30}, (N, P, C, E), P),
        # The customer's own feedback: the customer, carrier or not.
        (
            AGENT,
            {"carrier_org_id": CARRIER, "customer_id": 30, "source": Source.PORTAL},
            (N, P, C, E),
            C,
        ),
        (
            AGENT,
            {"carrier_org_id": CARRIER, "customer_id": 30, "type": "customer_feedback"},
            (N, P, C, E),
            C,
        ),
        # The carrier answers the shipper, never the customer.
        (DISPATCHER, {"carrier_org_id": CARRIER, "customer_id": 30}, (N, P), P),
        # A customer writes to the shipper.
        (CUSTOMER, {"customer_id": 30}, (C,), C),
        (CUSTOMER, {"customer_id": 30, "carrier_org_id": CARRIER}, (C, E), C),
    ],
)
def test_the_composer_offers_who_it_reaches_and_starts_on_who_is_answered(
    actor: Actor, kw: dict[str, object], audiences: tuple[Audience, ...], default: Audience
) -> None:
    allowed = policy.allowed(actor, case(**kw))
    assert allowed.audiences == audiences
    assert allowed.default_audience is default


def test_the_owner_controls_follow_the_owner_rule() -> None:
    owned = case(carrier_org_id=CARRIER, shipper_owner_id=COLLEAGUE.user_id)
    agent = policy.allowed(AGENT, owned)
    assert (agent.take, agent.hand_over, agent.release) == (False, False, False)
    holder = policy.allowed(COLLEAGUE, owned)
    assert (holder.take, holder.hand_over, holder.release) == (False, True, True)
    manager = policy.allowed(MANAGER, owned)
    assert (manager.take, manager.hand_over, manager.release) == (True, True, True)
    empty = policy.allowed(AGENT, case(carrier_org_id=CARRIER))
    assert (empty.take, empty.hand_over, empty.release) == (True, True, False)
    # The carrier's slot is the carrier's own business.
    dispatcher = policy.allowed(DISPATCHER, owned)
    assert (dispatcher.take, dispatcher.hand_over) == (True, True)


def test_the_other_controls_follow_their_rules() -> None:
    on_case = case(carrier_org_id=CARRIER, customer_id=30, status=Status.WAITING)
    agent = policy.allowed(AGENT, on_case, watcher_ids=(AGENT.user_id, COLLEAGUE.user_id))
    assert agent.removable_watchers == {AGENT.user_id}
    assert policy.allowed(MANAGER, on_case, (11, 12)).removable_watchers == {11, 12}
    assert agent.statuses == (Status.OPEN, Status.REPLY_RECEIVED, Status.SOLVED)
    assert (agent.change_carrier, agent.share, agent.crm_number, agent.work) == (
        True,
        True,
        True,
        True,
    )
    dispatcher = policy.allowed(DISPATCHER, on_case)
    assert dispatcher.statuses == (Status.OPEN, Status.SOLVED)  # not the customer's statuses
    assert (dispatcher.change_carrier, dispatcher.share) == (False, False)
    assert dispatcher.add_watcher
