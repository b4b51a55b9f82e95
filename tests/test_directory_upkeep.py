"""Keeping the directory true: renames, roles, leavers, moved addresses, the host's keys."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from casekit import (
    Actor,
    ActorKind,
    ApiScope,
    InvalidApiKey,
    InvalidInput,
    NotFound,
    PermissionDenied,
    UserRole,
)
from casekit.store import tables


@pytest.fixture
def admin(kit, world):
    """An admin of the shipper, and their actor."""
    user = kit.directory.add_user(
        Actor.host(), org_id=world.shipper.id, name="Ada Admin", email="ada@acme.test", role="admin"
    )
    return Actor.of_user(user)


def changes(kit, org_id):
    return [
        (c.subject.value, c.subject_id, c.change, c.old, c.new)
        for c in reversed(kit.directory.changes(Actor.host(), org_id))
    ]


def test_an_admin_renames_and_promotes_a_colleague_audited(kit, world, admin):
    sam = world.shipper_agent.id
    user = kit.directory.update_user(admin, sam, name=" Samuel Shipper ", role="manager")
    assert (user.name, user.role) == ("Samuel Shipper", UserRole.MANAGER)
    assert kit.directory.user(Actor.host(), sam).name == "Samuel Shipper"
    # Unchanged fields are not audited; the changed ones are, with who did it.
    kit.directory.update_user(admin, sam, name="Samuel Shipper", email="SAMUEL@acme.test")
    log = kit.directory.changes(Actor.host(), world.shipper.id)
    assert [(c.change, c.old, c.new) for c in reversed(log[:3])] == [
        ("name", "Sam Shipper", "Samuel Shipper"),
        ("role", "agent", "manager"),
        ("email", "sam@acme.test", "samuel@acme.test"),
    ]
    assert {c.actor for c in log[:3]} == {admin.describe()}
    # The audit trail is the organization's: the carrier reads none of it.
    with pytest.raises(NotFound):
        kit.directory.changes(world.carrier_manager_actor, world.shipper.id)
    assert kit.directory.changes(world.shipper_manager_actor, world.shipper.id)


def test_who_may_change_a_user(kit, world, admin):
    sam = world.shipper_agent.id
    # A manager adds users but does not change them; an agent neither.
    for actor in (world.shipper_manager_actor, world.shipper_actor):
        with pytest.raises(PermissionDenied, match="admins"):
            kit.directory.update_user(actor, sam, name="X")
        with pytest.raises(PermissionDenied, match="admins"):
            kit.directory.deactivate_user(actor, sam)
    # Never across organizations, not even the other organization's admin or key.
    carrier_admin = kit.directory.add_user(
        Actor.host(), org_id=world.carrier.id, name="Cy", email="cy@fast.test", role="admin"
    )
    carrier_key = Actor.system_actor("api", org_id=world.carrier.id)
    for actor in (Actor.of_user(carrier_admin), carrier_key, world.customer_actor):
        with pytest.raises(NotFound):
            kit.directory.update_user(actor, sam, name="X")
        with pytest.raises(NotFound):
            kit.directory.deactivate_user(actor, sam)
        with pytest.raises(NotFound):
            kit.directory.user_by_external_id(actor, "s-1", org_id=world.shipper.id)
    # The shipper's own key and the host may.
    own_key = Actor.system_actor("api", org_id=world.shipper.id)
    assert kit.directory.update_user(own_key, sam, name="By Key").name == "By Key"
    assert kit.directory.update_user(Actor.host(), sam, name="By Host").name == "By Host"
    assert kit.directory.user(Actor.host(), sam).name == "By Host"


def test_changes_are_checked_and_name_the_field(kit, world, admin):
    sam = world.shipper_agent.id
    for kwargs, field in (
        ({"name": "  "}, "name"),
        ({"email": "nobody"}, "email"),
        ({"role": "owner"}, "role"),
        ({"external_id": ""}, "external_id"),
    ):
        with pytest.raises(InvalidInput) as error:
            kit.directory.update_user(admin, sam, **kwargs)
        assert list(error.value.errors) == [field]
    kit.directory.update_user(admin, world.shipper_manager.id, external_id="m-1")
    with pytest.raises(InvalidInput) as error:
        kit.directory.update_user(admin, sam, external_id="m-1")
    assert "is taken" in error.value.errors["external_id"][0]
    assert kit.directory.user(Actor.host(), sam).name == "Sam Shipper"


def test_the_last_admin_stays_unless_the_host_says_otherwise(kit, world, admin):
    own_key = Actor.system_actor("api", org_id=world.shipper.id)
    for actor in (admin, own_key):
        with pytest.raises(InvalidInput) as error:
            kit.directory.update_user(actor, admin.user_id, role="manager")
        assert "last active admin" in error.value.errors["role"][0]
    with pytest.raises(InvalidInput) as error:
        kit.directory.deactivate_user(own_key, admin.user_id)
    assert "last active admin" in error.value.errors["active"][0]
    with pytest.raises(PermissionDenied, match="themselves"):
        kit.directory.deactivate_user(admin, admin.user_id)
    assert kit.directory.user(Actor.host(), admin.user_id).active
    # With a second admin, the first may step down.
    kit.directory.update_user(admin, world.shipper_manager.id, role="admin")
    assert kit.directory.update_user(admin, admin.user_id, role="agent").role is UserRole.AGENT
    # The host always keeps the keys of the directory.
    last = world.shipper_manager.id
    assert kit.directory.update_user(Actor.host(), last, role="agent").role is UserRole.AGENT


def test_a_deactivated_user_keeps_their_history_and_can_no_longer_act(kit, world, admin):
    case = kit.cases.open(world.shipper_actor, type="where_is_my_order", message="Where is it?")
    leaver = world.shipper_agent
    gone = kit.directory.deactivate_user(admin, leaver.id)
    assert (gone.active, gone.deactivated_at) == (False, kit.clock.now())
    # Their history stands, with their name.
    first = kit.cases.timeline(world.shipper_manager_actor, case.number)[0]
    assert first.user_id == leaver.id
    assert kit.directory.user(world.shipper_manager_actor, leaver.id).name == "Sam Shipper"
    assert kit.cases.get(world.shipper_manager_actor, case.number).shipper_owner_id == leaver.id
    # They can neither read nor write.
    actor = Actor.of_user(leaver)
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.cases.get(actor, case.number)
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.messages.post(actor, case.number, "still here?")
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.cases.open(actor, type="where_is_my_order")
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.cases.list(actor)
    assert not kit.directory.may_act(actor)
    assert kit.directory.may_act(world.shipper_manager_actor)
    # They drop out of the pickers and cannot be made owner or watcher.
    assert leaver.id not in [u.id for u in kit.directory.users(world.shipper_manager_actor)]
    with pytest.raises(InvalidInput, match="deactivated"):
        kit.cases.watch(world.shipper_manager_actor, case.number, leaver.id)
    kit.cases.set_owner(world.shipper_manager_actor, case.number, None)
    with pytest.raises(InvalidInput, match="not an active user"):
        kit.cases.set_owner(world.shipper_manager_actor, case.number, leaver.id)
    log = changes(kit, world.shipper.id)
    assert log[-1] == ("user", leaver.id, "active", "true", "false")
    # Deactivating twice changes nothing; reactivating lets them act again.
    kit.directory.deactivate_user(admin, leaver.id)
    assert changes(kit, world.shipper.id) == log
    kit.directory.reactivate_user(admin, leaver.id)
    assert kit.cases.get(actor, case.number).number == case.number
    assert changes(kit, world.shipper.id)[-1] == ("user", leaver.id, "active", "false", "true")


def test_deactivation_revokes_the_keys_the_user_created(kit, world, admin):
    manager = world.shipper_manager_actor
    theirs = kit.api_keys.create(manager, org_id=world.shipper.id, name="theirs", scope="admin")
    identity = kit.api_keys.authenticate(theirs.token)
    child = kit.api_keys.create(
        identity.actor, org_id=world.shipper.id, name="child", scope="read", by_key=identity
    )
    others = kit.api_keys.create(admin, org_id=world.shipper.id, name="others")
    kit.directory.deactivate_user(admin, world.shipper_manager.id)
    for created in (theirs, child):
        with pytest.raises(InvalidApiKey):
            kit.api_keys.authenticate(created.token)
    assert kit.api_keys.authenticate(others.token).scope is ApiScope.READ
    revoked = {k.name: k.revoked_by for k in kit.api_keys.list(admin, org_id=world.shipper.id)}
    assert revoked == {"theirs": admin.describe(), "child": admin.describe(), "others": None}
    # Nor do they manage keys any more.
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.api_keys.create(manager, org_id=world.shipper.id, name="again")


def test_moving_a_customer_keeps_their_cases_and_refuses_a_taken_address(kit, world):
    manager = world.shipper_manager_actor
    case = kit.cases.open(world.customer_actor, message="Broken lamp")
    other = kit.directory.add_customer(
        Actor.host(), shipper_org_id=world.shipper.id, email="other@example.test"
    )
    with pytest.raises(InvalidInput) as error:
        kit.directory.update_customer(manager, world.customer.id, email="OTHER@example.test")
    assert list(error.value.errors) == ["email"]
    assert "another customer" in error.value.errors["email"][0]
    assert kit.directory.customer(manager, world.customer.id).email == "casey@example.test"
    moved = kit.directory.update_customer(manager, world.customer.id, email="casey@new.test")
    assert moved.email == "casey@new.test"
    assert kit.directory.customer_by_email(manager, "casey@new.test").id == world.customer.id
    assert kit.cases.get(world.customer_actor, case.number).customer_id == world.customer.id
    assert changes(kit, world.shipper.id)[-1] == (
        "customer",
        world.customer.id,
        "email",
        "casey@example.test",
        "casey@new.test",
    )
    # Another shipper's customer may have the same address; the carrier moves nobody.
    kit.directory.update_customer(Actor.host(), other.id, name="Olly")
    with pytest.raises(NotFound):
        kit.directory.update_customer(world.carrier_manager_actor, other.id, name="X")
    with pytest.raises(PermissionDenied, match="managers"):
        kit.directory.update_customer(world.shipper_actor, other.id, name="X")
    with pytest.raises(InvalidInput) as error:
        kit.directory.update_customer(manager, other.id, email="@")
    assert list(error.value.errors) == ["email"]


def test_the_host_finds_and_renames_by_its_own_keys(kit, world):
    host = Actor.host()
    kit.directory.update_organization(host, world.shipper.id, name="Acme Goods Ltd")
    assert kit.directory.organization_by_external_id(host, "acme").name == "Acme Goods Ltd"
    with pytest.raises(InvalidInput) as error:
        kit.directory.update_organization(host, world.shipper.id, external_id="fast")
    assert "external_id" in error.value.errors
    with pytest.raises(PermissionDenied):
        kit.directory.update_organization(world.shipper_manager_actor, world.shipper.id, name="X")
    kit.directory.update_user(host, world.shipper_agent.id, external_id="u-7")
    kit.directory.update_user(host, world.carrier_agent.id, external_id="u-7")
    kit.directory.update_customer(host, world.customer.id, external_id="c-1")
    # Users' keys are the organization's: the same key in two organizations needs one named.
    with pytest.raises(InvalidInput) as error:
        kit.directory.user_by_external_id(host, "u-7")
    assert "org_id" in error.value.errors
    found = kit.directory.user_by_external_id(host, "u-7", org_id=world.carrier.id)
    assert found.id == world.carrier_agent.id
    assert (
        kit.directory.user_by_external_id(world.shipper_actor, "u-7").id == world.shipper_agent.id
    )
    assert kit.directory.customer_by_external_id(world.shipper_actor, "c-1").id == world.customer.id
    with pytest.raises(NotFound):
        kit.directory.customer_by_external_id(world.carrier_actor, "c-1")
    # The actors a host's identity loader returns, from its own ids.
    actor = kit.directory.actor_for_external_id("user", "u-7", organization="acme")
    assert actor == Actor.of_user(kit.directory.user(host, world.shipper_agent.id))
    assert kit.directory.actor_for_external_id(ActorKind.CUSTOMER, "c-1") == world.customer_actor
    system = kit.directory.actor_for_external_id("system", "fast")
    assert (system.is_system, system.org_id) == (True, world.carrier.id)
    with pytest.raises(InvalidInput):
        kit.directory.actor_for_external_id("user", "u-7")
    with pytest.raises(NotFound):
        kit.directory.actor_for_external_id("user", "nobody")
    with pytest.raises(InvalidInput) as error:
        kit.directory.actor_for_external_id("robot", "u-7")
    assert "kind" in error.value.errors
    kit.directory.deactivate_user(host, world.shipper_agent.id)
    with pytest.raises(PermissionDenied, match="deactivated"):
        kit.directory.actor_for_external_id("user", "u-7", organization="acme")


def test_additions_are_audited(kit, world):
    with kit.sessions(write=False) as session:
        d = tables.directory_changes.c
        rows = session.execute(
            select(d.subject, d.change, d.new_value, d.actor).where(d.org_id == world.shipper.id)
        ).all()
    assert sorted(rows) == sorted(
        [
            ("organization", "created", "Acme Goods", "system:api"),
            ("user", "created", "Sam Shipper", "system:api"),
            ("user", "created", "Mia Manager", "system:api"),
            ("customer", "created", "casey@example.test", "system:api"),
        ]
    )


def test_a_deactivated_user_is_not_notified(kit, world, admin):
    case = kit.cases.open(
        world.shipper_actor, type="where_is_my_order", carrier=world.carrier.id, message="Where?"
    )
    kit.cases.watch(world.shipper_manager_actor, case.number)

    def notified() -> set[str]:
        o = tables.outbox.c
        with kit.sessions(write=False) as session:
            return set(session.scalars(select(o.email).where(o.entry_id == entry.id)))

    entry = kit.messages.post(world.carrier_actor, case.number, "On its way")
    assert {"sam@acme.test", "mia@acme.test"} <= notified()
    kit.directory.deactivate_user(admin, world.shipper_agent.id)
    entry = kit.messages.post(world.carrier_actor, case.number, "Delivered")
    assert "sam@acme.test" not in notified()
    assert "mia@acme.test" in notified()


def test_a_deactivated_owner_leaves_their_side_to_its_collaborator_address(kit, world, admin):
    kit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,
        carrier_org_id=world.carrier.id,
        side="carrier",
        email="desk@fast.test",
    )
    case = kit.cases.open(
        world.shipper_actor, type="where_is_my_order", carrier=world.carrier.id, message="Where?"
    )
    kit.cases.take(world.carrier_actor, case.number)

    def notified(entry) -> set[str]:
        o = tables.outbox.c
        with kit.sessions(write=False) as session:
            return set(session.scalars(select(o.email).where(o.entry_id == entry.id)))

    owned = notified(kit.messages.post(world.shipper_actor, case.number, "Any news?"))
    assert "cal@fast.test" in owned
    assert "desk@fast.test" not in owned
    kit.directory.deactivate_user(Actor.host(), world.carrier_agent.id)
    left = notified(kit.messages.post(world.shipper_actor, case.number, "Hello?"))
    assert "cal@fast.test" not in left
    assert "desk@fast.test" in left
