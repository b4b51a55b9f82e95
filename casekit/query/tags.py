"""Reading tags: an organization's own, and never another's.

Every read here names the reader's organization: the ``tag`` filter tests
the case's tags of the actor's organization only (a tag id of another
organization matches nothing), and the tags a case view or a list row
carries are the reader's organization's. The host, bound to no
organization, reads the shipper's (as it reads the shipper's CRM number);
a customer reads none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, false, func, select, true
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from casekit.domain.actor import Actor
from casekit.domain.tags import Tag, TagRef
from casekit.store import tables

c = tables.cases.c
ct = tables.case_tags.c
t = tables.tags.c

#: The filter fields of this module.
TAG_FIELDS = ("tag",)


def reads_tags(actor: Actor) -> bool:
    """Whether ``actor`` reads any tags: staff (their organization's) and the host."""
    return not actor.is_customer and (actor.org_id is not None or actor.is_unrestricted)


def _own(actor: Actor) -> ColumnElement[bool]:
    """The case tags ``actor`` may test: its organization's; the shipper's for the host."""
    if actor.org_id is None:
        return ct.org_id == c.shipper_org_id
    return ct.org_id == actor.org_id


def own_tags(actor: Actor) -> ColumnElement[bool]:
    """On the cases joined to their tags: the tags ``actor`` reads (its
    organization's; the shipper's for the host; none for a customer), as
    :func:`tag_condition` tests them."""
    return _own(actor) if reads_tags(actor) else false()


def tag_condition(op: str, values: Sequence[int], actor: Actor) -> ColumnElement[bool]:
    """The ``tag`` filter: the case carries one of ``values`` of the actor's tags
    (``in``), none of them (``not_in``), or none of its tags at all (``empty``)."""
    if not reads_tags(actor):
        # To a customer no case has a tag.
        return false() if op == "in" else true()
    where = [ct.case_id == c.id, _own(actor)]
    if op != "empty":
        where.append(ct.tag_id.in_(list(values)))
    tagged = exists(select(ct.case_id).where(*where).correlate(tables.cases))
    return tagged if op == "in" else ~tagged


def tags_of(
    conn: Connection, actor: Actor, case_ids: Sequence[int]
) -> dict[int, tuple[TagRef, ...]]:
    """The tags ``actor`` reads on each of ``case_ids``, by name (none: not in the result)."""
    if not case_ids or not reads_tags(actor):
        return {}
    stmt = (
        select(ct.case_id, t.id, t.name, t.colour)
        .join(tables.tags, t.id == ct.tag_id)
        .where(ct.case_id.in_(sorted(set(case_ids))))
        .order_by(ct.case_id, t.name, t.id)
    )
    if actor.org_id is None:
        stmt = stmt.join(tables.cases, c.id == ct.case_id).where(ct.org_id == c.shipper_org_id)
    else:
        stmt = stmt.where(ct.org_id == actor.org_id)
    found: dict[int, list[TagRef]] = defaultdict(list)
    for case_id, tag_id, name, colour in conn.execute(stmt):
        found[case_id].append(TagRef(tag_id, name, colour))
    return {case_id: tuple(refs) for case_id, refs in found.items()}


def own_tag_ids(org: Any) -> Any:
    """The ids of organization ``org``'s tags on the case (comma-separated text, NULL
    for none): a list row's column, a lookup by the case tags' primary key."""
    return (
        select(func.aggregate_strings(cast(ct.tag_id, String), ","))
        .where(ct.case_id == c.id, ct.org_id == org)
        .correlate(tables.cases)
        .scalar_subquery()
    )


def tag_refs(conn: Connection, tag_ids: Iterable[int]) -> dict[int, TagRef]:
    """The tags ``tag_ids`` (read from rows their reader reads), by id."""
    stmt = select(t.id, t.name, t.colour).where(t.id.in_(sorted(set(tag_ids))))
    return {tag_id: TagRef(tag_id, name, colour) for tag_id, name, colour in conn.execute(stmt)}


def in_order(refs: dict[int, TagRef], ids: str) -> tuple[TagRef, ...]:
    """The tags of a row's ``ids`` (its comma-separated column) by name."""
    found = (refs[int(i)] for i in ids.split(",") if int(i) in refs)
    return tuple(sorted(found, key=lambda ref: (ref.name, ref.id)))


def org_tags(session: Session, org_id: int, *, archived: bool = True) -> list[Tag]:
    """An organization's tag list by name (without the archived ones unless ``archived``)."""
    stmt = select(Tag).where(t.org_id == org_id).order_by(t.name, t.id)
    if not archived:
        stmt = stmt.where(t.archived_at.is_(None))
    return list(session.scalars(stmt))
