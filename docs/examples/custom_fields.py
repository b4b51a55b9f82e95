from datetime import UTC, datetime

from casekit import Actor, CaseKit, InvalidInput
from casekit.clock import FrozenClock

kit = CaseKit(
    database_url="sqlite:///custom_fields.sqlite3",
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

# Each organization's managers keep its own fields: typed, private unless shared.
kit.custom_fields.create(mia, "goods_value", "Goods value", "number", required_for=["osd_damaged"])
kit.custom_fields.create(
    mia, "dock", "Dock", "choice", choices=["A", "B", "C"], visibility="shared"
)
kit.custom_fields.create(max_, "claim_due", "Claim due", "date")

# A value the type requires is asked for, naming the field.
try:
    kit.cases.open(sam, type="osd_damaged", carrier=fast.id, subject="Crushed pallet")
except InvalidInput as error:
    print("refused:", error.errors)

crushed = kit.cases.open(
    sam, type="osd_damaged", carrier=fast.id, subject="Crushed pallet",
    custom_fields={"goods_value": "1,250.50", "dock": "B"},
)  # fmt: skip
kit.cases.change(cal, crushed.number, {"custom_fields": {"claim_due": "2026-12-24"}})

# Each side reads its own fields, and the other side's shared ones by role.
for who, actor in (("Acme", sam), ("Fast", cal)):
    print(who, kit.cases.get(actor, crushed.number).custom_field_values)

# A filter names a field as its reader reads it.
query = {
    "view": "all_cases",
    "filters": [
        {"field": "custom_field", "op": "between",
         "value": {"name": "goods_value", "from": 1000}},
    ],
}  # fmt: skip
print("worth 1000 or more:", [row.number for row in kit.views.list(sam, query).rows])
by_dock = {
    "view": "all_cases",
    "filters": [
        {"field": "custom_field", "op": "in", "value": {"name": "shipper.dock", "values": ["B"]}}
    ],
}
print("Fast, at Acme's dock B:", [row.number for row in kit.views.list(cal, by_dock).rows])

# The timeline: a private field's change is internal, a shared one's for partners.
for who, actor in (("Acme", sam), ("Fast", cal)):
    events = [
        f"{e.new_value} ({e.audience.value})"
        for e in kit.cases.timeline(actor, crushed.number)
        if e.event and e.event.value == "custom_field_changed"
    ]
    print(who, "reads:", events)

# Fields as list columns: chosen per user, read in one statement a page, sortable.
kit.cases.open(
    sam, type="osd_damaged", carrier=fast.id, subject="Wet cartons",
    custom_fields={"goods_value": 80, "dock": "A"},
)  # fmt: skip
print("Fast may show:", [f.column for f in kit.views.field_columns(cal)])
kit.views.set_columns(sam, ["status", "cf:goods_value", "cf:dock"])
by_value = {"view": "all_cases", "sort": {"field": "cf:goods_value", "direction": "asc"}}
page = kit.views.list(sam, {**by_value, "columns": list(kit.views.columns(sam))})
for row in page.rows:
    print(row.number, row.cell("cf:goods_value"), row.cell("cf:dock"))

# The CSV export: the columns asked for, each side's own fields and the shared ones.
columns = ["number", "cf:claim_due", "cf:shipper.dock"]
print("".join(kit.views.export_csv(cal, {"view": "all_cases", "columns": columns})), end="")
try:  # the export is streamed: the refusal comes with its first chunk
    next(kit.views.export_csv(cal, {"columns": ["number", "cf:shipper.goods_value"]}))
except InvalidInput as error:
    print("refused:", error.errors)
