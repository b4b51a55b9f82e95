"""The customer portal: feedback on an order, the customer's view of a case, replies, limits."""

from __future__ import annotations

import re

import pytest
from conftest import login, make_app

from casekit import Actor, OrderFacts


@pytest.fixture
def portal_on(kit, world):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)


@pytest.fixture
def order(shipments):
    return shipments.add_order(
        OrderFacts(number="ORD-9", shipper="acme", customer_email="casey@example.test")
    )


def test_no_feedback_until_the_merchant_enables_the_portal(kit, world, client, order):
    login(client, world.customer_actor)
    assert client.get("/my-account/cases/feedback").status_code == 404
    assert client.post("/my-account/cases/feedback", data={"message": "hi"}).status_code == 404
    assert "Send feedback" not in client.get("/my-account/cases/").data.decode()
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    assert client.get("/my-account/cases/feedback").status_code == 200


def test_feedback_opens_a_new_portal_case_on_the_order(kit, world, client, portal_on, order):
    login(client, world.customer_actor)
    response = client.post(
        "/my-account/cases/feedback",
        data={"order": "ORD-9", "subject": "Late", "message": "Where is my parcel?"},
    )
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    case = kit.cases.get(Actor.host(), number)
    assert (case.type, case.source.value, case.status.value) == (
        "customer_feedback",
        "portal",
        "new",
    )
    assert case.customer_id == world.customer.id
    page = client.get(f"/my-account/cases/{number}").data.decode()
    assert "Where is my parcel?" in page
    assert "Order ORD-9" in page


def test_feedback_errors_name_the_field(world, client, portal_on, order, shipments):
    shipments.add_order(OrderFacts(number="ORD-X", shipper="acme", customer_email="x@else.test"))
    login(client, world.customer_actor)
    empty = client.post("/my-account/cases/feedback", data={"order": "ORD-9", "message": ""})
    assert empty.status_code == 400
    assert "a message needs text" in empty.data.decode()
    theirs = client.post("/my-account/cases/feedback", data={"order": "ORD-X", "message": "m"})
    assert theirs.status_code == 400
    assert "not one of your orders" in theirs.data.decode()


def test_the_customer_sees_replies_but_never_internal_or_partner_entries(
    kit, world, client, portal_on
):
    case = kit.cases.open(world.customer_actor, message="Box damaged")
    staff = world.shipper_actor
    kit.messages.post(staff, case.number, "SECRET internal note", audience="internal")
    kit.messages.post(staff, case.number, "PARTNER note for the carrier")
    kit.messages.post(staff, case.number, "We are sending a new one", audience="everyone")
    login(client, world.customer_actor)
    html = client.get(f"/my-account/cases/{case.number}").data.decode()
    assert "We are sending a new one" in html
    assert "SECRET" not in html
    assert "PARTNER" not in html
    reply = client.post(f"/my-account/cases/{case.number}/reply", data={"body": "Thanks!"})
    assert reply.status_code == 302
    assert kit.cases.get(staff, case.number).status.value == "reply_received"
    blank = client.post(f"/my-account/cases/{case.number}/reply", data={"body": " "})
    assert blank.status_code == 400
    assert "a message needs text" in blank.data.decode()


def test_another_customers_case_is_not_found(kit, world, actors, client, portal_on):
    case = kit.cases.open(world.customer_actor, message="mine")
    login(client, actors["other_customer"])
    assert client.get(f"/my-account/cases/{case.number}").status_code == 404
    reply = client.post(f"/my-account/cases/{case.number}/reply", data={"body": "x"})
    assert reply.status_code == 404
    assert case.number not in client.get("/my-account/cases/").data.decode()


def test_sending_is_rate_limited(kit, world, portal_on, order):
    app = make_app(kit, WTF_CSRF_ENABLED=False, CASEKIT_PORTAL_RATE_LIMIT=2)
    client = app.test_client()
    login(client, world.customer_actor)
    sent = [
        client.post("/my-account/cases/feedback", data={"message": f"m{i}"}).status_code
        for i in range(3)
    ]
    assert sent == [302, 302, 429]
    assert len(kit.views.list(world.customer_actor, {"view": "all_cases"}).rows) == 2


def test_the_feedback_button_helper(kit, world, portal_on):
    app = make_app(kit, WTF_CSRF_ENABLED=False)
    client = app.test_client()

    @app.get("/orders/<number>")
    def order_page(number):  # the host's own page
        from flask import render_template_string

        return render_template_string(
            "<h1>Order</h1>{{ casekit_feedback_button(number) }}", number=number
        )

    login(client, world.customer_actor)
    html = client.get("/orders/ORD-9").data.decode()
    assert re.search(r'href="/my-account/cases/feedback\?order=ORD-9"', html)
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, False)
    assert "feedback" not in client.get("/orders/ORD-9").data.decode()
    login(client, world.shipper_actor)
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    assert "feedback" not in client.get("/orders/ORD-9").data.decode()
