from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from casekit import Actor, CaseKit
from casekit.clock import FrozenClock

new_york = ZoneInfo("America/New_York")
# Friday 4 December 2026, 16:55 in New York
clock = FrozenClock(datetime(2026, 12, 4, 16, 55, tzinfo=new_york))
kit = CaseKit(database_url="sqlite:///service_levels.sqlite3", clock=clock)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
max_ = kit.directory.add_user(
    host, org_id=fast.id, name="Max", email="max@fast.example", role="manager"
)
dispatcher = Actor.of_user(max_)

# Fast Freight works 08:00-17:00 on weekdays in New York, closed on US holidays,
kit.service_levels.set_calendar(
    dispatcher,
    {
        "time_zone": "America/New_York",
        "hours": {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": {"country": "US"},
    },
)
# and promises a first answer to damaged freight within 4 working hours.
kit.service_levels.save_target(
    dispatcher,
    {
        "name": "Damage: answer within 4 hours",
        "conditions": {"types": ["osd_damaged"]},
        "first_response": 4 * 3600,
        "resolution": 3 * 9 * 3600,
        "warn_before": 3600,
    },
)

case = kit.cases.open(
    Actor.of_user(sam),
    type="osd_damaged",
    subject="Crushed pallet",
    carrier=fast.id,
    message="The pallet arrived crushed.",
    audience="partners",
)


def show(view):
    for c in view.clocks:
        due = c.due_at.astimezone(ZoneInfo(c.time_zone)) if c.due_at else None
        print(
            f"{c.kind.label}: {c.due_state.label}"
            + (f", due {due:%a %d %b %H:%M %Z}" if due else "")
        )


print("The carrier's clocks:")
show(kit.cases.get(dispatcher, case.number))
print("The shipper's clocks:", kit.cases.get(Actor.of_user(sam), case.number).clocks)

clock.advance(timedelta(days=3, hours=-5, minutes=-30))  # Monday 11:25
print("Monday 11:25:")
show(kit.cases.get(dispatcher, case.number))
kit.messages.post(dispatcher, case.number, body="We are on it.", audience="partners")
print("Answered:")
show(kit.cases.get(dispatcher, case.number))
