from casekit import Actor, CaseKit, OrderFacts

kit = CaseKit(database_url="sqlite:///canned.sqlite3")
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme Goods", role="shipper")
mia = kit.directory.add_user(
    host, org_id=acme.id, name="Mia Moss", email="mia@acme.example", role="manager"
)
sam = kit.directory.add_user(host, org_id=acme.id, name="Sam Reed", email="sam@acme.example")
casey = kit.directory.add_customer(
    host, shipper_org_id=acme.id, name="Casey Jones", email="casey@example.test"
)
manager, agent = Actor.of_user(mia), Actor.of_user(sam)
photos_asked = kit.tags.create(manager, "Photos asked", colour="orange")

# The organization's reply, kept by a manager: a body with variables, an audience, actions.
photos = kit.canned_replies.save(
    manager,
    title="Ask for photos",
    body="Hello {{ customer.first_name }},\n\nplease send us photos of order "
    "{{ order.number }} (case {{ case.number }}).\n\n{{ agent.first_name }}, "
    "{{ organization.name }}{% if case.crm_number %} [{{ case.crm_number }}]{% endif %}",
    audience="customer",
    actions={"status": "waiting", "owner": "me", "priority": "high", "add_tags": [photos_asked.id]},
)
# Sam's own reply: nobody else sees it.
kit.canned_replies.save(
    agent, title="Thanks", body="Thank you!", audience="customer", personal=True
)
print([(r.title, r.personal) for r in kit.canned_replies.list(agent)])
print([r.title for r in kit.canned_replies.list(manager)])

case = kit.cases.open(
    agent,
    type="osd_damaged",
    customer=casey.id,
    order=OrderFacts(number="SO-1001"),
    message="Box crushed",
)
kit.cases.set_crm_number(agent, case.number, "CRM-9")

# Insert into the composer: rendered for the reply's audience (no CRM number for the
# customer), counted as a use.
print(kit.canned_replies.render(agent, photos.id, case.number).body)

# Apply in one step: the message, then the actions, in one transaction.
done = kit.canned_replies.apply(agent, photos.id, case.number)
print(done.entry.audience, done.case.status, done.case.shipper_owner_id == sam.id)
print(done.case.priority, [t.name for t in done.case.tags])

# A template that does not compile is refused, naming the field.
try:
    kit.canned_replies.save(manager, title="Broken", body="{{ case.number", audience="internal")
except Exception as error:
    print(type(error).__name__, error.errors)

for use in kit.canned_replies.usage(manager):
    print(use.title, use.uses, use.inserted, use.applied, use.last_used_by)
