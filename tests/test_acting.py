"""A deactivated user can no longer act, through any service (casekit.store.acting)."""

from __future__ import annotations

import inspect
import re

import pytest
from sqlalchemy import event

from casekit import Actor, NotFound, PermissionDenied
from casekit.kit import CaseKit
from casekit.services.base import Service
from casekit.settings import Settings
from casekit.store.host import HostTransaction

RULE = {"name": "Damaged", "exceptions": ["damaged"], "case_type": "osd_damaged"}
#: The session's own read of the acting user (when no statement carries the check).
CHECK = re.compile(r"\ASELECT casekit_users\.active\s+FROM casekit_users\s+WHERE")


def _calls(kit, world):
    """What a shipper's manager does beside cases: each a (name, call) pair."""
    me, org = world.shipper_manager_actor, world.shipper.id
    return [
        ("views.save", lambda: kit.views.save(me, "Mine", {"view": "all_cases"})),
        ("views.saved", lambda: kit.views.saved(me)),
        ("views.list", lambda: kit.views.list(me, {"view": "all_cases"})),
        ("views.export_csv", lambda: list(kit.views.export_csv(me))),
        ("rules.create", lambda: kit.rules.create(me, RULE)),
        ("rules.list", lambda: kit.rules.list(me)),
        ("webhooks.list", lambda: kit.webhooks.list(me)),
        ("notifications.set_subscriptions", lambda: kit.notifications.set_subscriptions(
            me, {"message_posted": False})),
        ("notifications.subscriptions", lambda: kit.notifications.subscriptions(me)),
        ("notifications.templates", lambda: kit.notifications.templates(me)),
        ("directory.set_feedback_portal", lambda: kit.directory.set_feedback_portal(
            me, org, True)),
        ("directory.organization", lambda: kit.directory.organization(me, org)),
        ("api_keys.create", lambda: kit.api_keys.create(me, org_id=org, name="ci")),
        ("api_keys.list", lambda: kit.api_keys.list(me, org_id=org)),
        ("service_levels.targets", lambda: kit.service_levels.targets(me)),
        ("canned_replies.save", lambda: kit.canned_replies.save(
            me, title="Thanks", body="Thank you.", audience="customer")),
        ("canned_replies.list", lambda: kit.canned_replies.list(me)),
    ]  # fmt: skip


def test_a_deactivated_user_is_refused_by_every_service_and_changes_nothing(kit, world, admin):
    manager = world.shipper_manager
    kit.directory.deactivate_user(admin, manager.id)
    calls, refused = _calls(kit, world), []
    for name, call in calls:
        try:
            call()
        except PermissionDenied as error:
            if "deactivated" in str(error):
                refused.append(name)
    assert refused == [name for name, _ in calls]
    org = world.shipper.id
    assert kit.directory.organization(Actor.host(), org).feedback_portal is False
    assert [k.name for k in kit.api_keys.list(admin, org_id=org)] == []
    assert kit.rules.list(Actor.host(), org_id=org) == []
    assert kit.webhooks.list(Actor.host(), org_id=org) == []
    # Reactivated, they may do it all again: each call above is one that works.
    kit.directory.reactivate_user(admin, manager.id)
    for _name, call in _calls(kit, world):
        call()
    assert [v.name for v in kit.views.saved(world.shipper_manager_actor)] == ["Mine"]
    assert kit.directory.organization(Actor.host(), org).feedback_portal is True


def test_every_public_method_that_takes_an_actor_acts_for_it(kit) -> None:
    services = [v for v in vars(kit).values() if isinstance(v, Service)]
    assert len(services) >= 11
    asking = []
    for service in services:
        for name, member in inspect.getmembers(type(service), inspect.isfunction):
            if not name.startswith("_") and "actor" in inspect.signature(member).parameters:
                assert getattr(member, "__casekit_acts__", False), (service, name)
                if "__casekit_acts__" in vars(inspect.unwrap(member)):
                    asking.append(name)
    # Only this one asks about its actor rather than acting for them.
    assert asking == ["may_act"]


def test_a_case_read_carries_the_check_and_still_refuses(kit, world, admin):
    case = kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
    checks: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if CHECK.search(statement):
            checks.append(statement)

    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        kit.messages.post(world.shipper_actor, case.number, "Any news?")
        kit.cases.change_status(world.shipper_actor, case.number, "waiting")
        kit.cases.get(world.shipper_actor, case.number)
        kit.cases.list(world.shipper_actor)
        kit.cases.open(world.shipper_actor, type="lost", message="Another")
        # The statement that reads (or locks) the case, the page of cases, or the
        # organizations, checked.
        assert checks == []
        with pytest.raises(NotFound):
            kit.cases.get(world.shipper_actor, "CV999999")
        assert len(checks) == 1  # found nothing: was the actor the reason?
        kit.directory.deactivate_user(admin, world.shipper_agent.id)
        actor = Actor.of_user(world.shipper_agent)
        for call in (
            lambda: kit.messages.post(actor, case.number, "Still here?"),
            lambda: kit.cases.solve(actor, case.number),
            lambda: kit.cases.get(actor, case.number),
            lambda: kit.cases.get(actor, "CV999999"),  # refused, not NotFound
            lambda: kit.cases.list(actor),
            lambda: kit.cases.open(actor, type="lost", message="Again"),
            lambda: kit.open_attachment(actor, case.number, 1),
        ):
            with pytest.raises(PermissionDenied, match="deactivated"):
                call()
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    assert [e.body for e in kit.cases.timeline(Actor.host(), case.number) if e.body][-1] == (
        "Any news?"
    )


def test_another_process_deactivating_a_user_refuses_them_at_once(
    kit, world, admin, database_url, tmp_path
):
    """Nothing is remembered between calls: a second kit (another process's)
    deactivates, and this kit's very next call is refused."""
    case = kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
    assert kit.cases.get(world.shipper_actor, case.number).number == case.number
    other = CaseKit(
        settings=Settings(
            database_url=database_url, attachment_dir=tmp_path, load_entry_points=False
        )
    )
    try:
        other.directory.deactivate_user(admin, world.shipper_agent.id)
    finally:
        other.close()
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.cases.get(world.shipper_actor, case.number)
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.views.saved(world.shipper_actor)


def test_a_kit_on_the_hosts_transaction_refuses_a_deactivated_user(kit, world, admin):
    kit.directory.deactivate_user(admin, world.shipper_manager.id)
    with kit.engine.connect() as conn, conn.begin():
        bound = kit.bind(conn)
        with pytest.raises(PermissionDenied, match="deactivated"):
            bound.views.save(world.shipper_manager_actor, "Mine", {"view": "all_cases"})
        with pytest.raises(PermissionDenied, match="deactivated"):
            bound.cases.open(world.shipper_manager_actor, type="lost", message="Hi")
        assert bound.views.saved(world.shipper_actor) == []
    assert isinstance(bound.sessions.host, HostTransaction)
