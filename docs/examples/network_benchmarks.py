from datetime import UTC, datetime, timedelta

from casekit import Actor, CaseKit, hookimpl
from casekit.clock import FrozenClock


class Volumes:
    """The host's shipments per organization and month (here 1,000 each)."""

    @hookimpl
    def casekit_network_volumes(self, period, start, end):
        return {org.external_id: 1000 for org in shippers + carriers}

    @hookimpl
    def casekit_network_computed(self, period, figures):
        published = [f for f in figures if f.org_id is None and f.published]
        print(f"{period}: {len(figures)} figures, {len(published)} network ones published")


clock = FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
kit = CaseKit(
    database_url="sqlite:///network.sqlite3",
    clock=clock,
    plugins=[Volumes()],
    network_benchmarks=True,
)
kit.create_schema()
host = Actor.host()
shippers = [
    kit.directory.add_organization(host, name=f"Shipper {n}", role="shipper", external_id=f"s{n}")
    for n in range(6)
]
carriers = [
    kit.directory.add_organization(host, name=f"Carrier {n}", role="carrier", external_id=f"c{n}")
    for n in range(6)
]


def staff(org):
    return Actor.system_actor("api", org_id=org.id)


# Each shipper opens two "lost" cases with its carrier, which answers after
# n + 1 hours; the first shipper alone opens seven damage cases.
for n, (shipper, carrier) in enumerate(zip(shippers, carriers, strict=True)):
    for case_type, count in (("lost", 2), ("osd_damaged", 7 if n == 0 else 1)):
        for _ in range(count):
            case = kit.cases.open(staff(shipper), type=case_type, carrier=carrier.id)
            clock.advance(hours=n + 1)
            kit.messages.post(staff(carrier), case.number, "On it", audience="partners")
            kit.cases.solve(staff(shipper), case.number)
            clock.advance(hours=-(n + 1))

kit.network.compute(host, ["2026-11"])

mine = kit.network.benchmarks(staff(shippers[0]))
print("period", mine.period)
for line in mine.comparisons:
    shown = "not published"
    if line.network is not None:
        shown = f"{line.network} ({line.organizations} orgs)"
    kind = line.case_type or "all types"
    print(f"{line.metric.value:15} {kind:12} own {line.own}  network {shown}")
for partner in mine.partners:
    print(f"response of {partner.partner_name}: {partner.value} h over {partner.cases} cases")

# Opting out: the first shipper neither sees nor, from the next run, contributes.
kit.network.set_participation(host, False, org_id=shippers[0].id)
print("participating:", kit.network.benchmarks(staff(shippers[0])).participating)
clock.advance(timedelta(minutes=5))
kit.network.compute(host, ["2026-11"])
