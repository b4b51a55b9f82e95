from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from casekit import Actor, CaseKit
from casekit.clock import FrozenClock

new_york = ZoneInfo("America/New_York")
# Friday 4 December 2026, 16:55 in New York
clock = FrozenClock(datetime(2026, 12, 4, 16, 55, tzinfo=new_york))
kit = CaseKit(database_url="sqlite:///due_lists.sqlite3", clock=clock)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = Actor.of_user(
    kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
)
dispatcher = Actor.of_user(
    kit.directory.add_user(
        host, org_id=fast.id, name="Max", email="max@fast.example", role="manager"
    )
)
kit.service_levels.set_calendar(
    dispatcher,
    {
        "time_zone": "America/New_York",
        "hours": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    },
)
kit.service_levels.save_target(
    dispatcher, {"name": "Answer within 4 hours", "first_response": 4 * 3600}
)
for subject in ("Crushed pallet", "Missing carton"):
    kit.cases.open(sam, type="osd_damaged", subject=subject, carrier=fast.id, message="See photos")
    clock.advance(minutes=1)


def show(actor, query):
    page = kit.views.list(actor, query)
    for row in page.rows:
        if row.due_at is None:
            print(" ", row.number, "-")
            continue
        due = row.due_at.astimezone(ZoneInfo(row.due_time_zone))
        print(" ", row.number, row.due_state.label, f"{due:%a %H:%M %Z}")
    if not page.rows:
        print("  (none)")


print("Friday, the carrier's cases, soonest due first:")
show(dispatcher, {"view": "all_active", "sort": {"field": "due_at", "direction": "asc"}})
print("Due soon:", kit.views.count(dispatcher, {"view": "due_soon"}))

clock.advance(timedelta(days=3, hours=-5, minutes=-31))  # Monday 11:25
print("Monday 11:25, the Due soon view:")
show(dispatcher, {"view": "due_soon"})
kit.messages.post(dispatcher, "CV000001", body="We are on it.", audience="partners")
breached_or_soon = {"field": "due_state", "op": "in", "value": ["due_soon", "breached"]}
print("Answered; due soon or breached:")
show(dispatcher, {"view": "all_active", "filters": [breached_or_soon]})
print("The shipper's own clocks (it has no targets):")
show(sam, {"view": "all_active", "filters": [breached_or_soon]})
