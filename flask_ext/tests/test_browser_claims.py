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
