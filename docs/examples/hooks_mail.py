"""A delivery plugin that keeps notifications instead of sending them (a demo's outbox)."""

from casekit import Actor, CaseKit, hookimpl


class DemoMailbox:
    def __init__(self) -> None:
        self.mails = []

    @hookimpl
    def casekit_deliver_notification(self, notification):
        message = notification.message  # an email.message.Message
        self.mails.append((notification.email, message["Subject"]))
        return True  # delivered: the SMTP plugin is not asked


mailbox = DemoMailbox()
kit = CaseKit(
    database_url="sqlite://",
    plugins=[mailbox],
    mail_from="cases@acme.example",
    reply_address="reply@inbound.acme.example",
    reply_secrets=("a-long-random-secret-from-your-vault",),
)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
fast = kit.directory.add_organization(host, name="Fast Freight", role="carrier")
sam = Actor.of_user(
    kit.directory.add_user(host, org_id=acme.id, name="Sam", email="sam@acme.example")
)
# Fast Freight works by email: its desk hears of cases it has no owner on.
kit.notifications.set_collaborator_address(
    host, shipper_org_id=acme.id, carrier_org_id=fast.id, side="carrier", email="desk@fast.example"
)
kit.cases.open(sam, type="lost", carrier=fast.id, message="Pallet 7 never arrived.")
kit.notifications.deliver()  # what `casekit worker --once` does
for address, subject in mailbox.mails:
    print(address, "|", subject)
