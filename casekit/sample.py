"""Sample organizations and people, for the example, demos, tests and benchmarks."""

from __future__ import annotations

import attrs

from casekit.domain.actor import Actor
from casekit.domain.directory import Customer, Organization, OrgRole, User, UserRole
from casekit.kit import CaseKit


@attrs.define
class World:
    """A shipper and a carrier with two users each, and one customer of the shipper.

    ``shipper_agent`` and ``carrier_agent`` are agents; ``shipper_manager``
    and ``carrier_manager`` are managers. Their :class:`~casekit.Actor` objects are
    the ``*_actor`` properties.
    """

    kit: CaseKit
    shipper: Organization
    carrier: Organization
    shipper_agent: User
    shipper_manager: User
    carrier_agent: User
    carrier_manager: User
    customer: Customer

    @classmethod
    def build(cls, kit: CaseKit, *, tag: str = "") -> World:
        """Create the organizations and people; ``tag`` keeps several worlds apart."""
        host = Actor.host()
        add_org, add_user = kit.directory.add_organization, kit.directory.add_user
        shipper = add_org(
            host, name=f"Acme Goods{tag}", role=OrgRole.SHIPPER, external_id=f"acme{tag}"
        )
        carrier = add_org(
            host, name=f"Fast Freight{tag}", role=OrgRole.CARRIER, external_id=f"fast{tag}"
        )
        assert shipper.id is not None
        assert carrier.id is not None
        return cls(
            kit=kit,
            shipper=shipper,
            carrier=carrier,
            shipper_agent=add_user(
                host, org_id=shipper.id, name="Sam Shipper", email=f"sam{tag}@acme.test"
            ),
            shipper_manager=add_user(
                host,
                org_id=shipper.id,
                name="Mia Manager",
                email=f"mia{tag}@acme.test",
                role=UserRole.MANAGER,
            ),
            carrier_agent=add_user(
                host, org_id=carrier.id, name="Cal Carrier", email=f"cal{tag}@fast.test"
            ),
            carrier_manager=add_user(
                host,
                org_id=carrier.id,
                name="Max Dispatch",
                email=f"max{tag}@fast.test",
                role=UserRole.MANAGER,
            ),
            customer=kit.directory.add_customer(
                host,
                shipper_org_id=shipper.id,
                email=f"casey{tag}@example.test",
                name="Casey Customer",
            ),
        )

    @property
    def shipper_actor(self) -> Actor:
        return Actor.of_user(self.shipper_agent)

    @property
    def shipper_manager_actor(self) -> Actor:
        return Actor.of_user(self.shipper_manager)

    @property
    def carrier_actor(self) -> Actor:
        return Actor.of_user(self.carrier_agent)

    @property
    def carrier_manager_actor(self) -> Actor:
        return Actor.of_user(self.carrier_manager)

    @property
    def customer_actor(self) -> Actor:
        return Actor.of_customer(self.customer)
