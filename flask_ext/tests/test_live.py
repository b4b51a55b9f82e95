"""Live updates through HTTP: the poll endpoints, who is writing, the list's unread marks,
and two web processes (two apps, each with its own kit) on one database.

The browser half (a new entry shows within 5 s; the composer's notice) is in
``test_browser_live.py``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import login, make_app

from casekit import CaseKit
from casekit.labels import field_label
from casekit.testing import World, make_kit


@pytest.fixture
def number(kit: CaseKit, world: World) -> str:
    return kit.cases.open(
        world.shipper_actor,
        type="lost",
        shipment="SHP-1",
        carrier=world.carrier.id,
        customer=world.customer.id,
        message="Where is it?",
        audience="everyone",
    ).number


def live(client: Any, number: str, *, portal: bool = False) -> dict[str, Any]:
    prefix = "/my-account/cases" if portal else "/cases"
    response = client.get(f"{prefix}/{number}/live")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, Any] = response.get_json()
    return body


def test_each_viewer_polls_its_own_signal(kit, world, app, number):
    shipper, carrier, customer = app.test_client(), app.test_client(), app.test_client()
    login(shipper, world.shipper_actor)
    login(carrier, world.carrier_actor)
    login(customer, world.customer_actor)
    before = {
        "shipper": live(shipper, number)["signal"],
        "carrier": live(carrier, number)["signal"],
        "customer": live(customer, number, portal=True)["signal"],
    }
    assert "writing" not in live(customer, number, portal=True)  # staff business

    # The shipper's internal note moves the shipper's signal only.
    kit.messages.post(world.shipper_manager_actor, number, "between us", audience="internal")
    assert live(shipper, number)["signal"] != before["shipper"]
    assert live(carrier, number)["signal"] == before["carrier"]
    assert live(customer, number, portal=True)["signal"] == before["customer"]
    # The carrier's message for partners moves both sides', not the customer's (once the
    # first answer moved the status the customer sees: new to open).
    kit.messages.post(world.carrier_actor, number, "on its way", audience="partners")
    assert live(carrier, number)["signal"] != before["carrier"]
    assert live(customer, number, portal=True)["signal"].endswith(".open")
    before = {"customer": live(customer, number, portal=True)["signal"]}
    kit.messages.post(world.carrier_actor, number, "delivered", audience="partners")
    assert live(customer, number, portal=True)["signal"] == before["customer"]
    state = live(shipper, number)
    assert state["unread"] is True
    assert state["latest_entry_id"] == kit.cases.timeline(world.shipper_actor, number)[-1].id


def test_strangers_and_the_wrong_side_find_nothing(kit, world, app, number):
    client = app.test_client()
    assert client.get(f"/cases/{number}/live").status_code == 401
    other = World.build(kit, tag="-2")
    for actor in (other.shipper_actor, other.carrier_actor):
        login(client, actor)
        assert client.get(f"/cases/{number}/live").status_code == 404
        assert client.post(f"/cases/{number}/writing", data={"active": "1"}).status_code == 404
    login(client, other.customer_actor)
    assert client.get(f"/my-account/cases/{number}/live").status_code == 404
    # A customer has no staff endpoint, staff no portal one.
    login(client, world.customer_actor)
    assert client.get(f"/cases/{number}/live").status_code == 404
    assert client.post(f"/cases/{number}/writing", data={"active": "1"}).status_code == 404
    login(client, world.shipper_actor)
    assert client.get(f"/my-account/cases/{number}/live").status_code == 404


def test_writing_shows_to_colleagues_and_a_bad_flag_is_a_400(kit, world, app, number):
    agent, manager, carrier = app.test_client(), app.test_client(), app.test_client()
    login(agent, world.shipper_actor)
    login(manager, world.shipper_manager_actor)
    login(carrier, world.carrier_manager_actor)
    assert agent.post(f"/cases/{number}/writing", data={"active": "1"}).status_code == 204
    assert live(manager, number)["writing"] == [world.shipper_agent.name]
    assert live(agent, number)["writing"] == []
    assert live(carrier, number)["writing"] == []
    refused = agent.post(f"/cases/{number}/writing", data={"active": "maybe"})
    assert refused.status_code == 400
    assert field_label("active") in refused.text  # the field, as the page names it
    assert agent.post(f"/cases/{number}/writing", data={"active": "0"}).status_code == 204
    assert live(manager, number)["writing"] == []


def unread_numbers(html: str) -> set[str]:
    return set(re.findall(r'>(CV\d+)</a> <span class="ck-unread"', html))


def test_the_list_marks_cases_with_entries_the_user_has_not_read(kit, world, app, number):
    quiet = kit.cases.open(world.shipper_manager_actor, type="lost", message="mine")
    manager = app.test_client()
    login(manager, world.shipper_manager_actor)
    # Never opened, with the agent's message: unread; the manager's own case is not.
    assert unread_numbers(manager.get("/cases/?view=all_cases").text) == {number}
    page = manager.get(f"/cases/{number}")
    assert page.status_code == 200
    assert 'data-ck-live="/cases/' in page.text
    assert f'data-ck-signal="{live(manager, number)["signal"]}"' in page.text
    assert unread_numbers(manager.get("/cases/?view=all_cases").text) == set()
    # The carrier's internal note is nothing to read; its message for partners is.
    kit.messages.post(world.carrier_actor, number, "ours", audience="internal")
    assert unread_numbers(manager.get("/cases/?view=all_cases").text) == set()
    kit.messages.post(world.carrier_actor, number, "yours", audience="partners")
    assert unread_numbers(manager.get("/cases/?view=all_cases").text) == {number}
    assert quiet.number not in unread_numbers(manager.get("/cases/?view=all_cases").text)


def test_two_web_processes_on_one_database_see_each_other(kit, world, database_url, tmp_path):
    """Two apps, each with a kit (engine, pool, caches) of its own, as two processes behind a
    load balancer: what one is told, the other answers."""
    number = kit.cases.open(world.shipper_actor, type="lost", message="first").number
    second = make_kit(database_url, attachment_dir=tmp_path / "second", create_schema=False)
    try:
        one, two = make_app(kit, WTF_CSRF_ENABLED=False), make_app(second, WTF_CSRF_ENABLED=False)
        agent, manager = one.test_client(), two.test_client()
        login(agent, world.shipper_actor)
        login(manager, world.shipper_manager_actor)
        before = live(manager, number)
        assert agent.post(f"/cases/{number}/writing", data={"active": "1"}).status_code == 204
        assert live(manager, number)["writing"] == [world.shipper_agent.name]
        posted = agent.post(
            f"/cases/{number}/messages",
            data={"body": "seen in the other process", "audience": "internal"},
        )
        assert posted.status_code == 302
        after = live(manager, number)
        assert after["signal"] != before["signal"]
        assert after["latest_entry_id"] > before["latest_entry_id"]
        assert after["unread"] is True
        # The page the other process renders holds the new entry, which the script inserts.
        page = manager.get(f"/cases/{number}")
        assert f'id="entry-{after["latest_entry_id"]}"' in page.text
        assert "seen in the other process" in page.text
        assert live(agent, number)["unread"] is False
    finally:
        second.close()


def test_the_api_answers_each_callers_live_state(kit, world, client, number):
    login(client, world.carrier_actor)
    kit.messages.post(world.shipper_actor, number, "ours alone", audience="internal")
    body = client.get(f"/api/v1/cases/{number}/live").get_json()
    state = kit.live.state(world.carrier_actor, number)
    assert body["signal"] == state.signal
    assert body["latest_entry_id"] == state.latest_entry_id
    assert body["status"] == state.status.value
    assert body["writing"] == []
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="poller", scope="read"
    ).token
    login(client, None)
    as_key = client.get(
        f"/api/v1/cases/{number}/live", headers={"Authorization": f"Bearer {key}"}
    ).get_json()
    # The shipper's key reads the internal note the carrier does not.
    assert as_key["entries"] == body["entries"] + 1
    assert as_key["unread"] is False
    assert as_key["writing"] == []
