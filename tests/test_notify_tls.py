"""The built-in SMTP plugin over TLS with a login: STARTTLS and implicit TLS,
against a real aiosmtpd server on loopback with a certificate from a throwaway CA."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from casekit import Audience, CaseKit
from casekit.testing import FrozenClock, World, make_kit

pytestmark = pytest.mark.backends("sqlite")  # the protocol, not the database

USER, PASSWORD = "casekit", "s3cret-password"


class Mailbox:
    """What the server received, and who logged in."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    pem = tmp_path / "company-ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    return authority, pem


def server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def starttls_server(ca: tuple[trustme.CA, Path]) -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(ca[0]),
        require_starttls=True,
        authenticator=box.authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def ssl_server(ca: tuple[trustme.CA, Path]) -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=port,
        ssl_context=server_context(ca[0]),
        authenticator=box.authenticate,
        auth_required=True,
        # The whole connection is TLS; aiosmtpd only counts STARTTLS as such
        # (and warns, on every connection: see the test's filterwarnings).
        auth_require_tls=False,
    )
    controller.start()
    yield box, port
    controller.stop()


def mailing_kit(database_url: str, tmp_path: Path, clock: FrozenClock, **smtp: Any) -> CaseKit:
    return make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        smtp_host="127.0.0.1",
        mail_from="cases@acme.test",
        reply_address="reply@inbound.acme.test",
        reply_secrets=("reply-secret-0123456789abcdef",),
        **smtp,
    )


def notify_once(kit: CaseKit) -> str:
    """A carrier's message the shipper's owner hears about; returns the case number."""
    world = World.build(kit)
    case = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    )
    kit.messages.post(world.carrier_actor, case.number, "Found it.", audience=Audience.PARTNERS)
    kit.notifications.deliver()
    return case.number


def attempts(kit: CaseKit, number: str) -> list[Any]:
    from casekit import Actor

    return [a for d in kit.notifications.deliveries(Actor.host(), number) for a in d.history]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_goes_over_tls_with_a_login(security, request, ca, database_url, kit, tmp_path, clock):
    box, port = request.getfixturevalue(f"{security}_server")
    mailing = mailing_kit(
        database_url,
        tmp_path,
        clock,
        smtp_port=port,
        smtp_security=security,
        smtp_username=USER,
        smtp_password=PASSWORD,
        smtp_ca_file=ca[1],
    )
    try:
        number = notify_once(mailing)
        assert [a.error for a in attempts(mailing, number)] == [None]
        assert len(box.messages) == 1
        assert number.encode() in box.messages[0]
        assert box.logins == [USER]
        assert [a.ok for a in attempts(mailing, number)] == [True]
    finally:
        mailing.close()


def test_a_certificate_the_system_does_not_trust_is_refused(
    starttls_server, database_url, kit, tmp_path, clock
):
    box, port = starttls_server
    mailing = mailing_kit(
        database_url,
        tmp_path,
        clock,
        smtp_port=port,
        smtp_security="starttls",
        smtp_username=USER,
        smtp_password=PASSWORD,
    )
    try:
        number = notify_once(mailing)
        assert box.messages == []
        (attempt,) = attempts(mailing, number)
        assert not attempt.ok
        assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    finally:
        mailing.close()


def test_a_wrong_password_is_a_failed_attempt_and_nothing_is_sent(
    starttls_server, ca, database_url, kit, tmp_path, clock
):
    box, port = starttls_server
    mailing = mailing_kit(
        database_url,
        tmp_path,
        clock,
        smtp_port=port,
        smtp_security="starttls",
        smtp_username=USER,
        smtp_password="wrong",
        smtp_ca_file=ca[1],
    )
    try:
        number = notify_once(mailing)
        assert box.messages == []
        assert box.logins == []
        (attempt,) = attempts(mailing, number)
        assert not attempt.ok
        assert "535" in attempt.error
    finally:
        mailing.close()
