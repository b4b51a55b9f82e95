"""``casekit demo``: its data, its identities, its command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from email.utils import parseaddr
from pathlib import Path

import pytest
from click.testing import CliRunner

from casekit import Actor, Audience
from casekit.cli import build_cli
from casekit.domain.case import EntryKind, EventKind
from casekit.store import migrate
from casekit_flask.demo import create_demo_app, sample_rows


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
        client = app.test_client()
        assert "DEMO ONLY" in client.get("/").data.decode()
        assert client.get("/cases/").status_code == 401
        client.post("/demo/identity", data={"identity": "morgan"})
        assert client.get("/cases/").status_code == 200
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
        client.post("/demo/identity", data={"identity": "morgan"})
        assert "Captured mail" in client.get("/cases/").data.decode()  # the banner links it
        to_morgan = [n for n in loaded if _to(capture, n) == "morgan@northwind.test"]
        page = client.get("/demo/mail/").data.decode()
        assert f"{len(to_morgan)} so far" in page
        assert {n for n in loaded if n in page} == set(to_morgan)
        rows = kit.views.list(Actor.host(), {"view": "all_cases"}, limit=500).rows
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
