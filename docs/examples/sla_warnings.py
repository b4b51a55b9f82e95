"""Service-level warnings: a carrier promises a first answer within 4 hours."""

from datetime import UTC, datetime

from casekit import Actor, CaseKit, hookimpl
from casekit.clock import FrozenClock


class Mailbox:
    def __init__(self) -> None:
        self.mails = []

    @hookimpl
    def casekit_deliver_notification(self, notification):
        self.mails.append((notification.email, notification.message["Subject"]))
        return True


mailbox = Mailbox()
clock = FrozenClock(datetime(2026, 3, 6, 14, 0, tzinfo=UTC))
kit = CaseKit(database_url="sqlite://", plugins=[mailbox], clock=clock)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = Actor.of_user(
    kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
)
cal = kit.directory.add_user(host, org_id=fast.id, name="Cal", email="cal@fast.example")
lead = kit.directory.add_user(
    host, org_id=fast.id, name="Lee", email="lee@fast.example", role="manager"
)
kit.service_levels.save_target(
    Actor.of_user(lead),
    {
        "name": "Answer within 4 hours",
        "first_response": 4 * 3600,
        "warn_before": 3600,
        "escalation": {"watchers": [lead.id]},
    },
)
number = kit.cases.open(sam, type="lost", carrier=fast.id, message="Pallet 7 never arrived.").number
kit.cases.set_owner(Actor.of_user(lead), number, cal.id)
kit.notifications.deliver()
mailbox.mails.clear()

for hours in (3, 1):  # the warning time, then the due time
    clock.advance(hours=hours)
    outcome = kit.service_levels.sweep()  # what `casekit worker` runs every minute
    print(f"{clock.now():%H:%M}", outcome.due_soon, "due soon,", outcome.breached, "breached")
kit.notifications.deliver()
for address, subject in mailbox.mails:
    print(address, "|", subject)
print("watchers:", kit.cases.get(Actor.of_user(cal), number).watcher_ids == (lead.id,))
