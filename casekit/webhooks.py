"""Outgoing webhooks: the event kinds, signing, and verifying a signature.

casekit signs every webhook request twice with the subscription's secret:

- per the `Standard Webhooks <https://www.standardwebhooks.com>`_
  specification, in the headers ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64 HMAC-SHA256>`` over ``"<id>.<timestamp>." + body``,
  so a receiver verifies with the specification's libraries in any language
  (:func:`standard_headers`; the key is :func:`signing_key`);
- in casekit's own header ``X-Casekit-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``,
  where the HMAC is taken over ``"<t>." + body`` (the raw request body, bytes).
  A receiver checks it with :func:`verify_signature`::

    from casekit.webhooks import verify_signature

    if not verify_signature(SECRET, request.body, request.headers["X-Casekit-Signature"]):
        return 400

The time in the headers bounds replays: a signature older (or newer) than
``tolerance`` seconds does not verify. See docs/webhooks.rst.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = [
    "SIGNATURE_HEADER",
    "STANDARD_ID_HEADER",
    "STANDARD_SIGNATURE_HEADER",
    "STANDARD_TIMESTAMP_HEADER",
    "WebhookEvent",
    "address_problem",
    "new_secret",
    "pinned_request",
    "resolve_public",
    "sign",
    "signature_header",
    "signing_key",
    "standard_headers",
    "standard_secret",
    "standard_signature",
    "url_problem",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Casekit-Signature"
EVENT_HEADER = "X-Casekit-Event"
DELIVERY_HEADER = "X-Casekit-Delivery"
#: The Standard Webhooks headers: the delivery's id, the time of the attempt, the signature.
STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
#: What a Standard Webhooks secret starts with; base64 of the key follows.
SECRET_PREFIX = "whsec_"
#: How many random bytes a new secret's key has.
SECRET_BYTES = 32
#: How far a signature's time may be from the receiver's clock, by default (seconds).
DEFAULT_TOLERANCE = 300


class WebhookEvent(enum.StrEnum):
    """The kinds of change a webhook subscription can receive."""

    CASE_OPENED = "case_opened"
    MESSAGE_POSTED = "message_posted"
    STATUS_CHANGED = "status_changed"
    CASE_SOLVED = "case_solved"
    CASE_REOPENED = "case_reopened"
    OWNER_CHANGED = "owner_changed"
    WATCHER_CHANGED = "watcher_changed"
    CARRIER_CHANGED = "carrier_changed"
    PRIORITY_CHANGED = "priority_changed"
    #: Only to the endpoints of the organization whose tags changed.
    TAGS_CHANGED = "tags_changed"
    CUSTOM_FIELDS_CHANGED = "custom_fields_changed"
    #: A delivery appointment proposed, countered, accepted, withdrawn, kept or missed.
    APPOINTMENT_CHANGED = "appointment_changed"
    #: A disposition asked for or decided (the shipper's internal note only to the shipper).
    DISPOSITION_CHANGED = "disposition_changed"
    #: A freight claim filed, acknowledged, paid, declined or withdrawn (not a draft;
    #: the shipper's internal valuation only to the shipper).
    CLAIM_CHANGED = "claim_changed"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Casekit-Signature`` value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={sign(secret, body, timestamp)}"


def verify_signature(
    secret: str | Iterable[str],
    body: bytes | str,
    header: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid casekit signature of ``body``.

    :param secret: the subscription's signing secret, or several (while
        rotating, the old and the new one).
    :param body: the raw request body, exactly as received.
    :param header: the ``X-Casekit-Signature`` header's value.
    :param tolerance: the largest difference, in seconds, between the
        signature's time and ``now``; older ones are refused as replays.
    :param now: the current unix time; the system clock by default.
    """
    if not header:
        return False
    if isinstance(body, str):
        body = body.encode()
    secrets = [secret] if isinstance(secret, str) else list(secret)
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = [sign(s, body, timestamp) for s in secrets]
    return any(hmac.compare_digest(e, c) for e in expected for c in candidates)


def new_secret() -> str:
    """A new subscription secret, in the Standard Webhooks form: ``whsec_`` and
    the standard base64 (padded) of ``SECRET_BYTES`` (32) random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


_URLSAFE = str.maketrans("-_", "+/")


def signing_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature for a subscription's secret.

    It is what the specification's libraries make of a ``whsec_`` secret: the
    bytes its base64 stands for (the ``whsec_`` prefix dropped). Padding may be
    left out, and the URL-safe alphabet (``-`` and ``_``, in the secrets casekit
    made before it signed per Standard Webhooks) counts as ``+`` and ``/``. A
    secret that is not base64 at all (casekit makes none) keys with its UTF-8 bytes.
    """
    encoded = secret.removeprefix(SECRET_PREFIX).translate(_URLSAFE)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        key = b""
    return key or secret.encode()


def standard_secret(secret: str) -> str:
    """The subscription's secret in the Standard Webhooks form: ``whsec_`` and the
    standard base64 of :func:`signing_key`. Give it to a Standard Webhooks library.

    A secret from :func:`new_secret` is already in that form and comes back
    unchanged; an older one (URL-safe base64) comes back spelled in the
    standard alphabet, for the same key.
    """
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode()


def standard_signature(secret: str, msg_id: str, body: bytes, timestamp: int) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the standard base64 of the
    HMAC-SHA256, under :func:`signing_key`, of ``"<msg_id>.<timestamp>." + body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_headers(secret: str, msg_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers of a request: ``webhook-id`` (``msg_id``, the
    same on every retry of one delivery), ``webhook-timestamp`` (``timestamp``, when
    the request is sent) and ``webhook-signature``."""
    return {
        STANDARD_ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: standard_signature(secret, msg_id, body, timestamp),
    }


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, *, allow_http_loopback: bool = False) -> str | None:
    """Why ``url`` cannot receive webhooks, or None when it can.

    HTTPS is required; plain HTTP only to a loopback address, and only when
    ``allow_http_loopback`` (the ``webhook_allow_http_loopback`` setting) says so.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        return f"not a URL: {error}"
    if parts.username or parts.password:
        return "a URL with credentials in it is refused; send them another way"
    if not host:
        return "an absolute https:// URL is required"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _loopback(host):
        if allow_http_loopback:
            return None
        return "plain http is allowed only to loopback addresses with webhook_allow_http_loopback"
    return "an https:// URL is required"


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_problem(address: IPAddress) -> str | None:
    """Why a webhook may not be sent to ``address``, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        return (
            f"{address} is a loopback, private, link-local or reserved address "
            "(allowed only with webhook_allow_private_addresses)"
        )
    return None


def resolve_public(url: str) -> tuple[str | None, str | None]:
    """``(address, None)``: the public address to connect to for ``url``;
    ``(None, problem)`` when its host does not resolve, or resolves to any
    address that is not public (so a name cannot mix a public address with
    a private one)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return (None, problem) if (problem := address_problem(literal)) else (str(literal), None)
    try:  # no port: it does not change the addresses a name resolves to
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return None, f"the host {host!r} does not resolve: {error}"
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        return None, f"the host {host!r} does not resolve"
    for address in addresses:
        if problem := address_problem(address):
            return None, f"{host} resolves to {problem}"
    return str(addresses[0]), None


def pinned_request(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """``(url, headers, extensions)`` for httpx that connect to ``address`` for ``url``:
    the URL names the address, ``Host`` and TLS (SNI, certificate check) keep the name.
    No second DNS lookup, so the name cannot resolve elsewhere in between."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    ip = f"[{address}]" if ":" in address else address
    netloc = ip if parts.port is None else f"{ip}:{parts.port}"
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:  # an IPv6 literal (urlsplit drops its brackets)
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return pinned, {"Host": host_header}, {"sni_hostname": host}
