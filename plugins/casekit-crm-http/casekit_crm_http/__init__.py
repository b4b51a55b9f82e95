"""casekit-crm-http: link cases to each organization's CRM over HTTP.

Configured per organization (by its ``external_id``) in a JSON file the host
owns, named by ``CASEKIT_CRM_HTTP_CONFIG`` (or handed to :class:`CrmHttp`)::

    {"organizations": {
        "acme": {"url": "https://crm.acme.example/casekit",
                 "token": "secret-bearer-token",
                 "open_on_create": true,
                 "push_updates": true}}}

- **Linking on request** (``casekit_link_crm``): when someone of the
  organization links a case (``kit.cases.link_crm``), the plugin POSTs the
  case to ``<url>/tickets`` and casekit records the ``number`` the CRM
  answers for that organization only.
- **Through the outbox**: ``casekit crm-http sync`` (or
  :func:`sync_subscriptions`) subscribes ``<url>/events`` for each
  organization: to every webhook event with ``push_updates``, at least to
  ``case_opened`` with ``open_on_create``. casekit's outbox delivers the
  organization's view of each change, signed, retried with backoff, each
  attempt in the organization's delivery log. With ``open_on_create`` the
  CRM answers ``case_opened`` with ``{"number": ...}`` and the plugin
  records it (``casekit_webhook_answered``) as that organization's CRM case
  number; an answer without one is a failed attempt, sent again later.

Only casekit's public API is used.
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import httpx
from attrs import frozen

from casekit import Actor, CaseKit, ConfigurationError, InvalidInput, hookimpl
from casekit.cli import open_kit
from casekit.webhooks import WebhookEvent, pinned_request, resolve_public, url_problem

__version__ = "0.1.0"

__all__ = ["CONFIG_ENV", "MARKER", "CrmEndpoint", "CrmHttp", "plugin", "sync_subscriptions"]

CONFIG_ENV = "CASEKIT_CRM_HTTP_CONFIG"
#: The description of the webhook subscriptions this plugin manages.
MARKER = "casekit-crm-http"


@frozen
class CrmEndpoint:
    """One organization's CRM: where to create tickets and send updates."""

    url: str
    token: str = ""
    open_on_create: bool = False
    push_updates: bool = True

    @property
    def tickets_url(self) -> str:
        return self.url.rstrip("/") + "/tickets"

    @property
    def events_url(self) -> str:
        return self.url.rstrip("/") + "/events"


def parse_config(raw: Mapping[str, Any]) -> dict[str, CrmEndpoint]:
    """The endpoints of a configuration document, by organization external id.

    A bad entry is a :class:`~casekit.ConfigurationError` naming it.
    """
    orgs = raw.get("organizations")
    if not isinstance(orgs, Mapping):
        raise ConfigurationError("crm-http: the configuration needs an 'organizations' object")
    found: dict[str, CrmEndpoint] = {}
    for external_id, entry in orgs.items():
        where = f"crm-http: organizations.{external_id}"
        if not isinstance(entry, Mapping):
            raise ConfigurationError(f"{where}: an object with 'url' is expected")
        unknown = set(entry) - {"url", "token", "open_on_create", "push_updates"}
        if unknown:
            raise ConfigurationError(f"{where}: unknown keys {sorted(unknown)}")
        url = entry.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ConfigurationError(f"{where}.url: a URL is required")
        for flag in ("open_on_create", "push_updates"):
            if flag in entry and not isinstance(entry[flag], bool):
                raise ConfigurationError(f"{where}.{flag}: true or false")
        token = entry.get("token", "")
        if not isinstance(token, str):
            raise ConfigurationError(f"{where}.token: a string")
        found[str(external_id)] = CrmEndpoint(
            url=url.strip(),
            token=token,
            open_on_create=entry.get("open_on_create", False),
            push_updates=entry.get("push_updates", True),
        )
    return found


def _client(kit: CaseKit) -> httpx.Client:
    s = kit.settings
    verify: ssl.SSLContext | bool = True
    if s.webhook_ca_file:
        verify = ssl.create_default_context(cafile=s.webhook_ca_file)
    return httpx.Client(timeout=s.webhook_timeout, verify=verify, follow_redirects=False)


def create_ticket(kit: CaseKit, endpoint: CrmEndpoint, case: Any, external_id: str) -> str:
    """POST the case to the CRM; returns the ticket number it answers.

    Any failure is :class:`~casekit.InvalidInput` on ``crm``, saying why.
    """
    problem = url_problem(
        endpoint.tickets_url, allow_http_loopback=kit.settings.webhook_allow_http_loopback
    )
    if problem:
        raise InvalidInput({"crm": [f"the CRM URL of {external_id} is refused: {problem}"]})
    body = {
        "organization": external_id,
        "case": {
            "number": case.number,
            "subject": case.subject,
            "type": case.type,
            "status": str(case.status),
            "created_at": case.created_at.isoformat() if case.created_at else None,
        },
    }
    headers = {"Authorization": f"Bearer {endpoint.token}"} if endpoint.token else {}
    url, extensions = endpoint.tickets_url, {}
    if not kit.settings.webhook_allow_private_addresses:
        address, problem = resolve_public(url)
        if address is None:
            raise InvalidInput({"crm": [f"the CRM URL of {external_id} is refused: {problem}"]})
        url, pin, extensions = pinned_request(url, address)  # no second lookup
        headers.update(pin)
    try:
        with _client(kit) as client:
            response = client.post(url, json=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as error:
        raise InvalidInput({"crm": [f"the CRM did not answer: {error}"]}) from error
    if not 200 <= response.status_code < 300:
        raise InvalidInput({"crm": [f"the CRM answered HTTP {response.status_code}"]})
    number = _ticket_number(response.content)
    if number is None:
        raise InvalidInput({"crm": ["the CRM's answer has no 'number'"]})
    return number


def _ticket_number(answer: bytes) -> str | None:
    """The ``number`` of a CRM's JSON answer, or ``None``."""
    try:
        number = json.loads(answer)["number"]
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(number, bool) or not isinstance(number, str | int) or not str(number).strip():
        return None
    return str(number).strip()[:100]


class CrmHttp:
    """The plugin. ``config`` (a configuration document) or ``path`` (a JSON
    file) says which organizations it serves; by default the file named by
    ``CASEKIT_CRM_HTTP_CONFIG``, and none when that is unset."""

    def __init__(
        self, config: Mapping[str, Any] | None = None, *, path: str | Path | None = None
    ) -> None:
        self._endpoints = parse_config(config) if config is not None else None
        self._path = path

    def endpoints(self) -> dict[str, CrmEndpoint]:
        if self._endpoints is None:
            path = self._path or os.environ.get(CONFIG_ENV)
            if not path:
                self._endpoints = {}
            else:
                try:
                    raw = json.loads(Path(path).read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    raise ConfigurationError(f"crm-http: cannot read {path}: {error}") from error
                self._endpoints = parse_config(raw)
        return self._endpoints

    @hookimpl
    def casekit_link_crm(self, kit: CaseKit, case: Any, organization: Any) -> str | None:
        endpoint = self.endpoints().get(organization.external_id or "")
        if endpoint is None:
            return None  # not an organization this plugin serves
        return create_ticket(kit, endpoint, case, organization.external_id)

    @hookimpl
    def casekit_webhook_answered(
        self, kit: CaseKit, org_id: int, description: str, event: str, payload: Any, body: bytes
    ) -> str | None:
        """Record the ticket number the CRM answers to ``case_opened`` (``open_on_create``).

        Runs in ``casekit worker`` after the CRM answered 2xx. An answer
        without a number fails the attempt: the outbox sends it again later.
        """
        if description != MARKER or event != WebhookEvent.CASE_OPENED.value:
            return None
        org = kit.directory.organization(Actor.host(), org_id)
        endpoint = self.endpoints().get(org.external_id or "")
        if endpoint is None or not endpoint.open_on_create:
            return None
        number = _ticket_number(body)
        if number is None:
            return "the CRM's answer to case_opened has no 'number'"
        actor = Actor.system_actor("api", org_id=org_id)
        case_number = payload["case"]["number"]
        if kit.cases.get(actor, case_number).crm_number is None:  # not linked meanwhile
            kit.cases.set_crm_number(actor, case_number, number)
        return None

    @hookimpl
    def casekit_add_cli_commands(self, cli: click.Group) -> None:
        cli.add_command(crm_http)


def sync_subscriptions(kit: CaseKit, plugin: CrmHttp) -> list[tuple[str, int, str | None]]:
    """Subscribe each configured organization's ``<url>/events`` through the outbox.

    Every event for an organization with ``push_updates``; only
    ``case_opened`` for one with just ``open_on_create`` (the CRM answers it
    with the ticket number). Idempotent: an existing subscription of this
    plugin (described ``casekit-crm-http``) is updated, not duplicated; one
    whose organization wants neither is removed. Returns ``(external_id,
    webhook id, secret)`` per organization, the secret only for a
    subscription created now (shown once).
    """
    host = Actor.host()
    done: list[tuple[str, int, str | None]] = []
    for external_id, endpoint in sorted(plugin.endpoints().items()):
        org = kit.directory.organization_by_external_id(host, external_id)
        mine = [h for h in kit.webhooks.list(host, org_id=org.id) if h.description == MARKER]
        if endpoint.push_updates:
            events = [e.value for e in WebhookEvent]
        else:
            events = [WebhookEvent.CASE_OPENED.value]
        if not (endpoint.push_updates or endpoint.open_on_create):
            for hook in mine:
                kit.webhooks.delete(host, hook.id)
            continue
        if mine:
            hook = kit.webhooks.update(
                host, mine[0].id, url=endpoint.events_url, events=events, active=True
            )
            done.append((external_id, hook.id, None))
        else:
            created = kit.webhooks.subscribe(
                host, org_id=org.id, url=endpoint.events_url, events=events, description=MARKER
            )
            done.append((external_id, created.webhook.id, created.secret))
    return done


@click.group("crm-http")
def crm_http() -> None:
    """The HTTP CRM links (casekit-crm-http)."""


@crm_http.command("sync")
@click.pass_context
def sync_command(ctx: click.Context) -> None:
    """Subscribe each configured organization's CRM to the case updates."""
    with open_kit(ctx) as kit:
        for external_id, hook_id, secret in sync_subscriptions(kit, plugin):
            if secret is None:
                click.echo(f"{external_id}: webhook {hook_id} up to date")
            else:
                click.echo(f"{external_id}: webhook {hook_id} created; signing secret {secret}")
                click.echo("  (shown once: configure it in the CRM to verify the requests)")


#: The instance the ``casekit`` entry point registers; it reads ``CASEKIT_CRM_HTTP_CONFIG``.
plugin = CrmHttp()
