"""The triage inbox, and the Mailgun raw MIME webhook with its signature."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import time
from pathlib import Path

import pytest
from conftest import login, make_app
from sqlalchemy import func, select

from casekit import Actor
from casekit.mail.compose import message_id
from casekit.store import tables

KEY = "key-mailgun-signing-test"


def raw_mail(sender: str, subject: str, body: str, message_id: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: support@acme.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}@mail.test>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def number(kit, world):
    return kit.cases.open(
        world.shipper_actor, type="lost", customer=world.customer.id, carrier=world.carrier.id,
        message="On it.",
    ).number  # fmt: skip


def stranger_mail(kit, number: str, n: int) -> int:
    result = kit.inbound.receive(
        raw_mail("someone@else.test", f"Re: [{number}] {n}", f"Note {n} about the parcel", f"s{n}")
    )
    assert result.outcome.value == "triaged"
    assert result.inbound_id is not None
    return result.inbound_id


def test_triage_lists_files_opens_and_discards(kit, world, client, number):
    ids = [stranger_mail(kit, number, n) for n in range(3)]
    login(client, world.shipper_actor)
    page = client.get("/cases/triage/").data.decode()
    for n, item in enumerate(ids):
        assert f"/cases/triage/{item}" in page
        assert f"Re: [{number}] {n}" in page
    item_page = client.get(f"/cases/triage/{ids[0]}").data.decode()
    assert f'value="{number}"' in item_page  # the case the mail names is proposed
    original = client.get(f"/cases/triage/{ids[0]}/original")
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert b"Note 0 about the parcel" in original.data

    response = client.post(
        f"/cases/triage/{ids[0]}/file", data={"number": number, "audience": "internal"}
    )
    assert response.status_code == 302
    filed = [e for e in kit.cases.timeline(world.shipper_actor, number) if "Note 0" in e.body]
    assert [(e.audience, e.author_email) for e in filed] == [("internal", "someone@else.test")]
    assert all("Note 0" not in e.body for e in kit.cases.timeline(world.carrier_actor, number))

    response = client.post(f"/cases/triage/{ids[1]}/open", data={"type": "lost"})
    assert response.status_code == 302
    opened = response.headers["Location"].rsplit("/", 1)[1]
    case = kit.cases.get(world.shipper_actor, opened)
    assert (case.source.value, case.type) == ("email", "lost")

    assert client.post(f"/cases/triage/{ids[2]}/discard").status_code == 302
    assert kit.inbound.triage(world.shipper_actor) == []
    page = client.get("/cases/triage/").data.decode()
    assert "Nothing waiting in triage" in page
    handled = client.get("/cases/triage/?handled=1").data.decode()
    for outcome in ("Filed on a case", "Opened as a case", "Discarded"):
        assert outcome in handled


def test_triage_errors_name_the_field_and_keep_the_message(kit, world, client, number):
    item = stranger_mail(kit, number, 1)
    login(client, world.shipper_actor)
    response = client.post(
        f"/cases/triage/{item}/file", data={"number": "", "audience": "internal"}
    )
    assert response.status_code == 400
    assert 'id="number-error"' in response.data.decode()
    response = client.post(
        f"/cases/triage/{item}/file", data={"number": number, "audience": "sideways"}
    )
    assert response.status_code == 400
    assert "audience" in response.data.decode()
    assert client.post(f"/cases/triage/{item}/open", data={"customer": "x"}).status_code == 400
    assert [i.id for i in kit.inbound.triage(world.shipper_actor)] == [item]
    # Once handled, a second action is refused with the reason.
    client.post(f"/cases/triage/{item}/discard")
    response = client.post(f"/cases/triage/{item}/discard")
    assert response.status_code == 400
    assert "not in triage" in response.data.decode()


def test_another_organization_finds_no_triage_item(kit, world, client, number):
    item = stranger_mail(kit, number, 1)
    login(client, world.carrier_actor)
    assert f"/cases/triage/{item}" not in client.get("/cases/triage/").data.decode()
    assert client.get(f"/cases/triage/{item}").status_code == 404
    assert client.post(f"/cases/triage/{item}/discard").status_code == 404
    assert [i.id for i in kit.inbound.triage(world.shipper_actor)] == [item]


SECRET_NOTE = "Driver dropped it; keep it from Acme."


def carrier_reply_from_elsewhere(kit, world, number: str) -> int:
    """The carrier manager's notification of a carrier internal note, answered
    from a private address (so the sender check fails), quoting the note."""
    kit.cases.watch(world.carrier_manager_actor, number)
    kit.messages.post(world.carrier_actor, number, SECRET_NOTE, audience="internal")
    o = tables.outbox.c
    with kit.engine.connect() as conn:
        sent = conn.execute(
            select(o.id, o.case_id).where(o.user_id == world.carrier_manager.id).order_by(o.id)
        ).all()[-1]
    raw = (
        f"From: cm.home@private.test\r\nTo: casekit@localhost\r\nSubject: Re: [{number}]\r\n"
        f"Message-ID: <cm-home-1@private.test>\r\n"
        f"In-Reply-To: {message_id(kit.settings, sent.id, sent.case_id)}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"We will pay for it.\r\n\r\n> {SECRET_NOTE}\r\n"
    ).encode()
    result = kit.inbound.receive(raw)
    assert (result.outcome.value, result.reason) == ("triaged", "sender does not match")
    assert result.inbound_id is not None
    return result.inbound_id


def test_a_carrier_reply_in_triage_is_the_carriers_on_every_page(kit, world, client, number):
    item = carrier_reply_from_elsewhere(kit, world, number)
    login(client, world.shipper_manager_actor)
    assert f"/cases/triage/{item}" not in client.get("/cases/triage/?handled=1").data.decode()
    for path in (f"/cases/triage/{item}", f"/cases/triage/{item}/original"):
        response = client.get(path)
        assert response.status_code == 404
        assert SECRET_NOTE.encode() not in response.data
    assert client.post(f"/cases/triage/{item}/file", data={"number": number}).status_code == 404
    assert client.post(f"/cases/triage/{item}/open", data={"type": "lost"}).status_code == 404
    assert client.post(f"/cases/triage/{item}/discard").status_code == 404

    login(client, world.carrier_manager_actor)
    assert f"/cases/triage/{item}" in client.get("/cases/triage/").data.decode()
    assert client.get(f"/cases/triage/{item}").status_code == 200
    original = client.get(f"/cases/triage/{item}/original")
    assert original.status_code == 200
    assert SECRET_NOTE.encode() in original.data
    response = client.post(
        f"/cases/triage/{item}/file", data={"number": number, "audience": "internal"}
    )
    assert response.status_code == 302
    assert all("pay for it" not in e.body for e in kit.cases.timeline(world.shipper_actor, number))
    assert any("pay for it" in e.body for e in kit.cases.timeline(world.carrier_actor, number))


def test_a_carrier_reply_in_triage_is_the_carriers_in_the_api(kit, world, client, number):
    item = carrier_reply_from_elsewhere(kit, world, number)
    login(client, world.shipper_manager_actor)
    listed = client.get("/api/v1/triage?include_handled=true")
    assert listed.status_code == 200
    assert listed.json["items"] == []
    assert client.get(f"/api/v1/triage/{item}").status_code == 404
    filed = client.post(f"/api/v1/triage/{item}/file", json={"number": number})
    assert filed.status_code == 404
    assert client.post(f"/api/v1/triage/{item}/case", json={"type": "lost"}).status_code == 404
    assert client.delete(f"/api/v1/triage/{item}").status_code == 404

    login(client, world.carrier_manager_actor)
    assert [i["id"] for i in client.get("/api/v1/triage").json["items"]] == [item]
    found = client.get(f"/api/v1/triage/{item}")
    assert (found.status_code, found.json["org_id"]) == (200, world.carrier.id)
    filed = client.post(
        f"/api/v1/triage/{item}/file", json={"number": number, "audience": "internal"}
    )
    assert (filed.status_code, filed.json["outcome"]) == (200, "filed")


def test_mail_for_no_organization_is_on_no_staff_page(kit, world, client):
    result = kit.inbound.receive(raw_mail("nora@shop.test", "Hello", "Question", "q1"))
    assert result.outcome.value == "triaged"
    item = result.inbound_id
    for actor in (world.shipper_manager_actor, world.carrier_manager_actor):
        login(client, actor)
        assert f"/cases/triage/{item}" not in client.get("/cases/triage/").data.decode()
        assert client.get(f"/cases/triage/{item}").status_code == 404
        assert client.get(f"/api/v1/triage/{item}").status_code == 404
    assert [i.id for i in kit.inbound.triage(Actor.host())] == [item]


# -- the webhook -----------------------------------------------------------------------------
def sign(key: str, timestamp: str, token: str) -> str:
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailgun_form(raw: bytes, *, key: str = KEY, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    token = hashlib.sha256(raw + timestamp.encode()).hexdigest()[:50]
    return {
        "recipient": "support@acme.test",
        "sender": "casey@example.test",
        "from": "Casey <casey@example.test>",
        "subject": "whatever",
        "body-mime": raw.decode(),
        "timestamp": timestamp,
        "token": token,
        "signature": sign(key, timestamp, token),
    }


def stored(kit) -> int:
    with kit.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.inbound_messages)).scalar())


@pytest.fixture
def webhook_app(kit):
    # CSRF stays on, as in production: the webhook is exempt, it has its signature.
    return make_app(kit, CASEKIT_MAILGUN_SIGNING_KEY=KEY)


def test_a_signed_post_puts_the_reply_on_its_case(kit, world, webhook_app, number):
    raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Still nothing.", "c1")
    response = webhook_app.test_client().post(
        "/casekit/inbound/mailgun/mime", data=mailgun_form(raw), content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.data
    assert response.json == {"outcome": "appended", "case": number, "reason": None}
    bodies = [e.body for e in kit.cases.timeline(world.customer_actor, number)]
    assert "Still nothing." in bodies


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "wrong key", "changed token", "old timestamp", "not a number"],
)
def test_a_bad_or_missing_signature_is_a_403_and_nothing_is_stored(
    kit, world, webhook_app, number, tamper
):
    raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Forged.", "f1")
    form = mailgun_form(raw)
    if tamper == "no signature":
        del form["signature"]
    elif tamper == "wrong key":
        form = mailgun_form(raw, key="another-key")
    elif tamper == "changed token":
        form["token"] = "0" * 50
    elif tamper == "old timestamp":
        form = mailgun_form(raw, timestamp=str(int(time.time()) - 3600))
    else:
        form = mailgun_form(raw, timestamp="yesterday")
    response = webhook_app.test_client().post("/casekit/inbound/mailgun/mime", data=form)
    assert response.status_code == 403
    assert "signature" in response.json["error"]
    assert stored(kit) == 0
    assert all(e.body != "Forged." for e in kit.cases.timeline(Actor.host(), number))


def test_without_a_signing_key_every_post_is_refused(kit, world, client, number):
    raw = raw_mail("casey@example.test", f"Re: [{number}]", "Hi.", "n1")
    response = client.post("/casekit/inbound/mailgun/mime", data=mailgun_form(raw))
    assert response.status_code == 403
    assert stored(kit) == 0


def test_a_signed_post_without_the_message_is_a_406_naming_the_field(kit, webhook_app):
    form = mailgun_form(b"")
    del form["body-mime"]
    response = webhook_app.test_client().post("/casekit/inbound/mailgun/mime", data=form)
    assert response.status_code == 406
    assert response.json["error"].startswith("body-mime")
    assert stored(kit) == 0


def test_a_post_casekit_cannot_take_now_is_a_503_and_its_retry_is_taken(
    kit, world, webhook_app, number
):
    """Mailgun retries any answer but 406 and 2xx: a message the file store
    could not keep gets a 503, and the retry, with the same token, lands."""
    folder = Path(kit.settings.attachment_dir)
    shutil.rmtree(folder, ignore_errors=True)
    folder.write_text("a file where the attachment folder should be")
    raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Any news?", "t1")
    form = mailgun_form(raw)
    client = webhook_app.test_client()
    try:
        response = client.post("/casekit/inbound/mailgun/mime", data=form)
    finally:
        folder.unlink()
        folder.mkdir()
    assert response.status_code == 503
    assert response.json["reason"].startswith("could not be processed")
    assert stored(kit) == 0
    retried = client.post("/casekit/inbound/mailgun/mime", data=form)
    assert retried.status_code == 200, retried.json
    assert retried.json["outcome"] == "appended"


def replay_with(form: dict[str, str], raw: bytes) -> dict[str, str]:
    """The same signed timestamp, token and signature, another message."""
    return {**form, "body-mime": raw.decode(), "sender": "mallory@evil.test"}


def test_a_replayed_post_with_another_body_is_a_406_and_stores_nothing(
    kit, world, webhook_app, number, caplog
):
    raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Still nothing.", "r1")
    form = mailgun_form(raw)
    client = webhook_app.test_client()
    assert client.post("/casekit/inbound/mailgun/mime", data=form).status_code == 200
    forged = raw_mail("Casey <casey@example.test>", f"Re: [{number}] parcel", "Refund me.", "r2")
    with caplog.at_level("WARNING", logger="casekit_flask.inbound"):
        response = client.post("/casekit/inbound/mailgun/mime", data=replay_with(form, forged))
    assert response.status_code == 406
    assert response.json["error"].startswith("token: ")
    assert "replay" in response.json["error"]
    assert stored(kit) == 1
    assert "Refund me." not in [e.body for e in kit.cases.timeline(Actor.host(), number)]
    # The operator hears of it, without the token or the signature.
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "replayed Mailgun post" in warnings[0]
    assert form["token"] not in warnings[0]
    assert form["signature"] not in warnings[0]
    # The very same post again is refused too (not taken as a duplicate).
    again = client.post("/casekit/inbound/mailgun/mime", data=form)
    assert again.status_code == 406


def test_a_token_taken_by_one_app_is_refused_by_another_on_the_same_database(
    kit, world, webhook_app, number, database_url, tmp_path
):
    """Two processes of the host: two kits (two connection pools), one database."""
    from casekit.testing import make_kit

    other_kit = make_kit(database_url, attachment_dir=tmp_path / "other", create_schema=False)
    try:
        other_app = make_app(other_kit, CASEKIT_MAILGUN_SIGNING_KEY=KEY)
        raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}]", "First.", "p1")
        form = mailgun_form(raw)
        first = webhook_app.test_client().post("/casekit/inbound/mailgun/mime", data=form)
        assert first.status_code == 200
        forged = raw_mail("Casey <casey@example.test>", f"Re: [{number}]", "Second.", "p2")
        replayed = other_app.test_client().post(
            "/casekit/inbound/mailgun/mime", data=replay_with(form, forged)
        )
        assert replayed.status_code == 406
        assert stored(kit) == 1
        # A new signed post on the other app is taken as usual.
        fresh = other_app.test_client().post(
            "/casekit/inbound/mailgun/mime", data=mailgun_form(forged)
        )
        assert fresh.status_code == 200
        assert stored(kit) == 2
    finally:
        other_kit.close()


def tokens(kit) -> set[str]:
    with kit.engine.connect() as conn:
        return set(conn.execute(select(tables.inbound_tokens.c.token)).scalars())


def test_stale_tokens_are_purged_and_fresh_ones_kept(kit, webhook_app):
    from datetime import timedelta

    from casekit.services.inbound import TOKEN_PURGE_EVERY

    now = kit.clock.now()
    assert kit.inbound.claim_token("mailgun", "stale", expires_at=now - timedelta(seconds=1))
    assert kit.inbound.claim_token("mailgun", "fresh", expires_at=now + timedelta(seconds=900))
    assert not kit.inbound.claim_token("mailgun", "stale", expires_at=now + timedelta(hours=1))
    assert kit.inbound.purge_tokens() == 1
    assert tokens(kit) == {"fresh"}
    assert not kit.inbound.claim_token("mailgun", "fresh", expires_at=now)
    # Claims purge on their own now and then: no command needed.
    kit.inbound.claim_token("mailgun", "stale again", expires_at=now - timedelta(seconds=1))
    for n in range(TOKEN_PURGE_EVERY):
        kit.inbound.claim_token("mailgun", f"t{n}", expires_at=now + timedelta(seconds=900))
    assert "stale again" not in tokens(kit)
    assert "fresh" in tokens(kit)
    # Through the webhook: a post's token is kept until its signature goes stale.
    raw = raw_mail("casey@example.test", "hello", "Hi.", "k1")
    form = mailgun_form(raw)
    webhook_app.test_client().post("/casekit/inbound/mailgun/mime", data=form)
    with kit.engine.connect() as conn:
        expires_at = conn.execute(
            select(tables.inbound_tokens.c.expires_at).where(
                tables.inbound_tokens.c.token == form["token"]
            )
        ).scalar_one()
    assert expires_at.timestamp() == int(form["timestamp"]) + 900


def test_the_webhook_over_a_real_socket(kit, world, number):
    """The signed post travels over HTTP to a real server, as Mailgun sends it."""
    import threading
    import urllib.parse
    import urllib.request

    from werkzeug.serving import make_server

    app = make_app(kit, CASEKIT_MAILGUN_SIGNING_KEY=KEY)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        raw = raw_mail("Casey <casey@example.test>", f"Re: [{number}]", "Over the wire.", "w1")
        body = urllib.parse.urlencode(mailgun_form(raw)).encode()
        url = f"http://127.0.0.1:{server.port}/casekit/inbound/mailgun/mime"
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as reply:
            assert reply.status == 200
    finally:
        server.shutdown()
        thread.join(10)
    assert "Over the wire." in [e.body for e in kit.cases.timeline(world.shipper_actor, number)]
