"""A host's row and a case in one transaction: committed, then rolled back."""

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.orm import Session

from casekit import Actor, CaseKit, signals

kit = CaseKit(database_url="sqlite:///cases.sqlite3")
kit.create_schema()
host = Actor.host()
shop = kit.directory.add_organization(host, name="Example Shop", role="shipper")

# The host's own table, in the same database.
replacements = Table(
    "replacements",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("order_number", String(40)),
)
replacements.metadata.create_all(kit.engine)


@signals.case_opened.connect_via(kit)  # a bound view's signals come from kit too
def on_opened(sender, *, case, **extra):
    print("signal: case_opened", case.number)


def replace(order_number, *, commit):
    with Session(kit.engine) as session:
        session.execute(insert(replacements).values(order_number=order_number))
        case = kit.bind(session).cases.open(
            host, shipper=shop.id, type="osd_damaged", message=f"Replacing order {order_number}."
        )
        print("opened", case.number, "in the host's transaction")
        if commit:
            session.commit()  # the replacement and the case; then the signal
        else:
            session.rollback()  # neither, and no signal


replace("1001", commit=True)
replace("1002", commit=False)
with Session(kit.engine) as session:
    print("replacements:", session.scalars(select(replacements.c.order_number)).all())
print("cases:", [c.number for c in kit.cases.list(host)])
