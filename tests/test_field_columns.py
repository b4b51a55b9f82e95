"""Custom fields as list columns, sort keys and CSV columns, on every database.

A reader's columns are its organization's fields and the other party's shared
ones; a private field of the other party is no column of its, no sort, no CSV
header — refused like a name no field has.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import event

from casekit import Actor, CaseKit, InvalidInput
from casekit.testing import World


def setup_fields(kit: CaseKit, world: World) -> None:
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    kit.custom_fields.create(mia, "po_ref", "PO reference", "text")
    kit.custom_fields.create(mia, "goods_value", "Goods value", "number")
    kit.custom_fields.create(
        mia, "dock", "Dock", "choice", choices=["A", "B", "C"], visibility="shared"
    )
    kit.custom_fields.create(mia, "parts", "Parts", "multi_choice", choices=["lid", "base", "box"])
    kit.custom_fields.create(max_, "claim_due", "Claim due", "date", visibility="shared")
    kit.custom_fields.create(max_, "seal_ok", "Seal intact", "checkbox")


def open_cases(kit: CaseKit, world: World) -> list[str]:
    """Four cases: three with values (in an order each sort tells apart), one without."""
    sam, cal = world.shipper_actor, world.carrier_actor
    given: list[dict[str, Any]] = [
        {"po_ref": "Blue crate", "goods_value": 250.5, "dock": "B", "parts": ["lid", "base"]},
        {"po_ref": "=HYPERLINK(1)", "goods_value": 10, "dock": "C", "parts": ["box"]},
        {"po_ref": "amber", "goods_value": 1000, "dock": "A"},
        {},
    ]
    numbers = [
        kit.cases.open(
            sam, type="osd_damaged", carrier=world.carrier.id, subject="x", custom_fields=values
        ).number
        for values in given
    ]
    carrier_values: list[dict[str, Any]] = [
        {"claim_due": "2026-12-24", "seal_ok": True},
        {"claim_due": "2026-01-02", "seal_ok": False},
        {"claim_due": "2026-06-30"},
    ]
    for number, values in zip(numbers, carrier_values, strict=False):
        kit.cases.change(cal, number, {"custom_fields": values})
    return numbers


def columns_of(kit: CaseKit, actor: Actor) -> list[str]:
    return [f.column for f in kit.views.field_columns(actor)]


def test_each_reader_has_its_own_fields_and_the_other_partys_shared_ones(
    kit: CaseKit, world: World
) -> None:
    setup_fields(kit, world)
    sam, cal = world.shipper_actor, world.carrier_actor
    assert columns_of(kit, sam) == [
        "cf:po_ref",
        "cf:goods_value",
        "cf:dock",
        "cf:parts",
        "cf:carrier.claim_due",
    ]
    assert columns_of(kit, cal) == ["cf:claim_due", "cf:seal_ok", "cf:shipper.dock"]
    shared = kit.views.field_columns(cal)[-1]
    assert (shared.own, shared.heading, shared.choices) == (
        False,
        "Dock (shipper)",
        ("A", "B", "C"),
    )
    assert kit.views.field_columns(world.customer_actor) == []
    # Chosen as columns: the other party's private field is refused like no field at all.
    chosen = kit.views.set_columns(cal, ["status", "cf:seal_ok", "cf:shipper.dock"])
    assert chosen == ("number", "status", "cf:seal_ok", "cf:shipper.dock")
    for hidden in ("cf:shipper.po_ref", "cf:shipper.nothing", "cf:po_ref", "cf:Bad!"):
        with pytest.raises(InvalidInput) as refused:
            kit.views.set_columns(cal, ["status", hidden])
        assert list(refused.value.errors) == ["columns"]
        assert "po_ref" not in str(refused.value.errors).replace(hidden, "")
    # A shared field made private leaves the carrier's columns.
    dock = next(f for f in kit.custom_fields.list(world.shipper_manager_actor) if f.key == "dock")
    kit.custom_fields.update(world.shipper_manager_actor, dock.id or 0, visibility="private")
    assert kit.views.columns(cal) == ("number", "status", "cf:seal_ok")
    assert "cf:shipper.dock" not in columns_of(kit, cal)


def test_a_page_shows_the_chosen_fields_in_one_statement(kit: CaseKit, world: World) -> None:
    setup_fields(kit, world)
    numbers = open_cases(kit, world)
    sam, cal = world.shipper_actor, world.carrier_actor
    wanted = ["number", "cf:po_ref", "cf:parts", "cf:carrier.claim_due", "cf:goods_value"]
    query = {"view": "all_cases", "columns": wanted, "sort": {"field": "number"}}
    rows = {r.number: r for r in kit.views.list(sam, query).rows}
    first = rows[numbers[0]]
    assert [first.cell(c) for c in wanted] == [
        numbers[0],
        "Blue crate",
        "lid, base",
        "2026-12-24",
        "250.5",
    ]
    assert rows[numbers[3]].cell("cf:po_ref") is None
    # The carrier reads its own and the shipper's shared field, never the private ones.
    carrier_rows = kit.views.list(
        cal, {"view": "all_cases", "columns": ["cf:seal_ok", "cf:shipper.dock"]}
    ).rows
    by_number = {r.number: r for r in carrier_rows}
    assert by_number[numbers[0]].cell("cf:seal_ok") == "Yes"
    assert by_number[numbers[1]].cell("cf:seal_ok") == "No"
    assert by_number[numbers[0]].cell("cf:shipper.dock") == "B"
    assert {v.name for r in carrier_rows for v in r.fields} == {"seal_ok", "shipper.dock"}
    with pytest.raises(InvalidInput) as refused:
        kit.views.list(cal, {"view": "all_cases", "columns": ["cf:shipper.po_ref"]})
    assert list(refused.value.errors) == ["columns"]

    # One statement reads the values of a page, however many rows it holds.
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def count(limit: int) -> int:
        statements.clear()
        event.listen(kit.engine, "before_cursor_execute", seen)
        try:
            kit.views.list(sam, query, limit=limit)
        finally:
            event.remove(kit.engine, "before_cursor_execute", seen)
        return len(statements)

    assert count(1) == count(4)
    plain = {"view": "all_cases", "sort": {"field": "number"}}
    statements.clear()
    event.listen(kit.engine, "before_cursor_execute", seen)
    try:
        kit.views.list(sam, plain, limit=4)
    finally:
        event.remove(kit.engine, "before_cursor_execute", seen)
    without = len(statements)
    assert count(4) - without <= 3  # the reader's role, its fields, the page's values


def sorted_numbers(kit: CaseKit, actor: Actor, field: str, direction: str) -> list[str]:
    """Every case in the order of ``field``, one at a time through the cursors."""
    query = {"view": "all_cases", "sort": {"field": field, "direction": direction}}
    found: list[str] = []
    cursor = None
    while True:
        page = kit.views.list(actor, query, limit=1, cursor=cursor)
        found += [r.number for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            return found


@pytest.mark.parametrize(
    ("field", "reader", "ascending"),
    [
        ("cf:po_ref", "shipper", [2, 0, 1]),  # "=HYPERLINK(1)" < "Blue crate" < "amber"
        ("cf:goods_value", "shipper", [1, 0, 2]),
        ("cf:dock", "shipper", [2, 0, 1]),
        ("cf:carrier.claim_due", "shipper", [1, 2, 0]),
        ("cf:seal_ok", "carrier", [1, 0]),
        ("cf:shipper.dock", "carrier", [2, 0, 1]),
    ],
)
def test_the_list_sorts_by_a_field_without_a_value_last(
    kit: CaseKit, world: World, field: str, reader: str, ascending: list[int]
) -> None:
    setup_fields(kit, world)
    numbers = open_cases(kit, world)
    actor = world.shipper_actor if reader == "shipper" else world.carrier_actor
    if field == "cf:po_ref":
        # Text compares as each database collates it: the order is the database's own.
        up = sorted_numbers(kit, actor, field, "asc")
        assert up[-1] == numbers[3]
        assert set(up[:3]) == set(numbers[:3])
        down = sorted_numbers(kit, actor, field, "desc")
        assert down[:3] == up[:3][::-1]
        assert down[-1] == numbers[3]
        return
    without = [n for i, n in enumerate(numbers) if i not in ascending]
    up = sorted_numbers(kit, actor, field, "asc")
    assert up[: len(ascending)] == [numbers[i] for i in ascending]
    assert sorted(up[len(ascending) :]) == sorted(without)
    down = sorted_numbers(kit, actor, field, "desc")
    assert down[: len(ascending)] == [numbers[i] for i in reversed(ascending)]


def test_a_sort_by_a_field_the_reader_does_not_read_is_refused(kit: CaseKit, world: World) -> None:
    setup_fields(kit, world)
    open_cases(kit, world)
    cal = world.carrier_actor
    messages = []
    for name in ("cf:shipper.po_ref", "cf:shipper.nothing", "cf:parts"):
        with pytest.raises(InvalidInput) as refused:
            kit.views.list(cal, {"view": "all_cases", "sort": {"field": name}})
        assert list(refused.value.errors) == ["sort.field"]
        messages.append(str(refused.value.errors).replace(name, "NAME"))
    assert messages[0] == messages[1]  # a private field reads as no field at all
    # A multi-choice field holds several values: no sort.
    with pytest.raises(InvalidInput):
        kit.views.list(world.shipper_actor, {"view": "all_cases", "sort": {"field": "cf:parts"}})
    with pytest.raises(InvalidInput) as bad:
        kit.views.list(world.shipper_actor, {"view": "all_cases", "sort": {"field": "cf:"}})
    assert "sort.field" in bad.value.errors
    # A cursor of another sort, or a forged value, is refused naming the cursor.
    query = {"view": "all_cases", "sort": {"field": "cf:goods_value"}}
    cursor = kit.views.list(world.shipper_actor, query, limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInput) as forged:
        kit.views.list(
            world.shipper_actor,
            {"view": "all_cases", "sort": {"field": "cf:dock"}},
            cursor=cursor,
        )
    assert list(forged.value.errors) == ["cursor"]


def read_csv(kit: CaseKit, actor: Actor, query: dict[str, Any]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(kit.views.export_csv(actor, query)))))


def test_the_export_holds_the_chosen_fields_the_reader_reads(kit: CaseKit, world: World) -> None:
    setup_fields(kit, world)
    numbers = open_cases(kit, world)
    sam, cal = world.shipper_actor, world.carrier_actor
    columns = ["number", "cf:po_ref", "cf:parts", "cf:goods_value", "cf:carrier.claim_due"]
    rows = {r["number"]: r for r in read_csv(kit, sam, {"view": "all_cases", "columns": columns})}
    assert list(rows[numbers[0]]) == columns
    assert rows[numbers[0]] == {
        "number": numbers[0],
        "cf:po_ref": "Blue crate",
        "cf:parts": "lid, base",
        "cf:goods_value": "250.5",
        "cf:carrier.claim_due": "2026-12-24",
    }
    # Text someone typed never runs as a formula in a spreadsheet.
    assert rows[numbers[1]]["cf:po_ref"] == "'=HYPERLINK(1)"
    assert rows[numbers[3]]["cf:po_ref"] == ""
    carrier = {
        r["number"]: r
        for r in read_csv(
            kit, cal, {"view": "all_cases", "columns": ["number", "cf:seal_ok", "cf:shipper.dock"]}
        )
    }
    assert carrier[numbers[0]] == {
        "number": numbers[0],
        "cf:seal_ok": "Yes",
        "cf:shipper.dock": "B",
    }
    # Without columns, the built-in ones only: no field's header, nobody's.
    plain = "".join(kit.views.export_csv(cal, {"view": "all_cases"}))
    assert "cf:" not in plain.splitlines()[0]
    # The shipper's private field is no column of the carrier's, not even an empty one.
    for hidden in ("cf:shipper.po_ref", "cf:po_ref"):
        with pytest.raises(InvalidInput) as refused:
            "".join(kit.views.export_csv(cal, {"view": "all_cases", "columns": [hidden]}))
        assert list(refused.value.errors) == ["columns"]
