"""The Case Management list as an ops team works in it: columns, sort, count, chips,
known values, bulk actions; through the Flask test client, on the database under test."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from conftest import login

from casekit import Actor, ShipmentFacts
from casekit.labels import field_label
from casekit.query.listing import PAGE_COLUMNS
from casekit.sample import World


def numbers_in(body: bytes) -> list[str]:
    return re.findall(r'href="/cases/(CV\d+)"', body.decode())


def headers_of(body: bytes) -> list[str]:
    """The column headers' classes, in order (the select column first)."""
    return re.findall(r'<th scope="col" class="ck-col-([a-z_]+)"', body.decode())


def test_default_columns_and_the_column_chooser_per_saved_view(kit, world, client):
    me = world.shipper_actor
    kit.cases.open(me, type="lost", shipment="SHP-1", message="Where?")
    login(client, me)
    assert headers_of(client.get("/cases/").data) == ["select", *PAGE_COLUMNS]
    chosen = client.post(
        "/cases/columns",
        data={"column": ["status", "tracking_number", "brand"], "back": "view=all_cases"},
    )
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith("/cases/?view=all_cases")
    page = client.get("/cases/?view=all_cases")
    assert headers_of(page.data) == ["select", "number", "status", "tracking_number", "brand"]
    assert "1Z001" in page.data.decode()
    assert kit.views.columns(me) == ("number", "status", "tracking_number", "brand")
    # A saved view keeps columns of its own; the built-in views keep theirs.
    view = kit.views.save(me, "Mine", {"view": "all_cases"})
    client.post("/cases/columns", data={"column": ["owners"], "back": f"saved={view.id}"})
    assert headers_of(client.get(f"/cases/?saved={view.id}").data) == [
        "select",
        "number",
        "owners",
    ]
    assert headers_of(client.get("/cases/").data)[2] == "status"
    # Back to the default; a bad column is a 400 naming the field.
    client.post("/cases/columns", data={"reset": "1", "back": ""})
    assert headers_of(client.get("/cases/").data) == ["select", *PAGE_COLUMNS]
    bad = client.post("/cases/columns", data={"column": ["secret"], "back": "view=all_cases"})
    assert bad.status_code == 400
    assert f"<strong>{field_label('columns')}</strong>: unknown column &#39;secret&#39;" in (
        bad.data.decode()
    )


def test_sortable_headers_count_and_chips(kit, world, client):
    me = world.shipper_actor
    lost = kit.cases.open(me, type="lost", shipment="SHP-1")
    damaged = kit.cases.open(me, type="osd_damaged", shipment="SHP-2")
    third = kit.cases.open(me, type="lost", shipment="SHP-3", take_ownership=False)
    login(client, me)
    page = client.get("/cases/").data.decode()
    assert '<p class="ck-result-count" id="result-count">3 cases</p>' in page
    # Newest first by default: the Created header says so and sorts the other way.
    created = re.search(r'<th scope="col" class="ck-col-created_at"([^>]*)><a href="([^"]+)"', page)
    assert created is not None
    assert created.group(1) == ' aria-sort="descending"'
    ascending = client.get(htmllib.unescape(created.group(2)))
    assert numbers_in(ascending.data) == [lost.number, damaged.number, third.number]
    assert 'aria-sort="ascending"' in ascending.data.decode()
    number = re.search(r'<th scope="col" class="ck-col-number"([^>]*)>', page)
    assert number is not None
    assert number.group(1) == ""

    filtered = client.get(
        f"/cases/?view=all_active&type=lost&brand=Acme+Home&owner={world.shipper_agent.id}"
    )
    text = filtered.data.decode()
    assert numbers_in(filtered.data) == [lost.number]
    assert '<p class="ck-result-count" id="result-count">1 case</p>' in text
    chips = {
        htmllib.unescape(label).strip(): htmllib.unescape(href)
        for label, href in re.findall(r'<li class="ck-chip">([^<]+)<a href="([^"]+)"', text)
    }
    assert set(chips) == {"Brand: Acme Home", "Case owner: Sam Shipper", "Case type: Lost"}
    # One click removes one filter and keeps the others.
    without_owner = client.get(chips["Case owner: Sam Shipper"])
    assert set(numbers_in(without_owner.data)) == {lost.number, third.number}
    assert "Case owner: Sam Shipper" not in without_owner.data.decode()
    assert "Brand: Acme Home" in without_owner.data.decode()


def test_known_values_are_choices_of_the_viewers_own_cases(kit, world, client, shipments):
    other = World.build(kit, tag="2")
    shipments.add_shipment(
        ShipmentFacts(
            reference="X-1",
            shipper="acme2",
            carrier="fast2",
            brand="Secret Brand",
            region="North",
            customer_segment="Wholesale",
        )
    )
    kit.cases.open(other.shipper_actor, type="lost", shipment="X-1", carrier=other.carrier.id)
    kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1", carrier=world.carrier.id)
    shipments.add_shipment(ShipmentFacts(reference="OWN-1", shipper="acme", brand="Acme Trail"))
    kit.cases.open(world.shipper_actor, type="lost", shipment="OWN-1")
    login(client, world.shipper_actor)
    page = client.get("/cases/?brand=Acme+Trail").data.decode()
    brand = re.search(r'<select id="f-brand"[^>]*>(.*?)</select>', page, re.S)
    assert brand is not None
    assert re.findall(r'<option value="([^"]+)"', brand.group(1)) == ["Acme Home", "Acme Trail"]
    assert '<option value="Acme Trail" selected>' in brand.group(1)
    assert "Secret Brand" not in page
    assert "comma separated" not in page
    # The carrier knows the brands of its own cases only.
    login(client, world.carrier_actor)
    page = client.get("/cases/").data.decode()
    brand = re.search(r'<select id="f-brand"[^>]*>(.*?)</select>', page, re.S)
    assert brand is not None
    assert re.findall(r'<option value="([^"]+)"', brand.group(1)) == ["Acme Home"]
    login(client, other.carrier_actor)
    page = client.get("/cases/").data.decode()
    assert "Secret Brand" in page
    assert "Acme Home" not in page
    region = re.search(r'<select id="f-region"[^>]*>(.*?)</select>', page, re.S)
    assert region is not None
    assert ">North</option>" in region.group(1)


def _bulk(client, numbers, action, back="view=all_cases"):
    return client.post("/cases/bulk", data={"case": numbers, "action": action, "back": back})


def test_bulk_actions_go_through_the_services_one_case_at_a_time(kit, world, client):
    me = world.shipper_actor
    first = kit.cases.open(me, type="lost", shipment="SHP-1")
    second = kit.cases.open(me, type="lost", shipment="SHP-2", take_ownership=False)
    rows = [f"{first.number}:{first.version}", f"{second.number}:{second.version}"]
    login(client, me)
    done = _bulk(client, rows, f"owner:{world.shipper_manager.id}")
    assert done.status_code == 302
    assert done.headers["Location"].endswith("?view=all_cases")
    for number in (first.number, second.number):
        assert kit.cases.get(me, number).shipper_owner_id == world.shipper_manager.id
        events = [e for e in kit.cases.timeline(me, number) if e.kind.value == "event"]
        # Audited as one at a time: an owner event by the acting user.
        assert (events[-1].event.value, events[-1].user_id) == (
            "owner_changed",
            world.shipper_agent.id,
        )
    page = client.get("/cases/?view=all_cases").data.decode()
    assert f"Set owner: done on 2 cases ({first.number}, {second.number})." in page

    # Versions read with the list: a case changed since is left as it is, the others go on.
    current = [kit.cases.get(me, n) for n in (first.number, second.number)]
    kit.cases.change_status(world.shipper_manager_actor, first.number, "waiting")
    rows = [f"{c.number}:{c.version}" for c in current]
    _bulk(client, rows, "status:open")
    assert kit.cases.get(me, first.number).status.value == "waiting"
    assert kit.cases.get(me, second.number).status.value == "open"
    page = client.get("/cases/?view=all_cases").data.decode()
    assert f"{first.number}: someone else changed it after the list was loaded" in page
    assert f"Set status: done on 1 case ({second.number})." in page

    _bulk(client, [first.number, second.number], "watch:me")
    assert world.shipper_agent.id in kit.cases.get(me, second.number).watcher_ids
    _bulk(client, [first.number, second.number], "solve")
    assert {kit.cases.get(me, n).status.value for n in (first.number, second.number)} == {"solved"}


def test_bulk_watcher_removal_checks_versions_and_tells_refusals(kit, world, client):
    me, manager = world.shipper_actor, world.shipper_manager_actor
    cases = [kit.cases.open(me, type="lost", shipment=f"SHP-{i}") for i in (1, 2, 3)]
    for case in cases:
        kit.cases.watch(me, case.number)
        kit.cases.watch(manager, case.number)
    first, second, third = (kit.cases.get(me, c.number) for c in cases)
    kit.cases.change_status(manager, first.number, "waiting")  # after the list was read
    login(client, me)
    rows = [f"{c.number}:{c.version}" for c in (first, second, third)]
    assert _bulk(client, rows, "unwatch:me").status_code == 302
    watching = {c.number: kit.cases.get(me, c.number).watcher_ids for c in cases}
    assert world.shipper_agent.id in watching[first.number]
    assert world.shipper_agent.id not in watching[second.number]
    assert world.shipper_agent.id not in watching[third.number]
    page = client.get("/cases/?view=all_cases").data.decode()
    assert f"{first.number}: someone else changed it after the list was loaded" in page
    assert f"Remove watcher: done on 2 cases ({second.number}, {third.number})." in page
    events = [e for e in kit.cases.timeline(me, second.number) if e.kind.value == "event"]
    assert (events[-1].event.value, events[-1].user_id) == (
        "watcher_removed",
        world.shipper_agent.id,
    )
    # Removing a colleague takes a manager: not offered, and refused in words; the watcher stays.
    assert f'value="unwatch:{world.shipper_manager.id}"' not in page
    _bulk(client, [second.number], f"unwatch:{world.shipper_manager.id}")
    assert world.shipper_manager.id in kit.cases.get(me, second.number).watcher_ids
    page = client.get("/cases/?view=all_cases").data.decode()
    assert "Remove watcher: not done on 1 case." in page
    assert "only the watcher themselves or a manager may remove a watcher" in page
    login(client, manager)
    assert f'value="unwatch:{world.shipper_agent.id}"' in client.get("/cases/").data.decode()
    _bulk(client, [first.number, second.number], f"unwatch:{world.shipper_agent.id}")
    assert world.shipper_agent.id not in kit.cases.get(me, first.number).watcher_ids


def test_bulk_refusals_are_told_per_case_in_plain_words(kit, world, client):
    mine = kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    other = World.build(kit, tag="2")
    theirs = kit.cases.open(other.shipper_actor, type="lost")
    login(client, world.carrier_actor)
    # The carrier may not hand the shipper's case to one of its own users, nor see the other.
    _bulk(client, [mine.number, theirs.number], f"owner:{world.shipper_manager.id}")
    page = client.get("/cases/?view=all_cases").data.decode()
    assert f"{theirs.number}: no such case among yours." in page
    assert f"{mine.number}:" in page
    assert "Set owner: not done on 2 cases." in page
    assert kit.cases.get(Actor.host(), theirs.number).shipper_owner_id == other.shipper_agent.id


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"action": "solve"}, "case"),
        ({"case": "CV1", "action": "explode"}, "action"),
        ({"case": "CV1", "action": "status:bogus"}, "action"),
        ({"case": "CV1", "action": "owner:x"}, "action"),
        ({"case": "CV1", "action": "unwatch:x"}, "action"),
        ({"case": "CV1:x", "action": "solve"}, "case"),
    ],
)
def test_a_bad_bulk_form_is_a_400_naming_the_field(world, client, form, field):
    login(client, world.shipper_actor)
    answer = client.post("/cases/bulk", data={**form, "back": "view=all_cases"})
    assert answer.status_code == 400
    assert f"<strong>{field_label(field)}</strong>:" in answer.data.decode()


def test_the_list_forms_need_the_csrf_token(kit, world):
    from conftest import make_app

    app = make_app(kit)  # CSRF checked
    client = app.test_client()
    case = kit.cases.open(world.shipper_actor, type="lost", take_ownership=False)
    login(client, world.shipper_actor)
    refused = client.post("/cases/bulk", data={"case": case.number, "action": "owner:me"})
    assert refused.status_code == 400
    assert kit.cases.get(world.shipper_actor, case.number).shipper_owner_id is None
    assert client.post("/cases/columns", data={"column": "status"}).status_code == 400
    page = client.get("/cases/").data.decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    taken = client.post(
        "/cases/bulk",
        data={"case": case.number, "action": "owner:me", "csrf_token": token.group(1)},
    )
    assert taken.status_code == 302
    assert kit.cases.get(world.shipper_actor, case.number).shipper_owner_id is not None


def test_columns_and_known_values_over_rest(kit, world, client):
    kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-2")
    login(client, world.shipper_actor)
    assert client.get("/api/v1/views/columns").json == {"columns": list(PAGE_COLUMNS)}
    put = client.put("/api/v1/views/columns", json={"columns": ["status", "brand"]})
    assert put.status_code == 200, put.json
    assert put.json == {"columns": ["number", "status", "brand"]}
    assert client.get("/api/v1/views/columns").json["columns"] == ["number", "status", "brand"]
    bad = client.put("/api/v1/views/columns", json={"columns": ["nope"]})
    assert bad.status_code == 400
    assert "columns" in bad.json["errors"]
    view = kit.views.save(world.shipper_actor, "V", {})
    client.put(f"/api/v1/views/{view.id}/columns", json={"columns": ["owners"]})
    assert client.get(f"/api/v1/views/{view.id}/columns").json == {"columns": ["number", "owners"]}
    assert client.put("/api/v1/views/columns", json={"columns": None}).json == {
        "columns": list(PAGE_COLUMNS)
    }
    known = client.get("/api/v1/views/known/brand")
    assert known.json == {"field": "brand", "values": ["Acme Trail"]}
    assert client.get("/api/v1/views/known/subject").status_code == 400


def test_known_values_are_kept_per_organization_until_they_expire(
    kit, world, shipments, monkeypatch
):
    from casekit_flask.extension import KnownValuesCache

    ticks = [0.0]
    cache = KnownValuesCache(kit, 60, clock=lambda: ticks[0])
    kit.cases.open(world.shipper_actor, type="lost", shipment="SHP-1")
    reads: list[Actor] = []
    read = kit.views.known_values

    def counted(actor, field):
        reads.append(actor)
        return read(actor, field)

    monkeypatch.setattr(kit.views, "known_values", counted)
    assert cache.get(world.shipper_actor, "brand") == ["Acme Home"]
    assert cache.get(world.shipper_manager_actor, "brand") == ["Acme Home"]  # its organization's
    assert cache.get(world.carrier_actor, "brand") == ["Acme Home"]
    assert len(reads) == 2
    shipments.add_shipment(ShipmentFacts(reference="N-1", shipper="acme", brand="New Brand"))
    kit.cases.open(world.shipper_actor, type="lost", shipment="N-1")
    assert cache.get(world.shipper_manager_actor, "brand") == ["Acme Home"]  # kept
    ticks[0] = 61.0  # until the values expire
    assert cache.get(world.shipper_manager_actor, "brand") == ["Acme Home", "New Brand"]
    assert cache.get(world.carrier_actor, "brand") == ["Acme Home"]  # N-1 has no carrier
    assert len(reads) == 4


def test_search_box_finds_words_with_snippets_and_says_where_it_looked(kit, world, client):
    me, carrier = world.shipper_actor, world.carrier_actor
    number = kit.cases.open(
        me,
        type="osd_damaged",
        carrier=world.carrier.id,
        shipment="SHP-1",
        message="The forklift <b>pierced</b> two cartons",
    ).number
    kit.messages.post(me, number, "Refund them quietly", audience="internal")
    login(client, me)
    page = client.get("/cases/?view=all_cases&q=pierced+cartons")
    assert numbers_in(page.data) == [number]
    text = page.data.decode()
    # The words marked in the text, the text escaped.
    assert "<mark>pierced</mark>" in text
    assert "&lt;b&gt;" in text
    # By an identifier's start, in any case: no snippet.
    page = client.get("/cases/?view=all_cases&q=shp-")
    assert numbers_in(page.data) == [number]
    assert 'class="ck-snippet-row"' not in page.data.decode()
    # Nothing: where it looked.
    empty = client.get("/cases/?view=all_cases&q=xyzzy").data.decode()
    assert numbers_in(empty.encode()) == []
    assert "No cases match “xyzzy” in case numbers, order, PO, reference, RA" in empty
    assert "messages, attachment names and customers you can read" in empty
    # The other side's internal note finds nothing, and shows in no snippet.
    login(client, carrier)
    assert numbers_in(client.get("/cases/?view=all_cases&q=refund").data) == []
    assert "quietly" not in client.get("/cases/?view=all_cases&q=cartons").data.decode()


#: A session's own read of the acting user (casekit.store.acting).
USER_CHECK = re.compile(r"\ASELECT casekit_users\.active\s+FROM casekit_users\s+WHERE")


def test_the_page_reads_its_parts_in_one_transaction(kit, world, client):
    """The list, its columns, the colleagues, partners, tags, saved views and
    canned replies: read in one session (kit.sharing_reads), not one each."""
    from sqlalchemy import event

    me = world.shipper_actor
    kit.cases.open(me, type="lost", shipment="SHP-1", message="Where?")
    kit.views.save(me, "Mine", {"view": "all_cases"})
    kit.tags.create(world.shipper_manager_actor, name="Urgent freight")
    login(client, me)
    client.get("/cases/")  # the counts and known values, cached from here on
    checks: list[str] = []
    checkouts: list[int] = []

    def statement(_conn, _cursor, text, *_args):
        if USER_CHECK.search(text):
            checks.append(text)

    def checkout(*_args):
        checkouts.append(1)

    event.listen(kit.engine, "before_cursor_execute", statement)
    event.listen(kit.engine.pool, "checkout", checkout)
    try:
        page = client.get("/cases/")
    finally:
        event.remove(kit.engine, "before_cursor_execute", statement)
        event.remove(kit.engine.pool, "checkout", checkout)
    assert page.status_code == 200
    body = page.data.decode()
    assert "Urgent freight" in body
    assert ">Mine <" in body
    assert len(numbers_in(page.data)) == 1
    # One connection; the identity loader's read of the user is the check.
    assert len(checkouts) == 1
    assert checks == []
