from datetime import UTC, datetime

from casekit import Actor, CaseKit
from casekit.clock import FrozenClock

kit = CaseKit(
    database_url="sqlite:///tags_priority.sqlite3",
    clock=FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC)),
)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")


def user(org, name, role="agent"):
    email = f"{name.lower()}@{org.name.split()[0].lower()}.example"
    return Actor.of_user(
        kit.directory.add_user(host, org_id=org.id, name=name, email=email, role=role)
    )


mia, sam = user(acme, "Mia", "manager"), user(acme, "Sam")
max_, cal = user(fast, "Max", "manager"), user(fast, "Cal")

# Each organization's managers keep its own list; its agents apply it.
fragile = kit.tags.create(mia, "Fragile", colour="red")
vip = kit.tags.create(mia, "VIP", colour="purple")
claim = kit.tags.create(max_, "Claim filed", colour="orange")

crushed = kit.cases.open(
    sam, type="osd_damaged", carrier=fast.id, subject="Crushed pallet",
    priority="urgent", tags=[fragile.id, vip.id],
)  # fmt: skip
kit.cases.open(sam, type="osd_damaged", carrier=fast.id, subject="Late delivery")
kit.cases.change(cal, crushed.number, {"add_tags": [claim.id], "priority": "high"})

# Both sides read the priority; each reads its own tags only.
for who, actor in (("Acme", sam), ("Fast", cal)):
    case = kit.cases.get(actor, crushed.number)
    print(who, case.number, case.priority.value, [t.name for t in case.tags])

# Filters, the priority sort (urgent first) and the Tags column.
query = {
    "view": "all_cases",
    "filters": [{"field": "priority", "op": "in", "value": ["high", "urgent"]}],
    "sort": {"field": "priority", "direction": "desc"},
}
for row in kit.views.list(sam, query).rows:
    print("high or urgent:", row.number, row.priority.value, row.cell("tags"))
tagged = {"view": "all_cases", "filters": [{"field": "tag", "op": "in", "value": [fragile.id]}]}
print("tagged Fragile:", [row.number for row in kit.views.list(sam, tagged).rows])
print("Fast filters by Acme's tag:", [row.number for row in kit.views.list(cal, tagged).rows])

# The timeline: a tag change is internal to the tag's organization.
for who, actor in (("Acme", sam), ("Fast", cal)):
    events = [
        f"{e.event.value} {e.new_value}"
        for e in kit.cases.timeline(actor, crushed.number)
        if e.event and e.event.value in ("tag_added", "tag_removed", "priority_changed")
    ]
    print(who, "reads:", events)
