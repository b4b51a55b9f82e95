"""The unsubscribe pages and Cc in the composer and the REST API, through real HTTP
(the Flask test client), real mail (a loopback SMTP server) and the database under test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest
from conftest import login, make_app
from flask import Flask
from sqlalchemy import select

from casekit import Actor, CaseKit, EventKind, Side
from casekit.store import tables
from casekit.testing import FrozenClock, SmtpSink, World, empty_tables, make_kit

SECRET = "reply-secret-0123456789abcdef"
DESK = "dispatch@fast.test"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def mkit(database_url: str, tmp_path: Path, sink: SmtpSink) -> Iterator[CaseKit]:
    """A kit that mails through ``sink``; its unsubscribe_url is left for casekit-flask."""
    kit = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=FrozenClock(),
        create_schema=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        mail_from="cases@acme.test",
        reply_address="reply@inbound.acme.test",
        reply_secrets=(SECRET,),
    )
    yield kit
    empty_tables(kit)
    kit.close()


@pytest.fixture
def w(mkit: CaseKit) -> World:
    world = World.build(mkit)
    mkit.notifications.set_collaborator_address(
        Actor.host(),
        shipper_org_id=world.shipper.id,
        carrier_org_id=world.carrier.id,
        side=Side.CARRIER,
        email=DESK,
    )
    return world


@pytest.fixture
def site(mkit: CaseKit) -> Flask:
    """The host's app with CSRF on, as in production; its name fills in the unsubscribe URL."""
    return make_app(mkit, SERVER_NAME="cases.acme.test", PREFERRED_URL_SCHEME="https")


def link_of(mail: Message) -> str:
    header = str(mail["List-Unsubscribe"]).strip()
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.fullmatch(r"<(https://cases\.acme\.test/unsubscribe/[a-z0-9-]+)>", header)
    assert found, header
    return found.group(1)


def path_of(url: str) -> str:
    return urlsplit(url).path


def unsubscribe_events(kit: CaseKit, number: str) -> list[str]:
    return [
        str(e.event)
        for e in kit.cases.timeline(Actor.host(), number)
        if e.event in (EventKind.UNSUBSCRIBED, EventKind.RESUBSCRIBED)
    ]


def told(kit: CaseKit, sink: SmtpSink, w: World, number: str, text: str) -> bool:
    """Whether the carrier's desk hears of a new message ``text`` on the case."""
    sink.clear()
    kit.messages.post(w.shipper_actor, number, text)
    kit.notifications.deliver()
    return any(text in m.get_body(("plain",)).get_content() for m in sink.to(DESK))


def test_the_one_click_post_from_the_header_unsubscribes_and_the_page_brings_back(
    mkit, w, sink, site
):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Where?")
    mkit.notifications.deliver()
    (mail,) = sink.to(DESK)
    url = link_of(mail)
    assert url in mail.get_body(("plain",)).get_content()
    client = site.test_client()

    # Opening the link (a mail scanner does) changes nothing.
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert case.number in html
    assert DESK in html
    assert "Where?" not in html  # no case data beyond the number and the own address
    assert told(mkit, sink, w, case.number, "First news")
    assert unsubscribe_events(mkit, case.number) == []

    # The mail client's one click: a POST without a session or CSRF token.
    clicked = site.test_client().post(path_of(url), data=ONE_CLICK)
    assert clicked.status_code == 200
    assert "no more emails" in clicked.get_data(as_text=True)
    assert not told(mkit, sink, w, case.number, "Second news")
    assert unsubscribe_events(mkit, case.number) == ["unsubscribed"]

    # The page's own form is CSRF-protected: without the token, nothing changes.
    refused = client.post(path_of(url) + "/change", data={"action": "resubscribe"})
    assert refused.status_code == 400
    assert not told(mkit, sink, w, case.number, "Third news")
    page = client.get(path_of(url)).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    assert 'value="resubscribe"' in page
    back = client.post(
        path_of(url) + "/change",
        data={"action": "resubscribe", "csrf_token": csrf.group(1)},
        headers={"Referer": url},  # a browser's, over HTTPS
    )
    assert back.status_code == 200, back.get_data(as_text=True)
    assert told(mkit, sink, w, case.number, "Fourth news")
    assert unsubscribe_events(mkit, case.number) == ["unsubscribed", "resubscribed"]


def test_a_bad_link_is_a_clear_page_never_a_500(mkit, w, sink, site):
    case = mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Where?")
    mkit.notifications.deliver()
    path = path_of(link_of(sink.to(DESK)[0]))
    tampered = path[:-1] + ("a" if path[-1] != "a" else "b")
    client = site.test_client()
    for bad in (tampered, "/unsubscribe/nonsense", "/unsubscribe/" + "x" * 500):
        for response in (client.get(bad), client.post(bad, data=ONE_CLICK)):
            assert response.status_code == 400, bad
            assert "This link does not work" in response.get_data(as_text=True)
    # A case that is gone: the link is signed, so it is a 404.
    with mkit.sessions(write=True) as session:
        session.execute(tables.outbox.delete())
        session.execute(tables.cases.delete().where(tables.cases.c.id == case.id))
        session.commit()
    gone = client.post(path, data=ONE_CLICK)
    assert gone.status_code == 404
    unknown = client.post(path + "/change", data={"action": "dance"})
    assert unknown.status_code == 400


def test_the_url_comes_from_the_base_url_when_given(mkit, w, sink):
    make_app(mkit, CASEKIT_BASE_URL="https://help.acme.test/shop")
    assert mkit.settings.unsubscribe_url == "https://help.acme.test/shop/unsubscribe/{token}"
    mkit.cases.open(w.shipper_actor, type="lost", carrier=w.carrier.id, message="Where?")
    mkit.notifications.deliver()
    header = "".join(str(sink.to(DESK)[0]["List-Unsubscribe"]).split())
    assert header.startswith("<https://help.acme.test/shop/unsubscribe/")


def test_the_kits_own_url_wins(mkit, w, sink):
    mkit.settings = attrs.evolve(
        mkit.settings, unsubscribe_url="https://help.acme.test/leave/{token}"
    )
    make_app(mkit, CASEKIT_BASE_URL="https://shop.acme.test")
    assert mkit.settings.unsubscribe_url == "https://help.acme.test/leave/{token}"


def test_the_url_comes_from_the_first_request_without_a_server_name(mkit, w, sink):
    app = make_app(mkit)
    assert mkit.settings.unsubscribe_url == ""
    app.test_client().get("/cases/", base_url="https://shop.example.test")
    assert mkit.settings.unsubscribe_url == "https://shop.example.test/unsubscribe/{token}"


# -- Cc ----------------------------------------------------------------------------------


def participants(kit: CaseKit, case_id: int) -> dict[str, str]:
    p = tables.participants.c
    with kit.sessions(write=False) as session:
        rows = session.execute(
            select(p.email, p.audience).where(p.case_id == case_id, p.email.is_not(None))
        )
        return {r.email: str(r.audience) for r in rows}


def test_the_composer_takes_cc_addresses(kit, world, client):
    case = kit.cases.open(world.shipper_actor, type="lost")
    login(client, world.shipper_actor)
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert 'name="cc"' in page
    posted = client.post(
        f"/cases/{case.number}/messages",
        data={"body": "Looping in", "audience": "partners", "cc": "Dock@WH.test; ops@wh.test"},
    )
    assert posted.status_code == 302
    assert participants(kit, case.id) == {"dock@wh.test": "partners", "ops@wh.test": "partners"}
    bad = client.post(
        f"/cases/{case.number}/messages",
        data={"body": "Keep me", "audience": "partners", "cc": "dock@wh.test, nobody"},
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert 'id="cc-error"' in html
    assert "not an email address: nobody" in html
    assert "Keep me" in html  # the form keeps what was typed


def test_the_api_takes_cc_addresses(kit, world, client):
    key = kit.api_keys.create(Actor.host(), org_id=world.shipper.id, name="k", scope="write")
    auth = {"Authorization": f"Bearer {key.token}"}
    case = kit.cases.open(world.shipper_actor, type="lost")
    url = f"/api/v1/cases/{case.number}/messages"
    ok = client.post(url, headers=auth, json={"body": "hi", "cc": ["a@wh.test"]})
    assert ok.status_code == 201
    multipart = client.post(
        url,
        headers=auth,
        data={"body": "hi", "cc": "b@wh.test, c@wh.test"},
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 201, multipart.json
    assert set(participants(kit, case.id)) == {"a@wh.test", "b@wh.test", "c@wh.test"}
    for body in (
        {"body": "x", "cc": ["nobody"]},
        {"body": "x", "cc": "a@wh.test"},
        {"body": "x", "cc": [5]},
    ):
        bad = client.post(url, headers=auth, json=body)
        assert bad.status_code == 400, body
        assert [k.split(".")[0] for k in bad.json["errors"]] == ["cc"], bad.json
    assert set(participants(kit, case.id)) == {"a@wh.test", "b@wh.test", "c@wh.test"}
