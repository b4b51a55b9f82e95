"""Notification settings and records: subscriptions, collaborator addresses,
template overrides, deliveries, and the worker. Reach it as ``kit.notifications``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime

from attrs import frozen
from sqlalchemy import delete, select

from casekit.domain.actor import Actor
from casekit.domain.case import Side
from casekit.domain.directory import Organization, OrgRole, User
from casekit.domain.notify import TEMPLATE_NAMES, NotifyEvent, default_subscription
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.mail.templates import SAMPLE_CONTEXT, RenderedMail, TemplateSource
from casekit.query.scoped import Scope
from casekit.services.base import Service
from casekit.services.delivery import templates as shipped_templates
from casekit.services.outbox import DeliveryAttemptView, DeliveryView, delivery_view
from casekit.services.worker import Worker
from casekit.store import tables

__all__ = [
    "CollaboratorAddressView",
    "NotificationService",
    "SubscriptionView",
    "TemplateView",
]

_s = tables.subscriptions.c
_ca = tables.collaborator_addresses.c
_t = tables.mail_templates.c
_o = tables.outbox.c
_a = tables.delivery_attempts.c


@frozen(kw_only=True)
class SubscriptionView:
    """Whether a user hears of one kind of event; ``default`` is what they get untouched."""

    event: NotifyEvent
    enabled: bool
    default: bool


@frozen(kw_only=True)
class CollaboratorAddressView:
    """The address notified for ``side`` of a shipper-carrier pair when that side has no owner."""

    shipper_org_id: int
    carrier_org_id: int
    side: Side
    email: str
    updated_at: datetime
    updated_by: str


@frozen(kw_only=True)
class TemplateView:
    """A template as an organization uses it: its override, or the shipped one."""

    name: str
    subject: str
    text: str
    html: str
    overridden: bool


def _event(value: NotifyEvent | str, errors: dict[str, list[str]]) -> NotifyEvent | None:
    try:
        return NotifyEvent(value)
    except ValueError:
        names = ", ".join(e.value for e in NotifyEvent)
        errors.setdefault("event", []).append(f"unknown event {value!r}; one of {names}")
        return None


def _address(value: str, errors: dict[str, list[str]]) -> str:
    value = value.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > 320 or " " in value:
        errors["email"] = ["not an email address"]
    return value


class NotificationService(Service):
    """Who hears what, in which words, and how delivery went."""

    # -- subscriptions -------------------------------------------------------------------
    def _subscriber(self, session: object, actor: Actor, user_id: int | None) -> User:
        from sqlalchemy.orm import Session

        assert isinstance(session, Session)
        who = user_id if user_id is not None else actor.user_id
        if who is None:
            raise InvalidInput({"user_id": ["say which user"]})
        user = session.get(User, who)
        if user is None or not (
            actor.is_unrestricted
            or actor.user_id == who
            or (actor.org_id == user.org_id and actor.is_manager)
        ):
            if user is not None and actor.org_id == user.org_id:
                raise PermissionDenied("only the user or a manager changes their subscriptions")
            raise NotFound("user", who)
        return user

    def subscriptions(self, actor: Actor, user_id: int | None = None) -> list[SubscriptionView]:
        """A user's subscription to each kind of event (the actor's own by default)."""
        with self._uow(write=False) as uow:
            user = self._subscriber(uow.session, actor, user_id)
            stmt = select(_s.event, _s.enabled).where(_s.user_id == user.id)
            chosen = {row.event: bool(row.enabled) for row in uow.session.execute(stmt)}
        return [
            SubscriptionView(
                event=event,
                enabled=chosen.get(event.value, default_subscription(event, user.role)),
                default=default_subscription(event, user.role),
            )
            for event in NotifyEvent
        ]

    def set_subscriptions(
        self,
        actor: Actor,
        changes: Mapping[NotifyEvent | str, bool | None],
        *,
        user_id: int | None = None,
    ) -> list[SubscriptionView]:
        """Turn kinds of events on or off for a user; ``None`` goes back to the default.

        A user changes their own; a manager, their colleagues'.
        """
        errors: dict[str, list[str]] = {}
        wanted: dict[NotifyEvent, bool | None] = {}
        for key, value in changes.items():
            event = _event(key, errors)
            if value is not None and not isinstance(value, bool):
                errors.setdefault("enabled", []).append(f"{key}: true, false or null")
            elif event is not None:
                wanted[event] = value
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            user = self._subscriber(uow.session, actor, user_id)
            conn = uow.session.connection()
            for event, value in wanted.items():
                conn.execute(
                    delete(tables.subscriptions).where(
                        _s.user_id == user.id, _s.event == event.value
                    )
                )
                if value is not None:
                    conn.execute(
                        tables.subscriptions.insert(),
                        {
                            "user_id": user.id,
                            "event": event.value,
                            "enabled": value,
                            "updated_at": self._now(),
                        },
                    )
            uow.commit()
        return self.subscriptions(actor, user.id)

    # -- collaborator addresses ---------------------------------------------------------
    def collaborator_addresses(self, actor: Actor) -> list[CollaboratorAddressView]:
        """Every collaborator address of the pairs the actor's organization is part of."""
        stmt = select(tables.collaborator_addresses)
        if not actor.is_unrestricted:
            if not actor.is_staff:
                raise PermissionDenied("collaborator addresses are for the organizations' staff")
            stmt = stmt.where(
                (_ca.shipper_org_id == actor.org_id) | (_ca.carrier_org_id == actor.org_id)
            )
        stmt = stmt.order_by(_ca.shipper_org_id, _ca.carrier_org_id, _ca.side)
        with self._uow(write=False) as uow:
            return [
                CollaboratorAddressView(**dict(row)) for row in uow.session.execute(stmt).mappings()
            ]

    def set_collaborator_address(
        self,
        actor: Actor,
        *,
        shipper_org_id: int,
        carrier_org_id: int,
        side: Side | str,
        email: str | None,
    ) -> CollaboratorAddressView | None:
        """Set (or clear, with None) the address notified for ``side`` of a pair.

        Either organization's managers (or the host) may set either side's.
        """
        errors: dict[str, list[str]] = {}
        try:
            which = Side(side)
        except ValueError:
            errors["side"] = [f"unknown side {side!r}; shipper or carrier"]
        address = _address(email, errors) if email is not None and email.strip() else None
        if not actor.is_unrestricted and actor.org_id not in (shipper_org_id, carrier_org_id):
            raise PermissionDenied("only the shipper's or the carrier's managers set these")
        if not actor.is_unrestricted and not actor.is_manager:
            raise PermissionDenied("only managers set collaborator addresses")
        with self._uow() as uow:
            session = uow.session
            shipper = session.get(Organization, shipper_org_id)
            carrier = session.get(Organization, carrier_org_id)
            if shipper is None or shipper.role is not OrgRole.SHIPPER:
                errors["shipper_org_id"] = [f"organization {shipper_org_id} is not a shipper"]
            if carrier is None or carrier.role is not OrgRole.CARRIER:
                errors["carrier_org_id"] = [f"organization {carrier_org_id} is not a carrier"]
            if errors:
                raise InvalidInput(errors)
            conn = session.connection()
            key = (
                (_ca.shipper_org_id == shipper_org_id)
                & (_ca.carrier_org_id == carrier_org_id)
                & (_ca.side == which.value)
            )
            conn.execute(delete(tables.collaborator_addresses).where(key))
            view = None
            if address is not None:
                view = CollaboratorAddressView(
                    shipper_org_id=shipper_org_id,
                    carrier_org_id=carrier_org_id,
                    side=which,
                    email=address,
                    updated_at=self._now(),
                    updated_by=actor.describe(),
                )
                conn.execute(
                    tables.collaborator_addresses.insert(),
                    {
                        "shipper_org_id": shipper_org_id,
                        "carrier_org_id": carrier_org_id,
                        "side": which,
                        "email": address,
                        "updated_at": view.updated_at,
                        "updated_by": view.updated_by,
                    },
                )
            uow.commit()
            return view

    # -- templates -----------------------------------------------------------------------
    def _template_org(self, actor: Actor, org_id: int | None, *, editing: bool) -> int:
        if actor.is_unrestricted:
            if org_id is None:
                raise InvalidInput({"org_id": ["say which organization's templates"]})
            return org_id
        if not actor.is_staff or org_id not in (None, actor.org_id):
            raise PermissionDenied("an organization's templates are for its own staff")
        if editing and not actor.is_manager:
            raise PermissionDenied("only managers change the organization's templates")
        assert actor.org_id is not None
        return actor.org_id

    @staticmethod
    def _name(name: str) -> str:
        if name not in TEMPLATE_NAMES:
            raise InvalidInput(
                {"name": [f"unknown template {name!r}; one of {', '.join(TEMPLATE_NAMES)}"]}
            )
        return name

    def templates(self, actor: Actor, *, org_id: int | None = None) -> list[TemplateView]:
        """Every template as the organization uses it, overridden or shipped."""
        org = self._template_org(actor, org_id, editing=False)
        with self._uow(write=False) as uow:
            stmt = select(_t.name, _t.subject, _t.text, _t.html).where(_t.org_id == org)
            custom = {r.name: r for r in uow.session.execute(stmt)}
        views = []
        for name in TEMPLATE_NAMES:
            row = custom.get(name)
            source = (
                TemplateSource(row.subject, row.text, row.html)
                if row is not None
                else shipped_templates().builtin(name)
            )
            views.append(
                TemplateView(
                    name=name,
                    subject=source.subject,
                    text=source.text,
                    html=source.html,
                    overridden=row is not None,
                )
            )
        return views

    def template(self, actor: Actor, name: str, *, org_id: int | None = None) -> TemplateView:
        self._name(name)
        return next(t for t in self.templates(actor, org_id=org_id) if t.name == name)

    def set_template(
        self,
        actor: Actor,
        name: str,
        *,
        subject: str,
        text: str,
        html: str = "",
        org_id: int | None = None,
    ) -> TemplateView:
        """Override template ``name`` for the organization; managers only.

        Each part is compiled and rendered with the sample variables first:
        a part that fails is refused with :class:`~casekit.errors.InvalidInput` naming it.
        """
        self._name(name)
        org = self._template_org(actor, org_id, editing=True)
        source = TemplateSource(subject=subject, text=text, html=html)
        errors = shipped_templates().check(source)
        if errors:
            raise InvalidInput(errors)
        with self._uow() as uow:
            conn = uow.session.connection()
            conn.execute(delete(tables.mail_templates).where(_t.org_id == org, _t.name == name))
            conn.execute(
                tables.mail_templates.insert(),
                {
                    "org_id": org,
                    "name": name,
                    "subject": subject,
                    "text": text,
                    "html": html,
                    "updated_at": self._now(),
                    "updated_by": actor.describe(),
                },
            )
            uow.commit()
        return TemplateView(name=name, subject=subject, text=text, html=html, overridden=True)

    def reset_template(self, actor: Actor, name: str, *, org_id: int | None = None) -> TemplateView:
        """Drop the organization's override of ``name``: the shipped template applies again."""
        self._name(name)
        org = self._template_org(actor, org_id, editing=True)
        with self._uow() as uow:
            uow.session.connection().execute(
                delete(tables.mail_templates).where(_t.org_id == org, _t.name == name)
            )
            uow.commit()
        return self.template(actor, name, org_id=org)

    def preview_template(
        self,
        actor: Actor,
        name: str,
        *,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        org_id: int | None = None,
    ) -> RenderedMail:
        """Render template ``name`` with the sample variables.

        Parts given are previewed as drafts; the others are the
        organization's current ones. A part that fails is
        :class:`~casekit.errors.InvalidInput` naming it.
        """
        current = self.template(actor, name, org_id=org_id)
        source = TemplateSource(
            subject=current.subject if subject is None else subject,
            text=current.text if text is None else text,
            html=current.html if html is None else html,
        )
        engine = shipped_templates()
        errors = engine.check(source)
        if errors:
            raise InvalidInput(errors)
        return engine.render(source, SAMPLE_CONTEXT)

    # -- deliveries ------------------------------------------------------------------------
    def deliveries(self, actor: Actor, number: str) -> builtins.list[DeliveryView]:
        """The notifications of case ``number`` to the actor's own people, each with
        its delivery attempts, oldest first (``Scope.delivery_clause``:
        a customer's own, an organization's users and address; the host sees all)."""
        with self._uow(write=False) as uow:
            scope = Scope(uow.session, actor)
            case = scope.case(number)
            stmt = select(tables.outbox).where(_o.case_id == case.id, scope.delivery_clause())
            rows = list(uow.session.execute(stmt.order_by(_o.id)).mappings())
            history: dict[int, list[DeliveryAttemptView]] = {}
            if rows:
                attempts = select(tables.delivery_attempts).where(
                    _a.outbox_id.in_([r["id"] for r in rows])
                )
                for a in uow.session.execute(attempts.order_by(_a.id)).mappings():
                    history.setdefault(a["outbox_id"], []).append(
                        DeliveryAttemptView(
                            attempted_at=a["attempted_at"], ok=a["ok"], error=a["error"]
                        )
                    )
        return [delivery_view(r, history.get(r["id"], ())) for r in rows]

    # -- the worker --------------------------------------------------------------------------
    def worker(
        self,
        *,
        batch_size: int | None = None,
        lease_seconds: int | None = None,
        sweep: bool = False,
    ) -> Worker:
        """A :class:`~casekit.services.worker.Worker` draining this kit's outbox
        (``batch_size`` and ``lease_seconds`` default to the settings); with
        ``sweep``, also sweeping the service-level clocks and the freight claims'
        clocks every ``sla_sweep_seconds`` (as ``casekit worker`` does)."""
        seconds = self.kit.settings.sla_sweep_seconds if sweep else 0
        return Worker(
            self.kit, batch_size=batch_size, lease_seconds=lease_seconds, sweep_seconds=seconds
        )

    def deliver(self, *, max_batches: int | None = None, batch_size: int | None = None) -> int:
        """Deliver what is due now, then return the number of batches that had work."""
        return self.worker(batch_size=batch_size).run(once=True, max_batches=max_batches)
