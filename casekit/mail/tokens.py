"""Reply tokens: the signed part of a notification's reply address.

A notification's Reply-To is ``reply+TOKEN@inbound.example`` (the
``reply_address`` setting with the token after a ``+``). The token names the
case and the recipient it was sent to and is signed with HMAC-SHA256 under
the first of the ``reply_secrets``; :func:`verify` accepts a token signed by
any of them, so a secret is rotated by putting the new one first and
dropping the old one once the mail signed with it has had time to be
answered.

The same machinery signs the token of a notification's unsubscribe link
(``purpose="unsubscribe"``): it names the same case and recipient, but its
signature covers the purpose too, so a reply token never unsubscribes and
an unsubscribe token never posts on a case.

Tokens are lower-case letters, digits and ``-`` only, and at most 57
characters, so they survive mail systems that change the case of an address
and fit the 64 characters of a local part with room to spare.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from attrs import frozen

from casekit.errors import CaseKitError

__all__ = [
    "InvalidReplyToken",
    "ReplyToken",
    "make_token",
    "reply_address",
    "token_of",
    "unsubscribe_url",
    "verify",
]

_SIGNATURE_BYTES = 10
_TOKEN = re.compile(
    r"^(?P<case>[0-9]{1,19})-(?P<who>[uc][0-9]{1,19}|a[a-z2-7]{10})-(?P<sig>[a-z2-7]{16})$"
)


class InvalidReplyToken(CaseKitError, ValueError):
    """The token is malformed or was not signed by any of the secrets."""


@frozen
class ReplyToken:
    """What a verified token says: the case and the recipient it was sent to.

    Exactly one of ``user_id``, ``customer_id`` and ``address_hash`` is set;
    an address recipient (a collaborator address, a Cc'd address) is bound
    by a hash of the address: check a reply's sender with
    ``matches_address()``.
    """

    case_id: int
    user_id: int | None = None
    customer_id: int | None = None
    address_hash: str | None = None

    def matches_address(self, email: str) -> bool:
        """Whether ``email`` is the address this token was sent to (address recipients)."""
        return self.address_hash is not None and hmac.compare_digest(
            self.address_hash, _address_hash(email)
        )


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _address_hash(email: str) -> str:
    return _b32(hashlib.sha256(email.strip().lower().encode("utf-8")).digest())[:10]


def _who(recipient_key: str) -> str:
    """``u12`` / ``c34`` stay; ``a:someone@example.com`` becomes ``a`` + a short hash."""
    if recipient_key.startswith("a:"):
        return "a" + _address_hash(recipient_key[2:])
    if re.fullmatch(r"[uc][0-9]+", recipient_key):
        return recipient_key
    raise ValueError(f"not a recipient key: {recipient_key!r}")


def _sign(secret: str, payload: str, purpose: str = "reply") -> str:
    if purpose != "reply":
        payload = f"{purpose}:{payload}"
    digest = hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest()
    return _b32(digest[:_SIGNATURE_BYTES])


def make_token(secret: str, case_id: int, recipient_key: str, *, purpose: str = "reply") -> str:
    """A token for ``case_id`` and the recipient (``u<id>``, ``c<id>`` or ``a:<email>``).

    ``purpose`` is ``reply`` (the Reply-To's token) or ``unsubscribe`` (the
    unsubscribe link's); a token verifies for its own purpose only.
    """
    payload = f"{case_id}-{_who(recipient_key)}"
    return f"{payload}-{_sign(secret, payload, purpose)}"


def verify(token: str, secrets: Sequence[str], *, purpose: str = "reply") -> ReplyToken:
    """Check ``token`` against every secret; return what it binds.

    Raises ``InvalidReplyToken`` when it is malformed or no secret signed it
    for ``purpose``.
    """
    match = _TOKEN.fullmatch(token.strip().lower())
    if match is None:
        raise InvalidReplyToken(f"not a casekit {purpose} token")
    payload = f"{match['case']}-{match['who']}"
    if not any(hmac.compare_digest(_sign(s, payload, purpose), match["sig"]) for s in secrets):
        raise InvalidReplyToken(f"the {purpose} token's signature does not match")
    who = match["who"]
    case_id = int(match["case"])
    if who[0] == "u":
        return ReplyToken(case_id, user_id=int(who[1:]))
    if who[0] == "c":
        return ReplyToken(case_id, customer_id=int(who[1:]))
    return ReplyToken(case_id, address_hash=who[1:])


def reply_address(base: str, token: str) -> str:
    """``reply@inbound.example`` and a token give ``reply+TOKEN@inbound.example``."""
    local, _, domain = base.partition("@")
    return f"{local}+{token}@{domain}"


def token_of(address: str, base: str) -> str | None:
    """The token in ``address`` if it is a plus-address of ``base``, else None."""
    local, _, domain = address.strip().lower().partition("@")
    base_local, _, base_domain = base.strip().lower().partition("@")
    prefix = base_local + "+"
    if domain != base_domain or not local.startswith(prefix):
        return None
    return local[len(prefix) :] or None


def unsubscribe_url(template: str, secrets: Sequence[str], case_id: int, recipient_key: str) -> str:
    """The recipient's unsubscribe link for the case: ``template`` with ``{token}`` filled in.

    Empty when there is no template or no secret to sign with.
    """
    if not template or not secrets:
        return ""
    token = make_token(secrets[0], case_id, recipient_key, purpose="unsubscribe")
    return template.replace("{token}", token)
