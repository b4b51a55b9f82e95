"""``casekit demo``: its data, its identities, its command."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from email import policy as email_policy
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import png
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from casekit import Actor, Audience
from casekit.cli import build_cli
from casekit.domain.case import EntryKind, EventKind
from casekit.store import migrate
from casekit_flask.demo import (
    EMAIL_ONLY_ADDRESS,
    EMAIL_ONLY_SHIPPER_ADDRESS,
    create_demo_app,
    sample_rows,
)


def test_the_demo_app_has_every_status_and_switchable_identities(tmp_path):
    app = create_demo_app(tmp_path, shipments=120, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    try:
        rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=500).rows
        assert set(Counter(r.status.value for r in rows)) == {
            "new", "open", "reply_received", "waiting", "solved",
        }  # fmt: skip
        assert {r.source.value for r in rows} >= {"portal", "user"}
        identities = app.config["CASEKIT_DEMO_IDENTITIES"]
        assert {"alex", "morgan", "dana", "customer1"} <= set(identities)
        # Both sides keep service levels: their open cases are due, the old ones late.
        late = {}
        for who in ("morgan", "dana"):
            actor = identities[who][1]
            listed = kit.views.list(actor, {"view": "all_cases"}, limit=500).rows
            running = [r for r in listed if r.due_state is not None]
            assert running, who
            assert all(r.due_at is not None for r in running), who
            late[who] = kit.views.list(actor, {"view": "due_soon"}, limit=500).rows
            assert late[who], who
        client = app.test_client()
        assert "DEMO ONLY" in client.get("/").data.decode()
        assert client.get("/cases/").status_code == 401
        client.post("/demo/identity", data={"identity": "morgan"})
        assert client.get("/cases/").status_code == 200
        page = client.get(f"/cases/{late['morgan'][0].number}").data.decode()
        clocks = page.split('aria-label="Service levels"')[1].split("</ul>")[0]
        assert "was due" in clocks or "due soon" in clocks.lower(), clocks
        client.post("/demo/identity", data={"identity": "customer1"})
        home = client.get("/").data.decode()
        assert "Send feedback" in home  # the portal helper on the host's order list
        assert client.get("/my-account/cases/").status_code == 200
        assert client.post("/demo/identity", data={"identity": "nobody-at-all"}).status_code == 400
    finally:
        kit.close()


def test_the_demo_merchant_talks_with_its_customers_without_the_carrier(tmp_path):
    app = create_demo_app(tmp_path, shipments=60, deliver=False)
    kit = app.extensions["casekit"].kit
    host = Actor.host()
    dana = app.config["CASEKIT_DEMO_IDENTITIES"]["dana"][1]
    try:
        rows = kit.views.list(host, {"view": "all_cases"}, limit=500).rows
        timelines = {row.number: kit.cases.timeline(host, row.number) for row in rows}
        messages = [
            entry
            for entries in timelines.values()
            for entry in entries
            if entry.kind is EntryKind.MESSAGE
        ]
        # The customers write to the merchant and the merchant answers them in
        # the customer audience; only scheduling a delivery is for everyone.
        by_customers = {m.audience for m in messages if m.actor_kind == "customer"}
        assert by_customers == {Audience.CUSTOMER, Audience.EVERYONE}
        assert {m.audience for m in messages} == set(Audience)
        types = {row.number: row.type for row in rows}
        everyone = [m for m in messages if m.audience is Audience.EVERYONE]
        assert {types[m.case_number] for m in everyone} == {"delivery_scheduling"}
        assert {m.actor_kind for m in everyone} == {"customer", "user"}
        # Some of the customers' photos are shared with the carrier, each with
        # its audit event for partners.
        shared = [m for m in messages if m.shared_at is not None]
        assert shared
        for message in shared:
            assert message.audience is Audience.CUSTOMER
            assert [m.filename for m in message.attachments] == ["corner.jpg", "side.jpg"]
            events = [
                e
                for e in timelines[message.case_number]
                if e.event is EventKind.ENTRY_SHARED and e.new_value == str(message.id)
            ]
            assert [e.audience for e in events] == [Audience.PARTNERS]
        # The carrier reads of the merchant's talk with its customers only what
        # was shared, and every delivery scheduled for everyone on its cases.
        carried = [row.number for row in rows if row.carrier_org_id == dana.org_id]
        seen = [e for number in carried for e in kit.cases.timeline(dana, number)]
        assert [e.id for e in seen if e.audience is Audience.CUSTOMER] == [m.id for m in shared]
        scheduled = {m.id for m in everyone if m.case_number in carried}
        assert scheduled
        assert scheduled <= {e.id for e in seen}
    finally:
        kit.close()


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [
        ("/cases/?view=new_cases&status=open", "/cases/?view=new_cases&status=open"),
        ("/\t/evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_the_identity_switch_returns_only_to_this_site(tmp_path, target, lands_on):
    app = create_demo_app(tmp_path, shipments=5, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        response = app.test_client().post(
            "/demo/identity", data={"identity": "morgan", "next": target}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == lands_on
    finally:
        app.extensions["casekit"].kit.close()


def test_the_demo_data_is_kept_in_the_given_folder(tmp_path):
    first = create_demo_app(tmp_path, shipments=60, deliver=False)
    count = len(
        first.extensions["casekit"].kit.views.list(Actor.host(), {"view": "all_cases"}).rows
    )
    migrate.downgrade(first.extensions["casekit"].kit.engine, "-1")  # kept from an older casekit
    first.extensions["casekit"].kit.close()
    again = create_demo_app(tmp_path, shipments=60, deliver=False)
    kit = again.extensions["casekit"].kit
    assert migrate.current(kit.engine) == migrate.head(kit.engine)
    assert len(kit.views.list(Actor.host(), {"view": "all_cases"}).rows) == count
    kit.close()


def test_the_demo_orders_and_shipments_come_through_the_order_feed(tmp_path):
    app = create_demo_app(tmp_path, shipments=40, deliver=False)
    kit = app.extensions["casekit"].kit
    try:
        merchant = kit.directory.organization_by_external_id(Actor.host(), "northwind")
        as_merchant = Actor.system_actor("api", org_id=merchant.id)
        rows = sample_rows(40)
        assert len(rows) == 40
        for row in rows:
            shipment = kit.shipments.shipment(as_merchant, row["shipment_reference"])
            assert shipment.tracking_number == row["tracking_number"]
            order = kit.shipments.order(as_merchant, row["order_number"])
            assert order.customer_email == row["customer_email"]
        # Cases opened on them carry the imported facts.
        case = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=500).rows[0]
        facts = kit.cases.facts(Actor.host(), case.number)
        assert facts.shipment is None or facts.shipment.reference.startswith("SHP-")
    finally:
        kit.close()


def test_outgoing_mail_is_captured_and_shown_to_its_recipient_on_the_demo_page(tmp_path):
    app = create_demo_app(tmp_path, shipments=30, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    try:
        kit.notifications.deliver()  # what the sample cases caused
        loaded = capture.names()
        assert loaded
        client = app.test_client()
        page = client.get("/demo/mail/").data.decode()
        assert "Captured mail" in page
        assert "pick one above" in page
        assert not any(name in page for name in loaded)  # signed out: no one's mail
        assert client.get(f"/demo/mail/{loaded[0]}").status_code == 404
        assert "There is nothing here." in client.get(f"/demo/mail/{loaded[0]}").text
        client.post("/demo/identity", data={"identity": "morgan"})
        assert "Captured mail" in client.get("/cases/").data.decode()  # the banner links it
        to_morgan = [n for n in loaded if _to(capture, n) == "morgan@northwind.test"]
        page = client.get("/demo/mail/").data.decode()
        assert f"{len(to_morgan)} so far" in page
        assert {n for n in loaded if n in page} == set(to_morgan)
        morgan = app.config["CASEKIT_DEMO_IDENTITIES"]["morgan"][1]
        rows = kit.views.list(morgan, {"view": "all_cases"}, limit=500).rows
        number = next(r for r in rows if r.status.value == "open")
        response = client.post(
            f"/cases/{number.number}/messages",
            data={"body": "A note for the carrier, captured.", "audience": "partners"},
        )
        assert response.status_code == 302
        kit.notifications.deliver()
        names = capture.names()
        assert len(names) > len(loaded)
        texts = [capture.read(n).get_body(("plain",)).get_content() for n in names]
        identities = app.config["CASEKIT_DEMO_IDENTITIES"]
        # The note's mail to another of the demo's people is theirs: Morgan cannot read it.
        newest, other = next(
            (n, k)
            for n, t in zip(names, texts, strict=True)
            if "captured." in t
            for k in identities
            if k != "morgan" and _to(capture, n).startswith(f"{k}@")
        )
        assert client.get(f"/demo/mail/{newest}").status_code == 404
        assert newest not in client.get("/demo/mail/").data.decode()
        client.post("/demo/identity", data={"identity": other})
        assert newest in client.get("/demo/mail/").data.decode()
        shown = client.get(f"/demo/mail/{newest}").data.decode()
        assert "A note for the carrier, captured." in shown
        assert number.number in shown
        assert client.get("/demo/mail/..%2Fcasekit-demo.sqlite3").status_code == 404
        assert client.get("/demo/mail/nothing.eml").status_code == 404
    finally:
        kit.close()


def test_the_demo_mail_can_be_answered_and_links_each_recipient_to_its_page(tmp_path):
    from casekit.mail.marker import REPLY_MARKER

    app = create_demo_app(tmp_path, shipments=30, deliver=False, base_url="http://demo.test:8123")
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    try:
        kit.notifications.deliver()
        client = app.test_client()
        checked = set()
        for identity, prefix in (("customer1", "/my-account/cases/"), ("alex", "/cases/")):
            client.post("/demo/identity", data={"identity": identity})
            page = client.get("/demo/mail/").data.decode()
            names = [n for n in capture.names() if n in page]
            assert names, identity
            for name in names[:5]:
                mail = capture.read(name)
                assert "reply+" in str(mail["Reply-To"])
                text = mail.get_body(("plain",)).get_content()
                assert text.startswith(REPLY_MARKER), name
                assert "do not reply" not in text.lower()
                link = f"http://demo.test:8123{prefix}"
                assert link in text, (identity, name)
                if identity == "customer1":  # never a staff page
                    html = mail.get_body(("html",)).get_content()
                    assert "demo.test:8123/cases/" not in text + html
                shown = client.get(f"/demo/mail/{name}").data.decode()
                assert REPLY_MARKER in shown
                url = next(w for w in text.split() if w.startswith(link))
                assert f'<a href="{url}"' in shown
                # The link works for its recipient.
                case_page = client.get(url.removeprefix("http://demo.test:8123"))
                assert case_page.status_code == 200, url
                checked.add(identity)
        assert checked == {"customer1", "alex"}
    finally:
        kit.close()


def _to(capture, name):
    return parseaddr(str(capture.read(name)["To"]))[1]


def _harbor(kit):
    """The email-only carrier's cases, by number."""
    harbor = kit.directory.organization_by_external_id(Actor.host(), "harbor")
    rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=500).rows
    return harbor, {r.number for r in rows if r.carrier_org_id == harbor.id}


def _texts(message):
    """A captured mail's plain and HTML text."""
    return "\n".join(message.get_body((kind,)).get_content() for kind in ("plain", "html"))


def test_the_email_only_carrier_gets_every_mail_it_may_see_at_its_address(tmp_path):
    app = create_demo_app(tmp_path, shipments=60, deliver=False)
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    host = Actor.host()
    try:
        harbor, numbers = _harbor(kit)
        assert numbers
        merchant = kit.directory.organization_by_external_id(host, "northwind")
        bluebird = kit.directory.organization_by_external_id(host, "bluebird")
        swift = kit.directory.organization_by_external_id(host, "swift")
        assert sorted(
            (a.shipper_org_id, a.carrier_org_id, a.side.value, a.email)
            for a in kit.notifications.collaborator_addresses(host)
        ) == sorted(
            [
                (merchant.id, harbor.id, "carrier", EMAIL_ONLY_ADDRESS),
                (bluebird.id, swift.id, "shipper", EMAIL_ONLY_SHIPPER_ADDRESS),
            ]
        )
        assert all(kit.cases.get(host, number).carrier_collaborating for number in numbers)
        kit.notifications.deliver()
        mails = [capture.read(n) for n in capture.names()]
        harbors = [m for m in mails if _to_address(m) == EMAIL_ONLY_ADDRESS]
        others = [m for m in mails if _to_address(m) != EMAIL_ONLY_ADDRESS]
        assert len(harbors) >= len(numbers)  # each case's opening at least
        assert {str(m["X-Casekit-Case"]) for m in harbors} == numbers
        told = {
            number: "\n".join(_texts(m) for m in harbors if m["X-Casekit-Case"] == number)
            for number in numbers
        }
        # Every message the carrier's side may read reaches its address; none other does:
        # no internal note of the merchant, nothing of its talk with its customer.
        hidden, hidden_audiences = set(), set()
        for number in numbers:
            for entry in kit.cases.timeline(host, number):
                if entry.kind is not EntryKind.MESSAGE:
                    continue
                if entry.audience in (Audience.PARTNERS, Audience.EVERYONE):
                    assert entry.body in told[number], (number, entry.body)
                else:
                    hidden.add(entry.body)
                    hidden_audiences.add((entry.audience, entry.actor_kind))
        # Harbor's cases have internal notes and the merchant's talk with its customer.
        assert {
            (Audience.INTERNAL, "user"),
            (Audience.CUSTOMER, "user"),
            (Audience.CUSTOMER, "customer"),
        } <= hidden_audiences
        assert "Customer is a repeat buyer." in hidden
        harbor_text = "\n".join(told.values())
        assert [text for text in hidden if text in harbor_text] == []
        # The same texts do reach the merchant's people and the customers.
        other_text = "\n".join(_texts(m) for m in others)
        assert all(text in other_text for text in hidden)
    finally:
        kit.close()


def _to_address(message):
    return parseaddr(str(message["To"]))[1]


def _answer(client, name, *, text, attachment=None):
    """Post the answer form with ``attachment`` (content, filename[, type]), encoded here:
    the test client would spool a large file to a temporary file it never closes."""
    fields = {"text": text}
    if attachment is not None:
        data, filename, *kind = attachment
        fields["attachment"] = FileStorage(
            io.BytesIO(data), filename=filename, content_type=kind[0] if kind else None
        )
    boundary, body = encode_multipart(fields)
    return client.post(
        f"/demo/mail/{name}/answer",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_a_captured_mail_is_answered_as_its_recipient_through_the_inbound_mail(tmp_path):
    app = create_demo_app(tmp_path, shipments=60, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    host = Actor.host()
    try:
        kit.notifications.deliver()
        client = app.test_client()
        client.post("/demo/identity", data={"identity": "harbor"})
        assert client.get("/cases/").status_code == 401  # email only: no pages
        page = client.get("/demo/mail/").data.decode()
        assert "Harbor Freight Lines (email only)" in page
        harbors = [n for n in capture.names() if _to(capture, n) == EMAIL_ONLY_ADDRESS]
        assert {n for n in capture.names() if n in page} == set(harbors)
        name = next(
            n
            for n in harbors
            if "wrote on case" in _texts(capture.read(n))
            and kit.cases.get(host, str(capture.read(n)["X-Casekit-Case"])).status.value != "solved"
        )
        number = str(capture.read(name)["X-Casekit-Case"])
        shown = client.get(f"/demo/mail/{name}").data.decode()
        assert f"Answer as {EMAIL_ONLY_ADDRESS}" in shown
        before = kit.cases.timeline(host, number)
        photo = png()
        response = _answer(
            client,
            name,
            text="The pallet was re-wrapped at our dock; photo attached.",
            attachment=(photo, "dock.png", "image/png"),
        )
        assert response.status_code == 302
        assert response.headers["Location"] == f"/demo/mail/{name}#answer"
        result = client.get(f"/demo/mail/{name}").data.decode()
        assert f'posted on case <a href="/cases/{number}">{number}</a>' in result
        assert "act as one of Northwind" in result  # the mailbox opens no case page
        assert "posted on case" not in client.get(f"/demo/mail/{name}").data.decode()  # once
        after = kit.cases.timeline(host, number)
        (reply,) = after[len(before) :]
        # The quoted mail below the answer was cut on the way in.
        assert reply.body == "The pallet was re-wrapped at our dock; photo attached."
        assert reply.audience is Audience.PARTNERS
        assert reply.org_id == kit.directory.organization_by_external_id(host, "harbor").id
        assert reply.author_email == EMAIL_ONLY_ADDRESS
        (file,) = reply.attachments
        assert (file.filename, file.content_type) == ("dock.png", "image/png")
        assert file.sha256 == hashlib.sha256(photo).hexdigest()
        # It came in as mail: its original is kept with the case, a reply in the thread.
        with kit.inbound.original_of_entry(host, number, reply.id) as raw:
            original = BytesParser(policy=email_policy.default).parse(raw)
        mail = capture.read(name)
        assert str(original["From"]) == EMAIL_ONLY_ADDRESS
        assert str(original["To"]) == str(mail["Reply-To"])
        assert str(original["In-Reply-To"]) == str(mail["Message-ID"])
        assert str(original["References"]).split() == [
            *str(mail["References"]).split(),
            str(mail["Message-ID"]),
        ]
        assert "> ##- Please type your reply above this line -##" in (
            original.get_body(("plain",)).get_content()
        )
        # The merchant hears of it by mail, as of any reply.
        kit.notifications.deliver()
        assert any(
            "re-wrapped at our dock" in _texts(capture.read(n))
            for n in capture.names()
            if _to(capture, n).endswith("@northwind.test")
        )
    finally:
        kit.close()


def test_a_customer_answers_its_mail_and_is_linked_to_its_portal_page(tmp_path):
    app = create_demo_app(tmp_path, shipments=30, deliver=False)
    app.config["WTF_CSRF_ENABLED"] = False
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    try:
        kit.notifications.deliver()
        client = app.test_client()
        client.post("/demo/identity", data={"identity": "customer1"})
        page = client.get("/demo/mail/").data.decode()
        name = next(n for n in capture.names() if n in page)
        number = str(capture.read(name)["X-Casekit-Case"])
        assert _answer(client, name, text="Thanks, it came today.").status_code == 302
        result = client.get(f"/demo/mail/{name}").data.decode()
        assert f'<a href="/my-account/cases/{number}">{number}</a>' in result
        timeline = kit.cases.timeline(Actor.host(), number)
        latest = [e for e in timeline if e.kind is EntryKind.MESSAGE][-1]
        assert (latest.body, latest.actor_kind) == ("Thanks, it came today.", "customer")
        # An answer the inbound mail triaged says so, and why.
        with client.session_transaction() as session:
            session["casekit_demo_answered"] = {
                "name": name,
                "outcome": "triaged",
                "number": number,
                "reason": "sender does not match",
            }
        triaged = client.get(f"/demo/mail/{name}").data.decode()
        assert (
            f"Your answer went to triage (it names case {number}): sender does not match."
        ) in triaged
    finally:
        kit.close()


def test_an_answer_without_text_or_file_or_too_large_is_refused_and_changes_nothing(tmp_path):
    app = create_demo_app(tmp_path, shipments=30, deliver=False)
    kit = app.extensions["casekit"].kit
    capture = app.extensions["casekit_demo"].capture
    host = Actor.host()
    try:
        kit.notifications.deliver()
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        client.post("/demo/identity", data={"identity": "alex"})
        name = next(n for n in capture.names() if _to(capture, n) == "alex@northwind.test")
        number = str(capture.read(name)["X-Casekit-Case"])
        before = kit.cases.timeline(host, number)
        limit = kit.settings.max_attachment_bytes
        empty = _answer(client, name, text="  ", attachment=(b"", ""))
        assert empty.status_code == 400
        assert "Your answer: write an answer or attach a file" in empty.data.decode()
        large = _answer(
            client, name, text="See the scan.", attachment=(b"x" * (limit + 1), "a.pdf")
        )
        assert large.status_code == 400
        body = large.data.decode()
        assert "Attachment: larger than the limit of 25 MB" in body
        assert "See the scan.</textarea>" in body  # what was typed is kept
        huge = _answer(client, name, text="Scan.", attachment=(b"x" * (limit + 3 * 2**20), "b.pdf"))
        assert huge.status_code == 413
        assert "Attachment: larger than the limit of 25 MB" in huge.data.decode()
        assert kit.cases.timeline(host, number) == before
        assert kit.inbound.triage(Actor.host()) == []
        # Another identity's mail is not there to answer; the form needs its CSRF token.
        client.post("/demo/identity", data={"identity": "dana"})
        assert _answer(client, name, text="Not mine.").status_code == 404
        client.post("/demo/identity", data={"identity": "alex"})
        app.config["WTF_CSRF_ENABLED"] = True
        expired = _answer(client, name, text="No token.")
        assert expired.status_code == 400
        assert "The form expired" in expired.data.decode()
        assert kit.cases.timeline(host, number) == before
    finally:
        kit.close()


def test_the_demo_outbox_worker_delivers_in_the_background(tmp_path):
    app = create_demo_app(tmp_path, shipments=30)
    runtime = app.extensions["casekit_demo"]
    kit = app.extensions["casekit"].kit
    try:
        assert runtime.thread is not None
        assert runtime.thread.is_alive()
        deadline = time.monotonic() + 60
        while not runtime.capture.names():  # the sample cases' mail arrives by itself
            assert time.monotonic() < deadline, "the background worker delivered nothing"
            time.sleep(0.2)
    finally:
        runtime.stop()
        kit.close()
    assert not runtime.thread.is_alive()


def test_casekit_demo_without_its_extra_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "casekit_orderfeed", None)  # not installed
    result = CliRunner().invoke(build_cli(), ["demo", "--port", "1"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: casekit demo loads its sample orders through casekit-orderfeed: pip install "
        "'casekit-flask[demo]' (or ./adapters/casekit-orderfeed)"
    ]


def test_casekit_demo_help_documents_host_and_port():
    result = CliRunner().invoke(build_cli(), ["demo", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output
    assert "Demo only" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_casekit_demo_serves_the_pages(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "casekit",
            "demo",
            "--port",
            str(port),
            "--dir",
            str(tmp_path),
            "--shipments",
            "60",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise AssertionError(output) from None
                time.sleep(0.3)
        assert "casekit demo" in body
        assert (tmp_path / "casekit-demo.sqlite3").exists()
        # The mail its worker delivers links to the address it listens on.
        while not list((tmp_path / "mail").glob("*.eml")):
            assert time.monotonic() < deadline + 60, "the demo delivered no mail"
            time.sleep(0.3)
        mail = next((tmp_path / "mail").glob("*.eml")).read_bytes()
        assert f"http://127.0.0.1:{port}/".encode() in mail
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


def demo_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "casekit", "demo", *args],
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_casekit_demo_on_sigterm_removes_its_temporary_folder(tmp_path):
    port = free_port()
    process = demo_process("--port", str(port), "--shipments", "20", env={"TMPDIR": str(tmp_path)})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("casekit demo: data in "), first
        folder = Path(first.removeprefix("casekit demo: data in ").strip())
        assert folder.parent == tmp_path
        assert (folder / "casekit-demo.sqlite3").is_file()
        deadline = time.monotonic() + 60
        while True:  # until it listens
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline
                assert process.poll() is None
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


def test_casekit_demo_on_a_busy_port_says_so_in_one_line_before_building_anything(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        process = demo_process("--port", str(port), env={"TMPDIR": str(tmp_path)})
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert output.splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another program using the port? choose one with --port)"
    ]
    assert list(tmp_path.iterdir()) == []  # no temporary folder was made
    assert time.monotonic() - started < 30  # no sample data was built first
