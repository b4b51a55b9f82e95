"""The inbound-mail webhook: Mailgun's raw MIME route, its signature verified.

Mailgun forwards a message to a URL ending in ``mime`` as a form post whose
``body-mime`` field is the full raw message, signed with the account's HTTP
webhook signing key: ``signature`` is the hex HMAC-SHA256 of ``timestamp``
followed by ``token``. A post whose signature is missing, wrong or older than
``CASEKIT_MAILGUN_MAX_AGE`` seconds gets a 403 and nothing is stored. Each
token is taken once (:meth:`~casekit.services.inbound.InboundService.claim_token`,
in the database, so across processes): the same signed post again, whatever
its body, gets a 406, which Mailgun does not retry. A signed post goes to
:meth:`casekit.services.inbound.InboundService.receive`, which stores it and
puts it on its case or in triage.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time
from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from casekit.errors import InvalidInput
from casekit.services.inbound import Outcome
from casekit_flask.csrf import exempt_from_host
from casekit_flask.extension import current_kit, secure_headers

log = logging.getLogger(__name__)

#: The provider name the webhook's tokens are claimed under.
PROVIDER = "mailgun"

inbound = Blueprint("casekit_inbound", __name__)
inbound.after_request(secure_headers)
# A provider's webhook carries a signature, not a session's CSRF token.
exempt_from_host(inbound)

#: Room for the form's other fields around the raw message.
FORM_SLACK = 64 * 1024


def verify_mailgun_signature(
    key: str, timestamp: str, token: str, signature: str, *, max_age: float, now: float
) -> bool:
    """Whether Mailgun signed ``timestamp`` + ``token`` with ``key``, recently enough."""
    if not (key and timestamp and token and signature):
        return False
    try:
        age = now - float(timestamp)
    except ValueError:
        return False
    if not math.isfinite(age) or abs(age) > max_age:
        return False
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def _refuse(status: int, error: str) -> ResponseReturnValue:
    return jsonify({"error": error}), status


@inbound.post("/mailgun/mime")
def mailgun() -> ResponseReturnValue:
    """Take one message from a Mailgun route (``forward("https://.../mailgun/mime")``)."""
    kit = current_kit()
    request.max_form_memory_size = kit.settings.inbound_max_message_bytes + FORM_SLACK
    request.max_content_length = kit.settings.inbound_max_message_bytes + FORM_SLACK
    key = current_app.config["CASEKIT_MAILGUN_SIGNING_KEY"]
    max_age = float(current_app.config["CASEKIT_MAILGUN_MAX_AGE"])
    form = request.form
    timestamp, token = form.get("timestamp", ""), form.get("token", "")
    if not key or not verify_mailgun_signature(
        key, timestamp, token, form.get("signature", ""), max_age=max_age, now=time.time()
    ):
        log.warning(
            "casekit: inbound Mailgun post refused from %s: %s",
            request.remote_addr,
            "CASEKIT_MAILGUN_SIGNING_KEY is not set"
            if not key
            else "its signature is missing, wrong or too old",
        )
        return _refuse(403, "signature: missing, wrong or too old")
    raw = form.get("body-mime")
    if not raw:
        # 406 tells Mailgun not to retry: the post can never succeed.
        return _refuse(406, "body-mime: missing; route to a URL ending in 'mime'")
    # The signature is fresh until max_age after the signed time, so the token
    # is kept that long: a replay within the window finds it claimed.
    expires_at = datetime.fromtimestamp(float(timestamp) + max_age, UTC)
    try:
        claimed = kit.inbound.claim_token(PROVIDER, token, expires_at=expires_at)
    except InvalidInput as error:
        return _refuse(406, "; ".join(f"{k}: {', '.join(v)}" for k, v in error.errors.items()))
    if not claimed:
        # Never the token or the signature in the log: the post's time is enough.
        log.warning(
            "refused a replayed Mailgun post (signed at %d, from %s)",
            int(float(timestamp)),
            request.remote_addr,
        )
        return _refuse(406, "token: this signed post was received before; a replay is refused")
    try:
        result = kit.inbound.receive(
            raw.encode("utf-8", "surrogateescape"),
            envelope_from=form.get("sender") or None,
            envelope_to=form.get("recipient") or None,
        )
    except Exception:
        kit.inbound.release_token(PROVIDER, token)
        raise
    body = {
        "outcome": result.outcome.value,
        "case": result.case_number,
        "reason": result.reason,
    }
    if result.outcome is Outcome.REJECTED:
        if result.reason and result.reason.startswith("could not be processed"):
            # Not taken now (the database or the file store failed): a 503,
            # which Mailgun retries, with this token, so it is free again.
            kit.inbound.release_token(PROVIDER, token)
            return jsonify(body), 503
        # Refused for good (too large, no sender): 406 tells Mailgun not to retry.
        return jsonify(body), 406
    return jsonify(body), 200
