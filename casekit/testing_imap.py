"""A real IMAP server for tests: Debian's Dovecot, on loopback, in a folder of its own.

:class:`Dovecot` writes a private configuration (passwd-file users, maildirs
and sockets in a temporary folder, no system service), starts ``dovecot -F``
on a free port and stops it. With ``oauth=`` it also takes XOAUTH2 and
OAUTHBEARER, asking :class:`OAuthServer` (a token endpoint and a token
introspection endpoint on loopback) whether a bearer token is good.

``CASEKIT_REQUIRE_DOVECOT=1`` turns a missing ``dovecot`` into a failure for
:func:`dovecot_or_skip` instead of a skip.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

__all__ = ["DOVECOT", "Dovecot", "OAuthServer", "dovecot_or_skip"]

DOVECOT = os.environ.get("CASEKIT_DOVECOT", "/usr/sbin/dovecot")
PASSWORD = "secret-password"


def dovecot_or_skip() -> str:
    """The dovecot binary; a missing one skips the test, or fails it (CASEKIT_REQUIRE_DOVECOT=1)."""
    import pytest

    if Path(DOVECOT).exists():
        return DOVECOT
    why = f"{DOVECOT} is missing (apt-get install dovecot-imapd)"
    if os.environ.get("CASEKIT_REQUIRE_DOVECOT") == "1":
        pytest.fail(f"CASEKIT_REQUIRE_DOVECOT=1 but {why}")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OAuthServer:
    """An OAuth 2.0 token endpoint and an RFC 7662 introspection endpoint on loopback.

    ``POST /token`` with ``grant_type=refresh_token`` and a known refresh
    token and client answers a new access token valid ``lifetime`` seconds;
    ``POST /introspect`` (Dovecot asks it) says whether an access token is
    active and whose it is. ``revoke()`` makes every access token stale.
    """

    def __init__(
        self, *, client_id: str = "casekit-test", client_secret: str = "client-secret"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> user
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expires)
        self.lifetime = 3600
        self.rotate = False
        self.grants = 0
        self.introspections = 0
        self.fail_refresh = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfc_body(length)).items()}
                status, answer = outer._answer(self.path, form, self.headers)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def rfc_body(self, length: int) -> str:
                return self.rfile.read(length).decode()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def grant(self, user: str) -> str:
        """A new refresh token for ``user``."""
        token = "rt-" + secrets.token_urlsafe(16)
        self.refresh_tokens[token] = user
        return token

    def revoke(self) -> None:
        """Every access token given so far stops working (as when a provider revokes them)."""
        self.access_tokens.clear()

    def _answer(self, path: str, form: dict[str, str], headers: Any) -> tuple[int, dict[str, Any]]:
        if path == "/introspect":
            self.introspections += 1
            token = form.get("token", "")
            found = self.access_tokens.get(token)
            if found is None or found[1] < time.time():
                return 200, {"active": "false"}
            return 200, {"active": "true", "username": found[0]}
        if path != "/token":
            return 404, {"error": "not_found"}
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return 401, {"error": "invalid_client"}
        user = self.refresh_tokens.get(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or user is None or self.fail_refresh:
            return 400, {"error": "invalid_grant"}
        self.grants += 1
        access = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = (user, time.time() + self.lifetime)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
        }
        if self.rotate:
            del self.refresh_tokens[form["refresh_token"]]
            answer["refresh_token"] = self.grant(user)
        return 200, answer

    def __enter__(self) -> OAuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class Dovecot:
    """A Dovecot IMAP server on ``127.0.0.1:port``; each of ``users`` logs in with the PASSWORD."""

    def __init__(
        self,
        users: tuple[str, ...] = ("casekit",),
        *,
        oauth: OAuthServer | None = None,
        idle: bool = True,
        move: bool = True,
    ) -> None:
        self.users = users
        self.oauth = oauth
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="casekit-dovecot-"))
        self.folder.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None
        self._capabilities = []
        if not idle:
            self._capabilities.append("IDLE")
        if not move:
            self._capabilities.append("MOVE")
        self._configure()

    # -- configuration ---------------------------------------------------------------
    def _configure(self) -> None:
        me = pwd.getpwuid(os.getuid())
        if os.getuid() == 0:
            internal, login = "dovecot", "dovenull"
            owner = pwd.getpwnam("dovecot")
        else:
            internal = login = me.pw_name
            owner = me
        mail = self.folder / "mail"
        mail.mkdir()
        for user in self.users:
            (mail / user).mkdir()
        users = "".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in self.users)
        (self.folder / "users").write_text(users)
        mechanisms = "plain login"
        oauth_passdb = ""
        if self.oauth is not None:
            mechanisms += " xoauth2 oauthbearer"
            (self.folder / "oauth2.conf").write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.oauth.introspection_url}\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
                "force_introspection = yes\n"
            )
            oauth_passdb = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.folder / 'oauth2.conf'}\n}}\n"
            )
        dropped = " ".join(self._capabilities)
        capability = ""
        if dropped:
            # The IMAP capabilities of a server that lacks these (an old one).
            capability = f"imap_capability = {self._without(dropped.split())}\n"
        config = f"""
base_dir = {self.folder / "run"}
state_dir = {self.folder / "state"}
instance_name = casekit-{self.port}
log_path = {self.folder / "dovecot.log"}
info_log_path = {self.folder / "dovecot.log"}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
default_internal_user = {internal}
default_login_user = {login}
default_internal_group = {owner.pw_name if os.getuid() != 0 else "dovecot"}
mail_location = maildir:{mail}/%u
mail_uid = {owner.pw_uid}
mail_gid = {owner.pw_gid}
first_valid_uid = 0
imap_idle_notify_interval = 1 secs
mailbox_idle_check_interval = 1 secs
login_trusted_networks = 127.0.0.0/8
auth_cache_size = 0
auth_failure_delay = 0
{capability}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
{oauth_passdb}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.folder / "users"}
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Archive {{
    auto = create
  }}
}}
"""
        (self.folder / "dovecot.conf").write_text(config)
        for name in ("run", "state"):
            (self.folder / name).mkdir(exist_ok=True)
        if os.getuid() == 0:
            for path in [mail, *mail.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)

    @staticmethod
    def _without(dropped: list[str]) -> str:
        everything = (
            "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
            "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
            "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT "
            "SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY "
            "PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE"
        )
        return " ".join(word for word in everything.split() if word not in dropped)

    # -- running ---------------------------------------------------------------------
    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.folder / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # stop() ends its sessions too, as a server going down would
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def doveadm(self, *args: str) -> str:
        return subprocess.run(
            ["doveadm", "-c", str(self.folder / "dovecot.conf"), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def kick(self, user: str) -> None:
        """Drop every IMAP session of ``user``, as a server restarting would."""
        self.doveadm("kick", user)

    # -- mail ------------------------------------------------------------------------
    @contextmanager
    def client(self, user: str | None = None) -> Iterator[Any]:
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(user or self.users[0], PASSWORD)
        try:
            yield client
        finally:
            with suppress(Exception):
                client.logout()

    def append(self, *messages: bytes, user: str | None = None, folder: str = "INBOX") -> None:
        with self.client(user) as client:
            for message in messages:
                client.append(folder, message)

    def uids(self, user: str | None = None, folder: str = "INBOX", *criteria: str) -> list[int]:
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search(list(criteria) or ["ALL"]))

    def seen(self, user: str | None = None, folder: str = "INBOX") -> list[int]:
        return self.uids(user, folder, "SEEN")

    def uidvalidity(self, user: str | None = None, folder: str = "INBOX") -> int:
        with self.client(user) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
