from datetime import UTC, datetime

from casekit import Actor, CaseKit, ShipmentEvent, ShipmentFacts
from casekit.clock import FrozenClock

kit = CaseKit(
    database_url="sqlite:///rule_cases.sqlite3",
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


mia, sam, max_ = user(acme, "Mia", "manager"), user(acme, "Sam"), user(fast, "Max", "manager")
vip = kit.tags.create(mia, "VIP", colour="purple")
on_hold = kit.tags.create(mia, "On hold")
theirs = kit.tags.create(max_, "Claim filed")

# Escalate a damaged shipment whose customer already called about it: an active
# case of high priority or more, tagged VIP, and none put on hold.
rule = kit.rules.create(mia, {
    "name": "Damaged VIP shipment", "tier": 1,
    "exceptions": ["damaged"],
    "case_min_priority": "high", "case_tags_any": [vip.id], "case_tags_none": [on_hold.id],
    "case_type": "osd_damaged", "priority": "urgent",
})  # fmt: skip

# Another organization's tag reads as one that does not exist.
try:
    kit.rules.create(mia, {
        "name": "Theirs", "exceptions": ["damaged"], "case_type": "osd_damaged",
        "case_tags_any": [theirs.id],
    })  # fmt: skip
except ValueError as error:
    print("refused:", error.errors)

feed = Actor.system_actor("api", org_id=acme.id)
kit.shipments.upsert_shipments(
    feed, [ShipmentFacts(reference=r) for r in ("SHP-1", "SHP-2", "SHP-3")]
)
kit.cases.open(sam, type="where_is_my_order", shipment="SHP-1", priority="urgent", tags=[vip.id])
kit.cases.open(sam, type="where_is_my_order", shipment="SHP-2", priority="high",
               tags=[vip.id, on_hold.id])  # fmt: skip
kit.cases.open(sam, type="where_is_my_order", shipment="SHP-3", tags=[vip.id])  # normal

now = kit.clock.now()
for reference in ("SHP-1", "SHP-2", "SHP-3"):
    outcome = kit.shipments.record_events(
        feed,
        [ShipmentEvent(reference=reference, status="exception", exception="damaged",
                       occurred_at=now)],
    )  # fmt: skip
    print(reference, "opened:", outcome.opened)
