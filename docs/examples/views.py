from casekit import Actor, CaseKit, ShipmentFacts

kit = CaseKit(database_url="sqlite:///views.sqlite3")
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier", external_id="fast")
sam = kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
shipper = Actor.of_user(sam)

for ref, town, postal, mode in [
    ("S-1", "John Smith", "30301", "freight"),
    ("S-2", "Jane Doe", "90210", "parcel"),
    ("S-3", "Smithson Ltd", "30309", "freight"),
]:
    kit.cases.open(
        shipper,
        type="where_is_my_order",
        message=f"Where is {ref}?",
        shipment=ShipmentFacts(
            reference=ref,
            carrier="fast",
            tracking_number=f"1Z-{ref}",
            destination_name=town,
            destination_postal_code=postal,
            mode=mode,
        ),
    )

query = {
    "view": "all_active",
    "filters": [
        {"field": "destination_name", "op": "contains", "value": "smith"},
        {"field": "destination_postal_code", "op": "starts_with", "value": "303"},
        {"field": "mode", "op": "in", "value": ["freight"]},
    ],
    "sort": {"field": "number", "direction": "asc"},
}
page = kit.views.list(shipper, query, limit=50)
print("count:", kit.views.count(shipper, query))
for row in page.rows:
    print(row.number, row.status, row.account, row.tracking_number, row.latest_message_excerpt)

print("search 1Z-S-2:", [row.number for row in kit.views.search(shipper, "1Z-S-2").rows])

saved = kit.views.save(shipper, "Smiths in Atlanta", query, shared=True)
print("badges:", kit.views.counts(shipper))

print("".join(kit.views.export_csv(shipper, {**query, "columns": ["number", "tracking_number"]})))
