"""The status workflow as pure rules."""

from __future__ import annotations

import pytest

from casekit import Actor, Audience, Category, Status
from casekit.domain.workflow import ACTIVE_STATUSES, can_set_status, status_after_message


def test_categories():
    assert {s for s in Status if s.category is Category.ACTIVE} == ACTIVE_STATUSES
    assert Status.SOLVED.category is Category.SOLVED
    assert Status.REPLY_RECEIVED.label == "Reply received"


@pytest.mark.parametrize("current", list(Status))
def test_customer_message_means_reply_received(current):
    assert (
        status_after_message(current, by_customer=True, audience=Audience.EVERYONE)
        is Status.REPLY_RECEIVED
    )


@pytest.mark.parametrize("current", list(Status))
def test_internal_note_never_moves_status(current):
    assert status_after_message(current, by_customer=False, audience=Audience.INTERNAL) is current


@pytest.mark.parametrize(
    ("current", "audience", "expected"),
    [
        (Status.NEW, Audience.PARTNERS, Status.OPEN),
        (Status.NEW, Audience.EVERYONE, Status.WAITING),
        (Status.OPEN, Audience.PARTNERS, Status.OPEN),
        (Status.OPEN, Audience.EVERYONE, Status.WAITING),
        (Status.REPLY_RECEIVED, Audience.PARTNERS, Status.REPLY_RECEIVED),
        (Status.REPLY_RECEIVED, Audience.EVERYONE, Status.WAITING),
        (Status.WAITING, Audience.PARTNERS, Status.WAITING),
        (Status.SOLVED, Audience.PARTNERS, Status.SOLVED),
        (Status.SOLVED, Audience.EVERYONE, Status.SOLVED),
    ],
)
def test_staff_message_moves(current, audience, expected):
    assert status_after_message(current, by_customer=False, audience=audience) is expected


def test_manual_moves():
    for current in Status:
        assert not can_set_status(current, current)
        assert not can_set_status(current, Status.NEW)
        for target in Status:
            if target not in (current, Status.NEW):
                assert can_set_status(current, target)


def test_actor_kinds():
    host = Actor.host()
    assert host.is_unrestricted
    assert not host.is_staff
    bound = Actor.system_actor("rule", org_id=7)
    assert bound.is_staff
    assert not bound.is_unrestricted
    assert bound.describe() == "system:rule@org:7"
