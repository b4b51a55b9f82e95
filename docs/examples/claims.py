import io
from datetime import UTC, datetime, timedelta

from casekit import Actor, CaseKit, ShipmentEvent, ShipmentFacts, Upload, hookimpl
from casekit.clock import FrozenClock

clock = FrozenClock(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))


class FastFreightClaims:
    """The carrier's claims system hears each filed claim and answers its claim number."""

    @hookimpl
    def casekit_claim_filed(self, case_number, claim, carrier):
        print(f"to {carrier.name}: {claim.amount} {claim.currency},",
              f"valuation: {claim.expected_recovery}")  # fmt: skip
        return "FF-CLM-9001"


kit = CaseKit(database_url="sqlite:///claims.sqlite3", clock=clock, plugins=[FastFreightClaims()])
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
    [ShipmentFacts(reference="PRO-2002", carrier="fast", mode="freight")],
)
kit.shipments.record_events(
    Actor.system_actor("api", org_id=fast.id),
    [ShipmentEvent(reference="PRO-2002", status="delivered", occurred_at=clock.now())],
)
case = kit.cases.open(sam, type="osd_damaged", carrier=fast.id, shipment="PRO-2002")
photos = kit.messages.post(
    cal, case.number, "Delivery receipt and photos, damage noted",
    attachments=[Upload("pod.pdf", io.BytesIO(b"%PDF"), "application/pdf"),
                 Upload("pallet.jpg", io.BytesIO(b"\xff\xd8"), "image/jpeg")],
)  # fmt: skip
pod, photo = (a.id for a in photos.attachments)

# The shipper drafts its claim: line items in Decimal text, documents ticked off.
claim = kit.claims.draft(sam, case.number, {
    "lines": [{"description": "Glassware, 2 cartons", "quantity": 2, "amount": "1200.00"},
              {"description": "Freight charges", "amount": "150.50"}],
    "documents": {"proof_of_delivery": [pod], "photos": [photo]},
})  # fmt: skip
print(
    "claimed:", claim.amount, claim.currency, "missing:", [d.value for d in claim.documents_missing]
)
kit.claims.set_valuation(
    sam, case.number, claim.id, expected_recovery="900.00", note="Glass is fragile"
)

clock.advance(timedelta(days=20))
filed = kit.claims.file(sam, case.number, claim.id)
for c in filed.clocks:
    print(f"{c.label}: due {c.due_at:%Y-%m-%d}, {c.state}")

as_carrier = kit.claims.get(cal, case.number, claim.id)
print(
    "the carrier reads:", as_carrier.status, as_carrier.carrier_reference, as_carrier.valuation_note
)
kit.claims.acknowledge(cal, case.number, claim.id, reference="FF-CLM-9001")
clock.advance(timedelta(days=45))
paid = kit.claims.pay(
    cal, case.number, claim.id, amount_paid="1200.00", reason="Freight charges not owed"
)
print("status:", paid.status, paid.amount_paid)
(row,) = kit.claims.report(mia).rows
rate = f"{row.recovery_rate:.0%}"
print(f"{row.carrier}: filed {row.filed}, recovery {rate}, {row.days_to_pay} days to pay")
