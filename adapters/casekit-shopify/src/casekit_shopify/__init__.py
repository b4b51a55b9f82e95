"""casekit-shopify: Shopify order and fulfillment webhooks as casekit facts and events."""

from __future__ import annotations

from casekit_shopify.webhooks import (
    SHIPMENT_STATUS,
    TOPICS,
    Parsed,
    WebhookRejected,
    WebhookResult,
    handle_webhook,
    parse,
    sign,
    store,
    verify,
)

__version__ = "0.1.0"

__all__ = [
    "SHIPMENT_STATUS",
    "TOPICS",
    "Parsed",
    "WebhookRejected",
    "WebhookResult",
    "handle_webhook",
    "parse",
    "sign",
    "store",
    "verify",
]
