"""Optimistic concurrency: change a case only if nobody changed it since you read it."""

from casekit import Actor, CaseKit, Conflict

kit = CaseKit(database_url="sqlite://")
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
case = kit.cases.open(host, type="lost", shipper=acme.id)

seen = kit.cases.get(host, case.number)  # a person opens the case page ...
kit.messages.post(host, case.number, "Carrier says: found.")  # ... someone else posts

try:
    kit.cases.change_type(host, case.number, "other", expected_version=seen.version)
except Conflict as error:
    print("conflict:", error)
    fresh = kit.cases.get(host, case.number)  # reload, show the person, let them retry
    kit.cases.change_type(host, case.number, "other", expected_version=fresh.version)
print(kit.cases.get(host, case.number).type)
