"""The customer portal: feedback on an order, the customer's view of a case, replies, limits."""

from __future__ import annotations

import io
import re

import attrs
import pytest
from conftest import login, make_app, png

from casekit import Actor, OrderFacts
from casekit.labels import field_label


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


def test_the_list_marks_a_new_reply_until_the_customer_opens_the_case(kit, world, client):
    case = kit.cases.open(world.customer_actor, message="Box damaged")
    mark = re.compile(r'<span class="ck-unread"[^>]*>New reply</span>')
    login(client, world.customer_actor)
    assert not mark.search(client.get("/my-account/cases/").data.decode())
    kit.messages.post(world.shipper_actor, case.number, "SECRET note", audience="internal")
    assert not mark.search(client.get("/my-account/cases/").data.decode())
    kit.messages.post(world.shipper_actor, case.number, "A new one ships", audience="customer")
    assert mark.search(client.get("/my-account/cases/").data.decode())
    assert client.get(f"/my-account/cases/{case.number}").status_code == 200
    assert not mark.search(client.get("/my-account/cases/").data.decode())


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


# -- written for customers: words, titles, the list, orders, photos ---------------------------

PORTAL = "/my-account/cases"


def _number(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_the_customers_words_titles_and_the_way_back(kit, world, client, portal_on, order):
    login(client, world.customer_actor)
    long = "The box arrived crushed on one corner and two of the four mugs inside were broken."
    first = _number(client.post(f"{PORTAL}/feedback", data={"order": "ORD-9", "message": long}))
    second = _number(client.post(f"{PORTAL}/feedback", data={"message": "Where is my refund?"}))
    staff = world.shipper_actor
    kit.messages.post(staff, first, "SECRET internal", audience="internal")
    kit.messages.post(staff, first, "Sorry! Could you send a photo?", audience="customer")

    page = client.get(f"{PORTAL}/{first}").get_data(as_text=True)
    assert '<h1 class="ck-portal-h1">Order ORD-9: The box arrived crushed on one corner' in page
    assert "Waiting for your reply" in page
    assert "please reply below" in page
    assert ">Waiting<" not in page
    assert "Reply received" not in page
    assert re.search(rf'<a href="{PORTAL}/">.*All my feedback</a>', page)

    listing = client.get(f"{PORTAL}/").get_data(as_text=True)
    # Newest first, each with its title, its status in the customer's words and the latest reply.
    assert listing.index("Where is my refund?") < listing.index("Order ORD-9: The box arrived")
    assert "Waiting for your reply" in listing
    assert "Received" in listing
    assert "Sorry! Could you send a photo?" in listing
    assert "We replied" in listing
    assert "You wrote" in listing
    assert "SECRET" not in listing
    assert "Feedback on my order" not in listing
    assert f'href="{PORTAL}/{second}"' in listing

    # A bad place in the list is a 400 naming the field.
    bad = client.get(f"{PORTAL}/?before=x")
    assert bad.status_code == 400
    assert field_label("before") in bad.get_data(as_text=True)


def test_the_list_pages_newest_first(kit, world, portal_on):
    app = make_app(kit, WTF_CSRF_ENABLED=False, CASEKIT_PAGE_SIZE=2)
    client = app.test_client()
    numbers = [kit.cases.open(world.customer_actor, message=f"m{i}").number for i in range(3)]
    login(client, world.customer_actor)
    top = client.get(f"{PORTAL}/").get_data(as_text=True)
    assert [n for n in reversed(numbers) if n in top] == list(reversed(numbers))[:2]
    older = re.search(r'rel="next" class="ck-button" href="([^"]+)"', top)
    assert older is not None
    rest = client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert numbers[0] in rest
    assert numbers[2] not in rest


def test_the_customer_picks_one_of_their_orders(kit, world, client, portal_on, order, shipments):
    shipments.add_order(
        OrderFacts(number="ORD-10", shipper="acme", customer_email=world.customer.email)
    )
    shipments.add_order(OrderFacts(number="ORD-X", shipper="acme", customer_email="x@else.test"))
    login(client, world.customer_actor)
    form = client.get(f"{PORTAL}/feedback").get_data(as_text=True)
    assert 'type="radio" name="order" value="ORD-9"' in form
    assert 'type="radio" name="order" value="ORD-10"' in form
    assert "ORD-X" not in form
    assert 'id="order"' not in form  # nothing to type
    # The host's button preselects its order.
    picked = client.get(f"{PORTAL}/feedback?order=ORD-10").get_data(as_text=True)
    assert re.search(r'value="ORD-10"[^>]* checked', picked)
    assert not re.search(r'value="ORD-9"[^>]* checked', picked)
    # Another customer's order, or one that does not exist: a 400 naming the field.
    for forged in ("ORD-X", "NOPE-1"):
        shown = client.get(f"{PORTAL}/feedback?order={forged}")
        assert shown.status_code == 400
        sent = client.post(f"{PORTAL}/feedback", data={"order": forged, "message": "mine?"})
        assert sent.status_code == 400
        assert "not one of your orders" in sent.get_data(as_text=True)
        assert 'id="order-error"' in sent.get_data(as_text=True)
    assert kit.views.list(world.customer_actor, {"view": "all_cases"}).rows == ()
    number = _number(client.post(f"{PORTAL}/feedback", data={"order": "ORD-10", "message": "m"}))
    assert kit.cases.facts(world.customer_actor, number).order.number == "ORD-10"


def test_without_known_orders_the_customer_types_one(world, client, portal_on):
    login(client, world.customer_actor)
    form = client.get(f"{PORTAL}/feedback").get_data(as_text=True)
    assert 'id="order"' in form
    assert 'type="radio"' not in form


def test_photos_on_feedback_and_replies(kit, world, client, portal_on, order):
    login(client, world.customer_actor)
    number = _number(
        client.post(
            f"{PORTAL}/feedback",
            data={
                "order": "ORD-9",
                "message": "Crushed box",
                "attachments": [(io.BytesIO(png()), "box.png", "image/png")],
            },
            content_type="multipart/form-data",
        )
    )
    reply = client.post(
        f"{PORTAL}/{number}/reply",
        data={"body": "", "attachments": [(io.BytesIO(b"%PDF-1.4 receipt"), "receipt.pdf")]},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 302  # a file alone is a reply
    entries = [e for e in kit.cases.timeline(Actor.host(), number) if e.kind == "message"]
    files = [f for e in entries for f in e.attachments]
    assert [(f.filename, f.content_type) for f in files] == [
        ("box.png", "image/png"),
        ("receipt.pdf", "application/pdf"),
    ]
    photo, receipt = files
    page = client.get(f"{PORTAL}/{number}").get_data(as_text=True)
    assert f'src="{PORTAL}/{number}/attachments/{photo.id}?inline=1"' in page
    assert f'src="{PORTAL}/{number}/attachments/{receipt.id}?inline=1"' not in page
    assert f'href="{PORTAL}/{number}/attachments/{receipt.id}" download><span>receipt.pdf<' in page

    shown = fetch(client, f"{PORTAL}/{number}/attachments/{photo.id}?inline=1")
    assert shown.status_code == 200
    assert shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert shown.data == png()
    # Not an image by its bytes: the download, whatever it is asked as.
    download = fetch(client, f"{PORTAL}/{number}/attachments/{receipt.id}?inline=1")
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data == b"%PDF-1.4 receipt"

    # Staff see the customer's photo on their page too, and open it in place.
    staff = client_for(kit, world.shipper_actor)
    staff_page = staff.get(f"/cases/{number}").get_data(as_text=True)
    assert f'src="/cases/{number}/attachments/{photo.id}?inline=1"' in staff_page
    assert f'src="/cases/{number}/attachments/{receipt.id}?inline=1"' not in staff_page
    assert f'href="/cases/{number}/attachments/{receipt.id}" download>receipt.pdf<' in staff_page
    in_place = fetch(staff, f"/cases/{number}/attachments/{photo.id}?inline=1")
    assert in_place.mimetype == "image/png"
    assert in_place.data == png()


def test_a_photo_that_claims_to_be_an_image_but_is_not_is_a_download(kit, world, client, portal_on):
    login(client, world.customer_actor)
    number = _number(
        client.post(
            f"{PORTAL}/feedback",
            data={
                "message": "see",
                "attachments": [(io.BytesIO(b"<svg onload=alert(1)>"), "x.png", "image/png")],
            },
            content_type="multipart/form-data",
        )
    )
    (entry,) = [e for e in kit.cases.timeline(Actor.host(), number) if e.attachments]
    shown = fetch(client, f"{PORTAL}/{number}/attachments/{entry.attachments[0].id}?inline=1")
    assert shown.mimetype == "application/octet-stream"
    assert shown.headers["Content-Disposition"].startswith("attachment")


def test_photos_keep_the_staff_limits(kit, world, portal_on, order):
    app = make_app(kit, WTF_CSRF_ENABLED=False)
    kit.settings = attrs.evolve(kit.settings, max_attachment_bytes=100)
    client = app.test_client()
    login(client, world.customer_actor)
    big = client.post(
        f"{PORTAL}/feedback",
        data={"message": "big", "attachments": [(io.BytesIO(bytes(range(256))), "big.png")]},
        content_type="multipart/form-data",
    )
    assert big.status_code == 400
    text = big.get_data(as_text=True)
    assert "larger than the limit of 100 bytes" in text
    assert 'id="attachments-error"' in text
    many = client.post(
        f"{PORTAL}/feedback",
        data={
            "message": "many",
            "attachments": [(io.BytesIO(b"x"), f"{i}.png") for i in range(21)],
        },
        content_type="multipart/form-data",
    )
    assert many.status_code == 400
    assert "at most 20 files" in many.get_data(as_text=True)
    assert kit.views.list(world.customer_actor, {"view": "all_cases"}).rows == ()


def test_the_forms_need_their_csrf_token(kit, world, portal_on, order):
    app = make_app(kit)  # CSRF on, as in production
    client = app.test_client()
    login(client, world.customer_actor)
    data = {"message": "m", "attachments": [(io.BytesIO(png()), "p.png")]}
    refused = client.post(f"{PORTAL}/feedback", data=data, content_type="multipart/form-data")
    assert refused.status_code == 400
    assert kit.views.list(world.customer_actor, {"view": "all_cases"}).rows == ()


def test_who_reads_the_customers_photo(kit, world, actors, portal_on, customer_case):
    number = customer_case.number
    customer = client_for(kit, world.customer_actor)
    sent = customer.post(
        f"{PORTAL}/{number}/reply",
        data={"body": "Photo", "attachments": [(io.BytesIO(png()), "dent.png", "image/png")]},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    entry = kit.cases.timeline(Actor.host(), number)[-1]
    (photo,) = entry.attachments
    staff_url = f"/cases/{number}/attachments/{photo.id}"
    portal_url = f"{PORTAL}/{number}/attachments/{photo.id}"
    assert fetch(client_for(kit, world.shipper_actor), staff_url).status_code == 200
    carrier = client_for(kit, world.carrier_actor)
    assert fetch(carrier, staff_url).status_code == 404
    assert fetch(carrier, staff_url + "?inline=1").status_code == 404
    assert "dent.png" not in carrier.get(f"/cases/{number}").get_data(as_text=True)
    assert "dent.png" in client_for(kit, world.shipper_actor).get(f"/cases/{number}").text
    other = client_for(kit, actors["other_customer"])
    assert fetch(other, portal_url).status_code == 404
    assert fetch(other, portal_url + "?inline=1").status_code == 404
    # Once the shipper shares the message, the carrier reads the photo too.
    kit.cases.share_with_carrier(world.shipper_actor, number, entry.id)
    assert fetch(carrier, staff_url).data == png()
    assert fetch(carrier, staff_url + "?inline=1").mimetype == "image/png"
    assert f'src="{staff_url}?inline=1"' in carrier.get(f"/cases/{number}").text
    assert fetch(other, portal_url).status_code == 404


def fetch(client, url):
    """The answer to GET ``url``, read and closed (an attachment's file is closed with it)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def client_for(kit, actor):
    app = make_app(kit, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    login(client, actor)
    return client
