from datetime import UTC, datetime, timedelta

from casekit import Actor, CaseKit, ShipmentFacts, hookimpl
from casekit.clock import FrozenClock

clock = FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))


class FastFreightSystem:
    """The carrier's system hears each decided disposition and answers its reference."""

    @hookimpl
    def casekit_disposition_decided(self, case_number, disposition, carrier):
        print(f"to {carrier.name}: {disposition.choice} {disposition.ra_number}",
              f"internal note: {disposition.internal_note}")  # fmt: skip
        return "FF-RMA-501"


kit = CaseKit(database_url="sqlite:///actions.sqlite3", clock=clock, plugins=[FastFreightSystem()])
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper", external_id="acme")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier", external_id="fast")


def user(org, name, role="agent"):
    email = f"{name.lower()}@{org.name.split()[0].lower()}.example"
    return Actor.of_user(
        kit.directory.add_user(host, org_id=org.id, name=name, email=email, role=role)
    )


sam, mia, cal = user(acme, "Sam"), user(acme, "Mia", "manager"), user(fast, "Cal")
kit.shipments.upsert_shipments(
    Actor.system_actor("api", org_id=acme.id),
    [ShipmentFacts(reference="PRO-1001", carrier="fast", mode="freight")],
)
# The shipper's Missed Appointment starter opens a case when an appointment is missed.
kit.rules.install_starters(mia)
missed_rule = next(r for r in kit.rules.list(mia) if r.name == "Missed Appointment (freight)")
kit.rules.enable(mia, missed_rule.id)

case = kit.cases.open(
    sam, type="delivery_scheduling", carrier=fast.id, shipment="PRO-1001",
    subject="Delivery appointment for PRO-1001",
)  # fmt: skip

# The carrier proposes two windows, in the destination's local time.
offer = kit.actions.propose_appointment(
    cal, case.number,
    [{"start": "2026-12-08T08:00", "end": "2026-12-08T12:00"},
     {"start": "2026-12-08T13:00", "end": "2026-12-08T17:00"}],
    time_zone="America/Chicago", note="Liftgate on board",
)  # fmt: skip
for window in offer.windows:
    print("proposed:", window.label, "=", window.start.isoformat())

# The shipper accepts the afternoon: the window becomes a fact of the shipment.
agreed = kit.actions.accept_appointment(sam, case.number, offer.id, window=1)
shipment = kit.cases.facts(sam, case.number).shipment
print("accepted:", agreed.accepted.label)
print("shipment:", shipment.delivery_window_start.isoformat(), shipment.delivery_time_zone)
has = {"view": "all_cases", "filters": [{"field": "has_appointment", "op": "in", "value": ["yes"]}]}
print("with an appointment:", [row.number for row in kit.views.list(sam, has).rows])

# No delivery by the window's end: the sweep marks it missed, the rule acts.
clock.advance(timedelta(days=2))
outcome = kit.actions.sweep()
print("missed:", outcome.missed, "exception:", kit.cases.facts(sam, case.number).shipment.exception)
by_rule = {"view": "all_cases", "filters": [{"field": "source", "op": "in", "value": ["rule"]}]}
for row in kit.views.list(sam, by_rule).rows:
    print("rule opened:", row.number, row.type)

# The consignee refused the freight: the carrier asks for instructions.
asked = kit.actions.request_disposition(
    cal, case.number, reason="refused", deadline="2026-12-12T17:00:00+00:00",
    storage_per_day="35.00", note="Consignee refused at the door",
)  # fmt: skip
print(
    "asked:", asked.reason, "by", asked.deadline.isoformat(), asked.storage_per_day, asked.currency
)
decided = kit.actions.decide_disposition(
    sam, case.number, asked.id, choice="return", payer="shipper", ra_number="RA-2207",
    internal_note="Value 4,800 USD; cheaper to return than to resell locally",
)  # fmt: skip
print("Acme reads:", decided.choice, decided.ra_number, decided.carrier_reference)
print("Acme's note:", decided.internal_note)
print("Fast's note:", kit.actions.get(cal, case.number, asked.id).internal_note)

report = kit.actions.report(sam)
for row in report.appointments:
    print(f"{row.carrier}: accepted {row.accepted}, kept {row.kept}, missed {row.missed}")
for row in report.dispositions:
    print(f"disposition {row.choice}: {row.count}")
