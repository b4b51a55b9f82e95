"""The staff case page: the composer's audiences and default, the controls per actor,
and a stale form. On every database (the page reads the case, its timeline and
what the actor may do through the kit)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from conftest import login

from casekit import Actor, Status
from casekit.domain import policy


def audiences(page: str) -> tuple[list[str], str | None]:
    """The composer's audiences, in order, and the one checked."""
    radios = re.findall(r'<input type="radio" name="audience" value="(\w+)" ?(checked)?', page)
    offered = [value for value, _ in radios]
    checked = [value for value, on in radios if on]
    assert len(checked) <= 1, checked
    return offered, (checked[0] if checked else None)


def get(client, actor: Actor, number: str) -> str:
    login(client, actor)
    response = client.get(f"/cases/{number}")
    assert response.status_code == 200
    return response.data.decode()


# -- the composer's audiences ----------------------------------------------------------------
def test_a_case_of_the_shipper_alone_starts_on_an_internal_note(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", message="Checking stock")
    assert audiences(get(client, world.shipper_actor, case.number)) == (["internal"], "internal")


def test_a_collaborating_carrier_makes_partners_the_default(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    offered, checked = audiences(get(client, world.shipper_actor, case.number))
    assert (offered, checked) == (["internal", "partners"], "partners")
    # The carrier's staff answer the shipper.
    offered, checked = audiences(get(client, world.carrier_actor, case.number))
    assert (offered, checked) == (["internal", "partners"], "partners")


def test_a_carrier_that_does_not_collaborate_is_offered_but_not_the_default(kit, world, client):
    case = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, carrier_collaborating=False
    )
    offered, checked = audiences(get(client, world.shipper_actor, case.number))
    assert (offered, checked) == (["internal", "partners"], "internal")


def test_a_customer_without_a_carrier_is_the_default_and_partners_is_not_offered(
    kit, world, client
):
    case = kit.cases.open(world.shipper_actor, type="lost", customer=world.customer.id)
    offered, checked = audiences(get(client, world.shipper_actor, case.number))
    assert (offered, checked) == (["internal", "customer"], "customer")


def test_the_customers_feedback_starts_on_the_customer_even_with_a_carrier(kit, world, client):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    case = kit.cases.open(world.customer_actor, subject="Late", message="Where is it?")
    kit.cases.change(
        world.shipper_actor,
        case.number,
        {"carrier": world.carrier.id, "carrier_collaborating": True},
    )
    offered, checked = audiences(get(client, world.shipper_actor, case.number))
    assert offered == ["internal", "partners", "customer", "everyone"]
    assert checked == "customer"
    # The same parties on a case the shipper opened: the carrier is who it works with.
    other = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, customer=world.customer.id
    )
    assert audiences(get(client, world.shipper_actor, other.number))[1] == "partners"


def test_the_kit_says_the_same_as_the_page(kit, world):
    case = kit.cases.open(world.shipper_actor, type="lost", customer=world.customer.id)
    allowed = kit.cases.allowed(world.shipper_actor, case.number)
    assert [a.value for a in allowed.audiences] == ["internal", "customer"]
    assert allowed.default_audience is not None
    assert allowed.default_audience.value == "customer"
    assert isinstance(allowed, policy.Allowed)


# -- controls per actor ---------------------------------------------------------------------
def test_an_agent_sees_no_hand_over_on_a_colleagues_case_and_may_not_post_it(kit, world, client):
    case = kit.cases.open(world.shipper_manager_actor, type="lost", carrier=world.carrier.id)
    kit.cases.watch(world.shipper_manager_actor, case.number)
    agent = get(client, world.shipper_actor, case.number)
    assert "Hand over" not in agent
    assert "Take ownership" not in agent
    assert 'name="action" value="remove"' not in agent  # a colleague who watches
    assert "Watch</button>" in agent
    assert "Add watcher" in agent
    for form in (
        {"action": "hand_over", "user_id": str(world.shipper_agent.id)},
        {"action": "take"},
    ):
        refused = client.post(f"/cases/{case.number}/owner", data=form)
        assert refused.status_code == 403, form
    removing = {"action": "remove", "user_id": str(world.shipper_manager.id)}
    assert client.post(f"/cases/{case.number}/watchers", data=removing).status_code == 403
    assert kit.cases.get(Actor.host(), case.number).shipper_owner_id == world.shipper_manager.id

    # The manager (and an agent on a case nobody of theirs owns) may.
    manager = get(client, world.shipper_manager_actor, case.number)
    assert "Hand over" in manager
    assert "Let go" in manager
    kit.cases.set_owner(world.shipper_manager_actor, case.number, None)
    agent = get(client, world.shipper_actor, case.number)
    assert "Take ownership" in agent
    assert "Hand over" in agent
    taken = client.post(f"/cases/{case.number}/owner", data={"action": "take"})
    assert taken.status_code == 302


def test_the_carrier_sees_no_carrier_form_and_may_not_post_it(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    shipper = get(client, world.shipper_actor, case.number)
    assert "Save carrier" in shipper
    assert "Change the carrier" in shipper
    carrier = get(client, world.carrier_actor, case.number)
    assert "Save carrier" not in carrier
    assert 'id="carrier"' not in carrier
    refused = client.post(
        f"/cases/{case.number}/carrier", data={"carrier": "", "version": str(case.version)}
    )
    assert refused.status_code == 403
    assert kit.cases.get(Actor.host(), case.number).carrier_org_id == world.carrier.id


def test_the_carrier_is_offered_only_the_statuses_it_may_set(kit, world, client, customer_case):
    page = get(client, world.carrier_actor, customer_case.number)
    select = page.split('<select id="status" name="status">', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="(\w+)"', select)
    allowed = kit.cases.allowed(world.carrier_actor, customer_case.number)
    assert offered == [s.value for s in allowed.statuses] == ["open", "solved"]
    refused = client.post(f"/cases/{customer_case.number}/status", data={"status": "waiting"})
    assert refused.status_code == 403


# -- a stale form ---------------------------------------------------------------------------
def hidden(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)


def test_a_stale_form_shows_what_changed_keeps_the_input_and_applies_again(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    before = get(client, world.shipper_actor, case.number)
    version, seen = hidden(before, "version")[0], hidden(before, "seen")[0]
    # Meanwhile the carrier answers and solves it.
    kit.messages.post(world.carrier_actor, case.number, "Found it at the depot.")
    kit.cases.change_status(world.carrier_actor, case.number, "solved")
    kit.messages.post(world.shipper_manager_actor, case.number, "Note", audience="internal")

    stale = client.post(
        f"/cases/{case.number}/status",
        data={"status": "waiting", "version": version, "seen": seen},
    )
    assert stale.status_code == 409
    page = stale.data.decode()
    notice = page.split('id="case-notices"', 1)[1].split('class="ck-timeline"', 1)[0]
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", notice))
    text = re.sub(r"\s+", " ", text)
    assert "nothing was saved" in text
    assert "You asked to change the status to Waiting" in text
    assert f"{case.number} changed after you opened this page" in text
    assert "Max Dispatch wrote" not in text  # the carrier agent wrote, not its manager
    assert "Cal Carrier wrote" in text
    assert "Cal Carrier solved the case" in text
    assert "Mia Manager wrote" in text  # the shipper's internal note: the viewer reads it
    # Nothing written; the page is the case as it is now.
    now = kit.cases.get(world.shipper_actor, case.number)
    assert now.status is Status.SOLVED
    assert hidden(page, "version")[0] == str(now.version)
    # The input is kept in the notice's form, ready to send against the new version.
    reapply = page.split('class="ck-stale-actions"', 1)[1].split("</form>", 1)[0]
    assert hidden(reapply, "status") == ["waiting"]
    assert hidden(reapply, "version") == [str(now.version)]
    assert hidden(reapply, "csrf_token")
    assert "Apply my change again" in reapply
    assert f'action="/cases/{case.number}/status"' in reapply
    again = client.post(
        f"/cases/{case.number}/status",
        data={"status": "waiting", "version": str(now.version), "seen": hidden(page, "seen")[0]},
    )
    assert again.status_code == 302
    assert kit.cases.get(Actor.host(), case.number).status is Status.WAITING


def test_the_carrier_reads_in_a_stale_notice_only_what_it_may(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    before = get(client, world.carrier_actor, case.number)
    version, seen = hidden(before, "version")[0], hidden(before, "seen")[0]
    kit.messages.post(world.shipper_actor, case.number, "SECRET-NOTE", audience="internal")
    kit.messages.post(world.shipper_actor, case.number, "For you", audience="partners")
    stale = client.post(
        f"/cases/{case.number}/owner",
        data={"action": "take", "version": version, "seen": seen},
    )
    assert stale.status_code == 409
    page = stale.data.decode()
    assert "SECRET-NOTE" not in page
    notice = page.split('id="case-notices"', 1)[1].split('class="ck-timeline"', 1)[0]
    assert "Sam Shipper wrote" in notice
    assert "take ownership" in notice
    assert kit.cases.get(Actor.host(), case.number).carrier_owner_id is None


@pytest.mark.parametrize("seen", ["", "abc", "-1", "9" * 40])
def test_a_stale_form_with_a_bad_seen_still_shows_the_page(kit, world, client, seen):
    case = kit.cases.open(world.shipper_actor, type="lost")
    kit.cases.change_type(world.shipper_actor, case.number, "osd_damaged")
    login(client, world.shipper_actor)
    stale = client.post(
        f"/cases/{case.number}/type",
        data={"type": "lost", "version": str(case.version), "seen": seen},
    )
    assert stale.status_code == 409
    page = stale.data.decode()
    assert "You asked to" in page
    assert "change the case type to" in page
    assert re.search(r'<details class="ck-more" open>\s*<summary>Change the case type', page)


def test_an_error_page_names_the_case_by_its_own_number(world, client):
    login(client, world.shipper_actor)
    response = client.get("/cases/CV999999")
    assert response.status_code == 404
    assert "CV999999" in response.data.decode()
    assert "cv999999" not in response.data.decode()


def test_posting_lands_on_the_new_message(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    login(client, world.shipper_actor)
    posted = client.post(f"/cases/{case.number}/messages", data={"body": "On my way"})
    assert posted.status_code == 302
    timeline = kit.cases.timeline(world.shipper_actor, case.number)
    message = next(e for e in timeline if e.body == "On my way")
    assert posted.headers["Location"].endswith(f"/cases/{case.number}#entry-{message.id}")
