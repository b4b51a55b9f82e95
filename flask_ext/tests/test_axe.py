"""axe-core on every page, in Chromium: no serious or critical accessibility violation.

The demo app (small data) is served once for the module (per test worker) and one
browser walks every page of its URL map as a merchant's manager, a carrier's
manager, a customer and nobody signed in. A GET route of casekit's that is neither
walked nor listed in :data:`NOT_PAGES` (with the reason) fails the walk, so a new
page is checked from the day it is added.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import ARTIFACTS, sample_service_levels

from casekit import Actor
from casekit.domain.notify import TEMPLATE_NAMES
from casekit.mail.tokens import make_token
from casekit_flask.demo import create_demo_app
from casekit_flask.demo_answer import Answer, compose_answer
from casekit_flask.demo_screenshots import CHROMIUM, CHROMIUM_ARGS, act_as, serving

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

#: GET routes that are not pages: data, files, fragments; each with why.
NOT_PAGES = {
    "static": "files",
    "casekit_staff.static": "files",
    "casekit_portal.static": "files",
    "casekit_api_reference.static": "files",
    "casekit_staff.attachment": "a case's file",
    "casekit_portal.attachment": "a case's file",
    "casekit_staff.export_csv": "CSV",
    "casekit_dashboard.as_json": "JSON",
    "casekit_dashboard.table_csv": "CSV",
    "casekit_staff.triage_original": "the mail as it came, text/plain",
    "casekit_staff.shipment_fragment": "an HTML fragment the case page loads (walked there)",
    "casekit_health.check": "JSON",
    "casekit_demo.favicon": "the icon",
    "casekit_staff.live_state": "JSON the case page polls",
    "casekit_portal.live_state": "JSON the case page polls",
    "casekit-api-docs.openapi_json": "JSON",
}

#: Where a page repeats one layout many times, the part axe reads: the API
#: reference's header and navigation, its first three operations and its first
#: schema (the other ~150 sections repeat their markup and styles; all of them
#: made the walk some 40 s longer, most of it the contrast of each cell).
AXE_CONTEXT = {
    "casekit_api_reference.reference": {
        "exclude": [
            ["main > section:nth-of-type(n+4):not([id^='schema-'])"],
            ["main > section[id^='schema-'] ~ section[id^='schema-']"],
        ]
    },
}

#: Who walks which pages: a demo identity (or nobody) and the endpoints it opens.
WALKS = {
    "": ("casekit_demo.home", "casekit_demo.captured_mail", "casekit_unsubscribe.page"),
    "morgan": (
        "casekit_demo.home",
        "casekit_api_reference.reference",
        "casekit_staff.case_list",
        "casekit_staff.case_page",
        "casekit_staff.merge_case",
        "casekit_staff.create_case",
        "casekit_staff.settings",
        "casekit_staff.collaborator_addresses",
        "casekit_staff.case_addresses",
        "casekit_staff.rules",
        "casekit_staff.rule",
        "casekit_staff.calendar",
        "casekit_staff.partner_calendar",
        "casekit_staff.service_levels",
        "casekit_staff.new_service_level",
        "casekit_staff.service_level",
        "casekit_staff.tag_settings",
        "casekit_staff.custom_field_settings",
        "casekit_staff.subscriptions",
        "casekit_staff.canned_replies",
        "casekit_staff.canned_reply",
        "casekit_staff.templates",
        "casekit_staff.edit_template",
        "casekit_staff.triage",
        "casekit_staff.triage_item",
        "casekit_dashboard.page",
        "casekit_dashboard.targets",
        "casekit_dashboard.benchmarks",
        "casekit_demo.captured_mail",
        "casekit_demo.captured_message",
    ),
    "dana": (
        "casekit_staff.case_list",
        "casekit_staff.case_page",
        "casekit_staff.create_case",
        "casekit_staff.settings",
        "casekit_staff.collaborator_addresses",
        "casekit_staff.rules",
        "casekit_staff.calendar",
        "casekit_staff.partner_calendar",
        "casekit_staff.service_levels",
        "casekit_staff.service_level",
        "casekit_staff.canned_replies",
        "casekit_staff.tag_settings",
        "casekit_staff.custom_field_settings",
        "casekit_dashboard.page",
        "casekit_dashboard.benchmarks",
        "casekit_demo.captured_mail",
        "casekit_demo.captured_message",
    ),
    "customer1": (
        "casekit_demo.home",
        "casekit_portal.my_cases",
        "casekit_portal.case_page",
        "casekit_portal.feedback",
        "casekit_demo.captured_mail",
        "casekit_demo.captured_message",
    ),
}


def _serious(response: dict) -> list[str]:
    """The serious and critical violations, one line each with where they are."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[tuple]:
    """The demo app with its mail delivered and one reply triaged, served; and its
    URL arguments by identity."""
    app = create_demo_app(tmp_path_factory.mktemp("axe"), shipments=24, deliver=False)
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    identities = app.config["CASEKIT_DEMO_IDENTITIES"]
    try:
        kit.notifications.deliver()
        names = capture.names()
        # A reply from an address the case does not know goes to triage.
        to_alex = next(n for n in names if "alex@northwind.test" in str(capture.read(n)["To"]))
        stranger = compose_answer(
            capture.read(to_alex),
            sender="someone@elsewhere.example",
            answer=Answer("Is this the right address for my parcel?"),
            now=datetime.now(UTC),
        )
        kit.inbound.receive(stranger.as_bytes(), envelope_from="someone@elsewhere.example")
        morgan = identities["morgan"][1]
        items = kit.inbound.triage(morgan)
        assert items, "the stranger's reply was not triaged"
        args = {}
        for key in WALKS:
            actor = identities[key][1] if key else None
            number, mail = None, None
            if actor is not None:
                rows = kit.views.list(actor, {"view": "all_cases"}, limit=100).rows
                number = max(
                    (r.number for r in rows),
                    key=lambda n: len(kit.cases.timeline(actor, n)),
                )
                address = (
                    kit.directory.customer(actor, actor.customer_id).email
                    if actor.is_customer
                    else kit.directory.user(actor, actor.user_id).email
                )
                mail = next(n for n in names if address in str(capture.read(n)["To"]))
            args[key] = {"number": number, "name": mail}
        args["morgan"]["item_id"] = items[0].id
        args["morgan"]["name"] = next(
            n for n in names if "morgan@northwind.test" in str(capture.read(n)["To"])
        )
        args["morgan"]["template"] = TEMPLATE_NAMES[0]
        args["morgan"]["reply_id"] = kit.canned_replies.list(morgan)[0].id
        args["morgan"]["rule_id"] = kit.rules.list(morgan)[0].id
        # Each side's calendars and targets, for their settings pages.
        dana = identities["dana"][1]
        args["morgan"] |= sample_service_levels(kit, morgan, dana.org_id)
        args["dana"] |= sample_service_levels(kit, dana, morgan.org_id)
        # Each side's tags (one archived) and a priority on the cases they walk.
        for who, names in ((morgan, ("VIP", "Fragile", "Old label")), (dana, ("Claim filed",))):
            colours = ("purple", "red", "grey")[: len(names)]
            made = [
                kit.tags.create(who, n, colour=c).id for n, c in zip(names, colours, strict=True)
            ]
            number = args["morgan" if who is morgan else "dana"]["number"]
            kit.cases.change(who, number, {"tags": made, "priority": "urgent"})
        old = next(t for t in kit.tags.list(morgan) if t.name == "Old label")
        kit.tags.update(morgan, old.id, archived=True)
        # Custom fields of every kind on Morgan's side (one shared), one on Dana's.
        made = kit.custom_fields.create
        made(morgan, "goods_value", "Goods value", "number", required_for=["lost"])
        made(morgan, "dock", "Dock", "choice", choices=["A", "B"], visibility="shared")
        made(morgan, "parts", "Parts", "multi_choice", choices=["Lid", "Box"])
        made(morgan, "seal_ok", "Seal intact", "checkbox")
        made(morgan, "claim_due", "Claim due", "date")
        made(morgan, "po_ref", "PO reference", "text")
        made(dana, "damage_code", "Damage code", "text", visibility="shared")
        kit.cases.change(
            morgan, args["morgan"]["number"], {"custom_fields": {"dock": "B", "parts": ["Box"]}}
        )
        kit.cases.change(dana, args["dana"]["number"], {"custom_fields": {"damage_code": "D4"}})
        case = kit.cases.get(Actor.host(), args["customer1"]["number"])
        secret = kit.settings.reply_secrets[0]
        args[""]["token"] = make_token(
            secret, case.id, f"c{case.customer_id}", purpose="unsubscribe"
        )
        with serving(app) as base:
            yield app, base, args
    finally:
        kit.close()


def _url(app, endpoint: str, args: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {}
    for name in rule.arguments:
        key = "template" if endpoint == "casekit_staff.edit_template" else name
        assert args.get(key) is not None, (endpoint, name)
        values[name] = args[key]
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def test_every_page_is_walked_or_said_not_to_be_a_page(demo):
    app, _base, _args = demo
    walked = {endpoint for endpoints in WALKS.values() for endpoint in endpoints}
    pages = {
        r.endpoint
        for r in app.url_map.iter_rules()
        if ("GET" in (r.methods or ()) and not r.endpoint.startswith("casekit_api_"))
        or r.endpoint == "casekit_api_reference.reference"
    }
    assert pages - walked - set(NOT_PAGES) == set()
    assert walked - pages == set()


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module (for each test worker)."""
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"the accessibility walk drives Chromium: apt-get install chromium ({CHROMIUM})"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.mark.parametrize("who", list(WALKS))
def test_no_page_has_a_serious_or_critical_accessibility_violation(demo, browser, who):
    from axe_playwright_python.sync_playwright import Axe

    app, base, args = demo
    axe = Axe()
    found: dict[str, list[str]] = {}
    checked = []
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        if who:
            act_as(page, base, who)
        for endpoint in WALKS[who]:
            url = _url(app, endpoint, args[who])
            response = page.goto(base + url)
            assert response is not None
            assert response.status == 200, (who, url, response.status)
            results = axe.run(page, context=AXE_CONTEXT.get(endpoint))
            checked.append(url)
            serious = _serious(results.response)
            if serious:
                found[url] = serious
                name = re.sub(r"[^a-z0-9]+", "-", f"axe-{who}-{url}".lower()).strip("-")
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    finally:
        context.close()
    assert len(checked) == len(WALKS[who])
    assert found == {}
