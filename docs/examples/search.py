from casekit import Actor, CaseKit, ShipmentFacts

kit = CaseKit(database_url="sqlite:///search.sqlite3")
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = Actor.of_user(
    kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
)
max_ = Actor.of_user(
    kit.directory.add_user(host, org_id=fast.id, name="Max", email="max@fast.example")
)
kai = kit.directory.add_customer(
    host, shipper_org_id=acme.id, name="Kai Park", email="kai@park.example"
)
number = kit.cases.open(
    sam,
    type="osd_damaged",
    subject="Crushed pallet",
    carrier=fast.id,
    customer=kai.id,
    shipment=ShipmentFacts(reference="SHP-1", order_number="NW-5046", tracking_number="1Z999"),
    message="The forklift pierced two cartons.",
).number
kit.messages.post(sam, number, "Refund the cartons quietly.", audience="internal")


def search(actor, text):
    rows = kit.views.search(actor, text).rows
    if not rows:
        print(f"{text!r}: no case")
    for row in rows:
        where = ""
        if row.snippet is not None:
            marked = "".join(f"[{part}]" if hit else part for part, hit in row.snippet.parts())
            where = f" - {row.snippet.source}: {marked}"
        print(f"{text!r}: {row.number}{where}")


# Identifiers by their start, in any case; the case number without its zeros.
for text in ("1", "cv1", "nw-50", "shp-1", "1z9"):
    search(sam, text)
# Words, where the reader may read them.
search(sam, "pierced carton")
search(sam, "kai park")
search(sam, "refund")
search(max_, "refund")  # the shipper's internal note: not for the carrier
search(max_, "kai")  # the customer's name: not the carrier's
