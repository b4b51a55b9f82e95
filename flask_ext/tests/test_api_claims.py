"""Freight claims through REST on every database: a claim's whole life, bad input as a 400
naming its field, the shipper's valuation never in the carrier's answers, the report and
the claim windows."""

from __future__ import annotations

from typing import Any

from conftest import login

from casekit import CaseKit
from casekit.testing import World

API = "/api/v1"
VALUATION = "OUR-VALUATION-3141"


def send(client: Any, actor: Any, method: str, path: str, body: Any = None) -> Any:
    login(client, actor)
    response = client.open(API + path, method=method, json=body)
    assert response.status_code < 500, response.text
    return response


def test_a_claim_through_the_api(client: Any, kit: CaseKit, world: World) -> None:
    shipper, carrier = world.shipper_manager_actor, world.carrier_manager_actor
    number = kit.cases.open(
        world.shipper_actor, type="osd_damaged", carrier=world.carrier.id, subject="Dented"
    ).number
    claims = f"/cases/{number}/claims"

    # Bad input: a 400 naming each field.
    for body, field in (
        ({}, "lines"),
        ({"lines": [{"description": "Box", "amount": 12.5}]}, "lines.0.amount"),
        ({"lines": [{"description": "Box", "amount": "1"}], "currency": "dollars"}, "currency"),
        (
            {"lines": [{"description": "Box", "amount": "1"}], "documents": {"x": [1]}},
            "documents.x",
        ),
        ({"lines": [{"description": "Box", "amount": "1"}], "colour": "red"}, "colour"),
    ):
        response = send(client, shipper, "POST", claims, body)
        assert response.status_code == 400, body
        assert field in response.json["errors"], response.json
    assert send(client, carrier, "POST", claims, {"lines": []}).status_code in (400, 403)

    response = send(
        client, shipper, "POST", claims,
        {"lines": [{"description": "Dented boiler", "quantity": 1, "amount": "2400.00"}]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    claim = response.json
    assert claim["status"] == "draft"
    assert claim["amount"] == "2400.00"
    assert claim["documents_missing"][0] == "bill_of_lading"
    assert [c["kind"] for c in claim["clocks"]] == ["claim_filing"]
    path = f"{claims}/{claim['id']}"
    assert send(client, carrier, "GET", path).status_code == 404  # a draft is the shipper's
    assert send(client, carrier, "GET", claims).json == {"claims": []}

    response = send(
        client,
        shipper,
        "PUT",
        path + "/valuation",
        {"expected_recovery": "2000", "note": VALUATION},
    )
    assert response.json["valuation_note"] == VALUATION
    assert response.json["expected_recovery"] == "2000.00"
    response = send(client, shipper, "PUT", path + "/valuation", {"expected_recovery": "x"})
    assert response.status_code == 400
    assert "expected_recovery" in response.json["errors"]

    filed = send(client, shipper, "POST", path + "/file").json
    assert filed["status"] == "filed"
    assert [c["kind"] for c in filed["clocks"]] == [
        "claim_filing", "claim_acknowledgment", "claim_disposition",
    ]  # fmt: skip
    seen = send(client, carrier, "GET", path)
    assert seen.status_code == 200
    assert VALUATION not in seen.text
    assert seen.json["expected_recovery"] is None
    assert seen.json["valuation_note"] is None

    acked = send(client, carrier, "POST", path + "/acknowledge", {"reference": "FC-9"})
    assert acked.json["status"] == "acknowledged"
    assert VALUATION not in acked.text
    refused = send(client, carrier, "POST", path + "/pay", {"amount_paid": 100})
    assert refused.status_code == 400
    assert "amount_paid" in refused.json["errors"]
    refused = send(client, carrier, "POST", path + "/pay", {"amount_paid": "100.00"})
    assert refused.status_code == 400
    assert "reason" in refused.json["errors"]
    paid = send(
        client, carrier, "POST", path + "/pay", {"amount_paid": "2400.00", "reference": "CHK-1"}
    )
    assert paid.json["status"] == "paid"
    assert paid.json["amount_paid"] == "2400.00"
    assert all(c["state"] == "stopped" for c in paid.json["clocks"])

    (row,) = send(client, carrier, "GET", "/claims/report").json["rows"]
    assert row["filed"] == 1
    assert row["paid"] == 1
    assert row["recovery_rate"] == 1.0
    assert row["claimed"] == "2400.00"
    response = send(client, shipper, "GET", "/claims/report?from=2099-01-01")
    assert response.json == {"rows": []}

    # The windows: the shipper's manager sets them, a bad rule is a 400 naming its field.
    response = send(client, shipper, "PUT", "/claims/settings", {"rules": [{"mode": "air"}]})
    assert response.status_code == 400
    assert "rules.0.mode" in response.json["errors"]
    rules = {"rules": [{"mode": "parcel", "filing_months": 0, "filing_days": 60}]}
    saved = send(client, shipper, "PUT", "/claims/settings", rules).json
    assert saved["rules"][0]["filing_days"] == 60
    assert send(client, shipper, "GET", "/claims/settings").json == saved
    assert send(client, carrier, "GET", "/claims/settings").status_code == 403


def test_a_settlement_offer_through_the_api(client: Any, kit: CaseKit, world: World) -> None:
    shipper, carrier = world.shipper_manager_actor, world.carrier_manager_actor
    number = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, subject="Lost pallet"
    ).number
    claims = f"/cases/{number}/claims"
    created = send(
        client, shipper, "POST", claims, {"lines": [{"description": "Pallet", "amount": "800.00"}]}
    ).json
    path = f"{claims}/{created['id']}"
    valuation = {"expected_recovery": "650.00", "note": VALUATION}
    send(client, shipper, "PUT", path + "/valuation", valuation)
    assert send(client, shipper, "POST", path + "/file").status_code == 200

    for body, field in (
        ({}, "amount_offered"),
        ({"amount_offered": "800.00"}, "amount_offered"),
        ({"amount_offered": 500}, "amount_offered"),
        ({"amount_offered": "500.00", "colour": "red"}, "colour"),
    ):
        response = send(client, carrier, "POST", path + "/offer", body)
        assert response.status_code == 400, body
        assert field in response.json["errors"], response.json
    response = send(client, shipper, "POST", path + "/offer", {"amount_offered": "500.00"})
    assert response.status_code == 400
    assert "status" in response.json["errors"]

    response = send(
        client, carrier, "POST", path + "/offer", {"amount_offered": "500.00", "reason": "Used"}
    )
    assert response.status_code == 200, response.text
    offered = response.json
    assert (offered["status"], offered["amount_offered"]) == ("offered", "500.00")
    assert offered["offered_at"] is not None
    assert offered["expected_recovery"] is None
    assert VALUATION not in response.text
    clocks = {c["kind"]: c for c in offered["clocks"]}
    assert clocks["claim_disposition"]["state"] == "stopped"
    assert clocks["claim_disposition"]["met"] is True

    assert send(client, carrier, "POST", path + "/offer/accept").status_code == 400
    rejected = send(client, shipper, "POST", path + "/offer/reject", {"reason": "Too low"})
    assert rejected.json["status"] == "acknowledged"
    send(client, carrier, "POST", path + "/offer", {"amount_offered": "640.00"})
    accepted = send(client, shipper, "POST", path + "/offer/accept")
    assert accepted.status_code == 200
    assert (accepted.json["status"], accepted.json["amount_paid"]) == ("partly_paid", "640.00")
    assert accepted.json["expected_recovery"] == "650.00"  # the shipper reads its own
    (row,) = send(client, carrier, "GET", "/claims/report").json["rows"]
    assert (row["partly_paid"], row["paid_amount"], row["open"]) == (1, "640.00", 0)
