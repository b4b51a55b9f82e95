"""Organization settings: collaborator addresses, mail templates, personal subscriptions;
and customer feedback from the portal reaching the merchant's subscribed logins."""

from __future__ import annotations

import re

import pytest
from conftest import login
from markupsafe import escape
from sqlalchemy import select

from casekit import Actor, OrderFacts
from casekit.store import tables
from casekit.testing import CapturedMail


def field(world, side: str) -> str:
    return f"address-{world.shipper.id}-{world.carrier.id}-{side}"


def test_both_sides_set_either_sides_address(kit, world, client):
    login(client, world.shipper_manager_actor)
    page = client.get("/cases/settings/addresses").data.decode()
    assert "Fast Freight" in page
    assert f'name="{field(world, "carrier")}"' in page
    response = client.post(
        "/cases/settings/addresses",
        data={field(world, "shipper"): "Cases@Acme.test", field(world, "carrier"): ""},
    )
    assert response.status_code == 302
    login(client, world.carrier_manager_actor)
    page = client.get("/cases/settings/addresses").data.decode()
    assert "Acme Goods" in page
    assert 'value="cases@acme.test"' in page  # the shipper's side, seen by the carrier
    client.post(
        "/cases/settings/addresses",
        data={field(world, "shipper"): "cases@acme.test", field(world, "carrier"): "ops@fast.test"},
    )
    found = {
        (a.side.value, a.email) for a in kit.notifications.collaborator_addresses(Actor.host())
    }
    assert found == {("shipper", "cases@acme.test"), ("carrier", "ops@fast.test")}
    # An empty field clears the address.
    client.post("/cases/settings/addresses", data={field(world, "carrier"): ""})
    found = {a.side.value for a in kit.notifications.collaborator_addresses(Actor.host())}
    assert found == {"shipper"}


def test_a_bad_address_is_a_400_naming_the_field_and_keeping_the_input(kit, world, client):
    login(client, world.shipper_manager_actor)
    response = client.post(
        "/cases/settings/addresses",
        data={field(world, "shipper"): "not an address", field(world, "carrier"): "ok@fast.test"},
    )
    assert response.status_code == 400
    page = response.data.decode()
    assert field(world, "shipper") in page
    assert "not an email address" in page
    assert 'value="not an address"' in page
    # The good field of the same form is kept too.
    assert {a.email for a in kit.notifications.collaborator_addresses(Actor.host())} == {
        "ok@fast.test"
    }


def test_agents_see_the_addresses_but_only_managers_change_them(kit, world, client):
    login(client, world.shipper_actor)
    page = client.get("/cases/settings/addresses").data.decode()
    assert "Only a manager" in page
    response = client.post(
        "/cases/settings/addresses", data={field(world, "shipper"): "me@acme.test"}
    )
    assert response.status_code == 403
    assert kit.notifications.collaborator_addresses(Actor.host()) == []


def test_template_preview_save_and_reset(kit, world, client):
    login(client, world.shipper_manager_actor)
    listing = client.get("/cases/settings/templates").data.decode()
    assert "/cases/settings/templates/case_opened" in listing
    assert "Shipped" in listing
    draft = {
        "subject": "New: {{ case.number }}",
        "text": "Case {{ case.number }} <b>opened</b>",
        "html": "<p>Case {{ case.number }}</p><script>alert(1)</script>",
    }
    preview = client.post(
        "/cases/settings/templates/case_opened", data={**draft, "action": "preview"}
    )
    assert preview.status_code == 200
    page = preview.data.decode()
    subject = re.search(r'id="preview-subject">([^<]*)<', page).group(1)
    assert subject.startswith("New: ")
    assert len(subject) > len("New: ")  # rendered with a sample number
    assert "&lt;b&gt;opened&lt;/b&gt;" in page  # the text part is shown as text
    html = page.split('id="preview-html"', 1)[1].split("</div>", 1)[0]
    assert "<p>Case " in html  # the HTML part shown as HTML, cleaned
    assert "<script>" not in html
    assert "alert(1)" not in html
    assert (
        kit.notifications.template(world.shipper_manager_actor, "case_opened").overridden is False
    )

    saved = client.post("/cases/settings/templates/case_opened", data={**draft, "action": "save"})
    assert saved.status_code == 302
    mine = kit.notifications.template(world.shipper_manager_actor, "case_opened")
    assert (mine.overridden, mine.subject) == (True, draft["subject"])
    assert "Your own" in client.get("/cases/settings/templates").data.decode()

    client.post("/cases/settings/templates/case_opened", data={"action": "reset"})
    assert (
        kit.notifications.template(world.shipper_manager_actor, "case_opened").overridden is False
    )


def test_a_broken_template_is_a_400_naming_the_part(kit, world, client):
    login(client, world.shipper_manager_actor)
    for action in ("preview", "save"):
        response = client.post(
            "/cases/settings/templates/case_opened",
            data={"subject": "{{ case.number", "text": "fine", "html": "", "action": action},
        )
        assert response.status_code == 400
        page = response.data.decode()
        assert 'id="subject-error"' in page
        assert "{{ case.number" in page  # the draft is kept
    assert (
        kit.notifications.template(world.shipper_manager_actor, "case_opened").overridden is False
    )


def test_agents_preview_but_do_not_save_templates(kit, world, client):
    login(client, world.shipper_actor)
    data = {"subject": "x", "text": "y", "html": ""}
    assert (
        client.post(
            "/cases/settings/templates/case_opened", data={**data, "action": "preview"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/cases/settings/templates/case_opened", data={**data, "action": "save"}
        ).status_code
        == 403
    )
    assert client.get("/cases/settings/templates/no_such_template").status_code == 404


def test_personal_subscriptions_include_customer_feedback_for_the_merchant(kit, world, client):
    login(client, world.shipper_actor)
    page = client.get("/cases/settings/notifications").data.decode()
    assert 'name="customer_feedback"' in page
    before = {s.event.value: s for s in kit.notifications.subscriptions(world.shipper_actor)}
    assert before["customer_feedback"].enabled is False  # an agent's default
    # Submit the page with feedback turned on and everything else as it was.
    form = {e: "on" for e, s in before.items() if s.enabled}
    form["customer_feedback"] = "on"
    form.pop("message_posted", None)
    assert client.post("/cases/settings/notifications", data=form).status_code == 302
    after = {s.event.value: s.enabled for s in kit.notifications.subscriptions(world.shipper_actor)}
    assert after["customer_feedback"] is True
    assert after["message_posted"] is False
    untouched = set(before) - {"customer_feedback", "message_posted"}
    assert {e: after[e] for e in untouched} == {e: before[e].enabled for e in untouched}
    # A carrier never gets customer feedback: the page does not offer it.
    login(client, world.carrier_actor)
    assert (
        'name="customer_feedback"' not in client.get("/cases/settings/notifications").data.decode()
    )


@pytest.fixture
def order(shipments):
    return shipments.add_order(
        OrderFacts(number="ORD-7", shipper="acme", customer_email="casey@example.test")
    )


def test_portal_feedback_queues_mail_for_exactly_the_subscribed_merchant_logins(
    kit, world, client, order
):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    # The agent turns feedback on from the page; the manager turns it off.
    login(client, world.shipper_actor)
    client.post("/cases/settings/notifications", data={"customer_feedback": "on"})
    login(client, world.shipper_manager_actor)
    client.post("/cases/settings/notifications", data={})
    login(client, world.customer_actor)
    response = client.post(
        "/my-account/cases/feedback",
        data={"order": "ORD-7", "subject": "Open box", "message": "The box came open."},
    )
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    o = tables.outbox.c
    c = tables.cases.c
    with kit.engine.connect() as conn:
        case_id = conn.execute(select(c.id).where(c.number == number)).scalar_one()
        queued = conn.execute(
            select(o.email, o.event, o.recipient_kind).where(o.case_id == case_id)
        ).all()
    staff = sorted((email, event) for email, event, kind in queued if kind != "customer")
    assert staff == [(world.shipper_agent.email, "customer_feedback")]
    # No carrier staff hear of a customer's feedback.
    assert all(not email.endswith("@fast.test") for email, _e, _k in queued)


# -- case addresses -------------------------------------------------------------------------
def test_managers_add_change_and_remove_their_case_addresses(kit, world, client):
    login(client, world.shipper_manager_actor)
    assert "No case addresses yet." in client.get("/cases/settings/case-addresses").text
    added = client.post(
        "/cases/settings/case-addresses",
        data={
            "action": "add",
            "email": "Support@Acme.test",
            "case_type": "where_is_my_order",
            "owner_id": str(world.shipper_agent.id),
            "partner_id": str(world.carrier.id),
            "unknown_senders": "",
        },
    )
    assert added.status_code == 302
    [address] = kit.case_addresses.list(Actor.host())
    assert (address.email, address.case_type, address.owner_id, address.partner_id) == (
        "support@acme.test",
        "where_is_my_order",
        world.shipper_agent.id,
        world.carrier.id,
    )
    assert address.unknown_senders.value == "open"
    page = client.get("/cases/settings/case-addresses").text
    assert "support@acme.test" in page
    assert f'<option value="{world.carrier.id}" selected>Fast Freight</option>' in page
    saved = client.post(
        "/cases/settings/case-addresses",
        data={
            "action": "save",
            "address": "support@acme.test",
            "case_type": "",
            "owner_id": "",
            "partner_id": str(world.carrier.id),
            "unknown_senders": "triage",
        },
    )
    assert saved.status_code == 302
    [address] = kit.case_addresses.list(Actor.host())
    assert (address.case_type, address.owner_id, address.unknown_senders.value) == (
        None,
        None,
        "triage",
    )
    assert "support@acme.test saved." in client.get("/cases/settings/case-addresses").text
    # The carrier's staff see their own addresses only.
    login(client, world.carrier_manager_actor)
    assert "support@acme.test" not in client.get("/cases/settings/case-addresses").text
    gone = client.post(
        "/cases/settings/case-addresses", data={"action": "remove", "address": "support@acme.test"}
    )
    assert gone.status_code == 404
    login(client, world.shipper_manager_actor)
    removed = client.post(
        "/cases/settings/case-addresses", data={"action": "remove", "address": "support@acme.test"}
    )
    assert removed.status_code == 302
    assert kit.case_addresses.list(Actor.host()) == []


def test_bad_case_address_input_is_named_and_changes_nothing(kit, world, client):
    login(client, world.carrier_manager_actor)
    refused = client.post(
        "/cases/settings/case-addresses",
        data={"action": "add", "email": "desk@fast.test", "unknown_senders": "open"},
    )
    assert refused.status_code == 400
    assert "unknown senders" in refused.text
    assert 'value="desk@fast.test"' in refused.text  # what was typed stays
    bad_id = client.post(
        "/cases/settings/case-addresses",
        data={"action": "add", "email": "desk@fast.test", "owner_id": "x" * 5000},
    )
    assert bad_id.status_code == 400
    assert "<strong>Owner of the cases it opens</strong>:" in bad_id.text
    assert kit.case_addresses.list(Actor.host()) == []
    # Agents read; they change nothing.
    kit.case_addresses.add(Actor.host(), "desk@fast.test", org_id=world.carrier.id)
    login(client, world.carrier_actor)
    page = client.get("/cases/settings/case-addresses").text
    assert "desk@fast.test" in page
    assert "Only a manager changes the case addresses." in page
    denied = client.post(
        "/cases/settings/case-addresses", data={"action": "remove", "address": "desk@fast.test"}
    )
    assert denied.status_code == 403
    assert [a.email for a in kit.case_addresses.list(Actor.host())] == ["desk@fast.test"]


@pytest.mark.parametrize(
    ("label", "reader"),
    [
        ("New customer feedback (to staff)", "staff"),
        ("Reply to a customer's feedback (to the customer)", "customer"),
    ],
)
def test_each_feedback_template_changes_the_mail_its_label_names(kit, world, client, label, reader):
    """A manager edits the template the settings page labels; the mail of the reader the
    label names changes, and only that one."""
    mail = CapturedMail()
    kit.plugin_manager.register(mail)
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    login(client, world.shipper_manager_actor)
    listing = client.get("/cases/settings/templates").text
    found = re.search(
        rf'href="/cases/settings/templates/(\w+)">{re.escape(str(escape(label)))}</a>', listing
    )
    assert found, f"no template is labelled {label!r}"
    name = found.group(1)
    edit = client.get(f"/cases/settings/templates/{name}")
    assert str(escape(label)) in edit.text
    current = kit.notifications.template(world.shipper_manager_actor, name)
    saved = client.post(
        f"/cases/settings/templates/{name}",
        data={
            "subject": "EDITED [{{ case.number }}]",
            "text": current.text,
            "html": current.html,
            "action": "save",
        },
    )
    assert saved.status_code == 302

    # The customer sends feedback (its managers hear of it); the merchant replies.
    case = kit.cases.open(world.customer_actor, message="The box was open when it came")
    kit.messages.post(
        world.shipper_actor, case.number, "Sorry! A new one is on its way.", audience="everyone"
    )
    kit.notifications.deliver()
    to_staff = mail.to(world.shipper_manager.email)
    to_customer = mail.to(world.customer.email)
    assert to_staff
    assert to_customer
    edited = {"staff": to_staff, "customer": to_customer}
    for who, mails in edited.items():
        subjects = [str(n.message["Subject"]) for n in mails]
        if who == reader:
            assert subjects == [f"EDITED [{case.number}]"] * len(mails), who
        else:
            assert not any(s.startswith("EDITED") for s in subjects), who
