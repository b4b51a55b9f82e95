"""Canned replies on the pages: the settings page and its usage figures, inserting and
applying one from the case page's composer, and the list's bulk action."""

from __future__ import annotations

import re

from conftest import login

from casekit import Actor


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="ck-flash" role="status">(.*?)</div>', html, re.S)


def test_settings_page_keeps_the_organizations_and_each_users_replies(client, kit, world):
    """A manager's reply is the organization's (unless kept for themselves); an agent's is
    their own; a bad template comes back as the form with its field named (400)."""
    login(client, world.shipper_manager_actor)
    form = {
        "title": "Ask for photos",
        "audience": "customer",
        "body": "Hello {{ customer.first_name }}",
        "action_status": "waiting",
        "action_owner": "me",
        "action_watchers": ["me", str(world.shipper_agent.id)],
    }
    assert client.post("/cases/settings/canned-replies", data=form).status_code == 302
    bad = client.post("/cases/settings/canned-replies", data=form | {"body": "{{ customer.nope }}"})
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="body-error"' in bad.text
    assert "{{ customer.nope }}" in bad.text  # what was typed, kept
    [reply] = kit.canned_replies.list(world.shipper_actor)
    assert (reply.personal, reply.actions.as_json()) == (
        False,
        {"status": "waiting", "owner": "me", "watchers": ["me", world.shipper_agent.id]},
    )
    page = client.get(f"/cases/settings/canned-replies/{reply.id}")
    assert page.status_code == 200
    assert 'value="waiting" selected' in page.text
    assert f'value="{world.shipper_agent.id}" checked' in page.text

    login(client, world.shipper_actor)
    mine = client.post(
        "/cases/settings/canned-replies",
        data={"title": "Thanks", "audience": "partners", "body": "Thanks, {{ agent.first_name }}"},
    )
    assert mine.status_code == 302
    listing = client.get("/cases/settings/canned-replies").text
    assert "Ask for photos" in listing
    assert "Thanks" in listing
    # The organization's reply is shown to the agent, not open to change.
    shown = client.get(f"/cases/settings/canned-replies/{reply.id}").text
    assert "<fieldset disabled>" in shown
    assert "only a manager changes it" in shown
    refused = client.post(
        f"/cases/settings/canned-replies/{reply.id}", data=form | {"title": "Mine now"}
    )
    assert refused.status_code == 403
    assert kit.canned_replies.get(world.shipper_actor, reply.id).title == "Ask for photos"
    # The manager does not see the agent's own; another organization sees neither.
    login(client, world.shipper_manager_actor)
    assert "Thanks" not in client.get("/cases/settings/canned-replies").text
    login(client, world.carrier_manager_actor)
    assert client.get(f"/cases/settings/canned-replies/{reply.id}").status_code == 404
    assert "Ask for photos" not in client.get("/cases/settings/canned-replies").text
    login(client, world.shipper_manager_actor)
    removed = client.post(f"/cases/settings/canned-replies/{reply.id}", data={"action": "remove"})
    assert removed.status_code == 302
    assert [r.title for r in kit.canned_replies.list(world.shipper_manager_actor)] == []


def test_insert_then_apply_from_the_composer(client, kit, world, customer_case):
    """Insert puts the reply after what was typed, for its audience; Apply posts what the
    composer holds and does the reply's actions; both are counted."""
    number = customer_case.number
    reply = kit.canned_replies.save(
        world.shipper_manager_actor,
        title="Ask for photos",
        body="Please send photos of order {{ order.number }}.",
        audience="customer",
        actions={"status": "waiting", "owner": "me"},
    )
    login(client, world.shipper_actor)
    page = client.get(f"/cases/{number}").text
    assert f'<option value="{reply.id}" >Ask for photos</option>' in page
    inserted = client.post(
        f"/cases/{number}/canned-replies",
        data={
            "canned_reply": str(reply.id),
            "canned_action": "insert",
            "body": "Sorry for the wait.",
            "audience": "partners",
        },
    )
    assert inserted.status_code == 200
    assert "Sorry for the wait.\n\nPlease send photos of order O-7.</textarea>" in inserted.text
    assert 'value="customer" checked' in inserted.text
    assert "Inserted “Ask for photos”" in "".join(_flashes(inserted.text))
    applied = client.post(
        f"/cases/{number}/canned-replies",
        data={
            "canned_reply": str(reply.id),
            "canned_action": "apply",
            "body": "Sorry for the wait. Photos, please.",
            "audience": "customer",
        },
    )
    assert applied.status_code == 302
    case = kit.cases.get(world.shipper_actor, number)
    assert (case.status.value, case.shipper_owner_id) == ("waiting", world.shipper_agent.id)
    last = kit.cases.timeline(world.shipper_actor, number)
    message = [e for e in last if e.kind.value == "message"][-1]
    assert (message.body, message.audience.value) == (
        "Sorry for the wait. Photos, please.",
        "customer",
    )
    [use] = kit.canned_replies.usage(world.shipper_actor)
    assert (use.inserted, use.applied) == (1, 1)
    # On a case without a customer, a reply for the customer is written for the audience
    # chosen in the composer: its variables are that audience's.
    other = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="No customer"
    )
    elsewhere = client.post(
        f"/cases/{other.number}/canned-replies",
        data={"canned_reply": str(reply.id), "canned_action": "insert", "audience": "partners"},
    )
    assert elsewhere.status_code == 200
    assert 'value="partners" checked' in elsewhere.text
    assert "It is for to the customer, which this case has not: written for to the carrier" in (
        "".join(_flashes(elsewhere.text))
    )
    refused = client.post(
        f"/cases/{other.number}/canned-replies",
        data={"canned_reply": str(reply.id), "canned_action": "apply"},
    )
    assert refused.status_code == 400
    assert 'aria-describedby="canned_reply-error"' in refused.text
    assert re.findall(r'class="ck-error" id="canned_reply-error">(.*?)</p>', refused.text) == [
        "Canned reply: The case has no customer; post for partners instead"
    ]
    # No reply chosen, or a reply that fails on the case: the page again, the field named.
    for data, field in (
        ({"canned_action": "insert"}, "canned_reply"),
        ({"canned_reply": "999", "canned_action": "insert"}, None),
    ):
        response = client.post(f"/cases/{number}/canned-replies", data=data)
        if field:
            assert response.status_code == 400
            assert f'aria-describedby="{field}-error"' in response.text
        else:
            assert response.status_code == 404


def test_bulk_action_applies_a_reply_to_each_chosen_case(client, kit, world):
    kit.canned_replies.save(
        world.shipper_manager_actor,
        title="We are on it",
        body="We are on it, {{ customer.first_name|default('there', true) }}.",
        audience="internal",
        actions={"watchers": ["me"]},
    )
    [reply] = kit.canned_replies.list(world.shipper_actor)
    numbers = [
        kit.cases.open(world.shipper_actor, type="lost", message=f"Case {i}").number
        for i in range(2)
    ]
    other = kit.directory.add_organization(Actor.host(), name="Other", role="shipper")
    olga = kit.directory.add_user(Actor.host(), org_id=other.id, name="Olga", email="o@o.test")
    theirs = kit.cases.open(Actor.of_user(olga), type="lost", message="Ours").number
    login(client, world.shipper_actor)
    listing = client.get("/cases/?view=all_cases").text
    assert f'<option value="reply:{reply.id}">Reply: We are on it</option>' in listing
    response = client.post(
        "/cases/bulk",
        data={
            "case": [*numbers, theirs],
            "action": f"reply:{reply.id}",
            "back": "view=all_cases",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    said = " ".join(_flashes(response.text))
    assert f"Apply canned reply: done on 2 cases ({numbers[0]}, {numbers[1]})" in said
    assert f"{theirs}: no such case among yours." in said
    for number in numbers:
        case = kit.cases.get(world.shipper_actor, number)
        assert list(case.watcher_ids) == [world.shipper_agent.id]
        body = kit.cases.timeline(world.shipper_actor, number)[-2].body
        assert body == "We are on it, there."
    assert kit.canned_replies.usage(world.shipper_actor)[0].applied == 2
    refused = client.post(
        "/cases/bulk", data={"case": numbers, "action": "reply:999", "back": "view=all_cases"}
    )
    assert refused.status_code == 400
    assert "no such canned reply among yours" in refused.text


def test_a_replys_priority_and_tags_from_the_settings_page(client, kit, world, customer_case):
    """The form offers the priorities and the organization's own tags (never the other
    side's); a tag of another organization is a 400 naming the action; applied from the
    composer, the reply sets the priority and the tags."""
    mia = world.shipper_manager_actor
    vip = kit.tags.create(mia, "VIP", colour="purple").id
    new = kit.tags.create(mia, "Fresh").id
    theirs = kit.tags.create(world.carrier_manager_actor, "Carrier's own tag").id
    login(client, mia)
    page = client.get("/cases/settings/canned-replies").text
    assert 'name="action_priority"' in page
    assert f'name="action_add_tags" value="{vip}"' in page
    assert f'name="action_remove_tags" value="{new}"' in page
    assert "Carrier&#39;s own tag" not in page
    assert f'value="{theirs}"' not in page
    form = {
        "title": "Escalate",
        "audience": "internal",
        "body": "Escalated.",
        "action_priority": "urgent",
        "action_add_tags": [str(vip)],
        "action_remove_tags": [str(new)],
    }
    bad = client.post(
        "/cases/settings/canned-replies", data=form | {"action_add_tags": [str(theirs)]}
    )
    assert bad.status_code == 400
    assert 'id="actions.add_tags-error"' in bad.text
    assert "Then add tags" in bad.text
    assert (
        client.post(
            "/cases/settings/canned-replies", data=form | {"action_priority": "soon"}
        ).status_code
        == 400
    )
    assert client.post("/cases/settings/canned-replies", data=form).status_code == 302
    [reply] = kit.canned_replies.list(mia)
    assert reply.actions.as_json() == {
        "priority": "urgent",
        "add_tags": [vip],
        "remove_tags": [new],
    }
    shown = client.get(f"/cases/settings/canned-replies/{reply.id}").text
    assert 'value="urgent" selected' in shown
    assert f'name="action_add_tags" value="{vip}" checked' in shown
    assert f'name="action_remove_tags" value="{new}" checked' in shown
    number = customer_case.number
    kit.cases.change(mia, number, {"add_tags": [new]})
    applied = client.post(
        f"/cases/{number}/canned-replies",
        data={"canned_reply": str(reply.id), "canned_action": "apply"},
    )
    assert applied.status_code == 302
    case = kit.cases.get(mia, number)
    assert (case.priority.value, [t.name for t in case.tags]) == ("urgent", ["VIP"])
