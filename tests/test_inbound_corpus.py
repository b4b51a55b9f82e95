"""Every message of the test corpus is taken without an exception, each in its expected outcome.

The corpus and its sources are described in tests/mail/README.md; the
expected outcome of each message is in tests/mail/corpus/EXPECTED.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casekit import Actor, CaseKit
from casekit.sample import World
from casekit.services.inbound import Outcome

CORPUS = Path(__file__).parent / "mail" / "corpus"


def expected() -> dict[str, tuple[str, str]]:
    """``path -> (outcome, reason fragment)`` from the EXPECTED file."""
    result = {}
    for line in (CORPUS / "EXPECTED").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        path, outcome, *reason = line.split(maxsplit=2)
        result[path] = (outcome, reason[0] if reason else "")
    return result


def corpus_files() -> list[str]:
    return sorted(
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*")
        if p.is_file() and p.suffix in (".txt", ".eml") and p.name != "EXPECTED"
    )


def test_every_corpus_message_has_an_expected_outcome() -> None:
    assert sorted(expected()) == corpus_files()
    assert len(corpus_files()) >= 140


@pytest.fixture
def mail_world(kit: CaseKit, world: World) -> World:
    """A case CV000001 of the world's customer, and the shipper's case address."""
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        customer=world.customer.id,
        carrier=world.carrier.id,
        message="Hi",
    )
    assert case.number == "CV000001"
    kit.inbound.set_case_address(Actor.host(), world.shipper.id, "support@acme.test")
    return world


def test_the_corpus_lands_where_expected(kit: CaseKit, mail_world: World) -> None:
    wanted = expected()
    seen: dict[str, tuple[str, str]] = {}
    for name in corpus_files():
        result = kit.inbound.receive((CORPUS / name).read_bytes())
        seen[name] = (result.outcome.value, result.reason or "")
    wrong = {
        name: (seen[name], wanted[name])
        for name in wanted
        if seen[name][0] != wanted[name][0] or wanted[name][1] not in seen[name][1]
    }
    assert wrong == {}
    # The rules behind a few of them, checked on the case itself.
    timeline = kit.cases.timeline(Actor.host(), "CV000001")
    bodies = [entry.body for entry in timeline if entry.kind == "message"]
    assert "Still nothing at my door." in bodies  # the quoted history is gone
    assert not any("I am away until Monday" in body for body in bodies)  # auto-replies
    assert not any("Deliver it to my house" in body for body in bodies)  # a stranger
    html = next(body for body in bodies if "Delivered to the neighbour" in body)
    assert "alert(1)" not in html
    assert "We are looking into it" not in html
    exe = next(body for body in bodies if "Run this please." in body)
    assert "fix.exe" in exe
    assert "type not accepted" in exe
    assert any("Grüße aus Köln" in body for body in bodies)
    assert any("Le café est arrivé abîmé." in body for body in bodies)
    assert kit.inbound.is_bouncing("gone@fast.test")
    pdf = [a for entry in timeline for a in entry.attachments if a.filename == "pod.pdf"]
    assert len(pdf) == 1
    assert pdf[0].content_type == "application/pdf"
    again = kit.inbound.receive((CORPUS / "handwritten/01-customer-reply.eml").read_bytes())
    assert again.outcome is Outcome.DUPLICATE
