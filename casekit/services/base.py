"""What every service shares: the kit, a unit of work, the clock, signals."""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs
from blinker import NamedSignal
from sqlalchemy import Connection, Table, select, update

from casekit import signals
from casekit.domain.actor import Actor, SystemName
from casekit.domain.audience import Audience
from casekit.domain.case import Case, Entry, EntryKind, EventKind
from casekit.domain.directory import Organization
from casekit.domain.workflow import Status, StatusMove, status_moves
from casekit.errors import CaseMerged, Conflict, InvalidInput, PermissionDenied
from casekit.query.scoped import Scope
from casekit.services.outbox import delivery_view, queue_notifications
from casekit.store import acting, clocks, tables
from casekit.store.report_columns import Moves
from casekit.store.rows import case_values, insert_entries, save_case
from casekit.store.uow import UnitOfWork

if TYPE_CHECKING:
    from datetime import datetime

    from casekit.kit import CaseKit


log = logging.getLogger(__name__)

NUL = "\x00"


def text_problem(text: str) -> str | None:
    """Why no database stores ``text``, or ``None``: a NUL character (PostgreSQL
    refuses it), or a lone surrogate such as JSON's ``"\\ud800"`` (not UTF-8)."""
    if NUL in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not Unicode text)"
    return None


def bad_text(value: Any, path: str, depth: int = 0) -> tuple[str, str] | None:
    """The dotted path of the first text in ``value`` no database stores, and why
    (:func:`text_problem`), or ``None``.

    Looks into strings, mappings (keys and values), lists, tuples, sets and
    attrs instances; bytes and streams are not text.
    """
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if depth > 20:
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                problem = text_problem(key)
                if problem:
                    return (path or where, problem)
            found = bad_text(item, where, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            found = bad_text(item, f"{path}.{index}", depth + 1)
            if found:
                return found
        return None
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            found = bad_text(getattr(value, field.name, None), f"{path}.{field.name}", depth + 1)
            if found:
                return found
    return None


def nul_field(value: Any, path: str) -> str | None:
    """The dotted path of the first text in ``value`` no database stores (a NUL
    character, a lone surrogate), or ``None``: :func:`bad_text`'s path."""
    found = bad_text(value, path)
    return found[0] if found else None


def refuse_nul(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a service method: text holding a NUL character or a lone surrogate is
    :class:`InvalidInput` naming its argument (no database stores it; no field
    needs it)."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for value in itertools.chain(args[1:], kwargs.values()):
            if bad_text(value, "") is not None:
                bound = signature.bind_partial(*args, **kwargs)
                for name, given in bound.arguments.items():
                    found = bad_text(given, name) if name != "self" else None
                    if found:
                        raise InvalidInput({found[0]: [found[1]]})
        return function(*args, **kwargs)

    checked.__casekit_refuses_nul__ = True  # type: ignore[attr-defined]
    return checked


def handles_nul(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a service method that deals with NUL characters itself instead of
    refusing them (inbound mail, which must never be refused for its bytes)."""
    function.__casekit_refuses_nul__ = True  # type: ignore[attr-defined]
    return function


def asks_about_actor(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a service method whose ``actor`` is whom it asks about, not who acts
    (:meth:`~casekit.services.directory.DirectoryService.may_act`): a deactivated
    user is its answer, not a refusal."""
    function.__casekit_acts__ = True  # type: ignore[attr-defined]
    return function


def acts_for_actor(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a service method that takes an ``actor``: the sessions it opens act
    for that actor, and refuse a deactivated user (:mod:`casekit.store.acting`).

    A generator's body runs for the actor each time it is resumed, however
    late its caller iterates (a streamed export).
    """
    names = list(inspect.signature(function).parameters)
    position = names.index("actor")

    def actor_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Actor | None:
        actor = args[position] if len(args) > position else kwargs.get("actor")
        return actor if isinstance(actor, Actor) else None

    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def streamed(*args: Any, **kwargs: Any) -> Generator[Any, None, Any]:
            context = acting.context_for(actor_of(args, kwargs))
            generator = function(*args, **kwargs)
            try:
                while True:
                    try:
                        item = context.run(next, generator)
                    except StopIteration as stop:
                        return stop.value
                    yield item
            finally:
                context.run(generator.close)

        wrapper: Callable[..., Any] = streamed
    else:

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = acting.act_for(actor_of(args, kwargs))
            try:
                return function(*args, **kwargs)
            finally:
                acting.done(token)

    wrapper.__casekit_acts__ = True  # type: ignore[attr-defined]
    return wrapper


class Service:
    """The base of every service: each public method of a subclass refuses
    text arguments with NUL characters or lone surrogates (:func:`refuse_nul`)
    and, if it takes an ``actor``, acts for them (:func:`acts_for_actor`),
    once, here."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_public_methods(cls)

    def __init__(self, kit: CaseKit) -> None:
        self.kit = kit

    def _uow(self, *, write: bool = True, replica: bool = False) -> UnitOfWork:
        """A unit of work; ``replica=True`` (reads only) lets the read replica
        serve it (:mod:`casekit.store.replica`): a list, a count, a report,
        never a read a change depends on."""
        return UnitOfWork(self.kit.sessions, write=write, replica=replica)

    def _now(self) -> datetime:
        return self.kit.clock.now()

    def _tell_carrier_system(
        self,
        table: Table,
        item_id: int,
        case_id: int | None,
        carrier_id: int | None,
        *,
        read: Callable[[Connection, Actor, Case, Any], Any],
        tell: Callable[[str, Any, Organization], object],
        what: str,
    ) -> None:
        """Hand an item of a case (a decided disposition, a filed claim) to the
        carrier's system through a hook, after the commit, as the carrier reads it
        (``read(conn, actor, case, row)``); record the reference ``tell(number, view,
        carrier)`` answers as the item's ``carrier_reference``. A failing hook is
        logged: the item's webhook, retried by the outbox, tells the carrier all the
        same."""
        if case_id is None or carrier_id is None:
            return
        cases = tables.cases.c
        with self._uow() as uow:
            conn = uow.session.connection()
            number = conn.execute(select(cases.number).where(cases.id == case_id)).scalar_one()
            case = Scope(uow.session, Actor.host()).case(number)
            carrier = uow.session.get(Organization, carrier_id)
            row = conn.execute(select(table).where(table.c.id == item_id)).first()
            if carrier is None or row is None:
                return
            view = read(conn, Actor.system_actor(SystemName.API, org_id=carrier_id), case, row)
            try:
                reference = tell(number, view, carrier)
            except Exception:
                log.exception(
                    "the carrier system's hook failed for %s %s of case %s; its webhook "
                    "still tells the carrier",
                    what,
                    item_id,
                    number,
                )
                return
            if reference:
                conn.execute(
                    update(table)
                    .where(table.c.id == item_id)
                    .values(carrier_reference=str(reference)[:200])
                )
                uow.commit()

    @contextmanager
    def editing(
        self, actor: Actor, number: str, expected_version: int | None = None
    ) -> Iterator[Edit]:
        """Lock the case for a change by ``actor``; the block calls ``finish()``.

        Raises NotFound if ``actor`` cannot see it and Conflict if it is no
        longer at ``expected_version``. Leaving without ``finish()`` rolls back.
        """
        with self._uow() as uow:
            scope = Scope(uow.session, actor)
            case = scope.case(number, lock=True)
            refuse_merged(scope, case)
            check_version(case, expected_version)
            yield Edit(self.kit, uow, actor, case, self._now())

    @contextmanager
    def _posting(self, actor: Actor, number: str) -> Iterator[Edit]:
        """:meth:`editing` for a message: also learns whether the actor takes part already."""
        if actor.user_id is None and actor.customer_id is None:
            with self.editing(actor, number) as edit:
                yield edit
            return
        with self._uow() as uow:
            scope = Scope(uow.session, actor)
            case, takes_part = scope.case_to_post(number)
            refuse_merged(scope, case)
            edit = Edit(self.kit, uow, actor, case, self._now())
            edit.actor_takes_part = takes_part
            yield edit


def _check_public_methods(cls: type) -> None:
    """Wrap the public methods ``cls`` defines with :func:`refuse_nul` and, those
    that take an ``actor``, with :func:`acts_for_actor`."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        wrapped: Callable[..., Any] = member
        takes_actor = "actor" in inspect.signature(member).parameters
        if takes_actor and not getattr(member, "__casekit_acts__", False):
            wrapped = acts_for_actor(wrapped)
        if not getattr(member, "__casekit_refuses_nul__", False):
            wrapped = refuse_nul(wrapped)
        if wrapped is not member:
            setattr(cls, name, wrapped)


_check_public_methods(Service)  # its own public methods too


def deny(reason: str | None) -> None:
    if reason is not None:
        raise PermissionDenied(reason)


def refuse_merged(scope: Scope, case: Case) -> None:
    """A case merged into another takes no more changes: :class:`CaseMerged`
    naming the case it went into."""
    if case.merged_into_id is not None:
        numbers = scope.merged_into([case])
        raise CaseMerged(case.number or "", numbers.get(case.merged_into_id, ""))


def check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            f"case {case.number} is at version {case.version}, not {expected_version}; "
            "reload it and try again",
            current_version=case.version,
        )


def event_entry(
    actor: Actor,
    case: Case,
    kind: EventKind,
    *,
    at: datetime,
    old: object = None,
    new: object = None,
    audience: Audience = Audience.PARTNERS,
    org_id: int | None = None,
) -> Entry:
    """An audited event of the case, not written yet.

    ``org_id`` overrides the author's organization for internal events that
    belong to one side (a CRM number, a watcher) whoever recorded them.
    """
    entry = Entry.by(
        actor,
        case_id=_case_id(case),
        kind=EntryKind.EVENT,
        audience=audience,
        at=at,
        event=kind,
        old_value=None if old is None else str(old),
        new_value=None if new is None else str(new),
    )
    if org_id is not None:
        entry.org_id = org_id
    return entry


def _case_id(case: Case) -> int:
    if case.id is None:
        raise RuntimeError("the case has not been flushed yet")
    return case.id


class Edit:
    """One change to one case in progress: its unit of work, scope, case and signals.

    Signals are queued with :meth:`emit` and sent after commit, each with
    ``case`` (the host's view of the case after the change) and ``actor``.
    """

    def __init__(
        self,
        kit: CaseKit,
        uow: UnitOfWork,
        actor: Actor,
        case: Case,
        now: datetime,
        *,
        new: bool = False,
        moves: Moves | None = None,
    ):
        self.kit = kit
        self.uow = uow
        self.actor = actor
        self.case = case
        #: The case's values as loaded (or inserted): what finish() compares.
        self.original = case_values(case)
        self.now = now
        #: The case was created by this unit of work (opening): it has no CRM
        #: numbers and no watchers yet, so its views need not look them up.
        self.new = new
        #: What the change's new entries do to the report columns, written by finish().
        self.moves = moves if moves is not None else Moves(case)
        self.scope = Scope(uow.session, actor, now=now)
        #: the address a message of this change came from (mail from a system actor).
        self.author_email: str | None = None
        #: The actor is a participant of the case already (known when the case was read).
        self.actor_takes_part = False
        #: Record the change but mail nobody about it (a burst of inbound mail).
        self.hold_notifications = False
        self._signals: list[tuple[NamedSignal, dict[str, Any]]] = []
        self._unwritten: list[Entry] = []
        #: The status moves of the change, as their events record them: what
        #: the outbox and the webhooks tell each side.
        self.status_moves: list[StatusMove] = []
        #: The webhook requests the change wrote, as the ``webhook_queued``
        #: signal tells of them (gathered only while it has receivers).
        self.queued_webhooks: list[Any] = []

    def emit(self, signal: NamedSignal, **kwargs: Any) -> dict[str, Any]:
        """Queue ``signal``; returns its arguments, still open to change until commit."""
        self._signals.append((signal, kwargs))
        return kwargs

    def queued_signals(self) -> list[tuple[NamedSignal, dict[str, Any]]]:
        """The signals queued so far, with their arguments: what the change was."""
        return list(self._signals)

    def event(self, kind: EventKind, **kwargs: Any) -> Entry:
        """Add an audited event to the change (see :func:`event_entry`); written by
        :meth:`write_entries`, at the latest by :meth:`finish`."""
        return self.append(event_entry(self.actor, self.case, kind, at=self.now, **kwargs))

    def append(self, entry: Entry) -> Entry:
        """Add ``entry`` to the case's timeline after those added before it, unwritten.

        A change's entries are written together (one statement where the
        database allows): a message with the status move it causes, an
        opening with its first message.
        """
        self._unwritten.append(entry)
        self.case.record_entry(entry)
        return entry

    def write_entries(self) -> None:
        """Write the entries appended so far, in order; they get their ids."""
        if self._unwritten:
            entries, self._unwritten = self._unwritten, []
            insert_entries(self.uow.connection(), entries, self.moves)

    def finish(self, *, view: bool = True, commit: bool = True) -> Any:
        """Flush, queue the notifications, read the actor's view, commit, then
        send the queued signals.

        ``commit=False`` leaves the commit to the caller, whose unit of work
        finishes another edit too (a merge changes two cases).

        The notifications the change causes are written to the outbox here,
        in the change's own transaction (:mod:`casekit.services.outbox`).
        Returns the actor's view of the case, or None with ``view=False``
        (for callers that return something else and would throw it away).
        """
        self.write_entries()
        if self.case.carrier_reads_all:
            self.case.carrier_updated_at = self.case.updated_at
        conn = self.uow.connection()
        save_case(conn, self.case, self.original, self.moves)
        self.uow.flush()
        # The parties before the change too: a carrier taken off keeps no clocks.
        parties = {*self.case.party_org_ids(), self.original["carrier_org_id"]}
        targets = clocks.targets_of(conn, parties)
        if targets:
            clocks.recompute(conn, [_case_id(self.case)], self.now, targets=targets)
        queued = queue_notifications(self)
        actor_view = self.scope.view(self.case, new=self.new) if view else None
        wanted = [(sig, kw) for sig, kw in self._signals if sig.receivers]
        if queued and signals.notification_queued.receivers:
            wanted += [
                (signals.notification_queued, {"notification": delivery_view(row, ())})
                for row in queued
            ]
        wanted += [(signals.webhook_queued, {"delivery": d}) for d in self.queued_webhooks]
        host_view = (
            Scope(self.uow.session, Actor.host(), now=self.now).view(self.case, new=self.new)
            if wanted
            else None
        )
        if wanted:
            # After the commit: the host's, when the kit is bound to its transaction.
            self.uow.after_commit(functools.partial(self._send, wanted, host_view))
        if commit:
            self.uow.commit()
        return actor_view

    def _send(self, wanted: list[tuple[NamedSignal, dict[str, Any]]], host_view: Any) -> None:
        # A bound view's signals come from the kit it was bound from, which
        # the host's receivers know (``connect_via(kit)``).
        sender = self.kit._unbound or self.kit
        for sig, kw in wanted:
            signals.send(sig, sender, case=host_view, actor=self.actor, **kw)


def set_status(edit: Edit, target: Status) -> None:
    """Apply a status change to ``edit.case`` (both sides) with its events and signals."""
    carrier_old = edit.case.carrier_status
    old = edit.case.set_status(target, edit.actor, edit.now)
    announce_status_change(edit, old, carrier_old)


def announce_status_change(
    edit: Edit, old: Status, carrier_old: Status, *, updated: bool = True
) -> None:
    """Record and announce the status moves already applied to the case: the
    shipper's from ``old``, the carrier's from ``carrier_old``
    (:func:`~casekit.domain.workflow.status_moves`).

    The host's ``status_changed`` signal tells of the shipper's move; the
    carrier's own move is an event for the carrier's staff, and what the
    outbox and the webhooks tell the carrier (:attr:`Edit.status_moves`).
    ``updated=False`` leaves ``case_updated`` to the caller, which announces
    the change that moved the status (a message) once.
    """
    case = edit.case
    kinds: list[EventKind] = []
    for move in status_moves(old, case.status, carrier_old, case.carrier_status):
        if move.carrier and case.carrier_org_id is None:
            continue  # no carrier reads it
        kind = _STATUS_EVENT[move.kind]
        kinds.append(kind)
        edit.status_moves.append(move)
        edit.event(
            kind,
            old=move.old.value,
            new=move.new.value,
            audience=move.audience,
            org_id=case.carrier_org_id if move.carrier else None,
        )
        if not move.carrier:
            edit.emit(signals.status_changed, old=move.old, new=move.new)
            if move.kind == StatusMove.SOLVED:
                edit.emit(signals.case_solved)
            elif move.kind == StatusMove.REOPENED:
                edit.emit(signals.case_reopened, new=move.new)
    if updated and kinds:
        edit.emit(signals.case_updated, change=kinds[0])


_STATUS_EVENT = {
    StatusMove.SOLVED: EventKind.SOLVED,
    StatusMove.REOPENED: EventKind.REOPENED,
    StatusMove.CHANGED: EventKind.STATUS_CHANGED,
}
