"""A carrier's service levels on its dashboard: clocks counted, breaches listed."""

from datetime import UTC, datetime

from casekit import Actor, CaseKit
from casekit.clock import FrozenClock

clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
kit = CaseKit(database_url="sqlite://", clock=clock)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = Actor.of_user(kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.test"))
cal = Actor.of_user(kit.directory.add_user(host, org_id=fast.id, name="Cal", email="cal@fast.test"))
max_ = Actor.of_user(
    kit.directory.add_user(host, org_id=fast.id, name="Max", email="max@fast.test", role="manager")
)

# The carrier answers a delivery-scheduling request within 4 hours, settles it within 8.
kit.service_levels.save_target(
    max_,
    {
        "name": "Delivery scheduling",
        "conditions": {"types": ["delivery_scheduling"]},
        "first_response": 4 * 3600,
        "resolution": 8 * 3600,
    },
)
asked = {"type": "delivery_scheduling", "carrier": fast.id, "audience": "partners"}
tuesday = kit.cases.open(sam, message="A slot on Tuesday?", **asked).number
clock.advance(hours=1)
friday = kit.cases.open(sam, message="A slot on Friday?", **asked).number
clock.advance(hours=1)
kit.messages.post(cal, tuesday, "Tuesday 10:00 it is.", audience="partners")
kit.cases.solve(cal, tuesday)
clock.advance(hours=5)  # nobody answers Friday's request

report = kit.reports.dashboard(
    cal, {"from": "2026-03-02", "to": "2026-03-02"}, sections=["targets"]
)
for row in report.table("targets").rows:
    print(
        f"{row.kind}: {row.clocks} clocks, {row.breached} breached,"
        f" median {row.median_seconds / 3600:g} h of working time"
    )
for row in report.table("breaches").rows:
    print(f"missed: {row.number} {row.kind} at {row.breached_at:%H:%M}, {row.state}")
first = report.table("targets").rows[0]
print("the breached list:", [r.number for r in kit.views.list(cal, first.breached_query).rows])
