"""The staff pages through the Flask test client, on the database under test."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import login

from casekit import Actor, Status
from casekit.labels import field_label
from casekit.query.listing import COLUMNS


def numbers_in(html: bytes) -> list[str]:
    return re.findall(r'href="/cases/(CV\d+)"', html.decode())


def test_the_list_shows_views_counts_and_the_reference_columns(kit, world, client):
    me = world.shipper_actor
    first = kit.cases.open(me, type="lost", shipment="SHP-1", message="Where?")
    second = kit.cases.open(me, type="osd_damaged", take_ownership=False)
    login(client, me)
    page = client.get("/cases/")
    assert page.status_code == 200
    html = page.data.decode()
    for label in ("All Active", "Recent Responses", "My Active", "My Watched", "New Cases"):
        assert label in html
    # By default, the columns that fit a 1366 px screen; the reference columns are chosen.
    for header in ("Status", "Type", "Message", "Owners"):
        assert f">{header}</th>" in html
    for header in ("Created", "Latest message", "Case"):
        assert f'>{header}<span class="ck-sort-mark"' in html
    assert ">Tracking #</th>" not in html
    assert numbers_in(page.data) == [second.number, first.number]
    kit.views.set_columns(me, COLUMNS)
    html = client.get("/cases/").data.decode()
    for header in ("Tracking #", "BOL #", "PO #", "Owners", "CRM #", "Account"):
        assert f">{header}</th>" in html
    assert "1Z001" in html  # the shipment's tracking number column
    new_cases = client.get("/cases/?view=new_cases")
    assert numbers_in(new_cases.data) == [second.number]
    assert re.search(r"New Cases <span class=\"ck-count\"[^>]*>1</span>", html)


def test_quick_and_more_filters_search_and_sort(kit, world, client):
    me = world.shipper_actor
    lost = kit.cases.open(me, type="lost", shipment="SHP-1")
    damaged = kit.cases.open(me, type="osd_damaged", shipment="SHP-2")
    login(client, me)
    assert numbers_in(client.get("/cases/?type=lost").data) == [lost.number]
    by_name = client.get("/cases/?destination_name=casey+2&destination_name_op=contains")
    assert numbers_in(by_name.data) == [damaged.number]
    assert numbers_in(client.get("/cases/?q=1Z001").data) == [lost.number]
    ascending = client.get("/cases/?sort=number&dir=asc")
    assert numbers_in(ascending.data) == [lost.number, damaged.number]
    assert numbers_in(client.get("/cases/?brand=Acme+Trail").data) == [damaged.number]
    by_carrier = client.get(f"/cases/?carrier={world.carrier.id}")
    assert numbers_in(by_carrier.data) == [damaged.number, lost.number]
    assert (
        f'<option value="{world.carrier.id}" selected>Fast Freight</option>'
        in by_carrier.data.decode()
    )


def test_a_bad_filter_is_a_400_naming_the_field(world, client):
    login(client, world.shipper_actor)
    page = client.get("/cases/?status=closed")
    assert page.status_code == 400
    assert "filters.0.value" in page.data.decode() or "status" in page.data.decode()
    bad_sort = client.get("/cases/?sort=colour")
    assert bad_sort.status_code == 400
    assert "sort" in bad_sort.data.decode()
    bad_cursor = client.get("/cases/?cursor=nonsense")
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.data.decode()


def test_keyset_paging_walks_every_case_once(kit, world, app, client):
    app.extensions["casekit"].page_size = 2
    me = world.shipper_actor
    opened = [kit.cases.open(me, type="lost").number for _ in range(5)]
    login(client, me)
    seen: list[str] = []
    url = "/cases/?view=all_cases"
    while url:
        page = client.get(url)
        seen.extend(numbers_in(page.data))
        found = re.search(r'<a rel="next" href="([^"]+)"', page.data.decode())
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == list(reversed(opened))


def test_csv_export_has_the_filtered_rows(kit, world, client):
    me = world.shipper_actor
    lost = kit.cases.open(me, type="lost", shipment="SHP-1")
    kit.cases.open(me, type="osd_damaged")
    login(client, me)
    response = client.get("/cases/export.csv?type=lost")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.data.decode())))
    assert rows[0][0] == "number"
    assert [r[0] for r in rows[1:]] == [lost.number]


def test_the_csv_export_neutralises_formulas(kit, world, client):
    me = world.shipper_actor
    case = kit.cases.open(me, type="lost", customer=world.customer.id)
    kit.messages.post(world.customer_actor, case.number, '=HYPERLINK("http://x","y")')
    kit.cases.set_crm_number(me, case.number, "+1+1")
    login(client, me)
    response = client.get("/cases/export.csv?view=all_cases")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0]["latest_message_excerpt"] == '\'=HYPERLINK("http://x","y")'
    assert rows[0]["crm_number"] == "'+1+1"


def test_saving_opening_and_deleting_a_view(kit, world, client):
    me = world.shipper_actor
    lost = kit.cases.open(me, type="lost")
    kit.cases.open(me, type="cancel")
    login(client, me)
    query = '{"view": "all_active", "filters": [{"field": "type", "op": "in", "value": ["lost"]}]}'
    saved = client.post("/cases/views", data={"name": "Lost ones", "query": query})
    assert saved.status_code == 302
    view_id = int(saved.headers["Location"].split("saved=")[1])
    page = client.get(f"/cases/?saved={view_id}")
    assert numbers_in(page.data) == [lost.number]
    assert "Lost ones" in page.data.decode()
    duplicate = client.post("/cases/views", data={"name": "Lost ones", "query": query})
    assert duplicate.status_code == 400
    assert "name" in duplicate.data.decode()
    assert client.post(f"/cases/views/{view_id}/delete").status_code == 302
    assert kit.views.saved(me) == []


def test_a_deeply_nested_view_query_is_a_400_naming_it(kit, world, client):
    login(client, world.shipper_actor)
    query = '{"filters": ' + "[" * 1000 + "]" * 1000 + "}"
    response = client.post("/cases/views", data={"name": "Deep", "query": query})
    assert response.status_code == 400
    assert "View: nested deeper than 32 levels" in response.data.decode()
    assert kit.views.saved(world.shipper_actor) == []


def test_create_case_with_a_shipment_not_collaborating(kit, world, client):
    login(client, world.shipper_actor)
    response = client.post(
        "/cases/new",
        data={
            "type": "lost",
            "shipment": "SHP-1",
            "customer_email": "casey@example.test",
            "collaborating": "no",
            "message": "Box missing",
            "audience": "internal",
        },
    )
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    case = kit.cases.get(Actor.host(), number)
    assert case.carrier_org_id == world.carrier.id
    assert case.carrier_collaborating is False
    assert case.shipper_owner_id == world.shipper_agent.id
    assert case.customer_id == world.customer.id


def test_create_case_errors_name_the_field_and_keep_the_input(world, client):
    login(client, world.shipper_actor)
    response = client.post("/cases/new", data={"type": "", "message": "keep me"})
    assert response.status_code == 400
    html = response.data.decode()
    assert "a case type is required" in html
    assert "keep me" in html
    unknown = client.post("/cases/new", data={"type": "lost", "shipment": "NOPE"})
    assert unknown.status_code == 400
    assert "shipment" in unknown.data.decode()
    letters = client.post("/cases/new", data={"type": "lost", "carrier": "abc"})
    assert letters.status_code == 400
    assert "carrier" in letters.data.decode()
    stranger = client.post("/cases/new", data={"type": "lost", "customer_email": "who@else.test"})
    assert stranger.status_code == 400
    assert "no customer of yours has the address who@else.test" in stranger.data.decode()


def test_a_carrier_creates_a_case_naming_the_shipper(kit, world, client):
    login(client, world.carrier_actor)
    response = client.post(
        "/cases/new", data={"type": "delivery_scheduling", "shipper": str(world.shipper.id)}
    )
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    assert kit.cases.get(world.carrier_actor, number).carrier_owner_id == world.carrier_agent.id


def test_the_case_page_works_the_case(kit, world, client):
    me = world.shipper_actor
    case = kit.cases.open(
        me, type="lost", shipment="SHP-1", customer=world.customer.id, take_ownership=False
    )
    number = case.number
    login(client, me)
    page = client.get(f"/cases/{number}")
    html = page.data.decode()
    assert page.status_code == 200
    assert "Shipment SHP-1" in html
    assert "casey@example.test" in html
    assert client.post(f"/cases/{number}/owner", data={"action": "take"}).status_code == 302
    assert kit.cases.get(me, number).shipper_owner_id == world.shipper_agent.id
    handed = client.post(
        f"/cases/{number}/owner",
        data={"action": "hand_over", "user_id": str(world.shipper_manager.id)},
    )
    assert handed.status_code == 302
    assert kit.cases.get(me, number).shipper_owner_id == world.shipper_manager.id
    client.post(f"/cases/{number}/watchers", data={"action": "watch"})
    assert kit.cases.get(me, number).watcher_ids == (world.shipper_agent.id,)
    client.post(f"/cases/{number}/watchers", data={"action": "unwatch"})
    assert kit.cases.get(me, number).watcher_ids == ()
    added = client.post(
        f"/cases/{number}/watchers",
        data={"action": "add", "user_id": str(world.shipper_manager.id)},
    )
    assert added.status_code == 302
    assert kit.cases.get(me, number).watcher_ids == (world.shipper_manager.id,)
    removing = {"action": "remove", "user_id": str(world.shipper_manager.id)}
    assert client.post(f"/cases/{number}/watchers", data=removing).status_code == 403
    login(client, world.shipper_manager_actor)
    client.post(
        f"/cases/{number}/watchers", data={"action": "add", "user_id": str(world.shipper_agent.id)}
    )
    assert "remove</button>" in client.get(f"/cases/{number}").data.decode()
    client.post(
        f"/cases/{number}/watchers",
        data={"action": "remove", "user_id": str(world.shipper_agent.id)},
    )
    assert kit.cases.get(me, number).watcher_ids == (world.shipper_manager.id,)
    login(client, me)
    client.post(f"/cases/{number}/crm", data={"crm_number": "ZD-42"})
    assert kit.cases.get(me, number).crm_number == "ZD-42"
    assert kit.cases.get(world.carrier_actor, number).crm_number is None
    client.post(f"/cases/{number}/type", data={"type": "osd_damaged"})
    assert kit.cases.get(me, number).type == "osd_damaged"
    client.post(f"/cases/{number}/status", data={"status": "waiting"})
    assert kit.cases.get(me, number).status.value == "waiting"
    client.post(f"/cases/{number}/status", data={"status": "solved"})
    assert kit.cases.get(me, number).status.value == "solved"
    client.post(f"/cases/{number}/status", data={"status": "open"})
    assert kit.cases.get(me, number).status.value == "open"
    html = client.get(f"/cases/{number}").data.decode()
    assert "changed the owner from Sam Shipper to Mia Manager" in html
    assert "reopened the case" in html


def test_a_carriers_pages_never_show_the_customers_account(kit, world, client, customer_case):
    case = customer_case
    login(client, world.carrier_actor)
    said = next(
        e for e in kit.cases.timeline(world.shipper_actor, case.number) if e.body == "It never came"
    )
    for shared in (False, True):
        if shared:
            kit.cases.share_with_carrier(world.shipper_actor, case.number, said.id)
        for url in (f"/cases/{case.number}", "/cases/?view=all_cases", "/cases/export.csv"):
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.get_data(as_text=True)
            assert world.customer.email not in text, url
            assert world.customer.name not in text, url
            # The customer's message, once the shipper shares it.
            assert ("It never came" in text) is shared, url
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "<strong>Customer</strong>" in page.split("It never came")[0].rsplit("<li", 1)[-1]
    login(client, world.shipper_actor)
    assert world.customer.email in client.get(f"/cases/{case.number}").get_data(as_text=True)


def test_messages_with_audience_badges_and_attachments(kit, world, client):
    me = world.shipper_actor
    case = kit.cases.open(me, type="lost", customer=world.customer.id, carrier=world.carrier.id)
    login(client, me)
    posted = client.post(
        f"/cases/{case.number}/messages",
        data={
            "body": "**Bold** <script>alert(1)</script>",
            "audience": "internal",
            "attachments": (io.BytesIO(b"<html>evil</html>"), "proof.html"),
        },
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302
    html = client.get(f"/cases/{case.number}").data.decode()
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)" not in html
    assert "Internal note</span>" in html
    link = re.search(r'href="(/cases/CV\d+/attachments/\d+)"', html)
    assert link is not None
    with client.get(link.group(1)) as download:
        assert download.data == b"<html>evil</html>"
        assert download.headers["Content-Disposition"] == "attachment; filename=proof.html"
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.mimetype == "application/octet-stream"
        assert "sandbox" in download.headers["Content-Security-Policy"]
    login(client, world.carrier_actor)
    theirs = client.get(f"/cases/{case.number}").data.decode()
    assert "Bold" not in theirs
    assert client.get(link.group(1)).status_code == 404


def test_an_empty_message_is_a_400_keeping_the_form(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost")
    login(client, world.shipper_actor)
    response = client.post(
        f"/cases/{case.number}/messages", data={"body": "  ", "audience": "partners"}
    )
    assert response.status_code == 400
    assert "a message needs text or an attachment" in response.data.decode()
    everyone = client.post(
        f"/cases/{case.number}/messages", data={"body": "hi", "audience": "everyone"}
    )
    assert everyone.status_code == 403


@pytest.mark.parametrize("version", ["abc", "1.0", "-1", "²", "9" * 30])
def test_a_form_version_that_is_not_a_number_is_a_400(kit, world, client, version):
    case = kit.cases.open(world.shipper_actor, type="lost")
    login(client, world.shipper_actor)
    response = client.post(
        f"/cases/{case.number}/status", data={"status": "waiting", "version": version}
    )
    assert response.status_code == 400
    assert "version" in response.data.decode()
    assert kit.cases.get(world.shipper_actor, case.number).status is Status.NEW


def test_a_stale_status_change_is_a_409(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost")
    kit.cases.change_status(world.shipper_actor, case.number, "waiting")
    login(client, world.shipper_actor)
    response = client.post(
        f"/cases/{case.number}/status", data={"status": "open", "version": str(case.version)}
    )
    assert response.status_code == 409


def test_the_shipment_fragment_lists_its_cases(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-2")
    login(client, world.shipper_actor)
    html = client.get("/cases/shipments/SHP-1").data.decode()
    assert numbers_in(html.encode()) == [case.number]
    assert "/cases/new?shipment=SHP-1" in html


def test_settings_turn_the_feedback_portal_on_for_managers_only(kit, world, client):
    login(client, world.shipper_actor)
    assert "Only a manager" in client.get("/cases/settings").data.decode()
    assert client.post("/cases/settings", data={"feedback_portal": "on"}).status_code == 403
    login(client, world.shipper_manager_actor)
    assert client.post("/cases/settings", data={"feedback_portal": "on"}).status_code == 302
    assert kit.directory.feedback_portal(world.customer_actor) is True
    client.post("/cases/settings", data={})
    assert kit.directory.feedback_portal(world.customer_actor) is False


def test_pages_carry_security_headers(world, client):
    login(client, world.shipper_actor)
    response = client.get("/cases/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("view=nonsense", "view"),
        ("owner=abc", "filters"),
        ("created_at_from=yesterday", "filters"),
        ("latest_message=bogus:me", "filters"),
        ("destination_name=x&destination_name_op=resembles", "filters"),
        ("sort=number&dir=sideways", "sort"),
        ("cursor=%00%01", "cursor"),
    ],
)
def test_bad_list_arguments_are_400s_naming_the_field(world, client, query, field):
    login(client, world.shipper_actor)
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 400
    assert field_label(field) in response.data.decode()
    # The export has no pages: it ignores a cursor and refuses the rest alike.
    expected = 200 if field == "cursor" else 400
    assert client.get(f"/cases/export.csv?{query}").status_code == expected


def test_unknown_things_are_404s(world, client):
    login(client, world.shipper_actor)
    assert client.get("/cases/?saved=999").status_code == 404
    assert client.get("/cases/CV999999").status_code == 404
    assert client.get("/cases/CV999999/attachments/1").status_code == 404
    assert client.post("/cases/CV999999/messages", data={"body": "x"}).status_code == 404
    assert client.post("/cases/views/999/delete").status_code == 404


def test_errors_are_plain_words_with_the_pages_navigation_and_a_way_back(
    world, client, customer_case
):
    login(client, world.shipper_actor)
    missing = client.get(
        "/cases/cv999999", headers={"Referer": "http://localhost/cases/?view=new_cases"}
    )
    assert missing.status_code == 404
    page = missing.data.decode()
    assert "Case CV999999 was not found." in page
    assert 'aria-label="Case management"' in page  # the staff pages' navigation
    assert '<a href="/cases/">Back to the case list</a>' in page
    assert '<a href="/cases/?view=new_cases">Back to the page you came from</a>' in page
    # A referrer elsewhere is no way back.
    elsewhere = client.get("/cases/CV999999", headers={"Referer": "https://evil.test/x"})
    assert "evil.test" not in elsewhere.data.decode()
    assert "Back to the case list" in elsewhere.data.decode()

    # A field's error names it as the page labels it, not by its key.
    number = customer_case.number
    empty = client.post(f"/cases/{number}/messages", data={"body": "  ", "audience": "partners"})
    assert empty.status_code == 400
    assert re.search(r'id="body-error">Message: ', empty.data.decode())
    assert "Body:" not in empty.data.decode()
    crm = client.post(f"/cases/{number}/crm", data={"crm_number": "x" * 500})
    assert crm.status_code == 400
    assert 'id="crm_number-error">CRM case number: ' in crm.data.decode()
    assert "Crm number" not in crm.data.decode()

    login(client, world.customer_actor)
    theirs = client.get("/my-account/cases/cv999999").data.decode()
    assert "Case CV999999 was not found." in theirs
    assert 'aria-label="My account"' in theirs
    assert '<a href="/my-account/cases/">Back to my feedback</a>' in theirs
    assert 'aria-label="Case management"' not in theirs


def composer_choices(html: str) -> list[tuple[str, str]]:
    """The composer's audiences: (value, label), in order."""
    composer = html.split('id="composer"', 1)[1]
    return re.findall(r'name="audience" value="(\w+)"[^>]*> ([^<]+)</label>', composer)


def checked_audience(html: str) -> str:
    composer = html.split('id="composer"', 1)[1]
    found = re.search(r'name="audience" value="(\w+)" checked', composer)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("carrier", "customer", "expected"),
    [
        (
            True,
            True,
            [
                ("internal", "Internal note"),
                ("partners", "To the carrier"),
                ("customer", "To the customer"),
                ("everyone", "To everyone"),
            ],
        ),
        (True, False, [("internal", "Internal note"), ("partners", "To the carrier")]),
        (False, True, [("internal", "Internal note"), ("customer", "To the customer")]),
        (False, False, [("internal", "Internal note")]),
    ],
)
def test_the_shippers_composer_offers_the_audiences_of_the_cases_parties(
    kit, world, client, carrier, customer, expected
):
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        carrier=world.carrier.id if carrier else None,
        customer=world.customer.id if customer else None,
    )
    login(client, world.shipper_actor)
    html = client.get(f"/cases/{case.number}").data.decode()
    assert composer_choices(html) == expected
    # The first audience beyond the shipper's own, by default.
    assert checked_audience(html) == expected[min(1, len(expected) - 1)][0]
    # Each one it offers, it accepts.
    for value, _label in expected:
        posted = client.post(
            f"/cases/{case.number}/messages", data={"body": f"for {value}", "audience": value}
        )
        assert posted.status_code == 302, (value, posted.data[:400])


def test_the_carriers_composer_writes_for_itself_or_the_shipper(kit, world, client, customer_case):
    login(client, world.carrier_actor)
    html = client.get(f"/cases/{customer_case.number}").data.decode()
    assert composer_choices(html) == [("internal", "Internal note"), ("partners", "To the shipper")]
    assert checked_audience(html) == "partners"
    refused = client.post(
        f"/cases/{customer_case.number}/messages", data={"body": "Hi", "audience": "customer"}
    )
    assert refused.status_code == 403
    assert "customer" in refused.data.decode()


def customer_said(kit, world, case) -> object:
    return next(
        e for e in kit.cases.timeline(world.shipper_actor, case.number) if e.body == "It never came"
    )


def test_the_shipper_shares_its_customers_message_with_the_carrier(
    kit, world, client, customer_case
):
    said = customer_said(kit, world, customer_case)
    page = f"/cases/{customer_case.number}"
    share = f"{page}/entries/{said.id}/share"
    login(client, world.shipper_actor)
    html = client.get(page).data.decode()
    entry = html.split(f'id="entry-{said.id}"', 1)[1].split("</li>", 1)[0]
    assert "Customer conversation" in entry
    assert f'action="{share}"' in entry
    assert "Share with the carrier" in entry
    assert f'href="{page}?quote={said.id}#composer"' in entry
    # The carrier may not share it, nor read it yet.
    login(client, world.carrier_actor)
    assert "It never came" not in client.get(page).data.decode()
    assert client.post(share).status_code == 403

    login(client, world.shipper_actor)
    shared = client.post(share)
    assert shared.status_code == 302
    assert shared.headers["Location"].endswith(f"{page}#entry-{said.id}")
    html = client.get(page).data.decode()
    entry = html.split(f'id="entry-{said.id}"', 1)[1].split("</li>", 1)[0]
    assert "Shared with the carrier" in entry
    assert "Share with the carrier" not in entry  # done; quoting it still is not
    assert "Quote to the carrier" in entry
    when = said.created_at.strftime("%Y-%m-%d %H:%M UTC")
    event = re.search(
        rf"{world.shipper_agent.name} shared the customer's message of <time[^>]*>([^<]+)</time>"
        " with the carrier",
        html,
    )
    assert event is not None
    assert event.group(1) == when
    assert client.post(share).status_code == 302  # again: nothing changes

    login(client, world.carrier_actor)
    theirs = client.get(page).data.decode()
    entry = theirs.split(f'id="entry-{said.id}"', 1)[1].split("</li>", 1)[0]
    assert "It never came" in entry
    assert "Shared by the shipper" in entry
    assert "Share with the carrier" not in theirs
    assert "Quote to the carrier" not in theirs
    assert re.search(r"shared the customer's message of <time[^>]*>[^<]+</time> with", theirs)


def test_only_a_customer_message_is_shared(kit, world, client, customer_case):
    opening = next(
        e
        for e in kit.cases.timeline(world.shipper_actor, customer_case.number)
        if e.body == "Your parcel"
    )
    login(client, world.shipper_actor)
    page = f"/cases/{customer_case.number}"
    refused = client.post(f"{page}/entries/{opening.id}/share")
    assert refused.status_code == 400
    assert "only a message for the customer audience" in refused.data.decode()
    assert client.post(f"{page}/entries/999999/share").status_code == 404


def test_sharing_needs_the_csrf_token(kit, world, customer_case):
    from conftest import make_app

    said = customer_said(kit, world, customer_case)
    client = make_app(kit).test_client()  # CSRF on, as in production
    login(client, world.shipper_actor)
    page = f"/cases/{customer_case.number}"
    assert client.post(f"{page}/entries/{said.id}/share").status_code == 400
    assert customer_said(kit, world, customer_case).shared_at is None
    html = client.get(page).data.decode()
    form = html.split(f'action="{page}/entries/{said.id}/share"', 1)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    shared = client.post(f"{page}/entries/{said.id}/share", data={"csrf_token": token.group(1)})
    assert shared.status_code == 302
    assert customer_said(kit, world, customer_case).shared_at is not None


def test_quoting_to_the_carrier_fills_the_composer_without_script(
    kit, world, client, customer_case
):
    kit.messages.post(world.customer_actor, customer_case.number, "Line one\n\nLine <two>")
    said = next(
        e
        for e in kit.cases.timeline(world.shipper_actor, customer_case.number)
        if e.body.startswith("Line one")
    )
    login(client, world.shipper_actor)
    html = client.get(f"/cases/{customer_case.number}?quote={said.id}").data.decode()
    assert checked_audience(html) == "partners"
    body = re.search(r'<textarea id="body"[^>]*>([^<]*)</textarea>', html)
    assert body is not None
    # The customer's words, never their name or address.
    assert body.group(1) == "The customer wrote:\n\n&gt; Line one\n&gt;\n&gt; Line &lt;two&gt;\n\n"
    posted = client.post(
        f"/cases/{customer_case.number}/messages",
        data={"body": "The customer wrote:\n\n> Line one", "audience": "partners"},
    )
    assert posted.status_code == 302
    login(client, world.carrier_actor)
    assert "&gt; Line one" not in client.get(f"/cases/{customer_case.number}").data.decode()
    assert "Line one" in client.get(f"/cases/{customer_case.number}").data.decode()
    # Only a message of the customer conversation is quoted, and only by the shipper.
    opening = next(
        e
        for e in kit.cases.timeline(world.shipper_actor, customer_case.number)
        if e.body == "Your parcel"
    )
    for actor, entry_id in ((world.shipper_actor, opening.id), (world.carrier_actor, said.id)):
        login(client, actor)
        html = client.get(f"/cases/{customer_case.number}?quote={entry_id}").data.decode()
        assert re.search(r'<textarea id="body"[^>]*></textarea>', html)


def status_choices(html: str) -> list[str]:
    select = html.split('<select id="status" name="status">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\w+)">', select)


def test_the_carrier_sets_open_or_solved_and_sees_the_customer_statuses_as_open(
    kit, world, client, customer_case
):
    # The customer wrote last: reply received for the shipper; for the carrier,
    # which does not read that conversation, the case is still new.
    page = f"/cases/{customer_case.number}"
    login(client, world.shipper_actor)
    html = client.get(page).data.decode()
    assert "ck-status-reply_received" in html
    assert status_choices(html) == ["open", "waiting", "solved"]
    login(client, world.carrier_actor)
    html = client.get(page).data.decode()
    assert 'ck-status ck-status-new">New<' in html
    assert "Reply Received" not in html
    assert status_choices(html) == ["open", "solved"]
    refused = client.post(f"{page}/status", data={"status": "waiting"})
    assert refused.status_code == 403
    assert kit.cases.get(world.shipper_actor, customer_case.number).status is Status.REPLY_RECEIVED
    listed = client.get("/cases/?view=all_cases").data.decode()
    assert "ck-status-new" in listed
    assert "reply_received" not in listed
    assert client.post(f"{page}/status", data={"status": "solved"}).status_code == 302
    html = client.get(page).data.decode()
    assert status_choices(html) == ["open"]
