from casekit import Actor, CaseKit, CustomerRecord, OrganizationRecord, PermissionDenied, UserRecord

kit = CaseKit(database_url="sqlite:///directory_sync.sqlite3")
kit.create_schema()

# The host's own accounts, as its database has them.
accounts = [
    {"id": "acct-1", "name": "Acme Goods", "kind": "merchant"},
    {"id": "acct-2", "name": "Fast Freight", "kind": "carrier"},
]
staff = [
    {"id": "u-10", "account": "acct-1", "name": "Sam", "email": "sam@acme.example", "admin": True},
    {"id": "u-11", "account": "acct-1", "name": "Lee", "email": "lee@acme.example", "admin": False},
    {"id": "u-20", "account": "acct-2", "name": "Max", "email": "max@fast.example", "admin": True},
]
shoppers = [{"id": "c-1", "account": "acct-1", "email": "casey@example.com", "name": "Casey"}]


def sync_directory(kit: CaseKit) -> None:
    """Run from the host's scheduler, or after a change to its accounts."""
    report = kit.directory.sync(
        Actor.host(),
        organizations=[
            OrganizationRecord(
                a["id"], a["name"], "shipper" if a["kind"] == "merchant" else "carrier"
            )
            for a in accounts
        ],
        users=[
            UserRecord(
                u["id"],
                u["account"],
                u["name"],
                u["email"],
                role="admin" if u["admin"] else "agent",
                active=not u.get("left", False),
            )
            for u in staff
        ],
        customers=[CustomerRecord(c["id"], c["account"], c["email"], c["name"]) for c in shoppers],
    )
    for kind in ("organizations", "users", "customers"):
        counts = getattr(report, kind)
        print(
            f"{kind}: {counts.created} created, {counts.updated} updated, "
            f"{counts.unchanged} unchanged"
        )
    print(f"deactivated: {report.deactivated}")


sync_directory(kit)
sync_directory(kit)  # nothing changed: all unchanged

# Lee left; Casey has a new address.
staff[1]["left"] = True
shoppers[0]["email"] = "casey@new.example"
sync_directory(kit)


def load_actor(user_id: str, account_id: str) -> Actor | None:
    """The host's identity loader: its own ids to a casekit actor."""
    try:
        return kit.directory.actor_for_external_id("user", user_id, organization=account_id)
    except PermissionDenied:  # deactivated: signed out of casekit
        return None


print(load_actor("u-10", "acct-1").describe())
print(load_actor("u-11", "acct-1"))
acme = kit.directory.organization_by_external_id(Actor.host(), "acct-1")
for change in kit.directory.changes(Actor.host(), acme.id, limit=2):
    print(change.subject, change.change, change.old, "->", change.new)
