"""EasyPost tracker webhooks (``tracker.created`` / ``tracker.updated`` events).

EasyPost posts an ``Event`` whose ``result`` is a ``Tracker``: its
``tracking_code``, ``carrier``, ``est_delivery_date`` and the whole history
in ``tracking_details``. Each tracking detail becomes one casekit event
(recorded once, whatever the number of webhooks that repeat it), named by
the tracking code. Statuses are normalised as :data:`STATUS` and
:data:`STATUS_DETAIL` say; a detail's ``status_detail`` wins where it says
more (``damaged``, ``lost``, ``address_correction``...).

EasyPost signs webhooks with ``X-Hmac-Signature: hmac-sha256-hex=<hex>``, the
HMAC-SHA256 of the body with the webhook's secret: :func:`verify` checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from typing import Any

from casekit import ExceptionKind, InvalidInput, ShipmentEvent, ShipmentStatus
from casekit.schemas.facts import read_json
from casekit_carrier_events.common import Batch, parse_date, parse_time, text

S, X = ShipmentStatus, ExceptionKind

#: EasyPost's tracker ``status`` → casekit's status and exception.
STATUS: dict[str, tuple[ShipmentStatus, ExceptionKind | None]] = {
    "pre_transit": (S.SCHEDULED, None),
    "in_transit": (S.IN_TRANSIT, None),
    "out_for_delivery": (S.OUT_FOR_DELIVERY, None),
    "delivered": (S.DELIVERED, None),
    "available_for_pickup": (S.EXCEPTION, X.HELD_AT_TERMINAL),
    "return_to_sender": (S.RETURNING_TO_SENDER, X.RETURN_TO_SENDER),
    "failure": (S.EXCEPTION, X.UNDELIVERABLE),
    "cancelled": (S.EXCEPTION, X.CANCELED),
}

#: ``status_detail`` values that say more than the status.
STATUS_DETAIL: dict[str, tuple[ShipmentStatus, ExceptionKind | None]] = {
    "address_correction": (S.EXCEPTION, X.ADDRESS_ISSUE),
    "damaged": (S.EXCEPTION, X.DAMAGED),
    "lost": (S.EXCEPTION, X.LOST),
    "delivery_exception": (S.EXCEPTION, X.UNDELIVERABLE),
    "arrived_at_pickup_location": (S.EXCEPTION, X.HELD_AT_TERMINAL),
    "return_to_sender": (S.RETURNING_TO_SENDER, X.RETURN_TO_SENDER),
    "cancelled": (S.EXCEPTION, X.CANCELED),
}


def verify(body: bytes, signature: str | None, secret: str) -> None:
    """Check ``X-Hmac-Signature``; InvalidInput unless it signs ``body`` with ``secret``."""
    if not signature:
        raise InvalidInput({"signature": ["the X-Hmac-Signature header is missing"]})
    key = unicodedata.normalize("NFKD", secret).encode()
    expected = "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise InvalidInput({"signature": ["the signature does not match the body"]})


def sign(body: bytes, secret: str) -> str:
    key = unicodedata.normalize("NFKD", secret).encode()
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _location(detail: dict[str, Any]) -> str:
    where = detail.get("tracking_location")
    if not isinstance(where, dict):
        return ""
    parts = [where.get(k) for k in ("city", "state", "country")]
    return ", ".join(p for p in parts if isinstance(p, str) and p)[:200]


def parse_payload(payload: Any) -> Batch:
    """The events of one EasyPost webhook payload (an ``Event`` object)."""
    batch = Batch()
    if not isinstance(payload, dict) or payload.get("object") != "Event":
        batch.reject("event", "an EasyPost Event object is expected")
        return batch
    tracker = payload.get("result")
    if not isinstance(tracker, dict) or tracker.get("object") != "Tracker":
        batch.reject("result", f"not a tracker event ({payload.get('description')!r})")
        return batch
    errors: dict[str, list[str]] = {}
    code = text(tracker.get("tracking_code"), "result.tracking_code", errors)
    if code is None and not errors:
        errors["result.tracking_code"] = ["is required"]
    estimated = parse_date(tracker.get("est_delivery_date"), "result.est_delivery_date", errors)
    details = tracker.get("tracking_details") or []
    if not isinstance(details, list):
        errors["result.tracking_details"] = ["a list is expected"]
    if errors:
        batch.reject("result", errors)
        return batch
    tracker_id = text(tracker.get("id"), "id", errors) or code
    carrier = tracker.get("carrier") if isinstance(tracker.get("carrier"), str) else ""
    newest = len(details) - 1
    for i, detail in enumerate(details):
        position = f"result.tracking_details[{i}]"
        problems: dict[str, list[str]] = {}
        if not isinstance(detail, dict):
            batch.reject(position, "an object is expected")
            continue
        occurred = parse_time(detail.get("datetime"), "datetime", problems)
        if occurred is None and not problems:
            problems["datetime"] = ["is required"]
        status_name = detail.get("status")
        status_detail = detail.get("status_detail")
        mapped = STATUS_DETAIL.get(str(status_detail)) or STATUS.get(str(status_name))
        if mapped is None:
            problems["status"] = [
                f"{status_name!r} ({status_detail!r}) says nothing casekit can record"
            ]
        if problems or occurred is None or mapped is None:
            batch.reject(position, problems)
            continue
        message = detail.get("message") if isinstance(detail.get("message"), str) else ""
        batch.add(
            position,
            ShipmentEvent(
                tracking_number=code,
                status=mapped[0],
                exception=mapped[1],
                occurred_at=occurred,
                description=f"{carrier}: {message}".strip(": ")[:500],
                location=_location(detail),
                estimated_date=estimated if i == newest else None,
                source="easypost",
                key=f"{tracker_id}:{occurred.isoformat()}:{status_name}:{status_detail}",
            ),
        )
    return batch


def parse(body: str | bytes) -> Batch:
    """The events of one webhook body (JSON text)."""
    try:
        payload = read_json(body)
    except ValueError as error:
        batch = Batch()
        batch.reject("body", str(error))
        return batch
    return parse_payload(payload)
