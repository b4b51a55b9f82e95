"""A plugin that opens a ticket in an organization's CRM and returns its number."""

from casekit import Actor, CaseKit, hookimpl


class FakeCrmClient:
    """Stands in for a CRM's API client."""

    def __init__(self) -> None:
        self.tickets: list[str] = []

    def create_ticket(self, subject: str) -> str:
        self.tickets.append(subject)
        return f"ZD-{1000 + len(self.tickets)}"


class CrmLinker:
    def __init__(self, clients: dict[str, FakeCrmClient]) -> None:
        self.clients = clients  # by organization external_id

    @hookimpl
    def casekit_link_crm(self, case, organization):
        client = self.clients.get(organization.external_id)
        if client is None:
            return None  # not this plugin's organization
        return client.create_ticket(f"{case.number}: {case.subject or case.type}")


kit = CaseKit(database_url="sqlite://", plugins=[CrmLinker({"acme": FakeCrmClient()})])
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper", external_id="acme")
sam = Actor.of_user(
    kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
)
case = kit.cases.open(sam, type="other", subject="Dented box")
linked = kit.cases.link_crm(sam, case.number)
assert linked.crm_number == "ZD-1001"
print(case.number, "is", linked.crm_number, "in Acme's CRM")
