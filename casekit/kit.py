"""The composition root a host holds: :class:`CaseKit`."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO

import attrs
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, scoped_session

from casekit.clock import Clock, SystemClock
from casekit.domain.actor import Actor
from casekit.domain.case import CaseType
from casekit.plugins import PluginHooks, make_plugin_manager
from casekit.query.models import AttachmentView
from casekit.query.scoped import Scope
from casekit.services.actions import ActionService
from casekit.services.apikeys import ApiKeyService
from casekit.services.canned_replies import CannedReplyService
from casekit.services.case_addresses import CaseAddressService
from casekit.services.cases import CaseService
from casekit.services.claims import ClaimService
from casekit.services.custom_fields import CustomFieldService
from casekit.services.directory import DirectoryService
from casekit.services.inbound import InboundService
from casekit.services.live import LiveService
from casekit.services.messages import MessageService
from casekit.services.network import NetworkService
from casekit.services.notify import NotificationService
from casekit.services.portal import PortalService
from casekit.services.reports import ReportService
from casekit.services.rules import RuleService
from casekit.services.service_levels import ServiceLevelService
from casekit.services.shipments import ShipmentService
from casekit.services.tags import TagService
from casekit.services.unsubscribe import UnsubscribeService
from casekit.services.views import ViewService
from casekit.services.webhooks import WebhookService
from casekit.settings import Settings
from casekit.store.acting import acting
from casekit.store.database import create_casekit_engine
from casekit.store.host import HostTransaction
from casekit.store.mapping import map_domain
from casekit.store.replica import read_replica
from casekit.store.uow import HostSessions, SessionFactory

if TYPE_CHECKING:
    from casekit.health import Health


class CaseKit:
    """casekit, composed: settings, a database, plugins and the services.

    ::

        kit = CaseKit(database_url="sqlite:///cases.sqlite3", plugins=[MyShipments()])
        kit.create_schema()      # or `casekit db upgrade`
        kit.cases.open(actor, type="where_is_my_order", message="Where is it?")

    :param database_url: where casekit keeps its tables (overrides settings).
    :param plugins: plugin objects or modules to register after the built-ins
        and entry points; they are asked first.
    :param settings: a :class:`Settings`; by default read from ``CASEKIT_*``
        environment variables.
    :param clock: where time comes from; the system clock by default.
    :param engine: an existing SQLAlchemy engine to share with the host.
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        plugins: Sequence[object] = (),
        settings: Settings | None = None,
        clock: Clock | None = None,
        engine: Engine | None = None,
        **setting_overrides: Any,
    ) -> None:
        if database_url is not None:
            setting_overrides["database_url"] = database_url
        if settings is None:
            settings = Settings.from_env(**setting_overrides)
        elif setting_overrides:
            settings = attrs.evolve(settings, **setting_overrides)
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        map_domain()
        self.engine = engine if engine is not None else create_casekit_engine(settings.database_url)
        self.sessions = SessionFactory(self.engine, read_replica(settings, self.engine))
        self.plugin_manager = make_plugin_manager(settings, plugins)
        self.hooks = PluginHooks(self.plugin_manager, self)
        #: The kit this one is a bound view of (:meth:`bind`), or None.
        self._unbound: CaseKit | None = None
        self._make_services()
        self.hooks.kit_ready()

    def _make_services(self) -> None:
        self.cases = CaseService(self)
        self.messages = MessageService(self)
        self.directory = DirectoryService(self)
        self.views = ViewService(self)
        self.reports = ReportService(self)
        self.shipments = ShipmentService(self)
        self.rules = RuleService(self)
        self.service_levels = ServiceLevelService(self)
        self.inbound = InboundService(self)
        self.case_addresses = CaseAddressService(self)
        self.notifications = NotificationService(self)
        self.api_keys = ApiKeyService(self)
        self.webhooks = WebhookService(self)
        self.unsubscribe = UnsubscribeService(self)
        self.live = LiveService(self)
        self.portal = PortalService(self)
        self.canned_replies = CannedReplyService(self)
        self.tags = TagService(self)
        self.custom_fields = CustomFieldService(self)
        self.actions = ActionService(self)
        self.claims = ClaimService(self)
        self.network = NetworkService(self)

    def bind(self, host: Session | scoped_session[Any] | Connection) -> CaseKit:
        """This kit, working in the host's transaction.

        ``host`` is the host's SQLAlchemy ``Session``, a ``scoped_session``
        (Flask-SQLAlchemy's ``db.session``: each call joins the current
        session), or a ``Connection`` with a transaction begun. The bound
        kit's calls run on that session's connection, each in a SAVEPOINT:
        the cases, their outbox rows and their timeline commit or roll back
        with the host's own rows, casekit never commits or rolls back the
        host's work, and a call that fails (InvalidInput, Conflict, ...)
        leaves the host's transaction usable. Signals are sent after the
        host commits, and never if it rolls back. ::

            with Session(engine) as session:
                session.add(Order(number="1001"))
                kit.bind(session).cases.open(actor, type="lost", message="...")
                session.commit()     # the order and the case, together

        The host's tables and casekit's must be in the database of the
        host's connection. A session with no default engine, or a
        connection with no transaction begun, is a
        :class:`~casekit.errors.ConfigurationError` at the first call.
        Binding is cheap (a view sharing the kit's settings, plugins and
        engine); ``close()`` on the view does nothing.
        """
        view = copy.copy(self)
        view._unbound = self._unbound or self
        view.sessions = HostSessions(self.engine, HostTransaction(host), self.sessions.replica)
        view._make_services()
        return view

    @contextmanager
    def sharing_reads(self) -> Iterator[None]:
        """Run the block's reads in one transaction, as a page reads.

        A page asks many services (the list, its columns, the tags, the
        colleagues...), and each call's unit of work takes a pooled
        connection, begins a transaction and checks that its user may still
        act. In this block the calls that only read share one session
        instead: one connection, one transaction, and one check of each user
        (``kit.directory.may_act``, a web request's own check, counts).
        A call that writes ends the shared transaction first, so the reads
        after it see the change. A kit bound to the host's transaction
        (:meth:`bind`) shares nothing. ::

            with kit.sharing_reads():
                page = kit.views.list(actor, {"view": "all_active"})
                tags = kit.tags.list(actor)
        """
        with self.sessions.sharing_reads():
            yield

    @cached_property
    def case_types(self) -> dict[str, CaseType]:
        """The case type catalogue: built-in types plus what plugins add, by code."""
        return self.hooks.add_case_types()

    def create_schema(self) -> None:
        """Bring the database to the newest schema (runs the Alembic migrations)."""
        from casekit.store.migrate import upgrade

        upgrade(self.engine, search_language=self.settings.search_language)

    def health(self, *, max_outbox_lag_seconds: int | None = None) -> Health:
        """Whether this casekit can serve: its database, schema and outbox, checked.

        See :func:`casekit.health.check_health`; never raises. ``max_outbox_lag_seconds``
        overrides the ``health_max_outbox_lag_seconds`` setting.
        """
        from casekit.health import check_health

        return check_health(self, max_outbox_lag_seconds=max_outbox_lag_seconds)

    def open_attachment(
        self, actor: Actor, number: str, attachment_id: int
    ) -> tuple[AttachmentView, BinaryIO]:
        """Open an attachment of case ``number`` that ``actor`` may read.

        Returns its description and a binary file the caller closes. An
        attachment on an entry the actor may not read is NotFound.
        """
        with acting(actor), self.sessions(write=False) as session:
            scope = Scope(session, actor)
            row = scope.attachment(scope.case(number), attachment_id)
            view = AttachmentView(
                id=attachment_id,
                filename=row.filename,
                content_type=row.content_type,
                size=row.size,
                sha256=row.sha256,
            )
        return view, self.hooks.open_attachment(storage_key=row.storage_key)

    def close(self) -> None:
        """Release the database connections (a bound view leaves them to its kit)."""
        if self._unbound is None:
            self.engine.dispose()
            if self.sessions.replica is not None:
                self.sessions.replica.engine.dispose()

    def __enter__(self) -> CaseKit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        bound = " bound to the host's transaction" if self._unbound is not None else ""
        return f"<CaseKit {self.engine.url.render_as_string(hide_password=True)}{bound}>"
