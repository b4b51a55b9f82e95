"""Organizations, users and customers through kit.directory."""

from __future__ import annotations

import pytest

from casekit import Actor, InvalidInput, NotFound, OrgRole, PermissionDenied, UserRole


def test_host_maps_its_accounts(kit, clock):
    host = Actor.host()
    org = kit.directory.add_organization(host, name=" Acme ", role="shipper", external_id="a-1")
    assert (org.name, org.role, org.created_at) == ("Acme", OrgRole.SHIPPER, clock.now())
    assert kit.directory.organization_by_external_id(host, "a-1").id == org.id
    user = kit.directory.add_user(
        host, org_id=org.id, name="Sam", email="Sam@Acme.Test", role="manager"
    )
    assert user.email == "sam@acme.test"
    assert user.role is UserRole.MANAGER
    assert kit.directory.user(host, user.id).name == "Sam"
    with pytest.raises(InvalidInput) as error:
        kit.directory.add_organization(host, name="Again", role="shipper", external_id="a-1")
    assert "external_id" in error.value.errors


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"name": "", "role": "shipper"}, "name"), ({"name": "X", "role": "broker"}, "role")],
)
def test_organization_input_is_checked(kit, kwargs, field):
    with pytest.raises(InvalidInput) as error:
        kit.directory.add_organization(Actor.host(), **kwargs)
    assert field in error.value.errors


def test_who_may_add_whom(kit, world):
    with pytest.raises(PermissionDenied):
        kit.directory.add_organization(world.shipper_manager_actor, name="X", role="carrier")
    with pytest.raises(PermissionDenied):
        kit.directory.add_user(
            world.shipper_actor, org_id=world.shipper.id, name="N", email="n@acme.test"
        )
    with pytest.raises(PermissionDenied):
        kit.directory.add_user(
            world.shipper_manager_actor, org_id=world.carrier.id, name="N", email="n@acme.test"
        )
    added = kit.directory.add_user(
        world.shipper_manager_actor, org_id=world.shipper.id, name="New", email="new@acme.test"
    )
    assert added.org_id == world.shipper.id
    customer = kit.directory.add_customer(
        world.shipper_actor, shipper_org_id=world.shipper.id, email="c2@example.test"
    )
    assert customer.shipper_org_id == world.shipper.id
    with pytest.raises(PermissionDenied):
        kit.directory.add_customer(
            world.carrier_actor, shipper_org_id=world.shipper.id, email="c3@example.test"
        )
    with pytest.raises(InvalidInput):
        kit.directory.add_customer(
            Actor.host(), shipper_org_id=world.carrier.id, email="c4@example.test"
        )


def test_bad_email_and_org(kit, world):
    with pytest.raises(InvalidInput) as error:
        kit.directory.add_user(Actor.host(), org_id=world.shipper.id, name="N", email="nope")
    assert "email" in error.value.errors
    with pytest.raises(InvalidInput) as error:
        kit.directory.add_user(Actor.host(), org_id=999_999, name="N", email="n@x.test")
    assert "org_id" in error.value.errors


def test_reads_are_scoped(kit, world):
    assert kit.directory.user(world.shipper_actor, world.shipper_manager.id).name == "Mia Manager"
    with pytest.raises(NotFound):
        kit.directory.user(world.carrier_actor, world.shipper_manager.id)
    assert kit.directory.customer(world.customer_actor, world.customer.id).email
    assert kit.directory.customer(world.shipper_actor, world.customer.id).email
    with pytest.raises(NotFound):
        kit.directory.customer(world.carrier_actor, world.customer.id)
    with pytest.raises(NotFound):
        kit.directory.organization(world.customer_actor, world.shipper.id)
    assert kit.directory.organization(world.carrier_actor, world.shipper.id).name


def test_the_feedback_portal_is_off_until_a_manager_turns_it_on(kit, world):
    shipper_id = world.shipper.id
    assert kit.directory.feedback_portal(world.customer_actor) is False
    assert kit.directory.feedback_portal(world.shipper_actor, shipper_id) is False
    with pytest.raises(PermissionDenied):
        kit.directory.set_feedback_portal(world.shipper_actor, shipper_id, True)
    with pytest.raises(PermissionDenied):
        kit.directory.set_feedback_portal(world.carrier_manager_actor, shipper_id, True)
    org = kit.directory.set_feedback_portal(world.shipper_manager_actor, shipper_id, True)
    assert org.feedback_portal is True
    assert kit.directory.feedback_portal(world.customer_actor) is True
    assert kit.directory.organization(Actor.host(), shipper_id).feedback_portal is True
    kit.directory.set_feedback_portal(Actor.host(), shipper_id, False)
    assert kit.directory.feedback_portal(world.customer_actor) is False


def test_a_carrier_has_no_feedback_portal(kit, world):
    with pytest.raises(InvalidInput) as error:
        kit.directory.set_feedback_portal(world.carrier_manager_actor, world.carrier.id, True)
    assert "feedback_portal" in error.value.errors
    assert kit.directory.feedback_portal(Actor.host(), world.carrier.id) is False
    with pytest.raises(NotFound):
        kit.directory.feedback_portal(world.customer_actor, world.carrier.id)


def test_staff_list_their_own_colleagues_only(kit, world):
    names = [u.name for u in kit.directory.users(world.shipper_actor)]
    assert names == ["Mia Manager", "Sam Shipper"]
    with pytest.raises(NotFound):
        kit.directory.users(world.shipper_actor, world.carrier.id)
    with pytest.raises(NotFound):
        kit.directory.users(world.customer_actor)
    carrier_users = kit.directory.users(Actor.host(), world.carrier.id)
    assert {u.name for u in carrier_users} == {"Cal Carrier", "Max Dispatch"}


def test_staff_list_the_organizations_of_a_role(kit, world):
    carriers = kit.directory.organizations(world.shipper_actor, "carrier")
    assert [o.name for o in carriers] == ["Fast Freight"]
    assert [o.name for o in kit.directory.organizations(Actor.host(), OrgRole.SHIPPER)] == [
        "Acme Goods"
    ]
    with pytest.raises(PermissionDenied):
        kit.directory.organizations(world.customer_actor, "carrier")
    with pytest.raises(InvalidInput) as error:
        kit.directory.organizations(world.shipper_actor, "broker")
    assert "role" in error.value.errors


def test_the_shippers_staff_find_a_customer_by_email(kit, world):
    found = kit.directory.customer_by_email(world.shipper_actor, " Casey@Example.TEST ")
    assert found.id == world.customer.id
    for actor in (world.carrier_actor, world.customer_actor, Actor.host()):
        with pytest.raises(NotFound):
            kit.directory.customer_by_email(actor, "casey@example.test")
    with pytest.raises(NotFound):
        kit.directory.customer_by_email(world.shipper_actor, "nobody@example.test")
