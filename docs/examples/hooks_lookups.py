"""A plugin that answers the order and shipment lookups from the host's data."""

from casekit import Actor, CaseKit, OrderFacts, ShipmentFacts, hookimpl

# Stand-ins for the host's own order and shipment tables.
SHIPMENTS = {
    "1Z999": ShipmentFacts(
        reference="1Z999",
        shipper="acme",  # organizations' external_id
        carrier="fast",
        tracking_number="1Z999",
        order_number="1042",
        destination_postal_code="30301",
    )
}
ORDERS = {"1042": OrderFacts(number="1042", shipper="acme", customer_email="casey@example.com")}


class HostShipments:
    @hookimpl
    def casekit_lookup_shipment(self, organization, reference):
        facts = SHIPMENTS.get(reference)
        # Answer only about shipments the asking organization may see.
        if facts is None or organization.external_id not in (facts.shipper, facts.carrier):
            return None
        return facts

    @hookimpl
    def casekit_lookup_order(self, organization, number):
        facts = ORDERS.get(number)
        if facts is None or facts.shipper != organization.external_id:
            return None
        return facts


kit = CaseKit(database_url="sqlite://", plugins=[HostShipments()])
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper", external_id="acme")
fast = kit.directory.add_organization(host, name="Fast", role="carrier", external_id="fast")
sam = kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")

# Linking the shipment makes its carrier a party to the case.
case = kit.cases.open(Actor.of_user(sam), type="lost", shipment="1Z999", order="1042")
assert case.carrier_org_id == fast.id
print(case.number, "shipment", case.shipment_id, "order", case.order_id)
