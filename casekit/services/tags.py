"""Tags and priority: an organization's tag list, and the changes to a case.

Reach the tag list as ``kit.tags``: its managers create, rename, recolour
and archive tags; its staff read it. A case's tags and priority change
through ``kit.cases.change`` (``tags``, ``add_tags``, ``remove_tags``,
``priority``) and when it is opened: the functions at the end of this
module apply them to an :class:`~casekit.services.base.Edit`.

A tag change is an ``internal`` event of the tag's organization, whoever
records it, so that the other party never reads it; a priority change is
an event for ``partners``, which both sides share.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from casekit import signals
from casekit.domain import policy
from casekit.domain.actor import Actor
from casekit.domain.audience import Audience
from casekit.domain.case import EventKind
from casekit.domain.tags import (
    MAX_CASE_TAGS,
    MAX_TAGS,
    Priority,
    Tag,
    TagColour,
    clean_tag_name,
    parse_colour,
    parse_priority,
)
from casekit.errors import InvalidInput, NotFound, PermissionDenied
from casekit.query.tags import org_tags
from casekit.services.base import Edit, Service, deny
from casekit.store import tables

ct = tables.case_tags.c
t = tables.tags.c


class TagService(Service):
    """An organization's tag list. Reach it as ``kit.tags``."""

    def list(self, actor: Actor, *, archived: bool = False) -> builtins.list[Tag]:
        """The actor's organization's tags by name (with the archived ones if ``archived``)."""
        org_id = _staff_org(actor)
        with self._uow(write=False) as uow:
            return org_tags(uow.session, org_id, archived=archived)

    def create(self, actor: Actor, name: str, *, colour: TagColour | str = "grey") -> Tag:
        """Add a tag to the actor's organization's list (a manager's call)."""
        org_id = _manager_org(actor)
        clean, hue = clean_tag_name(name), parse_colour(colour)
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            _unique(session, org_id, clean)
            count = session.scalar(select(func.count()).where(t.org_id == org_id)) or 0
            if count >= MAX_TAGS:
                raise InvalidInput({"name": [f"at most {MAX_TAGS} tags in an organization"]})
            tag = Tag(org_id=org_id, name=clean, colour=hue, created_at=now, updated_at=now)
            session.add(tag)
            uow.commit()
            return tag

    def update(
        self,
        actor: Actor,
        tag_id: int,
        *,
        name: str | None = None,
        colour: TagColour | str | None = None,
        archived: bool | None = None,
    ) -> Tag:
        """Rename, recolour, archive or restore one of the organization's tags (a
        manager's call). An archived tag stays on its cases and in filters, but is
        no longer applied."""
        org_id = _manager_org(actor)
        clean = clean_tag_name(name) if name is not None else None
        hue = parse_colour(colour) if colour is not None else None
        if archived is not None and not isinstance(archived, bool):
            raise InvalidInput({"archived": ["true or false"]})
        now = self._now()
        with self._uow() as uow:
            session = uow.session
            tag = session.get(Tag, tag_id)
            if tag is None or tag.org_id != org_id:
                raise NotFound("tag", tag_id)
            if clean is not None and clean != tag.name:
                _unique(session, org_id, clean, but=tag_id)
                tag.name = clean
            if hue is not None:
                tag.colour = hue
            if archived is not None and archived != tag.archived:
                tag.archived_at = now if archived else None
            tag.updated_at = now
            uow.commit()
            return tag


def _staff_org(actor: Actor) -> int:
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("tags are an organization's own: act as one of its users")
    return actor.org_id


def _manager_org(actor: Actor) -> int:
    org_id = _staff_org(actor)
    if not actor.is_manager:
        raise PermissionDenied("only a manager keeps the organization's tags")
    return org_id


def _unique(session: Session, org_id: int, name: str, *, but: int | None = None) -> None:
    """InvalidInput when the organization has a tag of that name (in any case).

    Compared in Python (``casefold``) over the list, which holds at most
    :data:`MAX_TAGS`: SQLite's ``lower()`` folds ASCII letters only, so "Â"
    and "â" would pass there and clash with the table's unique key.
    """
    wanted = name.casefold()
    for tag_id, existing in session.execute(select(t.id, t.name).where(t.org_id == org_id)):
        if tag_id != but and existing.casefold() == wanted:
            raise InvalidInput({"name": [f"there is a tag named {name!r} already"]})


# -- a case's tags and priority -------------------------------------------------------


def set_priority(edit: Edit, value: Priority | str) -> None:
    """Give the case priority ``value`` (an event for partners, when it changes)."""
    new = value if isinstance(value, Priority) else parse_priority(value)
    deny(policy.may_work(edit.actor, edit.case))
    case = edit.case
    old = case.priority
    if old is new:
        return
    case.priority = new
    case.touch(edit.now)
    edit.event(EventKind.PRIORITY_CHANGED, old=old.value, new=new.value)
    edit.emit(signals.priority_changed, old=old, new=new)
    edit.emit(signals.case_updated, change=EventKind.PRIORITY_CHANGED)


def change_tags(
    edit: Edit,
    *,
    tags: Sequence[int] | None = None,
    add: Sequence[int] = (),
    remove: Sequence[int] = (),
) -> None:
    """Put the actor's organization's tags on the case: exactly ``tags`` when given,
    else those it has with ``add`` and without ``remove``.

    Only the organization's own tags count: an id of another organization's
    is refused like an unknown one. An archived tag may be taken off, not put
    on. Each tag put on or taken off is an ``internal`` event of the
    organization.
    """
    actor, case = edit.actor, edit.case
    if not actor.is_staff or policy.side_of_actor(actor, case) is None:
        raise PermissionDenied("tags are an organization's own: act as staff of a party")
    org_id = actor.org_id
    assert org_id is not None
    conn = edit.uow.connection()
    current = {
        row.tag_id: row.name
        for row in conn.execute(
            select(ct.tag_id, t.name)
            .join(tables.tags, t.id == ct.tag_id)
            .where(ct.case_id == case.id, ct.org_id == org_id)
        )
    }
    if tags is not None:
        wanted = list(dict.fromkeys(tags))
        field = "tags"
    else:
        wanted = [i for i in [*current, *add] if i not in set(remove)]
        wanted = list(dict.fromkeys(wanted))
        field = "add_tags"
    added = [i for i in wanted if i not in current]
    removed = [i for i in current if i not in set(wanted)]
    names: dict[int, str] = {}
    if added:
        found = {
            row.id: row
            for row in conn.execute(
                select(t.id, t.name, t.archived_at).where(t.id.in_(added), t.org_id == org_id)
            )
        }
        errors = [
            f"tag {i} is not one of your organization's tags" for i in added if i not in found
        ]
        errors += [
            f"tag {found[i].name!r} is archived"
            for i in added
            if i in found and found[i].archived_at
        ]
        if errors:
            raise InvalidInput({field: errors})
        names = {i: found[i].name for i in added}
    if len(wanted) > MAX_CASE_TAGS:
        raise InvalidInput({field: [f"at most {MAX_CASE_TAGS} tags on a case"]})
    if not added and not removed:
        return
    if removed:
        conn.execute(delete(tables.case_tags).where(ct.case_id == case.id, ct.tag_id.in_(removed)))
    if added:
        conn.execute(
            insert(tables.case_tags),
            [
                {"case_id": case.id, "tag_id": i, "org_id": org_id, "created_at": edit.now}
                for i in added
            ],
        )
    for i in added:
        edit.event(EventKind.TAG_ADDED, new=names[i], audience=Audience.INTERNAL, org_id=org_id)
    for i in removed:
        edit.event(EventKind.TAG_REMOVED, new=current[i], audience=Audience.INTERNAL, org_id=org_id)
    edit.new = False  # the view reads the tags
    edit.emit(signals.tags_changed, org_id=org_id, added=tuple(added), removed=tuple(removed))
    edit.emit(signals.case_updated, change=EventKind.TAG_ADDED if added else EventKind.TAG_REMOVED)
