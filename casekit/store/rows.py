"""The write path of the case aggregate: plain SQL on the hot path.

Opening and posting are the operations casekit does most, so their writes
skip the ORM's unit-of-work machinery: a case is loaded as a row and turned
into a plain domain :class:`~casekit.domain.case.Case` (never attached to a
session), changed by the domain's rules, and written back as one UPDATE of
the columns that changed, with its version counter checked and bumped.
Timeline entries, attachments and participants are inserted the same way.
What the new entries of a change do to the report columns
(:class:`~casekit.store.report_columns.Moves`) rides on that same UPDATE,
or on the INSERT of a case being opened.
Organizations, users, watchers, CRM numbers and snapshots still go through
the ORM; both share the unit of work's transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, Insert, Select, bindparam, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from casekit.domain.case import Case, Entry
from casekit.errors import Conflict
from casekit.store import report_columns, tables

c = tables.cases.c
#: The columns of the domain's case; the report and due columns are the store's own.
CASE_FIELDS: tuple[str, ...] = tuple(
    col.name
    for col in tables.cases.columns
    if col.name not in report_columns.REPORT_COLUMNS and col.name not in tables.DUE_COLUMNS
)
_ENTRY_FIELDS: tuple[str, ...] = tuple(
    col.name for col in tables.entries.columns if col.name != "id"
)


def case_from_row(row: Mapping[Any, Any]) -> Case:
    """A detached domain case from a ``casekit_cases`` row."""
    values = {name: row[name] for name in CASE_FIELDS}
    case_id = values.pop("id")
    return Case(**values, id=case_id)


def case_values(case: Case) -> dict[str, Any]:
    """The case's column values, as they would be written."""
    return {name: getattr(case, name) for name in CASE_FIELDS}


def select_cases(where: ColumnElement[bool]) -> Select[Any]:
    return select(tables.cases).where(where)


def load_cases(
    conn: Connection, stmt: Select[Any], params: Mapping[str, Any] | None = None
) -> list[Case]:
    return [case_from_row(row) for row in conn.execute(stmt, params or {}).mappings()]


def insert_case(conn: Connection, case: Case, moves: report_columns.Moves | None = None) -> int:
    """INSERT the (new) case; sets and returns its id.

    ``moves`` (of a case not written yet) gives the report columns their values.
    """
    values = case_values(case)
    del values["id"]
    if moves is not None:
        values.update(moves.take())
    result = conn.execute(insert(tables.cases), values)
    case.id = int(result.inserted_primary_key[0])  # type: ignore[index]
    if case.shipment_id is not None:
        report_columns.refresh(conn, [case.id], report_columns.SNAPSHOT_COLUMNS)
    return case.id


@functools.cache
def _update_case(columns: tuple[str, ...], report: tuple[str, ...] = ()) -> Any:
    values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in columns}
    values["version"] = bindparam("next_version")
    values.update(report_columns.set_clause(report))
    return (
        update(tables.cases)
        .where(c.id == bindparam("case_id"), c.version == bindparam("loaded_version"))
        .values(values)
    )


def save_case(
    conn: Connection,
    case: Case,
    original: Mapping[str, Any],
    moves: report_columns.Moves | None = None,
) -> bool:
    """Write what changed since ``original``; bump the version; Conflict if it moved.

    What ``moves`` collected is written in the same UPDATE (on its own when
    nothing else changed). Returns whether the case's own columns were written.
    """
    changed = tuple(
        name
        for name in CASE_FIELDS
        if name not in ("id", "version") and getattr(case, name) != original[name]
    )
    report = moves.take() if moves is not None else {}
    if not changed:
        report_columns.write_moves(conn, case.id, report)  # type: ignore[arg-type]
        return False
    params = {f"new_{name}": getattr(case, name) for name in changed}
    params.update(case_id=case.id, loaded_version=case.version, next_version=case.version + 1)
    params.update(report_columns.set_params(report))
    result = conn.execute(_update_case(changed, tuple(sorted(report))), params)
    if result.rowcount != 1:
        raise Conflict(f"case {case.number} was changed by someone else; reload it")
    case.version += 1
    moved: set[str] = set()
    if "shipment_id" in changed:
        moved.update(report_columns.SNAPSHOT_COLUMNS)
    if "shipper_org_id" in changed or "carrier_org_id" in changed:
        moved.update(report_columns.PARTY_COLUMNS)
    if moved:
        report_columns.refresh(conn, [case.id], moved)  # type: ignore[list-item]
    return True


@functools.cache
def _insert_entry() -> Insert:
    return insert(tables.entries)


def entry_values(entry: Entry) -> dict[str, Any]:
    values = attrs.asdict(entry, recurse=False)
    return {name: values[name] for name in _ENTRY_FIELDS}


@functools.cache
def _insert_entries() -> Insert:
    return insert(tables.entries).returning(tables.entries.c.id, sort_by_parameter_order=True)


def insert_entry(conn: Connection, entry: Entry, moves: report_columns.Moves | None = None) -> int:
    """INSERT one timeline entry; sets and returns its id.

    With ``moves`` (those of the change the entry belongs to) what the entry
    does to the report columns is collected there, for the case's UPDATE to
    write; without, the columns it can move are recomputed here.
    """
    result = conn.execute(_insert_entry(), entry_values(entry))
    entry.id = int(result.inserted_primary_key[0])  # type: ignore[index]
    _moved(conn, entry, moves)
    return entry.id


def insert_entries(
    conn: Connection, entries: Sequence[Entry], moves: report_columns.Moves | None = None
) -> None:
    """INSERT timeline entries in order, as :func:`insert_entry` does one; sets their ids.

    Several go in one multi-row INSERT … RETURNING on PostgreSQL and MariaDB,
    where a statement is a round trip to the server; SQLite, where it is a
    function call, takes them one at a time.
    """
    if len(entries) == 1 or conn.dialect.name == "sqlite":
        for entry in entries:
            insert_entry(conn, entry, moves)
        return
    ids = conn.execute(_insert_entries(), [entry_values(e) for e in entries]).scalars().all()
    for entry, entry_id in zip(entries, ids, strict=True):
        entry.id = int(entry_id)
    for entry in entries:
        _moved(conn, entry, moves)


def _moved(conn: Connection, entry: Entry, moves: report_columns.Moves | None) -> None:
    """Collect in ``moves``, or else write, what ``entry`` does to the report columns."""
    if moves is not None and moves.case.id == entry.case_id:
        moves.add(entry)
        return
    moved = report_columns.entry_moves(_value(entry.kind), _value(entry.event))
    if moved:
        report_columns.refresh(conn, [entry.case_id], moved)


def _value(member: Any) -> str | None:
    return None if member is None else str(getattr(member, "value", member))


def insert_rows(conn: Connection, table: Any, rows: Iterable[Mapping[str, Any]]) -> None:
    batch = list(rows)
    if batch:
        conn.execute(insert(table), batch)
