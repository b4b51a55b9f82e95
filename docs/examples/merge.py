from datetime import UTC, datetime

from casekit import Actor, CaseKit, CaseMerged, InvalidInput
from casekit.clock import FrozenClock

kit = CaseKit(
    database_url="sqlite:///merge.sqlite3",
    clock=FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
casey = kit.directory.add_customer(host, shipper_org_id=acme.id, email="casey@example.test")


def user(org, name):
    email = f"{name.lower()}@{org.name.split()[0].lower()}.example"
    return Actor.of_user(kit.directory.add_user(host, org_id=org.id, name=name, email=email))


sam, cal = user(acme, "Sam"), user(fast, "Cal")

original = kit.cases.open(
    sam, type="osd_damaged", carrier=fast.id, customer=casey.id, message="Pallet crushed"
)
# The same damage, reported again by the customer's call.
duplicate = kit.cases.open(
    sam, type="osd_damaged", carrier=fast.id, customer=casey.id, message="Crushed pallet again"
)
kit.messages.post(sam, duplicate.number, "Refund approved up to 200", audience="internal")
kit.messages.post(cal, duplicate.number, "Driver photo on file", audience="internal")

kit.cases.merge(sam, duplicate.number, into=original.number)

# The duplicate is solved and says where it went.
gone = kit.cases.get(sam, duplicate.number)
print(gone.number, gone.status.value, "merged into", gone.merged_into)

# Each entry moved with its audience: each side reads its own notes only.
for who, actor in (("Acme", sam), ("Fast", cal)):
    bodies = [e.body for e in kit.cases.timeline(actor, original.number) if e.kind == "message"]
    print(who, "reads:", bodies)

# Both timelines record the merge, for everyone who sees the case.
events = [(e.event.value, e.new_value) for e in kit.cases.timeline(cal, original.number) if e.event]
print(events[-1])

# A merged case takes no more changes.
try:
    kit.messages.post(sam, duplicate.number, "Anyone?")
except CaseMerged as refused:
    print("409:", refused)

# The original must have every party of the duplicate.
alone = kit.cases.open(sam, type="osd_damaged", message="No carrier here")
try:
    kit.cases.merge(sam, original.number, into=alone.number)
except InvalidInput as refused:
    print("400:", refused.errors)
