"""Every form control on casekit's pages has a label a screen reader announces."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from conftest import login

from casekit import Actor


class Controls(HTMLParser):
    """Collects form controls and what labels them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "label":
            self.open_labels += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append({**a, "_tag": tag, "_wrapped": "1" if self.open_labels else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [
            f"<{c['_tag']} name={c.get('name')!r}>"
            for c in self.controls
            if not (c["_wrapped"] or c.get("aria-label") or c.get("id", "") in self.label_for)
        ]


@pytest.fixture
def case_number(kit, world):
    kit.directory.set_feedback_portal(Actor.host(), world.shipper.id, True)
    case = kit.cases.open(
        world.shipper_actor,
        type="lost",
        customer=world.customer.id,
        message="hello",
        audience="everyone",
    )
    return case.number


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("shipper", "/cases/"),
        ("shipper", "/cases/?view=new_cases&destination_name=x"),
        ("shipper", "/cases/new"),
        ("carrier", "/cases/new"),
        ("shipper", "/cases/{number}"),
        ("manager", "/cases/settings"),
        ("customer", "/my-account/cases/feedback"),
        ("customer", "/my-account/cases/{number}"),
    ],
)
def test_every_control_is_labelled(world, client, case_number, who, path):
    actor = {
        "shipper": world.shipper_actor,
        "carrier": world.carrier_actor,
        "manager": world.shipper_manager_actor,
        "customer": world.customer_actor,
    }[who]
    login(client, actor)
    response = client.get(path.format(number=case_number))
    assert response.status_code == 200
    parser = Controls()
    parser.feed(response.data.decode())
    assert parser.controls, "the page has a form"
    assert parser.unlabelled() == []
    assert parser.lang == "en"
    assert 'class="ck-skip" href="#main"' in response.data.decode()
