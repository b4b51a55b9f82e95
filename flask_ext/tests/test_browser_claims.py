"""Freight claims in Chromium: a claim filed with its documents ticked off the case's
attachments shows on the case page with its items, documents and clocks, to the shipper
with its internal valuation and to the carrier without it. axe finds no serious
violation, at 1366 x 900 and 390 px; screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import ARTIFACTS
from test_browser import sign_in
from test_browser_due import axe_serious

from casekit import Actor, ShipmentEvent, ShipmentFacts, Upload

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

VALUATION = "Expect the glass at cost only"


def no_overflow(page: Any) -> None:
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


@pytest.mark.parametrize("width", [1366, 390])
def test_a_filed_claim_shows_its_documents_and_clocks(kit, world, live, browser, width):
    carrier_feed = Actor.system_actor("api", org_id=world.carrier.id)
    kit.shipments.upsert_shipments(
        Actor.system_actor("api", org_id=world.shipper.id),
        [ShipmentFacts(reference="PRO-88", carrier=world.carrier.external_id, mode="freight")],
    )
    delivered = datetime(2026, 1, 2, 15, 0, tzinfo=UTC)
    kit.shipments.record_events(
        carrier_feed, [ShipmentEvent(reference="PRO-88", status="delivered", occurred_at=delivered)]
    )
    case = kit.cases.open(
        world.shipper_actor, type="osd_damaged", subject="Crushed pallet",
        carrier=world.carrier.id, shipment="PRO-88", customer=world.customer.id,
    )  # fmt: skip
    posted = kit.messages.post(
        world.carrier_actor, case.number, "Signed delivery receipt and photos",
        attachments=[
            Upload("delivery-receipt.pdf", io.BytesIO(b"%PDF"), "application/pdf"),
            Upload("pallet.jpg", io.BytesIO(b"\xff\xd8"), "image/jpeg"),
        ],
    )  # fmt: skip
    receipt, photo = (a.id for a in posted.attachments)
    claim = kit.claims.draft(
        world.shipper_actor,
        case.number,
        {
            "lines": [
                {"description": "Glassware, 2 cartons", "quantity": 2, "amount": "1200.00"},
                {"description": "Freight charges", "amount": "150.50"},
            ],
            "documents": {"proof_of_delivery": [receipt], "photos": [photo]},
        },
    )
    kit.claims.set_valuation(
        world.shipper_actor, case.number, claim.id, expected_recovery="900.00", note=VALUATION
    )
    kit.claims.file(world.shipper_actor, case.number, claim.id)

    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    shot = f"{ARTIFACTS}/claims-{{}}-{width}.png"
    try:
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-claims")
        text = panel.inner_text()
        assert "1350.50 USD" in text
        assert "Filed" in text
        assert "Proof of delivery: delivery-receipt.pdf" in text
        assert "Photos: pallet.jpg" in text
        assert "Bill of lading: missing" in text
        clocks = panel.locator("ul.ck-claim-clocks li").all_inner_texts()
        assert [row.split(" (")[0] for row in clocks] == [
            "Claim filing", "Claim acknowledgment", "Claim payment or declination",
        ]  # fmt: skip
        assert clocks[0].endswith("; met")  # filed within nine months of delivery
        assert "(carrier): due Feb 4, 2026" in clocks[1]  # 30 days from receipt
        assert clocks[1].endswith("; running")
        assert VALUATION in text
        panel.screenshot(path=shot.format("shipper-panel"))
        page.screenshot(path=shot.format("shipper"), full_page=True)
        assert axe_serious(page) == []
        no_overflow(page)

        # The carrier reads the filed claim and its clocks, never the valuation.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        text = page.locator("section.ck-claims").inner_text()
        assert "Claim acknowledgment" in text
        assert "Photos: pallet.jpg" in text
        assert VALUATION not in page.content()
        assert "900.00" not in page.content()
        page.locator("section.ck-claims").screenshot(path=shot.format("carrier-panel"))
        assert axe_serious(page) == []
        no_overflow(page)

        # The customer's portal shows no claim.
        sign_in(page, live, "case_customer")
        response = page.goto(f"{live}/my-account/cases/{case.number}")
        assert response is not None
        assert response.status == 200
        assert "Crushed pallet" in page.content()
        assert "1350.50" not in page.content()
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_claim_drafted_and_filed_through_the_page_forms(kit, world, live, browser, width):
    """The shipper drafts the claim line by line on the case page (one line added without
    a script), ticks its documents off the case's attachments and files it: its clocks
    show. The carrier acknowledges it through its own page."""
    kit.shipments.upsert_shipments(
        Actor.system_actor("api", org_id=world.shipper.id),
        [ShipmentFacts(reference="PRO-99", carrier=world.carrier.external_id, mode="freight")],
    )
    kit.shipments.record_events(
        Actor.system_actor("api", org_id=world.carrier.id),
        [ShipmentEvent(reference="PRO-99", status="delivered", occurred_at=kit.clock.now())],
    )
    case = kit.cases.open(
        world.shipper_actor, type="lost", subject="Pallet never arrived",
        carrier=world.carrier.id, shipment="PRO-99",
    )  # fmt: skip
    posted = kit.messages.post(
        world.carrier_actor, case.number, "Bill of lading and the delivery receipt",
        attachments=[
            Upload("bill-of-lading.pdf", io.BytesIO(b"%PDF"), "application/pdf"),
            Upload("delivery-receipt.pdf", io.BytesIO(b"%PDF"), "application/pdf"),
        ],
    )  # fmt: skip
    bol, receipt = (a.id for a in posted.attachments)

    context = browser.new_context(viewport={"width": width, "height": 900 if width > 800 else 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    shot = f"{ARTIFACTS}/claims-form-{{}}-{width}.png"
    try:
        sign_in(page, live, "own_org")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-claims")
        panel.locator("summary", has_text="Draft a freight claim").click()
        form = panel.locator("#claim-new-form")
        form.get_by_label("Claimant").fill("Acme Glass Co.")
        form.get_by_label("Line 1: item").fill("Glassware, 2 cartons")
        form.locator('[name="line-0-quantity"]').fill("2")
        form.locator('[name="line-0-amount"]').fill("1200.00")
        form.get_by_label("Line 2: item").fill("Freight charges")
        form.locator('[name="line-1-amount"]').fill("150.50")
        form.get_by_label("Line 3: item").fill("Pallet")
        form.locator('[name="line-2-amount"]').fill("45.00")
        with page.expect_navigation():
            form.get_by_role("button", name="Add a line").click()
        # The same form, one row more, what was typed kept; nothing saved yet.
        form = page.locator("#claim-new-form")
        assert form.locator('[name="line-2-amount"]').input_value() == "45.00"
        form.get_by_label("Line 4: item").fill("Inspection fee")
        form.locator('[name="line-3-amount"]').fill("80.00")
        assert kit.claims.list(world.shipper_actor, case.number) == []
        form.locator(f'[name="doc-bill_of_lading"][value="{bol}"]').check()
        form.locator(f'[name="doc-proof_of_delivery"][value="{receipt}"]').check()
        form.screenshot(path=shot.format("draft"))
        assert axe_serious(page) == []
        no_overflow(page)
        with page.expect_navigation():
            form.get_by_role("button", name="Draft the claim").click()
        assert "Claim drafted." in page.locator(".ck-flash").inner_text()
        panel = page.locator("section.ck-claims")
        text = panel.inner_text()
        assert "1475.50 USD" in text
        assert "Bill of lading: bill-of-lading.pdf" in text
        assert "Proof of delivery: delivery-receipt.pdf" in text
        assert "Photos: missing" in text
        assert [
            r.split(" (")[0] for r in panel.locator("ul.ck-claim-clocks li").all_inner_texts()
        ] == [
            "Claim filing",
        ]
        with page.expect_navigation():
            panel.get_by_role("button", name="File the claim with the carrier").click()
        assert "Claim filed with the carrier." in page.locator(".ck-flash").inner_text()
        panel = page.locator("section.ck-claims")
        clocks = panel.locator("ul.ck-claim-clocks li").all_inner_texts()
        assert [row.split(" (")[0] for row in clocks] == [
            "Claim filing", "Claim acknowledgment", "Claim payment or declination",
        ]  # fmt: skip
        assert clocks[0].endswith("; met")
        assert clocks[1].endswith("; running")
        assert clocks[2].endswith("; running")
        assert "Filed" in panel.locator("h3").first.inner_text()
        # The caption sits inside its table's border, not flush against it.
        inset = panel.locator("caption").first.evaluate(
            """caption => {
                const text = document.createRange();
                text.selectNodeContents(caption);
                const words = text.getBoundingClientRect();
                const frame = caption.closest(".ck-table-wrap").getBoundingClientRect();
                return [words.left - frame.left, words.top - frame.top];
            }"""
        )
        assert inset[0] >= 6, inset
        assert inset[1] >= 4, inset
        panel.screenshot(path=shot.format("shipper-filed"))
        page.screenshot(path=shot.format("shipper"), full_page=True)
        assert axe_serious(page) == []
        no_overflow(page)

        # The carrier acknowledges it through its page, with its claim number.
        sign_in(page, live, "case_carrier")
        page.goto(f"{live}/cases/{case.number}")
        panel = page.locator("section.ck-claims")
        assert panel.get_by_role("button", name="Withdraw the claim").count() == 0
        panel.get_by_label("Your claim number").fill("FC-4411")
        panel.screenshot(path=shot.format("carrier"))
        assert axe_serious(page) == []
        no_overflow(page)
        with page.expect_navigation():
            panel.get_by_role("button", name="Acknowledge receipt").click()
        assert "Claim acknowledged." in page.locator(".ck-flash").inner_text()
        panel = page.locator("section.ck-claims")
        text = panel.inner_text()
        assert "Acknowledged" in panel.locator("h3").first.inner_text()
        assert "the carrier's claim number FC-4411" in text
        clocks = panel.locator("ul.ck-claim-clocks li").all_inner_texts()
        assert clocks[1].endswith("; met")
        assert clocks[2].endswith("; running")
        assert panel.get_by_role("button", name="Acknowledge receipt").count() == 0
        panel.screenshot(path=shot.format("carrier-acknowledged"))
        (claim,) = kit.claims.list(world.shipper_actor, case.number)
        assert (claim.reference, claim.claimant) == ("FC-4411", "Acme Glass Co.")

        # The carrier's dashboard: the claim filed with it, open, nothing recovered yet.
        page.goto(f"{live}/cases/dashboard")
        section = page.locator("#section-claims")
        cells = section.locator("tbody tr").first.locator("th, td").all_inner_texts()
        assert cells[:4] == [world.carrier.name, "USD", "1", "1"]
        assert cells[-2:] == ["—", "—"]  # no answer yet: no recovery rate, no days to pay
        section.screenshot(path=shot.format("dashboard"))
        assert axe_serious(page) == []
        no_overflow(page)
        assert problems == []
    finally:
        context.close()
