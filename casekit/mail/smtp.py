"""The built-in delivery plugin: SMTP with smtplib.

Registered as ``casekit.smtp``; it runs last, so a plugin that delivers
notifications some other way is asked first (and a host that only wants to
capture mail blocks this one). One connection is kept and reused for the
mails of a batch; it is opened again when the server dropped it or it sat
idle longer than :data:`IDLE_SECONDS`.

With ``smtp_auth`` ``xoauth2`` it logs in with ``AUTH XOAUTH2`` and an OAuth 2.0
access token from :class:`~casekit.mail.oauth.OAuthTokens` (Gmail, Microsoft
365), asking for a new token once when the server refuses the one it has.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import time
from typing import TYPE_CHECKING

from casekit.plugins import hookimpl

if TYPE_CHECKING:
    from casekit.kit import CaseKit
    from casekit.mail.compose import OutgoingNotification
    from casekit.mail.oauth import OAuthTokens
    from casekit.settings import Settings

log = logging.getLogger(__name__)

IDLE_SECONDS = 20.0


class SmtpDelivery:
    """Sends notifications through the SMTP server named by the ``smtp_*`` settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = threading.Lock()
        #: connections opened so far (connection reuse is visible in tests).
        self.connections = 0
        #: The access tokens of ``smtp_auth`` ``xoauth2``; made when the kit is ready.
        self.tokens: OAuthTokens | None = None

    @hookimpl
    def casekit_kit_ready(self, kit: CaseKit) -> None:
        if self.settings.smtp_auth == "xoauth2" and self.tokens is None:
            from casekit.mail.oauth import OAuthTokens

            self.tokens = OAuthTokens(self.settings, kit.engine, kit.clock)

    def _port(self) -> int:
        if self.settings.smtp_port:
            return self.settings.smtp_port
        return 465 if self.settings.smtp_security == "ssl" else 25

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        ca_file = str(s.smtp_ca_file) if s.smtp_ca_file is not None else None
        # Certificates are always verified: against smtp_ca_file, or the system's CAs.
        context = ssl.create_default_context(cafile=ca_file)
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, self._port(), timeout=s.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, self._port(), timeout=s.smtp_timeout)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.tokens is not None:
                self._xoauth2(smtp)
            elif s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        self.connections += 1
        return smtp

    def _xoauth2(self, smtp: smtplib.SMTP) -> None:
        assert self.tokens is not None
        user = self.settings.smtp_username or self.settings.mail_from
        for force in (False, True):
            code, answer = smtp.docmd(
                "AUTH", "XOAUTH2 " + self.tokens.sasl(user, force=force).decode()
            )
            if code == 334:  # the server's error details (RFC 7628): answer with an empty line
                code, answer = smtp.docmd("")
            if code == 235:
                return
            log.info("SMTP refused the XOAUTH2 token (%s); refreshing it", code)
        raise smtplib.SMTPAuthenticationError(code, answer)

    def close(self) -> None:
        """Say goodbye to the server, if connected."""
        with self._lock:
            self._drop(quit=True)

    def _drop(self, *, quit: bool) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if quit:
                smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    @hookimpl(trylast=True)
    def casekit_deliver_notification(self, notification: OutgoingNotification) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._smtp is not None and now - self._last_used > IDLE_SECONDS:
                self._drop(quit=True)
            for retry in (False, True):
                if self._smtp is None:
                    self._smtp = self._connect()
                try:
                    self._smtp.send_message(notification.message)
                    break
                except (smtplib.SMTPServerDisconnected, ConnectionError):
                    # A reused connection the server closed: once more on a new one.
                    self._drop(quit=False)
                    if retry:
                        raise
                except smtplib.SMTPException:
                    # The server refused this mail; the connection may be unusable.
                    self._drop(quit=True)
                    raise
            self._last_used = time.monotonic()
            return True
