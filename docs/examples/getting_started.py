from casekit import Actor, CaseKit

kit = CaseKit(database_url="sqlite:///cases.sqlite3")
kit.create_schema()  # runs casekit's migrations; safe to repeat

host = Actor.host()  # the host application itself, trusted with everything
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
cal = kit.directory.add_user(host, org_id=fast.id, name="Cal", email="cal@fast.example")
casey = kit.directory.add_customer(host, shipper_org_id=acme.id, email="casey@example.com")

shipper, carrier, customer = Actor.of_user(sam), Actor.of_user(cal), Actor.of_customer(casey)
case = kit.cases.open(shipper, type="where_is_my_order", carrier=fast.id, customer=casey.id)
kit.messages.post(shipper, case.number, "Order 1042 has not arrived. Can you locate it?")
kit.messages.post(carrier, case.number, "Found it at our terminal; out for delivery today.")
kit.messages.post(shipper, case.number, "Your order arrives today.", audience="everyone")
kit.cases.solve(shipper, case.number)

for actor in (shipper, customer):
    print(f"{case.number} as {actor.describe()}:")
    for entry in kit.cases.timeline(actor, case.number):
        what = entry.body or " -> ".join(v for v in (entry.old_value, entry.new_value) if v)
        print(f"  {entry.kind:7} {entry.event or entry.audience:14} {what}")
