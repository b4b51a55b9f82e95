"""Freight claims through the case page's forms on every database (casekit_flask.claims):
the shipper drafts a claim line by line with its documents ticked off, files it, answers
the carrier's settlement offer or withdraws it; the carrier acknowledges, pays, offers or
declines. Each form shows only to the side and status that may use it; bad input is a
400 naming its field on the form's own row; a step of the other side is refused."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape
from typing import Any

from conftest import login

from casekit import CaseKit, Upload
from casekit.domain.claims import ClaimStatus, DocumentKind
from casekit.testing import World

VALUATION = "FORM-VALUATION-2718"


def _case(kit: CaseKit, world: World, subject: str = "Crushed pallet") -> tuple[str, int, int]:
    """A damage case with a delivery receipt and a photo the carrier posted, and the
    shipper's internal file."""
    number = kit.cases.open(
        world.shipper_actor, type="osd_damaged", carrier=world.carrier.id, subject=subject
    ).number
    posted = kit.messages.post(
        world.carrier_actor, number, "Receipt and photo",
        attachments=[
            Upload("receipt.pdf", io.BytesIO(b"%PDF"), "application/pdf"),
            Upload("pallet.jpg", io.BytesIO(b"\xff\xd8"), "image/jpeg"),
        ],
    )  # fmt: skip
    kit.messages.post(
        world.shipper_actor, number, "ours", audience="internal",
        attachments=[Upload("internal-notes.txt", io.BytesIO(b"x"), "text/plain")],
    )  # fmt: skip
    receipt, photo = (a.id for a in posted.attachments)
    return number or "", receipt, photo


def page(client: Any, number: str) -> str:
    response = client.get(f"/cases/{number}")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def panel(html: str) -> str:
    """The claims panel of a case page ('' when there is none)."""
    found = re.search(r'<section class="ck-panel ck-claims".*?</section>', html, re.S)
    return found.group(0) if found else ""


def post(client: Any, number: str, data: dict[str, Any]) -> Any:
    response = client.post(f"/cases/{number}/claims", data=data)
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    return response


def test_a_claim_drafted_filed_offered_and_settled_through_the_page(
    client: Any, kit: CaseKit, world: World
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    number, receipt, photo = _case(kit, world)

    # The carrier has no claim to read and no form to draft one.
    login(client, cal)
    assert panel(page(client, number)) == ""
    # The shipper's panel: a draft form of three line rows, the attachments the
    # carrier reads to tick (never the shipper's internal file).
    login(client, sam)
    shown = panel(page(client, number))
    assert "Draft a freight claim" in shown
    assert 'name="line-2-amount"' in shown
    assert 'name="line-3-amount"' not in shown
    assert f'name="doc-photos" value="{photo}"' in shown
    assert "internal-notes.txt" not in shown

    # "Add a line": the same form with one row more, what was typed kept, nothing saved.
    typed = {
        "do": "draft", "add_line": "1", "line_rows": "3", "claimant": "Acme Glass",
        "line-0-description": "Glassware, 2 cartons", "line-0-quantity": "2",
        "line-0-amount": "1200.00", "doc-photos": str(photo),
    }  # fmt: skip
    again = post(client, number, typed)
    assert again.status_code == 200
    shown = panel(unescape(again.get_data(as_text=True)))
    assert 'name="line_rows" value="4"' in shown
    assert 'name="line-3-amount"' in shown
    assert 'value="Glassware, 2 cartons"' in shown
    assert re.search(rf'name="doc-photos" value="{photo}" checked', shown)
    assert kit.claims.list(sam, number) == []

    # A bad amount on the form's fourth row (the second filled): a 400 naming that row.
    bad = {
        **typed, "add_line": "", "line_rows": "4",
        "line-3-description": "Freight charges", "line-3-amount": "150.505",
    }  # fmt: skip
    refused = post(client, number, bad)
    assert refused.status_code == 400
    html = unescape(refused.get_data(as_text=True))
    assert 'id="lines.3.amount-error"' in html
    assert "at most two decimals" in html
    assert 'value="150.505"' in html  # kept to correct
    for field, data in (
        ("currency", {**bad, "line-3-amount": "150.50", "currency": "dollars"}),
        ("lines", {"do": "draft", "line_rows": "3"}),
        ("documents.photos", {**bad, "line-3-amount": "150.50", "doc-photos": "x"}),
        ("delivered_at", {**bad, "line-3-amount": "150.50", "delivered_at": "soon"}),
    ):
        response = post(client, number, data)
        assert response.status_code == 400, field
        assert f'id="{field}-error"' in response.get_data(as_text=True), field

    done = post(
        client, number,
        {**bad, "line-3-amount": "150.50", "doc-proof_of_delivery": str(receipt),
         "delivered_at": "2026-01-02", "note": "Pallet crushed at the dock"},
    )  # fmt: skip
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/cases/{number}#claims-title")
    (claim,) = kit.claims.list(sam, number)
    assert claim.status is ClaimStatus.DRAFT
    assert claim.claimant == "Acme Glass"
    assert claim.amount == Decimal("1350.50")
    assert [(line.quantity, line.amount) for line in claim.lines] == [
        (2, Decimal("1200.00")), (1, Decimal("150.50")),
    ]  # fmt: skip
    assert claim.documents == {
        DocumentKind.PROOF_OF_DELIVERY: (receipt,), DocumentKind.PHOTOS: (photo,),
    }  # fmt: skip
    kit.claims.set_valuation(sam, number, claim.id, expected_recovery="900.00", note=VALUATION)
    html = page(client, number)
    assert "Claim drafted." in html
    shown = panel(html)
    assert "File the claim with the carrier" in shown
    assert "Draft a freight claim" not in shown  # one open claim a case
    assert "Acknowledge receipt" not in shown

    # The draft changed through its own form: the currency and a third line.
    change = {
        "do": "update", "claim_id": str(claim.id), "line_rows": "3", "currency": "eur",
        "line-0-description": "Glassware, 2 cartons", "line-0-quantity": "2",
        "line-0-amount": "1200.00", "line-1-description": "Freight charges",
        "line-1-amount": "150.50", "line-2-description": "Inspection", "line-2-amount": "49.50",
        "doc-proof_of_delivery": str(receipt), "doc-photos": str(photo),
    }  # fmt: skip
    assert post(client, number, change).status_code == 302
    claim = kit.claims.get(sam, number, claim.id)
    assert (claim.currency, claim.amount, len(claim.lines)) == ("EUR", Decimal("1400.00"), 3)

    # The carrier reads no draft: its steps find no claim.
    login(client, cal)
    assert panel(page(client, number)) == ""
    assert post(client, number, {"do": "acknowledge", "claim_id": str(claim.id)}).status_code == 404

    login(client, sam)
    assert post(client, number, {"do": "file", "claim_id": str(claim.id)}).status_code == 302
    shown = panel(page(client, number))
    assert "Claim payment or declination</strong> (carrier)" in shown
    assert "Tick off documents" in shown
    assert "Withdraw the claim" in shown
    assert "File the claim with the carrier" not in shown
    assert "Record the payment" not in shown  # the carrier's forms, not the shipper's
    # The shipper cannot acknowledge through the form either.
    refused = post(client, number, {"do": "acknowledge", "claim_id": str(claim.id)})
    assert refused.status_code == 400
    assert "the carrier acknowledges a claim" in unescape(refused.get_data(as_text=True))

    # The carrier's page: its forms, never the shipper's valuation.
    login(client, cal)
    html = page(client, number)
    shown = panel(html)
    for form in ("Acknowledge receipt", "Record the payment", "Send the offer", "Decline"):
        assert form in shown, form
    for form in ("Withdraw the claim", "Tick off documents", "Draft a freight claim"):
        assert form not in shown, form
    assert VALUATION not in html
    assert "900.00" not in html
    ack = {"do": "acknowledge", "claim_id": str(claim.id), "reference": "FC-88"}
    assert post(client, number, ack).status_code == 302
    shown = panel(page(client, number))
    assert "Acknowledge receipt" not in shown
    assert "the carrier's claim number FC-88" in shown

    offer = {"do": "offer", "claim_id": str(claim.id), "reason": "Depreciated value"}
    for amount in ("1400.00", "", "12.345"):
        refused = post(client, number, {**offer, "amount_offered": amount})
        assert refused.status_code == 400, amount
        assert 'id="amount_offered-error"' in refused.get_data(as_text=True)
    assert post(client, number, {**offer, "amount_offered": "700.00"}).status_code == 302
    shown = panel(page(client, number))
    assert "Settlement offered:</strong> 700.00 EUR of 1400.00 EUR" in shown
    assert "Waiting for the shipper to accept or reject your offer." in shown
    assert "Record the payment" not in shown

    # The shipper rejects it; the carrier offers again; the shipper accepts.
    login(client, sam)
    shown = panel(page(client, number))
    assert "Accept 700.00 EUR" in shown
    reject = {"do": "reject_offer", "claim_id": str(claim.id), "reason": "Cost is 1400"}
    assert post(client, number, reject).status_code == 302
    assert kit.claims.get(sam, number, claim.id).status is ClaimStatus.ACKNOWLEDGED
    login(client, cal)
    assert "Settlement offer rejected:</strong> 700.00 EUR" in panel(page(client, number))
    assert post(client, number, {**offer, "amount_offered": "1100.00"}).status_code == 302
    login(client, sam)
    accept = {"do": "accept_offer", "claim_id": str(claim.id)}
    assert post(client, number, accept).status_code == 302
    settled = kit.claims.get(sam, number, claim.id)
    assert (settled.status, settled.amount_paid) == (ClaimStatus.PARTLY_PAID, Decimal("1100.00"))
    shown = panel(page(client, number))
    assert "paid 1100.00 EUR" in shown
    assert "Withdraw the claim" not in shown
    assert post(client, number, accept).status_code == 400  # no offer left to accept


def test_the_carrier_pays_or_declines_and_the_shipper_withdraws(
    client: Any, kit: CaseKit, world: World
) -> None:
    sam, cal = world.shipper_actor, world.carrier_actor
    lines = [{"description": "Boiler", "amount": "2400.00"}]
    paid_number, _, _ = _case(kit, world, "Dented boiler")
    paid = kit.claims.draft(sam, paid_number, {"lines": lines})
    kit.claims.file(sam, paid_number, paid.id)
    login(client, cal)
    pay = {"do": "pay", "claim_id": str(paid.id)}
    # The pay form holds the amount claimed; less needs a reason; more is refused.
    assert 'name="amount_paid" value="2400.00"' in panel(page(client, paid_number))
    for amount, field in (("2000.00", "reason"), ("2400.01", "amount_paid"), ("x", "amount_paid")):
        refused = post(client, paid_number, {**pay, "amount_paid": amount})
        assert refused.status_code == 400
        assert f'id="{field}-error"' in refused.get_data(as_text=True), amount
    assert post(client, paid_number, {**pay, "amount_paid": "2400.00"}).status_code == 302
    assert kit.claims.get(cal, paid_number, paid.id).status is ClaimStatus.PAID
    assert "Record the payment" not in panel(page(client, paid_number))

    declined_number, _, _ = _case(kit, world, "Wet cartons")
    declined = kit.claims.draft(sam, declined_number, {"lines": lines})
    kit.claims.file(sam, declined_number, declined.id)
    decline = {"do": "decline", "claim_id": str(declined.id)}
    refused = post(client, declined_number, {**decline, "reason": " "})
    assert refused.status_code == 400
    assert 'id="reason-error"' in refused.get_data(as_text=True)
    assert post(client, declined_number, {**decline, "reason": "Not liable"}).status_code == 302
    assert kit.claims.get(cal, declined_number, declined.id).status is ClaimStatus.DECLINED
    # The carrier cannot withdraw the shipper's claim, nor step an unknown one.
    withdraw = {"do": "withdraw", "claim_id": str(paid.id)}
    assert post(client, paid_number, withdraw).status_code == 400
    for data, field in (
        ({"do": "withdraw", "claim_id": "x"}, "claim_id"),
        ({"do": "settle"}, "do"),
    ):
        refused = post(client, paid_number, data)
        assert refused.status_code == 400
        assert f'id="{field}-error"' in refused.get_data(as_text=True)

    login(client, sam)
    withdrawn_number, _, _ = _case(kit, world, "Short shipped")
    kept = kit.claims.draft(sam, withdrawn_number, {"lines": lines})
    form = {"do": "withdraw", "claim_id": str(kept.id), "reason": "Found in the warehouse"}
    assert post(client, withdrawn_number, form).status_code == 302
    html = page(client, withdrawn_number)
    assert "Claim withdrawn." in html
    assert "Draft a freight claim" in panel(html)  # the case may hold a new claim
    # A case of another type offers no claim.
    other = kit.cases.open(sam, type="where_is_my_order", carrier=world.carrier.id).number
    assert panel(page(client, other or "")) == ""
