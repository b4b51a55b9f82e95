"""The pages in a real browser: Debian's Chromium driven by playwright, against a live server.

Screenshots of the key pages go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import ARTIFACTS, chromium, login_actor_key, make_app, png, serving
from flask import redirect, session

from casekit import Actor, OrderFacts, ShipmentFacts

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]


@pytest.fixture
def live(kit, world, actors, shipments) -> Iterator[str]:
    """The host app with CSRF on, served on a free loopback port; /login/<who> signs in."""
    app = make_app(kit)
    people = dict(actors)

    @app.get("/login/<who>")
    def test_login(who: str):  # the host's own sign-in, here a test shortcut
        login_actor_key(session, people[who])
        return redirect("/")

    @app.get("/")
    def home():
        return "host home"

    with serving(app) as base:
        yield base


@pytest.fixture
def page(live, tab):
    return tab


@pytest.fixture
def tab():
    """A Chromium tab, for whichever server the test starts."""
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="Europe/Berlin"
        )
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        yield tab
        context.close()


def shot(page, name: str, **kwargs) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, **kwargs)
    return path


def sign_in(page, live: str, who: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live}/login/{who}")


def follow(page, target) -> None:
    """Click a link or a form's button and wait until the page it leads to has loaded.

    A bare click returns once the next page starts to arrive: reading the page then
    may read the old one, or the new one half-parsed, before its script ran.
    """
    with page.expect_navigation():
        target.click()


def test_feedback_reply_internal_note_and_solve(kit, world, live, page, shipments):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    shipments.add_order(
        OrderFacts(number="ORD-9", shipper="acme", customer_email="casey@example.test")
    )

    # The customer sends feedback on an order.
    sign_in(page, live, "case_customer")
    page.goto(f"{live}/my-account/cases/feedback?order=ORD-9")
    shot(page, "portal-feedback")
    page.get_by_label("Subject").fill("Parcel late")
    page.get_by_label("Your message").fill("My parcel is a week late.")
    follow(page, page.get_by_role("button", name="Send"))
    page.wait_for_url(re.compile(r"/my-account/cases/CV\d+$"))
    number = page.url.rsplit("/", 1)[1]

    # A merchant user finds it in New Cases, replies, and adds an internal note.
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/")
    follow(page, page.get_by_role("link", name=re.compile("^New Cases")))
    shot(page, "staff-new-cases")
    follow(page, page.get_by_role("link", name=number))
    page.get_by_label("To the customer").check()
    page.get_by_label("Message").fill("Sorry! A **new parcel** ships today.")
    follow(page, page.get_by_role("button", name="Post"))
    page.get_by_label("Internal note").check()
    page.get_by_label("Message").fill("Refund the shipping fee too.")
    follow(page, page.get_by_role("button", name="Post"))
    assert page.locator(".ck-audience-internal").count() == 1
    # Dates show in the browser's zone (Europe/Berlin here), not as UTC text.
    assert "UTC" not in page.locator("time").first.inner_text()
    shot(page, "staff-case")

    # The customer sees the reply and not the note.
    sign_in(page, live, "case_customer")
    page.goto(f"{live}/my-account/cases/{number}")
    body = page.locator("main").inner_text()
    assert "A new parcel ships today." in body
    assert "Refund the shipping fee" not in body
    shot(page, "portal-case")

    # The merchant solves it.
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/{number}")
    follow(page, page.get_by_role("button", name="Solve case"))
    assert page.locator("h1 .ck-status").inner_text() == "Solved"
    assert kit.cases.get(Actor.host(), number).status.value == "solved"


def test_a_carrier_cannot_open_a_case_of_a_shipment_not_theirs(kit, world, live, page, shipments):
    shipments.add_shipment(ShipmentFacts(reference="SHP-SLOW", shipper="acme", carrier="slow"))
    theirs = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-SLOW")
    ours = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    sign_in(page, live, "case_carrier")
    response = page.goto(f"{live}/cases/{theirs.number}")
    assert response is not None
    assert response.status == 404
    assert "Not found" in page.locator("h1").inner_text()
    page.goto(f"{live}/cases/?view=all_cases")
    listed = page.locator("table").inner_text()
    assert ours.number in listed
    assert theirs.number not in listed


def test_filters_and_a_saved_view_from_the_page(kit, world, live, page):
    lost = kit.cases.open(world.shipper_manager_actor, type="lost", shipment="SHP-1")
    damaged = kit.cases.open(world.shipper_manager_actor, type="osd_damaged", shipment="SHP-2")
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/")
    page.get_by_role("combobox", name="Case type").fill("damaged")
    page.keyboard.press("Enter")
    follow(page, page.get_by_role("button", name="Apply"))
    table = page.locator("table").inner_text()
    assert damaged.number in table
    assert lost.number not in table
    page.get_by_text("More filters").click()
    page.get_by_label("Destination name", exact=True).fill("Casey 2")
    follow(page, page.get_by_role("button", name="Apply"))
    assert damaged.number in page.locator("table").inner_text()
    page.get_by_label("Save this view as").fill("Damaged to Casey")
    follow(page, page.get_by_role("button", name="Save view"))
    shot(page, "staff-saved-view")
    follow(page, page.get_by_role("link", name=re.compile("^All Active")))
    assert lost.number in page.locator("table").inner_text()
    follow(page, page.get_by_role("link", name=re.compile("^Damaged to Casey")))
    table = page.locator("table").inner_text()
    assert damaged.number in table
    assert lost.number not in table
    # The same page on a phone: the list stays usable.
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "staff-list-phone")
    assert page.get_by_role("button", name="Apply").is_visible()


def test_a_manager_previews_and_saves_a_template_and_sets_addresses(kit, world, live, page):
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/")
    follow(page, page.get_by_role("link", name="Settings", exact=True))
    follow(page, page.get_by_role("link", name="Email templates"))
    follow(page, page.get_by_role("link", name="Case opened (to staff)"))
    page.get_by_label("Subject").fill("Opened: {{ case.number }} for {{ recipient.name }}")
    follow(page, page.get_by_role("button", name="Preview"))
    preview = page.locator("#preview-subject")
    assert preview.inner_text().startswith("Opened: ")
    assert "{{" not in preview.inner_text()
    shot(page, "staff-template-preview")
    follow(page, page.get_by_role("button", name="Save template"))
    assert "Template saved" in page.locator(".ck-flash").inner_text()
    assert kit.notifications.template(world.shipper_manager_actor, "case_opened").overridden

    page.goto(f"{live}/cases/settings/addresses")
    page.get_by_label("Fast Freight: carrier side").fill("dispatch@fast.test")
    follow(page, page.get_by_role("button", name="Save addresses"))
    assert "saved" in page.locator(".ck-flash").inner_text()
    assert page.get_by_label("Fast Freight: carrier side").input_value() == "dispatch@fast.test"
    shot(page, "staff-collaborator-addresses")
    found = [
        (a.side.value, a.email) for a in kit.notifications.collaborator_addresses(Actor.host())
    ]
    assert found == [("carrier", "dispatch@fast.test")]


def test_the_demo_shows_the_mail_it_captured(tmp_path, tab):
    from casekit_flask.demo import create_demo_app

    app = create_demo_app(tmp_path, shipments=30)
    runtime = app.extensions["casekit_demo"]
    served = ExitStack()
    live = served.enter_context(serving(app))
    try:
        tab.goto(f"{live}/")
        tab.get_by_label("Acting as").select_option(label="Morgan Manager (Northwind, manager)")
        follow(tab, tab.get_by_role("button", name="Switch"))
        # A case Alex owns: Morgan's note is mailed to Alex, and shown to Alex only.
        kit, host = app.extensions["casekit"].kit, Actor.host()
        alex = app.config["CASEKIT_DEMO_IDENTITIES"]["alex"][1]
        rows = kit.views.list(host, {"view": "all_cases"}, limit=500).rows
        number = next(
            r.number
            for r in rows
            if r.status.value != "solved"
            and kit.cases.get(host, r.number).shipper_owner_id == alex.user_id
        )
        tab.goto(f"{live}/cases/{number}")
        tab.get_by_label("Message").fill("Checked with the carrier: it moves tomorrow.")
        follow(tab, tab.get_by_role("button", name="Post"))
        tab.get_by_label("Acting as").select_option(label="Alex Agent (Northwind)")
        follow(tab, tab.get_by_role("button", name="Switch"))
        follow(tab, tab.get_by_role("link", name="Captured mail").first)
        assert "/demo/mail/" in tab.url
        # The background worker delivers within a poll or two; reload until it shows.
        link = tab.get_by_role("link", name=re.compile(number))
        shown = ""
        for _ in range(60):
            if link.count():
                shot(tab, "demo-captured-mail")
                follow(tab, link.first)
                shown = tab.locator("pre").inner_text()
                if "it moves tomorrow" in shown:
                    break
                tab.go_back()
            tab.wait_for_timeout(500)
            tab.reload()
        assert "it moves tomorrow" in shown, "the posted message's mail never showed"
        assert number in tab.locator("h1").inner_text()
        shot(tab, "demo-captured-message")
    finally:
        served.close()
        runtime.stop()
        app.extensions["casekit"].kit.close()


def act_as(tab, label: str) -> None:
    """Switch the demo's identity in its banner."""
    tab.get_by_label("Acting as").select_option(label=label)
    follow(tab, tab.get_by_role("button", name="Switch"))


def test_the_demo_email_only_carrier_answers_its_mail_with_a_photo(tmp_path, tab):
    from casekit_flask.demo import create_demo_app

    app = create_demo_app(tmp_path, shipments=30)
    runtime = app.extensions["casekit_demo"]
    served = ExitStack()
    live = served.enter_context(serving(app))
    photo = png()
    try:
        kit, host = app.extensions["casekit"].kit, Actor.host()
        harbor = kit.directory.organization_by_external_id(host, "harbor")
        rows = kit.views.list(host, {"view": "all_cases"}, limit=500).rows
        number = next(
            r.number for r in rows if r.carrier_org_id == harbor.id and r.status.value != "solved"
        )
        # The merchant's agent writes to the carrier on a case of Harbor Freight Lines.
        tab.goto(f"{live}/")
        act_as(tab, "Alex Agent (Northwind)")
        tab.goto(f"{live}/cases/{number}")
        tab.get_by_role("radio", name="To the carrier").check()
        tab.get_by_label("Message").fill("Can your driver confirm the seal number at pickup?")
        follow(tab, tab.get_by_role("button", name="Post"))

        # Harbor's staff never log in: its mail waits at its address, shown on the
        # captured-mail page (the background worker delivers it within a poll or two).
        act_as(tab, "Harbor Freight Lines (email only)")
        follow(tab, tab.get_by_role("link", name="Captured mail").first)
        link = tab.get_by_role("link", name=re.compile(f"^\\[{number}\\]"))
        for _ in range(60):
            if link.count():
                follow(tab, link.first)
                if "seal number" in tab.locator("pre").inner_text():
                    break
                tab.go_back()
            tab.wait_for_timeout(500)
            tab.reload()
        assert "seal number" in tab.locator("pre").inner_text(), "the carrier's mail never came"
        assert "dispatch@harbor-freight.example" in tab.locator("dl").inner_text()

        # It answers as the mail's recipient, with a photo.
        tab.get_by_label("Your answer").fill("Seal 448812, intact at pickup. Photo attached.")
        tab.get_by_label(re.compile("^Attachment")).set_input_files(
            files=[{"name": "seal.png", "mimeType": "image/png", "buffer": photo}]
        )
        for width, height in ((1366, 900), (390, 844)):
            tab.set_viewport_size({"width": width, "height": height})
            shot(tab, f"demo-answer-form-{width}")
        follow(tab, tab.get_by_role("button", name="Send the answer"))
        result = tab.locator("#answer-result").inner_text()
        assert f"Your answer was posted on case {number}." in result
        shot(tab, "demo-answer-posted-390")

        # The merchant's agent finds the reply and the photo on the case.
        tab.set_viewport_size({"width": 1366, "height": 900})
        act_as(tab, "Alex Agent (Northwind)")
        tab.goto(f"{live}/cases/{number}")
        reply = tab.locator("li.ck-message", has_text="Seal 448812")
        assert reply.count() == 1
        assert "intact at pickup. Photo attached." in reply.inner_text()
        assert "Please type your reply" not in tab.locator(".ck-timeline").inner_text()
        file = reply.get_by_role("link", name="seal.png")
        download = tab.request.get(live + str(file.get_attribute("href")))
        assert download.body() == photo
        reply.scroll_into_view_if_needed()
        shot(tab, "demo-emailed-reply-1366")
        tab.set_viewport_size({"width": 390, "height": 844})
        shot(tab, "demo-emailed-reply-390")
    finally:
        served.close()
        runtime.stop()
        app.extensions["casekit"].kit.close()


def test_the_shipper_quotes_and_shares_its_customers_message_with_the_carrier(
    kit, world, live, page, customer_case
):
    number = customer_case.number
    kit.messages.post(
        world.shipper_actor, number, "Refund once the carrier confirms.", audience="internal"
    )
    kit.messages.post(
        world.carrier_actor, number, "The driver left it at the depot.", audience="partners"
    )
    kit.messages.post(
        world.shipper_actor, number, "We asked the carrier, sorry.", audience="customer"
    )
    kit.messages.post(world.customer_actor, number, "The box was torn open when it came.")
    case_url = f"{live}/cases/{number}"

    sign_in(page, live, "own_org")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(case_url)
    shot(page, "staff-case-customer-conversation-1366")
    torn = page.locator("li.ck-message", has_text="The box was torn open")
    assert torn.locator(".ck-badge").inner_text() == "Customer conversation"
    # Quoting fills the composer for the carrier; the shipper edits and posts it.
    follow(page, torn.get_by_role("link", name="Quote to the carrier"))
    assert page.get_by_role("radio", name="To the carrier").is_checked()
    assert page.get_by_label("Message").input_value() == (
        "The customer wrote:\n\n> The box was torn open when it came.\n\n"
    )
    page.get_by_label("Message").press("Control+End")
    page.get_by_label("Message").type("Did the driver see the box like this?")
    follow(page, page.get_by_role("button", name="Post"))
    # Sharing shows the customer's own message to the carrier, and says so.
    torn = page.locator("li.ck-message", has_text="The box was torn open").first
    follow(page, torn.get_by_role("button", name="Share with the carrier"))
    torn = page.locator("li.ck-message", has_text="The box was torn open").first
    assert torn.locator(".ck-badge").inner_text() == "Shared with the carrier"
    assert page.get_by_text(re.compile("shared the customer's message of .* with the carrier"))
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "staff-case-customer-conversation-390")

    sign_in(page, live, "case_carrier")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(case_url)
    timeline = page.locator(".ck-timeline").inner_text()
    assert "The box was torn open" in timeline
    assert "Did the driver see the box like this?" in timeline
    assert "It never came" not in timeline
    assert "We asked the carrier, sorry." not in timeline
    assert "Refund once" not in timeline
    assert page.locator("h1 .ck-status").inner_text() == "Open"
    options = page.locator("#status option").all_inner_texts()
    assert options == ["Solved"]
    assert page.get_by_role("radio", name="To the shipper").is_checked()
    shot(page, "carrier-case-shared-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "carrier-case-shared-390")


def test_the_shipper_brings_a_carrier_in_from_the_case_page(kit, world, live, page):
    """The carrier form in the sidebar: choose the carrier, type its desk's address, save;
    at a phone's width too."""
    swift = kit.directory.add_organization(
        Actor.host(), name="Swift Haulage", role="carrier", external_id="swift"
    )
    case = kit.cases.open(world.shipper_actor, type="lost", message="Where is it?")
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live, "own_org")
    page.goto(f"{live}/cases/{case.number}")
    page.get_by_text("Bring in a carrier").click()  # the form is behind a disclosure
    page.locator("select#carrier").select_option(label="Swift Haulage")
    page.get_by_label("Collaborating by email").check()
    page.get_by_label("Carrier's collaborator address").fill("desk@swift.test")
    follow(page, page.get_by_role("button", name="Save carrier"))
    assert "Carrier saved." in page.content()
    after = kit.cases.get(Actor.host(), case.number)
    assert (after.carrier_org_id, after.carrier_collaborating) == (swift.id, True)
    page.get_by_text("Change the carrier").click()
    selected = page.locator("#carrier option:checked").inner_text()
    assert selected == "Swift Haulage · desk@swift.test"
    assert "brought in Swift Haulage as the carrier" in page.content()
    shot(page, "case-carrier-form")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live}/cases/{case.number}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the case page scrolls sideways at 390px: {width}px"
    shot(page, "case-carrier-form-390")
