"""The host's user sync: kit.directory.sync, an idempotent bulk upsert."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from casekit import (
    Actor,
    CustomerRecord,
    InvalidInput,
    OrganizationRecord,
    PermissionDenied,
    SyncCounts,
    UserRecord,
    UserRole,
)
from casekit.store import tables

ORGS = [
    OrganizationRecord("shop-1", "Corner Shop", "shipper"),
    OrganizationRecord("haul-1", "Quick Haul", "carrier"),
]
USERS = [
    UserRecord("u-1", "shop-1", "Ann Admin", "ann@shop.test", role="admin"),
    UserRecord("u-2", "shop-1", "Ben Agent", "ben@shop.test"),
    UserRecord("u-1", "haul-1", "Hal Hauler", "hal@haul.test"),
]
CUSTOMERS = [CustomerRecord("c-1", "shop-1", "Cleo@Example.test", "Cleo")]


def counts(kit) -> dict[str, int]:
    with kit.sessions(write=False) as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t))
            for t in (tables.organizations, tables.users, tables.customers)
        }


def audit_rows(kit) -> int:
    with kit.sessions(write=False) as session:
        return session.scalar(select(func.count()).select_from(tables.directory_changes))


def test_a_second_run_changes_nothing(kit):
    host = Actor.host()
    first = kit.directory.sync(host, organizations=ORGS, users=USERS, customers=CUSTOMERS)
    assert first.organizations == SyncCounts(created=2)
    assert first.users == SyncCounts(created=3)
    assert first.customers == SyncCounts(created=1)
    assert first.changed
    stored, audited = counts(kit), audit_rows(kit)
    assert stored == {"casekit_organizations": 2, "casekit_users": 3, "casekit_customers": 1}
    assert audited == 6
    again = kit.directory.sync(host, organizations=ORGS, users=USERS, customers=CUSTOMERS)
    assert again.organizations == SyncCounts(unchanged=2)
    assert again.users == SyncCounts(unchanged=3)
    assert again.customers == SyncCounts(unchanged=1)
    assert (again.changed, again.deactivated) == (False, 0)
    assert (counts(kit), audit_rows(kit)) == (stored, audited)
    shop = kit.directory.organization_by_external_id(host, "shop-1")
    ann = kit.directory.user_by_external_id(host, "u-1", org_id=shop.id)
    assert (ann.name, ann.email, ann.role) == ("Ann Admin", "ann@shop.test", UserRole.ADMIN)
    cleo = kit.directory.customer_by_external_id(host, "c-1", shipper_org_id=shop.id)
    assert (cleo.email, cleo.name) == ("cleo@example.test", "Cleo")


def test_changes_update_and_leavers_are_deactivated(kit):
    host = Actor.host()
    kit.directory.sync(host, organizations=ORGS, users=USERS, customers=CUSTOMERS)
    shop = kit.directory.organization_by_external_id(host, "shop-1")
    ben = kit.directory.user_by_external_id(host, "u-2", org_id=shop.id)
    report = kit.directory.sync(
        host,
        organizations=[OrganizationRecord("shop-1", "Corner Shop Ltd", "shipper")],
        users=[
            {
                "external_id": "u-2",
                "organization": "shop-1",
                "name": "Ben Agent",
                "email": "ben@shop.test",
                "active": False,
            },
            UserRecord("u-1", "shop-1", "Ann Admin", "ann@shop.test", role="admin"),
        ],
        customers=[CustomerRecord("c-1", "shop-1", "cleo@new.test", "Cleo")],
    )
    assert report.organizations == SyncCounts(updated=1)
    assert report.users == SyncCounts(updated=1, unchanged=1)
    assert report.customers == SyncCounts(updated=1)
    assert report.deactivated == 1
    gone = kit.directory.user(host, ben.id)
    assert (gone.active, gone.name) == (False, "Ben Agent")
    assert ben.id not in [u.id for u in kit.directory.users(host, shop.id)]
    log = [(c.change, c.old, c.new) for c in kit.directory.changes(host, shop.id)[:3]]
    assert sorted(log) == sorted(
        [
            ("name", "Corner Shop", "Corner Shop Ltd"),
            ("active", "true", "false"),
            ("email", "cleo@example.test", "cleo@new.test"),
        ]
    )
    # Saying they are back reactivates them; the same again changes nothing.
    back = [UserRecord("u-2", "shop-1", "Ben Agent", "ben@shop.test")]
    assert kit.directory.sync(host, users=back).users == SyncCounts(updated=1)
    assert kit.directory.sync(host, users=back).users == SyncCounts(unchanged=1)
    assert kit.directory.user(host, ben.id).active


def test_a_bad_record_names_itself_and_nothing_is_written(kit):
    host = Actor.host()
    cases = [
        ({"users": [UserRecord("u-9", "nowhere", "N", "n@x.test")]}, "users.0.organization"),
        ({"users": [UserRecord("u-9", "shop-1", "N", "nope")]}, "users.0.email"),
        ({"users": [UserRecord("u-9", "shop-1", "N", "n@x.test", role="boss")]}, "users.0.role"),
        ({"users": [UserRecord("", "shop-1", "N", "n@x.test")]}, "users.0.external_id"),
        ({"users": [USERS[0], USERS[0]]}, "users.1.external_id"),
        ({"users": [{"external_id": "u-9", "organisation": "shop-1"}]}, "users.0"),
        ({"users": [{"external_id": "u-9"}]}, "users.0"),
        ({"organizations": [OrganizationRecord("x", "", "shipper")]}, "organizations.0.name"),
        ({"organizations": [OrganizationRecord("haul-1", "Q", "shipper")]}, "organizations.0.role"),
        ({"customers": [CustomerRecord("c-2", "haul-1", "c@x.test")]}, "customers.0.shipper"),
        (
            {
                "customers": [
                    CustomerRecord("c-2", "shop-1", "a@x.test"),
                    CustomerRecord("c-3", "shop-1", "A@x.test"),
                ]
            },
            "customers.1.email",
        ),
    ]
    kit.directory.sync(host, organizations=ORGS)
    before = counts(kit)
    # Written before the bad record is reached, and rolled back with it.
    valid = {
        "organizations": [*ORGS, OrganizationRecord("shop-2", "Second Shop", "shipper")],
        "users": [UserRecord("u-5", "shop-2", "Eve", "eve@shop.test")],
        "customers": [CustomerRecord("c-5", "shop-2", "fay@example.test")],
    }
    for kwargs, field in cases:
        with pytest.raises(InvalidInput) as error:
            kit.directory.sync(host, **{**valid, **kwargs})
        assert field in error.value.errors, (field, error.value.errors)
        assert counts(kit) == before


def test_a_customer_cannot_take_another_customers_address(kit):
    host = Actor.host()
    kit.directory.sync(host, organizations=ORGS, customers=CUSTOMERS)
    with pytest.raises(InvalidInput) as error:
        kit.directory.sync(host, customers=[CustomerRecord("c-2", "shop-1", "cleo@example.test")])
    assert "another customer" in error.value.errors["customers.0.email"][0]
    # Two customers may swap addresses in one run.
    kit.directory.sync(host, customers=[CustomerRecord("c-2", "shop-1", "dan@example.test")])
    swapped = kit.directory.sync(
        host,
        customers=[
            CustomerRecord("c-1", "shop-1", "dan@example.test"),
            CustomerRecord("c-2", "shop-1", "cleo@example.test"),
        ],
    )
    assert swapped.customers == SyncCounts(updated=2)


def test_an_organization_syncs_its_own_people_only(kit):
    host = Actor.host()
    kit.directory.sync(host, organizations=ORGS, users=USERS)
    shop = kit.directory.organization_by_external_id(host, "shop-1")
    haul = kit.directory.organization_by_external_id(host, "haul-1")
    shop_key = Actor.system_actor("api", org_id=shop.id)
    ann = kit.directory.actor_for_external_id("user", "u-1", organization="shop-1")
    ben = kit.directory.actor_for_external_id("user", "u-2", organization="shop-1")
    new = [UserRecord("u-3", "shop-1", "Cat", "cat@shop.test")]
    assert kit.directory.sync(shop_key, users=new).users == SyncCounts(created=1)
    assert kit.directory.sync(ann, users=new).users == SyncCounts(unchanged=1)
    with pytest.raises(PermissionDenied, match="admins"):
        kit.directory.sync(ben, users=new)
    with pytest.raises(PermissionDenied, match="another organization"):
        kit.directory.sync(shop_key, users=[UserRecord("u-1", "haul-1", "X", "x@haul.test")])
    with pytest.raises(PermissionDenied, match="organizations"):
        kit.directory.sync(ann, organizations=ORGS[:1])
    with pytest.raises(PermissionDenied):
        kit.directory.sync(Actor.system_actor("api", org_id=haul.id), customers=CUSTOMERS)
    assert kit.directory.user_by_external_id(host, "u-1", org_id=haul.id).name == "Hal Hauler"
