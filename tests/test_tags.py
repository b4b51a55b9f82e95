"""Tags and priority on every database: the managed list, the changes and their
audit, the filters, the priority sort, exports, reports, rules and webhooks.

Each organization's tags are its own (like its CRM number): the other party
and the customer never read them, not on the case, not on the timeline, not
in a list, an export, a filter or a webhook.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from sqlalchemy import select
from test_rules import move, ship

from casekit import (
    Actor,
    CaseKit,
    EventKind,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Priority,
    TagColour,
)
from casekit.domain.audience import Audience
from casekit.schemas.views import ListQuerySchema
from casekit.store import tables
from casekit.testing import World


def numbers(kit: CaseKit, actor: Actor, *filters: dict[str, Any], **query: Any) -> list[str]:
    loaded = ListQuerySchema().load({"view": "all_cases", "filters": list(filters), **query})
    found = [row.number for row in kit.views.list(actor, loaded).rows]
    assert kit.views.count(actor, loaded) == len(found)
    return found


def tag(ids: list[int], op: str = "in") -> dict[str, Any]:
    return {"field": "tag", "op": op, "value": ids}


def test_managers_keep_the_list_and_agents_apply_it(kit: CaseKit, world: World) -> None:
    mia, sam, max_ = world.shipper_manager_actor, world.shipper_actor, world.carrier_manager_actor
    fragile = kit.tags.create(mia, "  Fragile   goods ", colour="red")
    assert (fragile.name, fragile.colour) == ("Fragile goods", TagColour.RED)
    vip = kit.tags.create(mia, "VIP", colour=TagColour.PURPLE)
    carrier_tag = kit.tags.create(max_, "Fragile goods")  # another organization's list
    assert [t.name for t in kit.tags.list(sam)] == ["Fragile goods", "VIP"]
    assert [t.name for t in kit.tags.list(world.carrier_actor)] == ["Fragile goods"]
    with pytest.raises(PermissionDenied):
        kit.tags.create(sam, "Agents may not")
    for bad, field in (
        (lambda: kit.tags.create(mia, "vip"), "name"),
        (lambda: kit.tags.create(mia, " "), "name"),
        (lambda: kit.tags.create(mia, "x" * 51), "name"),
        (lambda: kit.tags.create(mia, "Odd", colour="chartreuse"), "colour"),
        (lambda: kit.tags.update(mia, vip.id or 0, name="fragile GOODS"), "name"),
    ):
        with pytest.raises(InvalidInput) as raised:
            bad()
        assert field in raised.value.errors
    for outsider in (world.customer_actor, Actor.host()):
        with pytest.raises(PermissionDenied):
            kit.tags.list(outsider)
    with pytest.raises(NotFound):
        kit.tags.update(mia, carrier_tag.id or 0, name="Mine now")
    renamed = kit.tags.update(mia, vip.id or 0, name="Key account", colour="teal")
    assert (renamed.name, renamed.colour) == ("Key account", TagColour.TEAL)

    case = kit.cases.open(
        sam, type="osd_damaged", carrier=world.carrier.id, customer=world.customer.id,
        subject="Crushed", priority="high", tags=[fragile.id or 0],
    )  # fmt: skip
    assert case.priority is Priority.HIGH
    assert [t.name for t in case.tags] == ["Fragile goods"]
    # The carrier reads the priority, never the shipper's tags; it tags with its own.
    seen = kit.cases.get(world.carrier_actor, case.number)
    assert seen.priority is Priority.HIGH
    assert seen.tags == ()
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(world.carrier_actor, case.number, {"add_tags": [fragile.id]})
    assert raised.value.errors["add_tags"] == [
        f"tag {fragile.id} is not one of your organization's tags"
    ]
    kit.cases.change(world.carrier_actor, case.number, {"tags": [carrier_tag.id]})
    assert [t.id for t in kit.cases.get(sam, case.number).tags] == [fragile.id]
    assert [t.id for t in kit.cases.get(world.carrier_actor, case.number).tags] == [carrier_tag.id]
    # The host reads the shipper's; a customer none.
    assert [t.id for t in kit.cases.get(Actor.host(), case.number).tags] == [fragile.id]
    assert kit.cases.get(world.customer_actor, case.number).tags == ()

    # An archived tag stays where it is, is applied no more, and is listed on request.
    kit.tags.update(mia, fragile.id or 0, archived=True)
    assert [t.name for t in kit.tags.list(sam)] == ["Key account"]
    assert [t.archived for t in kit.tags.list(sam, archived=True)] == [True, False]
    assert [t.name for t in kit.cases.get(sam, case.number).tags] == ["Fragile goods"]
    other = kit.cases.open(sam, type="osd_damaged", subject="Second")
    with pytest.raises(InvalidInput) as raised:
        kit.cases.change(sam, other.number, {"add_tags": [fragile.id]})
    assert raised.value.errors["add_tags"] == ["tag 'Fragile goods' is archived"]
    changed = kit.cases.change(
        sam, case.number, {"add_tags": [vip.id], "remove_tags": [fragile.id], "priority": "urgent"}
    )
    assert [t.name for t in changed.tags] == ["Key account"]
    assert changed.priority is Priority.URGENT
    for bad_changes, field in (
        ({"priority": "asap"}, "priority"),
        ({"tags": "VIP"}, "tags"),
        ({"tags": [1], "add_tags": [2]}, "tags"),
        ({"add_tags": [True]}, "add_tags"),
        ({"tags": list(range(1, 23))}, "tags"),
    ):
        with pytest.raises(InvalidInput) as raised:
            kit.cases.change(sam, case.number, bad_changes)
        assert field in raised.value.errors
    with pytest.raises(InvalidInput) as raised:
        kit.cases.open(world.customer_actor, subject="Where is it?", priority="urgent")
    assert "priority" in raised.value.errors
    with pytest.raises(PermissionDenied):
        kit.cases.change(world.customer_actor, case.number, {"priority": "low"})

    # The audit: each side reads its own tag events; priority is both sides'.
    def events(actor: Actor) -> list[tuple[str, str | None]]:
        return [
            (e.event.value, e.new_value)
            for e in kit.cases.timeline(actor, case.number)
            if e.event in (EventKind.TAG_ADDED, EventKind.TAG_REMOVED, EventKind.PRIORITY_CHANGED)
        ]

    shipper_events = [
        ("tag_added", "Fragile goods"),
        ("priority_changed", "urgent"),
        ("tag_added", "Key account"),
        ("tag_removed", "Fragile goods"),
    ]
    assert events(sam) == shipper_events
    assert events(world.carrier_actor) == [
        ("tag_added", "Fragile goods"),
        ("priority_changed", "urgent"),
    ]
    added = [e for e in kit.cases.timeline(sam, case.number) if e.event is EventKind.TAG_ADDED]
    assert [e.audience for e in added] == [Audience.INTERNAL, Audience.INTERNAL]


def test_a_name_in_another_case_is_refused_beyond_ascii_too(kit: CaseKit, world: World) -> None:
    """SQLite's lower() folds ASCII letters only: "\u00c9" and "\u00e9" are one name
    all the same, refused by name (a 400), never left to the table's unique key."""
    mia = world.shipper_manager_actor
    kit.tags.create(mia, "\u00c9tiquette \u00c2ge")
    for clash in ("\u00e9tiquette \u00e2ge", "\u00c9TIQUETTE \u00c2GE"):
        with pytest.raises(InvalidInput) as raised:
            kit.tags.create(mia, clash)
        assert "name" in raised.value.errors
    other = kit.tags.create(mia, "Other")
    with pytest.raises(InvalidInput):
        kit.tags.update(mia, other.id or 0, name="\u00e9tiquette \u00e2ge")
    # (In the database's collation: MariaDB sorts "\u00c9" with "E".)
    assert sorted(t.name for t in kit.tags.list(mia)) == ["Other", "\u00c9tiquette \u00c2ge"]


def test_filters_sort_export_and_report_read_only_the_readers_tags(
    kit: CaseKit, world: World
) -> None:
    mia, sam, cal = world.shipper_manager_actor, world.shipper_actor, world.carrier_actor
    red = kit.tags.create(mia, "Red", colour="red").id or 0
    blue = kit.tags.create(mia, "Blue", colour="blue").id or 0
    theirs = kit.tags.create(world.carrier_manager_actor, "Theirs").id or 0
    carrier = world.carrier.id

    def opened(priority: str, *tag_ids: int) -> str:
        return kit.cases.open(
            sam, type="osd_damaged", carrier=carrier, priority=priority, tags=list(tag_ids)
        ).number

    a = opened("low", red)
    b = opened("urgent", red, blue)
    c = opened("normal")
    d = opened("high", blue)
    e = opened("urgent")
    kit.cases.change(cal, c, {"tags": [theirs]})

    assert set(numbers(kit, sam, tag([red]))) == {a, b}
    assert set(numbers(kit, sam, tag([red, blue]))) == {a, b, d}
    assert set(numbers(kit, sam, tag([red], "not_in"))) == {c, d, e}
    assert set(numbers(kit, sam, {"field": "tag", "op": "empty", "value": True})) == {c, e}
    # Another organization's tag id matches nothing, for anyone but its own.
    assert numbers(kit, sam, tag([theirs])) == []
    assert numbers(kit, cal, tag([red])) == []
    assert numbers(kit, cal, tag([theirs])) == [c]
    assert numbers(kit, world.customer_actor, tag([red])) == []
    assert numbers(kit, Actor.host(), tag([theirs])) == []  # the host reads the shipper's
    assert set(numbers(kit, cal, {"field": "priority", "op": "in", "value": ["urgent"]})) == {b, e}
    not_low = {"field": "priority", "op": "not_in", "value": ["normal", "low"]}
    assert set(numbers(kit, sam, not_low)) == {b, d, e}
    # Urgent first (then the newest of each), page after page by keyset.
    by_priority = {"field": "priority", "direction": "desc"}
    assert numbers(kit, sam, sort=by_priority) == [e, b, d, c, a]
    query = ListQuerySchema().load({"view": "all_cases", "sort": by_priority})
    first = kit.views.list(sam, query, limit=2)
    second = kit.views.list(sam, query, limit=2, cursor=first.next_cursor)
    third = kit.views.list(sam, query, limit=2, cursor=second.next_cursor)
    assert [r.number for r in (*first.rows, *second.rows, *third.rows)] == [e, b, d, c, a]
    assert numbers(kit, sam, sort={"field": "priority", "direction": "asc"}) == [a, c, d, b, e]
    # List rows carry the reader's tags only; a saved view keeps the filter.
    rows = {r.number: r for r in kit.views.list(sam, query).rows}
    assert [t.name for t in rows[b].tags] == ["Blue", "Red"]
    assert rows[c].tags == ()
    assert rows[b].priority is Priority.URGENT
    carrier_rows = {r.number: r for r in kit.views.list(cal, query).rows}
    assert [t.name for t in carrier_rows[c].tags] == ["Theirs"]
    assert carrier_rows[b].tags == ()
    saved = kit.views.save(sam, "Red ones", {"view": "all_cases", "filters": [tag([red])]})
    assert set(numbers(kit, sam, *json.loads(saved.definition)["filters"])) == {a, b}
    # The export: both columns, each side's own tags.
    columns = ["number", "priority", "tags"]
    mine = "".join(kit.views.export_csv(sam, {"view": "all_cases", "columns": columns}))
    assert f'{b},urgent,"Blue, Red"' in mine
    assert "Theirs" not in mine
    theirs_csv = "".join(kit.views.export_csv(cal, {"view": "all_cases", "columns": columns}))
    assert f"{c},normal,Theirs" in theirs_csv
    assert "Red" not in theirs_csv
    # The report: active cases by priority and by the reader's own tags.
    today = kit.clock.now().date().isoformat()
    span = {"from": today, "to": today}
    report = kit.reports.dashboard(sam, span, sections=["volume"])
    found = {t.name: t for t in report.sections[0].tables}
    by_priority_rows = {r.label: r.count for r in found["backlog_by_priority"].rows}
    assert by_priority_rows == {"Urgent": 2, "Low": 1, "Normal": 1, "High": 1}
    by_tag = {r.label: r.count for r in found["backlog_by_tag"].rows}
    assert by_tag == {"Red": 2, "Blue": 2, "No tag": 2}
    drill = next(r for r in found["backlog_by_tag"].rows if r.label == "Red").query
    assert {row.number for row in kit.views.list(sam, drill).rows} == {a, b}
    carrier_report = kit.reports.dashboard(cal, span, sections=["volume"])
    carrier_tags = next(t for t in carrier_report.sections[0].tables if t.name == "backlog_by_tag")
    assert {r.label: r.count for r in carrier_tags.rows} == {"Theirs": 1, "No tag": 4}


def test_rules_set_priority_and_tags_and_webhooks_tell_only_the_tags_owner(
    kit: CaseKit, world: World
) -> None:
    mia, sam = world.shipper_manager_actor, world.shipper_actor
    red = kit.tags.create(mia, "Red", colour="red").id or 0
    gone = kit.tags.create(mia, "Gone").id or 0
    with pytest.raises(InvalidInput) as raised:
        kit.rules.create(
            mia,
            {
                "name": "x",
                "case_type": "osd_damaged",
                "statuses": ["exception"],
                "priority": "soon",
            },
        )
    assert "priority" in raised.value.errors
    theirs = kit.tags.create(world.carrier_manager_actor, "Theirs").id or 0
    with pytest.raises(InvalidInput) as raised:
        kit.rules.create(
            mia,
            {
                "name": "x",
                "case_type": "osd_damaged",
                "statuses": ["exception"],
                "tag_ids": [theirs],
            },
        )
    assert "tag_ids" in raised.value.errors
    rule = kit.rules.create(
        mia,
        {
            "name": "Damaged freight",
            "case_type": "osd_damaged",
            "statuses": ["exception"],
            "priority": "urgent",
            "tag_ids": [red, gone],
        },
    )
    assert rule.spec.priority is Priority.URGENT
    assert rule.spec.tag_ids == (red, gone)
    kit.tags.update(mia, gone, archived=True)  # left out of the cases it opens from now on
    ship(kit, world, "SHP-T1")
    kit.settings = attrs.evolve(kit.settings, webhook_allow_private_addresses=True)
    shipper_hook = kit.webhooks.subscribe(
        mia, url="https://127.0.0.1/acme", events=["tags_changed", "priority_changed"]
    )
    carrier_hook = kit.webhooks.subscribe(
        world.carrier_manager_actor,
        url="https://127.0.0.1/fast",
        events=["tags_changed", "priority_changed"],
    )
    move(kit, world, "SHP-T1", "exception", kit.clock.now(), exception="damaged")
    opened = kit.views.list(sam, {"view": "all_cases"}).rows
    assert len(opened) == 1
    number = opened[0].number
    case = kit.cases.get(sam, number)
    assert case.priority is Priority.URGENT
    assert [t.id for t in case.tags] == [red]

    kit.cases.change(sam, number, {"remove_tags": [red], "priority": "low"})
    o = tables.webhook_outbox.c
    with kit.engine.connect() as conn:
        rows = conn.execute(select(o.webhook_id, o.event, o.payload).order_by(o.id)).all()
    by_hook: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for hook_id, event, payload in rows:
        by_hook.setdefault(hook_id, []).append((event, json.loads(payload)))
    shipper_got = by_hook[shipper_hook.webhook.id]
    carrier_got = by_hook[carrier_hook.webhook.id]
    # The opening put the rule's tag on; the change took it off and lowered the priority.
    assert [e for e, _ in shipper_got] == ["tags_changed", "priority_changed", "tags_changed"]
    assert [e for e, _ in carrier_got] == ["priority_changed"]
    assert shipper_got[0][1]["added"] == [red]
    assert shipper_got[0][1]["case"]["tags"] == [{"id": red, "name": "Red", "colour": "red"}]
    assert shipper_got[2][1]["removed"] == [red]
    assert shipper_got[2][1]["case"]["tags"] == []
    assert shipper_got[1][1]["new"] == "low"
    assert carrier_got[0][1]["case"]["priority"] == "low"
    assert carrier_got[0][1]["case"]["tags"] == []
    assert "Red" not in json.dumps([p for _, p in carrier_got])
