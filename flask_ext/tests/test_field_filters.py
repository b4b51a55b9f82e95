"""Custom fields on the Case Management page: columns chosen, shown, sorted and exported,
and the filter panel's controls, which make the address the list reads (``cf``)."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import parse_qsl, urlsplit

from conftest import login

from casekit import CaseKit
from casekit.sample import World


def setup(kit: CaseKit, world: World) -> list[str]:
    mia, max_ = world.shipper_manager_actor, world.carrier_manager_actor
    kit.custom_fields.create(mia, "po_ref", "PO reference", "text")
    kit.custom_fields.create(mia, "goods_value", "Goods value", "number")
    kit.custom_fields.create(
        mia, "dock", "Dock", "choice", choices=["A", "B", "C"], visibility="shared"
    )
    kit.custom_fields.create(mia, "parts", "Parts", "multi_choice", choices=["lid", "base"])
    kit.custom_fields.create(max_, "claim_due", "Claim due", "date", visibility="shared")
    kit.custom_fields.create(max_, "seal_ok", "Seal intact", "checkbox")
    given = [
        {"po_ref": "Blue crate", "goods_value": 250, "dock": "B", "parts": ["lid", "base"]},
        {"po_ref": "@SUM(1)", "goods_value": 10, "dock": "A"},
        {},
    ]
    numbers = [
        kit.cases.open(
            world.shipper_actor, type="lost", carrier=world.carrier.id, subject="x",
            custom_fields=values,
        ).number
        for values in given
    ]  # fmt: skip
    kit.cases.change(
        world.carrier_actor, numbers[0], {"custom_fields": {"claim_due": "2026-12-24"}}
    )
    kit.cases.change(world.carrier_actor, numbers[1], {"custom_fields": {"seal_ok": True}})
    return numbers


def numbers_in(body: bytes) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="/cases/(CV\d+)"', body.decode())))


def test_fields_are_columns_sorted_and_exported_as_each_side_reads_them(kit, world, client):
    numbers = setup(kit, world)
    login(client, world.shipper_actor)
    page = client.get("/cases/?view=all_cases").data.decode()
    # The chooser offers the organization's fields and the carrier's shared one.
    offered = re.findall(r'name="column" value="(cf:[a-z_.]+)"', page)
    assert offered == ["cf:po_ref", "cf:goods_value", "cf:dock", "cf:parts", "cf:carrier.claim_due"]
    assert "Claim due (carrier)" in page
    assert "Seal intact" not in page
    chosen = client.post(
        "/cases/columns",
        data={"column": ["status", "cf:po_ref", "cf:parts", "cf:dock", "cf:carrier.claim_due"],
              "back": "view=all_cases"},
    )  # fmt: skip
    assert chosen.status_code == 302, chosen.data.decode()
    page = client.get("/cases/?view=all_cases").data.decode()
    assert page.count('<th scope="col" class="ck-col-field"') == 4
    assert ">lid, base</td>" in page
    assert ">2026-12-24</td>" in page
    assert "Claim due (carrier)" in page
    # A field's header sorts by it, A to Z first; a multi-choice field's does not.
    link = re.search(r'href="/cases/\?([^"]*sort=cf%3Adock[^"]*)"', page)
    assert link is not None
    assert "dir=asc" in link.group(1)
    assert "sort=cf%3Aparts" not in page
    by_dock = client.get("/cases/?" + link.group(1).replace("&amp;", "&"))
    assert by_dock.status_code == 200
    assert numbers_in(by_dock.data) == [numbers[1], numbers[0], numbers[2]]
    assert 'aria-sort="ascending"' in by_dock.data.decode()
    # The export: every built-in column, then the chosen fields, formula-safe.
    exported = client.get("/cases/export.csv?view=all_cases")
    assert exported.status_code == 200
    rows = {r["number"]: r for r in csv.DictReader(io.StringIO(exported.data.decode()))}
    header = exported.data.decode().splitlines()[0].split(",")
    assert header[-4:] == ["cf:po_ref", "cf:parts", "cf:dock", "cf:carrier.claim_due"]
    assert rows[numbers[0]]["cf:parts"] == "lid, base"
    assert rows[numbers[1]]["cf:po_ref"] == "'@SUM(1)"

    # The carrier: its own fields and the shipper's shared one; never a private one.
    login(client, world.carrier_actor)
    page = client.get("/cases/?view=all_cases").data.decode()
    offered = re.findall(r'name="column" value="(cf:[a-z_.]+)"', page)
    assert offered == ["cf:claim_due", "cf:seal_ok", "cf:shipper.dock"]
    refused = client.post(
        "/cases/columns",
        data={"column": ["status", "cf:shipper.po_ref"], "back": "view=all_cases"},
    )
    assert refused.status_code == 400
    assert "cf:shipper.po_ref" in refused.data.decode()
    client.post(
        "/cases/columns",
        data={"column": ["cf:seal_ok", "cf:shipper.dock"], "back": "view=all_cases"},
    )
    page = client.get("/cases/?view=all_cases&sort=cf:seal_ok&dir=desc").data.decode()
    assert numbers_in(page.encode())[0] == numbers[1]
    assert ">Yes</td>" in page
    assert "Blue crate" not in page
    assert "SUM" not in page
    exported = client.get("/cases/export.csv?view=all_cases").data.decode()
    assert exported.splitlines()[0].endswith(",cf:seal_ok,cf:shipper.dock")
    assert "po_ref" not in exported
    assert "Blue crate" not in exported
    # A sort by the shipper's private field is refused like one no field has, naming it.
    hidden = client.get("/cases/?view=all_cases&sort=cf:shipper.po_ref")
    nothing = client.get("/cases/?view=all_cases&sort=cf:shipper.nothing")
    assert hidden.status_code == nothing.status_code == 400
    assert "not a custom field you may sort the list by" in hidden.data.decode()
    assert client.get("/cases/export.csv?view=all_cases&sort=cf:shipper.po_ref").status_code == 400


def follow(client, query: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Submit the filter form's arguments; the address the page sends the browser to."""
    sent = client.get("/cases/", query_string=query)
    assert sent.status_code == 302, sent.data.decode()
    return parse_qsl(urlsplit(sent.headers["Location"]).query)


def test_the_filter_panel_controls_make_the_cf_address(kit, world, client):
    numbers = setup(kit, world)
    login(client, world.shipper_actor)
    page = client.get("/cases/?view=all_cases").data.decode()
    for control in ('name="cf.in.dock"', 'name="cf.in.parts"', 'name="cf.text.po_ref"',
                    'name="cf.op.po_ref"', 'name="cf.from.goods_value"',
                    'name="cf.to.carrier.claim_due"'):  # fmt: skip
        assert control in page
    assert 'type="date" name="cf.from.carrier.claim_due"' in page
    assert "seal_ok" not in page  # the carrier's private field

    def address(*pairs: tuple[str, str]) -> list[dict[str, object]]:
        args = follow(client, [("view", "all_cases"), *pairs])
        assert ("view", "all_cases") in args
        assert not any(key.startswith("cf.") for key, _ in args)
        return [json.loads(v) for k, v in args if k == "cf"]

    assert address(("cf.in.dock", "B"), ("cf.in.dock", "C"), ("cf.text.po_ref", "")) == [
        {"op": "in", "name": "dock", "values": ["B", "C"]}
    ]
    assert address(("cf.text.po_ref", "crate"), ("cf.op.po_ref", "contains")) == [
        {"op": "contains", "name": "po_ref", "text": "crate"}
    ]
    assert address(("cf.text.po_ref", "Blue crate"), ("cf.op.po_ref", "is")) == [
        {"op": "in", "name": "po_ref", "values": ["Blue crate"]}
    ]
    assert address(("cf.from.goods_value", "100"), ("cf.to.goods_value", "")) == [
        {"op": "between", "name": "goods_value", "from": 100}
    ]
    assert address(("cf.to.carrier.claim_due", "2026-12-31")) == [
        {"op": "between", "name": "carrier.claim_due", "to": "2026-12-31"}
    ]
    # A control of a field the reader does not read is dropped.
    assert address(("cf.text.shipper.po_ref", "crate"), ("cf.in.seal_ok", "yes")) == []

    # The address lists what it says, and the panel shows it filled in, with a chip.
    args = follow(
        client, [("view", "all_cases"), ("cf.in.dock", "B"), ("cf.from.goods_value", "5")]
    )
    listed = client.get("/cases/", query_string=args)
    assert listed.status_code == 200
    assert numbers_in(listed.data) == [numbers[0]]
    body = listed.data.decode()
    assert '<option value="B" selected>B</option>' in body
    assert 'name="cf.from.goods_value" value="5"' in body
    assert "Field Dock: B" in body
    # A filter no control shows (another operator) rides along in the form, unchanged.
    other = json.dumps({"op": "not_in", "name": "dock", "values": ["A"]})
    kept = client.get("/cases/", query_string=[("view", "all_cases"), ("cf", other)])
    assert 'type="hidden" name="cf"' in kept.data.decode()
    resent = follow(client, [("view", "all_cases"), ("cf", other), ("cf.in.dock", "C")])
    assert sorted(json.loads(v)["op"] for k, v in resent if k == "cf") == ["in", "not_in"]

    # A range that is no number is a 400 naming the filter, not a 500.
    bad = follow(client, [("view", "all_cases"), ("cf.from.goods_value", "lots")])
    refused = client.get("/cases/", query_string=bad)
    assert refused.status_code == 400
    assert "numbers or dates" in refused.data.decode()

    # The carrier filters by its checkbox, yes or no, and by the shipper's shared choice.
    login(client, world.carrier_actor)
    args = follow(client, [("view", "all_cases"), ("cf.in.seal_ok", "yes")])
    assert [json.loads(v) for k, v in args if k == "cf"] == [
        {"op": "in", "name": "seal_ok", "values": [True]}
    ]
    assert numbers_in(client.get("/cases/", query_string=args).data) == [numbers[1]]
    args = follow(client, [("view", "all_cases"), ("cf.in.shipper.dock", "B")])
    assert numbers_in(client.get("/cases/", query_string=args).data) == [numbers[0]]
    page = client.get("/cases/?view=all_cases").data.decode()
    assert "po_ref" not in page
    assert "goods_value" not in page


def test_field_columns_and_sorts_over_rest(kit, world, client):
    numbers = setup(kit, world)
    login(client, world.carrier_actor)
    put = client.put("/api/v1/views/columns", json={"columns": ["cf:seal_ok", "cf:shipper.dock"]})
    assert put.status_code == 200, put.json
    assert put.json == {"columns": ["number", "cf:seal_ok", "cf:shipper.dock"]}
    for hidden in ("cf:shipper.po_ref", "cf:shipper.nothing"):
        bad = client.put("/api/v1/views/columns", json={"columns": [hidden]})
        assert bad.status_code == 400
        assert list(bad.json["errors"]) == ["columns"]
    listed = client.get("/api/v1/cases?view=all_cases&sort=cf:shipper.dock&direction=asc")
    assert listed.status_code == 200, listed.json
    assert [c["number"] for c in listed.json["cases"]] == [numbers[1], numbers[0], numbers[2]]
    for hidden in ("cf:shipper.po_ref", "cf:shipper.nothing", "cf:bad!"):
        refused = client.get(f"/api/v1/cases?view=all_cases&sort={hidden}")
        assert refused.status_code == 400
        assert "sort.field" in refused.json["errors"]
