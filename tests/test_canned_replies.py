"""Canned replies: who keeps and sees them, what their variables show each audience,
applying one in one step, and their usage figures."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casekit import Actor, InvalidInput, NotFound, PermissionDenied
from casekit.domain.shipment import OrderFacts, ShipmentFacts

#: Every variable, each on its own line: what a render shows is read line by line.
ALL_VARIABLES = "\n".join(
    f"{name}=[{{{{ {name} }}}}]"
    for name in (
        "case.number",
        "case.type_label",
        "case.status_label",
        "case.crm_number",
        "order.number",
        "shipment.reference",
        "shipment.tracking_number",
        "shipment.carrier",
        "customer.name",
        "customer.first_name",
        "customer.email",
        "agent.name",
        "agent.first_name",
        "organization.name",
    )
)


def shown(body: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in body.splitlines())


@pytest.fixture
def case(kit, world):
    """A case of the shipper with its carrier, its customer, an order and a shipment; each
    side keeps its own CRM number."""
    view = kit.cases.open(
        world.shipper_actor,
        type="lost",
        carrier=world.carrier.id,
        customer=world.customer.id,
        order=OrderFacts(number="SO-77", customer_email=world.customer.email),
        shipment=ShipmentFacts(
            reference="SHP-7", shipper="acme", carrier="fast", tracking_number="1Z777"
        ),
        message="Where is it?",
        audience="everyone",
    )
    kit.cases.set_crm_number(world.shipper_actor, view.number, "CRM-SHIPPER")
    kit.cases.set_crm_number(world.carrier_actor, view.number, "CRM-CARRIER")
    return view.number


def test_who_keeps_and_who_sees_which_reply(kit, world):
    """An organization's replies are its managers' to keep and all its staff's to use; a
    personal one its user's alone; no other organization sees either."""
    manager, agent = world.shipper_manager_actor, world.shipper_actor
    shared = kit.canned_replies.save(
        manager, title="  Where is  it ", body="On its way.", audience="customer"
    )
    mine = kit.canned_replies.save(
        agent, title="Mine", body="Hi {{ customer.first_name }}", audience="customer", personal=True
    )
    assert (shared.title, shared.personal, mine.personal) == ("Where is it", False, True)
    assert [r.id for r in kit.canned_replies.list(agent)] == [shared.id, mine.id]
    assert [r.id for r in kit.canned_replies.list(manager)] == [shared.id]
    with pytest.raises(NotFound):
        kit.canned_replies.get(manager, mine.id)
    for stranger in (world.carrier_actor, world.carrier_manager_actor, world.customer_actor):
        assert kit.canned_replies.list(stranger) == []
        for reply in (shared, mine):
            with pytest.raises(NotFound):
                kit.canned_replies.get(stranger, reply.id)
            with pytest.raises(NotFound):
                kit.canned_replies.remove(stranger, reply.id)
    with pytest.raises(PermissionDenied):
        kit.canned_replies.save(agent, title="Org", body="x", audience="partners")
    with pytest.raises(PermissionDenied):
        kit.canned_replies.save(agent, shared.id, title="Mine now", body="x", audience="partners")
    with pytest.raises(PermissionDenied):
        kit.canned_replies.remove(agent, shared.id)
    with pytest.raises(PermissionDenied):
        kit.canned_replies.save(world.customer_actor, title="x", body="x", audience="customer")
    # An API key of the organization keeps its replies (it acts as a manager).
    key = Actor.system_actor("api", org_id=world.shipper.id)
    changed = kit.canned_replies.save(
        key, shared.id, title="Renamed", body="x", audience="everyone"
    )
    assert kit.canned_replies.get(agent, shared.id).title == changed.title == "Renamed"
    kit.canned_replies.remove(agent, mine.id)
    assert [r.id for r in kit.canned_replies.list(agent)] == [shared.id]


def test_bad_input_names_each_field(kit, world):
    manager = world.shipper_manager_actor
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.save(
            manager,
            title="",
            body="{{ case.number",
            audience="nobody",
            actions={"status": "new", "type": "nope", "owner": "someone", "tags": ["x"]},
        )
    assert set(caught.value.errors) == {
        "title",
        "body",
        "audience",
        "actions.status",
        "actions.type",
        "actions.owner",
        "actions.tags",
    }
    for body, message in (
        ("{{ case.nope }}", "has no attribute 'nope'"),
        ("{{ secret }}", "'secret' is undefined"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ):
        with pytest.raises(InvalidInput) as caught:
            kit.canned_replies.save(manager, title="t", body=body, audience="internal")
        assert list(caught.value.errors) == ["body"], body
        assert message in caught.value.errors["body"][0], caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.save(
            manager, title="t", body="x", audience="internal", actions={"watchers": [10**6]}
        )
    assert list(caught.value.errors) == ["actions.watchers"]
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.save(
            manager,
            title="t",
            body="x",
            audience="internal",
            actions={"owner": world.carrier_agent.id},
        )
    assert list(caught.value.errors) == ["actions.owner"]
    # The carrier never writes to the shipper's customer.
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.save(
            world.carrier_manager_actor, title="t", body="x", audience="customer"
        )
    assert list(caught.value.errors) == ["audience"]


def test_each_audience_reads_only_what_all_its_readers_may(kit, world, case):
    """The author's CRM number in internal replies only; the customer's details where
    every reader may read them (the carrier once the shipper shares them)."""
    shipper, carrier = world.shipper_manager_actor, world.carrier_manager_actor
    replies = {
        audience: kit.canned_replies.save(
            shipper, title=audience, body=ALL_VARIABLES, audience=audience
        ).id
        for audience in ("internal", "partners", "customer", "everyone")
    }
    carrier_replies = {
        audience: kit.canned_replies.save(
            carrier, title=audience, body=ALL_VARIABLES, audience=audience
        ).id
        for audience in ("internal", "partners")
    }

    def render(actor, reply_id):
        return shown(kit.canned_replies.render(actor, reply_id, case, record=False).body)

    internal = render(world.shipper_actor, replies["internal"])
    assert internal == {
        "case.number": f"[{case}]",
        "case.type_label": "[Lost]",
        "case.status_label": "[New]",
        "case.crm_number": "[CRM-SHIPPER]",
        "order.number": "[SO-77]",
        "shipment.reference": "[SHP-7]",
        "shipment.tracking_number": "[1Z777]",
        "shipment.carrier": "[Fast Freight]",
        "customer.name": "[Casey Customer]",
        "customer.first_name": "[Casey]",
        "customer.email": f"[{world.customer.email}]",
        "agent.name": "[Sam Shipper]",
        "agent.first_name": "[Sam]",
        "organization.name": "[Acme Goods]",
    }
    hidden_customer = {"customer.name": "[]", "customer.first_name": "[]", "customer.email": "[]"}
    no_crm = {"case.crm_number": "[]"}
    assert render(world.shipper_actor, replies["customer"]) == internal | no_crm
    for audience in ("partners", "everyone"):
        assert render(world.shipper_actor, replies[audience]) == internal | no_crm | hidden_customer
    carrier_internal = render(world.carrier_actor, carrier_replies["internal"])
    assert carrier_internal == internal | hidden_customer | {
        "case.crm_number": "[CRM-CARRIER]",
        "agent.name": "[Cal Carrier]",
        "agent.first_name": "[Cal]",
        "organization.name": "[Fast Freight]",
    }
    assert render(world.carrier_actor, carrier_replies["partners"]) == carrier_internal | no_crm
    # Once the shipper shares its customer's contact details with the carrier, a reply the
    # carrier reads may name the customer: the shipper's for partners, the carrier's own.
    kit.cases.share_contact(world.shipper_actor, case)
    customer = {k: internal[k] for k in hidden_customer}
    assert render(world.shipper_actor, replies["partners"]) == internal | no_crm
    assert render(world.carrier_actor, carrier_replies["partners"]) == (
        carrier_internal | no_crm | customer
    )
    # Asked for another audience, the variables are that audience's.
    wider = kit.canned_replies.render(
        world.shipper_actor, replies["internal"], case, audience="customer", record=False
    )
    assert wider.audience.value == "customer"
    assert shown(wider.body)["case.crm_number"] == "[]"
    # Nobody renders a reply on a case they cannot see, nor another organization's reply.
    with pytest.raises(NotFound):
        kit.canned_replies.render(world.carrier_actor, replies["partners"], case)
    other = kit.cases.open(world.carrier_actor, type="lost", shipper=world.shipper.id)
    kit.cases.change(world.shipper_manager_actor, other.number, {"carrier": None})
    with pytest.raises(NotFound):
        kit.canned_replies.render(world.carrier_actor, carrier_replies["partners"], other.number)


def test_a_reply_that_fails_on_a_case_is_bad_input_not_an_error(kit, world):
    """It renders on the sample values, not on a case without an order."""
    reply = kit.canned_replies.save(
        world.shipper_manager_actor,
        title="Per item",
        body="{{ 10 // (order.number|length) }}",
        audience="internal",
    )
    number = kit.cases.open(world.shipper_actor, type="lost", message="x").number
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.render(world.shipper_actor, reply.id, number)
    assert list(caught.value.errors) == ["body"]
    with pytest.raises(InvalidInput):
        kit.canned_replies.apply(world.shipper_actor, reply.id, number)
    assert kit.canned_replies.usage(world.shipper_actor)[0].uses == 0


def test_apply_posts_and_acts_in_one_step(kit, world, case, clock):
    """The message for the reply's audience, then the type, status, owner and watchers;
    each use counted, with who and when."""
    manager, agent = world.shipper_manager_actor, world.shipper_actor
    reply = kit.canned_replies.save(
        manager,
        title="Ask for photos",
        body="Hello {{ customer.first_name }}, please send photos of {{ order.number }}.",
        audience="customer",
        actions={
            "type": "osd_damaged",
            "status": "waiting",
            "owner": "me",
            "watchers": ["me", world.shipper_manager.id],
        },
    )
    assert reply.actions.as_json() == {
        "type": "osd_damaged",
        "status": "waiting",
        "owner": "me",
        "watchers": ["me", world.shipper_manager.id],
    }
    inserted = kit.canned_replies.render(agent, reply.id, case)
    assert inserted.body == "Hello Casey, please send photos of SO-77."
    clock.advance(minutes=5)
    done = kit.canned_replies.apply(world.shipper_manager_actor, reply.id, case)
    assert (done.entry.body, done.entry.audience.value) == (inserted.body, "customer")
    assert (done.case.type, done.case.status.value) == ("osd_damaged", "waiting")
    assert done.case.shipper_owner_id == world.shipper_manager.id
    assert set(done.case.watcher_ids) == {world.shipper_manager.id}
    events = [e.event.value for e in kit.cases.timeline(manager, case) if e.event]
    assert events[-3:] == ["type_changed", "owner_changed", "watcher_added"]
    # The owner is the manager now: the agent may not take it, so nothing is applied.
    with pytest.raises(PermissionDenied):
        kit.canned_replies.apply(agent, reply.id, case)
    # The agent's own text in place of the reply's, for partners: still the reply's actions.
    clock.advance(minutes=5)
    again = kit.canned_replies.apply(
        manager, reply.id, case, body="Photos, please.", audience="partners"
    )
    assert (again.entry.body, again.entry.audience.value) == ("Photos, please.", "partners")
    assert again.case.version == done.case.version + 1  # the message alone changed it
    [use] = kit.canned_replies.usage(manager)
    assert (use.uses, use.inserted, use.applied) == (3, 1, 2)
    assert (use.last_used_by, use.last_used_at) == ("Mia Manager", clock.now())
    assert use.by_user == {"Mia Manager": 2, "Sam Shipper": 1}
    since = clock.now() - timedelta(minutes=1)
    [recent] = kit.canned_replies.usage(manager, since=since)
    assert (recent.uses, recent.applied) == (1, 1)
    assert kit.canned_replies.usage(world.carrier_manager_actor) == []


def test_an_action_refused_writes_nothing(kit, world, case):
    """A carrier's reply may not move the shipper's talk with its customer to waiting: the
    whole apply is refused, its message too, and no use is counted."""
    reply = kit.canned_replies.save(
        world.carrier_manager_actor,
        title="Wait",
        body="We wait.",
        audience="partners",
        actions={"status": "waiting"},
    )
    before = kit.cases.get(Actor.host(), case)
    with pytest.raises(PermissionDenied):
        kit.canned_replies.apply(world.carrier_actor, reply.id, case)
    after = kit.cases.get(Actor.host(), case)
    assert (after.version, after.latest_message_at) == (before.version, before.latest_message_at)
    assert kit.canned_replies.usage(world.carrier_manager_actor)[0].uses == 0
    # A watcher its manager named, deactivated since: refused, naming the action.
    watch = kit.canned_replies.save(
        world.shipper_manager_actor,
        title="Watch",
        body="x",
        audience="internal",
        actions={"watchers": [world.shipper_agent.id]},
    )
    kit.directory.deactivate_user(Actor.host(), world.shipper_agent.id)
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.apply(world.shipper_manager_actor, watch.id, case)
    assert list(caught.value.errors) == ["actions.watchers"]
    assert kit.cases.get(Actor.host(), case).version == before.version


def test_a_reply_sets_the_priority_and_its_organizations_own_tags(kit, world, case, clock):
    """Priority (both sides read it) and tags of the reply's organization only: added and
    removed in the apply's transaction; another organization's tag is refused as an
    unknown one, an archived one is not put on; the other side never reads them."""
    mia, sam, max_ = world.shipper_manager_actor, world.shipper_actor, world.carrier_manager_actor
    vip = kit.tags.create(mia, "VIP").id
    triage = kit.tags.create(mia, "To triage").id
    gone = kit.tags.create(mia, "Gone").id
    theirs = kit.tags.create(max_, "Claim filed").id
    base = {"title": "Escalate", "body": "On it.", "audience": "internal"}
    refusals = {}
    for bad, field in (
        ({"priority": "soon"}, "actions.priority"),
        ({"add_tags": "VIP"}, "actions.add_tags"),
        ({"remove_tags": [True]}, "actions.remove_tags"),
        ({"add_tags": [vip], "remove_tags": [vip]}, "actions.remove_tags"),
        ({"add_tags": [theirs]}, "actions.add_tags"),
        ({"remove_tags": [theirs]}, "actions.remove_tags"),
        ({"add_tags": [10**6]}, "actions.add_tags"),
    ):
        with pytest.raises(InvalidInput) as caught:
            kit.canned_replies.save(mia, **base, actions=bad)
        assert list(caught.value.errors) == [field], bad
        refusals[str(bad)] = caught.value.errors[field][0]
    # The carrier's tag reads as one that does not exist.
    assert refusals[str({"add_tags": [theirs]})].replace(str(theirs), "N") == refusals[
        str({"add_tags": [10**6]})
    ].replace(str(10**6), "N")
    kit.tags.update(mia, gone, archived=True)
    with pytest.raises(InvalidInput) as caught:
        kit.canned_replies.save(mia, **base, actions={"add_tags": [gone]})
    assert list(caught.value.errors) == ["actions.add_tags"]
    kit.tags.update(mia, gone, archived=False)
    reply = kit.canned_replies.save(
        mia,
        **base,
        actions={"priority": "Urgent", "add_tags": [vip, gone], "remove_tags": [triage]},
    )
    assert reply.actions.as_json() == {
        "priority": "urgent",
        "add_tags": [vip, gone],
        "remove_tags": [triage],
    }
    assert kit.canned_replies.get(sam, reply.id).actions == reply.actions
    kit.cases.change(sam, case, {"add_tags": [triage]})
    kit.cases.change(world.carrier_actor, case, {"add_tags": [theirs]})
    kit.tags.update(mia, gone, archived=True)  # archived since: not put on
    clock.advance(minutes=1)
    done = kit.canned_replies.apply(sam, reply.id, case)
    assert done.case.priority.value == "urgent"
    assert [t.name for t in done.case.tags] == ["VIP"]
    assert [t.name for t in kit.cases.get(world.carrier_actor, case).tags] == ["Claim filed"]
    assert kit.cases.get(world.carrier_actor, case).priority.value == "urgent"
    shipper_events = [
        (e.event.value, e.new_value) for e in kit.cases.timeline(sam, case)[-3:] if e.event
    ]
    assert shipper_events == [
        ("priority_changed", "urgent"),
        ("tag_added", "VIP"),
        ("tag_removed", "To triage"),
    ]
    carrier_reads = [e.new_value for e in kit.cases.timeline(world.carrier_actor, case)]
    assert "VIP" not in carrier_reads
    assert "To triage" not in carrier_reads
    # Applied again: nothing left to change, only the message is added.
    before = [e.event for e in kit.cases.timeline(sam, case)]
    kit.canned_replies.apply(sam, reply.id, case)
    after = [e.event for e in kit.cases.timeline(sam, case)]
    assert after == [*before, None]
