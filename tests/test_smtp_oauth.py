"""The built-in SMTP plugin logging in with XOAUTH2: a real aiosmtpd server on loopback
that checks bearer tokens against a loopback OAuth token endpoint."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from casekit import Audience, CaseKit
from casekit.store import tables
from casekit.testing import FrozenClock, World, make_kit
from casekit.testing_imap import OAuthServer

# The protocol; the token store runs on every database in test_imap.
pytestmark = pytest.mark.backends("sqlite")

pytest.importorskip("cryptography")
FERNET_KEY = "0sZ7Wl3iH3DqYq8oVw2l0m7w4j8Xh1c2b3n4m5k6j7A="
USER = "cases@acme.test"


class BearerMailbox:
    """An SMTP server that takes AUTH XOAUTH2 with an access token ``oauth`` gave out."""

    def __init__(self, oauth: OAuthServer) -> None:
        self.oauth = oauth
        self.messages: list[bytes] = []
        self.logins: list[str] = []
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 OK"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        fields = dict(
            part.split("=", 1) for part in base64.b64decode(args[1]).decode().split("\x01") if part
        )
        token = fields.get("auth", "").removeprefix("Bearer ")
        user = self.oauth.access_tokens.get(token, ("", 0.0))[0]
        if user != fields.get("user") or user != USER:
            self.refused += 1
            return AuthResult(success=False, handled=False)
        self.logins.append(user)
        return AuthResult(success=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def oauth() -> Iterator[OAuthServer]:
    with OAuthServer() as server:
        yield server


@pytest.fixture
def smtp(oauth: OAuthServer) -> Iterator[tuple[BearerMailbox, int]]:
    box, port = BearerMailbox(oauth), free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, auth_required=True, auth_require_tls=False
    )
    controller.start()
    yield box, port
    controller.stop()


def notify(kit: CaseKit, world: World) -> None:
    case = kit.cases.open(
        world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
    )
    kit.messages.post(world.carrier_actor, case.number, "Found it.", audience=Audience.PARTNERS)
    kit.notifications.deliver()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_logs_in_with_xoauth2_and_refreshes_a_refused_token(
    database_url: str,
    kit: CaseKit,
    tmp_path: Path,
    clock: FrozenClock,
    oauth: OAuthServer,
    smtp: tuple[BearerMailbox, int],
) -> None:
    box, port = smtp
    refresh = oauth.grant(USER)
    mailing = make_kit(
        database_url,
        attachment_dir=tmp_path / "attachments",
        clock=clock,
        create_schema=False,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_auth="xoauth2",
        smtp_username=USER,
        mail_from=USER,
        oauth_token_url=oauth.token_url,
        oauth_client_id=oauth.client_id,
        oauth_client_secret=oauth.client_secret,
        oauth_refresh_token=refresh,
        oauth_token_keys=(FERNET_KEY,),
    )
    try:
        world = World.build(mailing)
        notify(mailing, world)
        assert len(box.messages) == 1
        assert box.logins == [USER]
        assert oauth.grants == 1
        with mailing.engine.connect() as conn:
            (row,) = conn.execute(select(tables.oauth_tokens)).all()
        (access,) = oauth.access_tokens
        assert access not in row.access_token

        # The provider revokes the token: refused once, refreshed, and the mail goes.
        oauth.revoke()
        smtp_plugin = mailing.plugin_manager.get_plugin("casekit.smtp")
        smtp_plugin.close()
        notify(mailing, world)
        assert len(box.messages) == 2
        assert box.refused == 1
        assert oauth.grants == 2
    finally:
        mailing.close()
