"""API keys through kit.api_keys: created by managers, shown once, stored hashed, revocable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from casekit import (
    Actor,
    ApiScope,
    InvalidApiKey,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from casekit.store import tables


def test_a_manager_creates_a_key_that_acts_for_the_organization(kit, world, clock):
    created = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name=" CRM sync ", scope="write"
    )
    assert created.key.name == "CRM sync"
    assert created.key.scope is ApiScope.WRITE
    assert created.token.startswith(f"ck_{created.key.public_id}_")

    identity = kit.api_keys.authenticate(created.token)
    assert (identity.org_id, identity.scope, identity.key_id) == (
        world.shipper.id,
        ApiScope.WRITE,
        created.key.id,
    )
    assert identity.allows("read")
    assert identity.allows(ApiScope.WRITE)
    assert not identity.allows("admin")

    # The key's actor works cases like its organization's staff, and only theirs.
    case = kit.cases.open(identity.actor, type="lost", message="Opened through the API")
    assert case.source == "api"
    assert kit.cases.get(world.shipper_actor, case.number).number == case.number
    with pytest.raises(NotFound):
        kit.cases.get(Actor.system_actor("api", org_id=world.carrier.id), case.number)


def test_only_a_hash_of_the_secret_is_stored(kit, world):
    created = kit.api_keys.create(Actor.host(), org_id=world.carrier.id, name="TMS")
    secret = created.token.split("_", 2)[2]
    with kit.engine.connect() as conn:
        stored = conn.execute(select(tables.api_keys)).one()._asdict()
    assert secret not in repr(stored)
    assert created.token not in repr(stored)
    assert len(stored["secret_hash"]) == 64


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "ck_000000000000_" + t.split("_", 2)[2],  # unknown public id
        lambda t: "xx" + t[2:],  # wrong prefix
    ],
)
def test_bad_tokens_get_one_answer(kit, world, mangle):
    created = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="k")
    with pytest.raises(InvalidApiKey, match="invalid API key"):
        kit.api_keys.authenticate(mangle(created.token))


def test_a_revoked_key_is_refused_and_revoking_is_recorded(kit, world, clock):
    created = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="old", scope="admin"
    )
    kit.api_keys.authenticate(created.token)
    clock.advance(timedelta(hours=1))
    revoked = kit.api_keys.revoke(world.shipper_manager_actor, created.key.id)
    assert revoked.revoked_at == clock.now()
    assert revoked.revoked_by == world.shipper_manager_actor.describe()
    assert not revoked.active
    with pytest.raises(InvalidApiKey):
        kit.api_keys.authenticate(created.token)
    clock.advance(timedelta(hours=1))
    again = kit.api_keys.revoke(Actor.host(), created.key.id)
    assert again.revoked_at == revoked.revoked_at


def test_last_used_is_recorded_at_most_once_a_minute(kit, world, clock):
    created = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="k")
    host = Actor.host()
    assert kit.api_keys.list(host, org_id=world.shipper.id)[0].last_used_at is None
    first = clock.now()
    kit.api_keys.authenticate(created.token)
    clock.advance(timedelta(seconds=30))
    kit.api_keys.authenticate(created.token)
    assert kit.api_keys.list(host, org_id=world.shipper.id)[0].last_used_at == first
    clock.advance(timedelta(seconds=31))
    kit.api_keys.authenticate(created.token)
    assert kit.api_keys.list(host, org_id=world.shipper.id)[0].last_used_at == clock.now()


def test_who_manages_keys(kit, world):
    shipper_id = world.shipper.id
    for actor in (
        world.shipper_actor,  # an agent
        world.carrier_manager_actor,  # another organization's manager
        world.customer_actor,
        Actor.system_actor("api", org_id=shipper_id),  # a key cannot mint keys
    ):
        with pytest.raises(PermissionDenied):
            kit.api_keys.create(actor, org_id=shipper_id, name="k")
        with pytest.raises(PermissionDenied):
            kit.api_keys.list(actor, org_id=shipper_id)
    created = kit.api_keys.create(world.shipper_manager_actor, org_id=shipper_id, name="k")
    with pytest.raises(NotFound):
        kit.api_keys.revoke(world.carrier_manager_actor, created.key.id)
    with pytest.raises(NotFound):
        kit.api_keys.revoke(world.shipper_actor, created.key.id)
    with pytest.raises(NotFound):
        kit.api_keys.revoke(world.shipper_manager_actor, 10_000)
    listed = kit.api_keys.list(world.shipper_manager_actor, org_id=shipper_id)
    assert [k.id for k in listed] == [created.key.id]
    assert kit.api_keys.list(world.carrier_manager_actor, org_id=world.carrier.id) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "k", "scope": "root"}, "scope"),
        ({"name": "k", "org_id": 10_000}, "org_id"),
    ],
)
def test_key_input_is_checked(kit, world, kwargs, field):
    kwargs.setdefault("org_id", world.shipper.id)
    with pytest.raises(InvalidInput) as error:
        kit.api_keys.create(Actor.host(), **kwargs)
    assert field in error.value.errors


def test_an_admin_key_manages_its_own_organizations_keys_within_its_scope(kit, world, clock):
    manager, shipper_id = world.shipper_manager_actor, world.shipper.id
    admin = kit.api_keys.authenticate(
        kit.api_keys.create(manager, org_id=shipper_id, name="root", scope="admin").token
    )
    write = kit.api_keys.authenticate(
        kit.api_keys.create(manager, org_id=shipper_id, name="w", scope="write").token
    )
    clock.advance(seconds=5)
    assert admin.scope is ApiScope.ADMIN
    (root,) = [k for k in kit.api_keys.list(manager, org_id=shipper_id) if k.name == "root"]
    assert root.last_used_at is not None  # authenticating records it
    child = kit.api_keys.create(
        admin.actor, org_id=shipper_id, name="child", scope="admin", by_key=admin
    )
    assert child.key.created_by_key_id == admin.key_id
    grandchild = kit.api_keys.create(
        admin.actor,
        org_id=shipper_id,
        name="grandchild",
        scope="read",
        by_key=kit.api_keys.authenticate(child.token),
    )
    listed = kit.api_keys.list(admin.actor, org_id=shipper_id, by_key=admin)
    assert {k.name for k in listed} == {"root", "w", "child", "grandchild"}
    # Another organization's keys: neither created, listed nor revoked.
    carrier_key = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="theirs"
    )
    with pytest.raises(PermissionDenied):
        kit.api_keys.create(admin.actor, org_id=world.carrier.id, name="x", by_key=admin)
    with pytest.raises(PermissionDenied):
        kit.api_keys.list(admin.actor, org_id=world.carrier.id, by_key=admin)
    with pytest.raises(NotFound):
        kit.api_keys.revoke(admin.actor, carrier_key.key.id, by_key=admin)
    # Never a larger scope than its own; and a key below admin manages no keys.
    with pytest.raises(InvalidInput) as caught:
        kit.api_keys.create(write.actor, org_id=shipper_id, name="x", scope="admin", by_key=write)
    assert list(caught.value.errors) == ["scope"]
    with pytest.raises(PermissionDenied):
        kit.api_keys.create(write.actor, org_id=shipper_id, name="x", scope="read", by_key=write)
    with pytest.raises(NotFound):
        kit.api_keys.revoke(write.actor, child.key.id, by_key=write)
    # Revoking a key revokes the keys it created, and theirs; no other.
    revoked = kit.api_keys.revoke(manager, admin.key_id)
    assert revoked.revoked_at is not None
    for token in (child.token, grandchild.token):
        with pytest.raises(InvalidApiKey):
            kit.api_keys.authenticate(token)
    assert kit.api_keys.authenticate(carrier_key.token).org_id == world.carrier.id
    assert kit.api_keys.authenticate(
        kit.api_keys.create(manager, org_id=shipper_id, name="new").token
    )
    (w_key,) = [k for k in kit.api_keys.list(manager, org_id=shipper_id) if k.name == "w"]
    assert w_key.revoked_at is None
