"""Service-level clocks where people work: the list's Due column, due filters and sort,
the Due Soon view, the case page's clocks and the REST list; through the Flask test
client, on the database under test (casekit_flask.clocks)."""

from __future__ import annotations

import html as htmllib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import login

from casekit import Audience, Side
from casekit.domain.sla import ClockKind, ClockState, DueState
from casekit.query.models import ClockView
from casekit_flask import clocks

HOUR = 3600
EVERY_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def numbers_in(body: bytes) -> list[str]:
    return re.findall(r'href="/cases/(CV\d+)"', body.decode())


def headers_of(body: bytes) -> list[str]:
    return re.findall(r'<th scope="col" class="ck-col-([a-z_]+)"', body.decode())


def due_cells(body: bytes) -> list[str]:
    """The text of each row's Due cell, tags taken out, spaces squeezed."""
    cells = re.findall(r'<td class="ck-col-due"[^>]*>(.*?)</td>', body.decode(), re.S)
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells]


def clock_lines(body: bytes) -> list[str]:
    found = re.search(r'<ul class="ck-clocks"[^>]*>(.*?)</ul>', body.decode(), re.S)
    if found is None:
        return []
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [" ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", i)).split()) for i in items]


@pytest.fixture
def answer_in_four_hours(kit, world) -> str:
    """The carrier answers first within 4 h (warned 1 h before); one case, opened
    Monday 5 January 09:00 UTC by the shipper."""
    kit.service_levels.save_target(
        world.carrier_manager_actor,
        {"name": "Answer", "first_response": 4 * HOUR, "warn_before": HOUR},
    )
    return kit.cases.open(
        world.shipper_actor,
        type="osd_damaged",
        shipment="SHP-1",
        message="Pallet arrived crushed.",
        audience=Audience.PARTNERS,
    ).number


def test_the_due_soon_view_shows_the_due_column_soonest_first(
    kit, world, client, answer_in_four_hours
):
    number = answer_in_four_hours
    login(client, world.carrier_actor)
    page = client.get("/cases/?view=due_soon")
    assert page.status_code == 200
    text = page.data.decode()
    assert '<h1 id="list-title">Due Soon</h1>' in text
    assert numbers_in(page.data) == []
    assert re.search(r'href="/cases/\?view=due_soon"[^>]*>Due Soon <span class="ck-count"', text)
    # Its own order: soonest due first, which the sort controls show.
    # The view's own order is sent as no sort (a search typed later is listed best match
    # first), and shown as its key and direction.
    assert re.search(r'<option value="" selected>Due</option>', text)
    assert re.search(r'<option value="asc" selected>soonest first</option>', text)
    assert re.search(r'<option value="asc" selected>soonest first</option>', text)
    assert '<option value="desc" >latest first</option>' in text
    # Sorted by a time that has passed, the words are newest and oldest.
    created = client.get("/cases/?view=all_cases&sort=created_at&dir=asc").data.decode()
    assert '<option value="asc" selected>oldest first</option>' in created
    assert headers_of(page.data)[:4] == ["select", "number", "status", "due"]

    kit.clock.advance(hours=3, minutes=30)  # the warning has come
    page = client.get("/cases/?view=due_soon")
    assert numbers_in(page.data) == [number]
    # Counted anew though no case changed (the badge counts are kept a while).
    assert '<p class="ck-result-count" id="result-count">1 case</p>' in page.data.decode()
    assert re.search(
        r'view=due_soon"[^>]*>Due Soon <span class="ck-count" aria-label="1 cases">1</span>',
        page.data.decode(),
    )
    assert due_cells(page.data) == ["Due soon Mon 5 Jan 13:00 UTC in 30 min"]
    assert 'data-style="zoned"' in page.data.decode()  # the script leaves it as written
    # The header sorts by due time, the other way round now.
    header = re.search(
        r'<th scope="col" class="ck-col-due"([^>]*)><a href="([^"]+)"', page.data.decode()
    )
    assert header is not None
    assert header.group(1) == ' aria-sort="ascending"'
    assert "sort=due_at&amp;dir=desc" in header.group(2)
    # The other views show the column only when chosen.
    assert "due" not in headers_of(client.get("/cases/?view=all_cases").data)

    kit.clock.advance(hours=1)
    assert due_cells(client.get("/cases/?view=due_soon").data) == [
        "Breached Mon 5 Jan 13:00 UTC 30 min ago"
    ]


def test_the_due_filters_chips_and_a_bad_value(kit, world, client, answer_in_four_hours):
    number = answer_in_four_hours
    login(client, world.carrier_actor)
    panel = client.get("/cases/?view=all_cases").data.decode()
    for value, words in (
        ("on_track", "On track"),
        ("due_soon", "Due soon"),
        ("breached", "Breached"),
        ("none", "No running clock"),
    ):
        assert f'name="due_state" value="{value}" > {words}</label>' in panel
    assert 'name="due_at_from"' in panel
    assert 'name="due_at_to"' in panel

    kit.clock.advance(hours=3, minutes=30)
    due_soon = client.get("/cases/?view=all_cases&due_state=due_soon")
    assert numbers_in(due_soon.data) == [number]
    assert "Due: Due soon" in due_soon.data.decode()  # its chip
    assert numbers_in(client.get("/cases/?view=all_cases&due_state=breached").data) == []
    not_due = client.get("/cases/?view=all_cases&due_state=on_track&due_state_op=not_in")
    assert numbers_in(not_due.data) == [number]
    assert "Due is not: On track" in not_due.data.decode()
    assert numbers_in(client.get("/cases/?view=all_cases&due_at_from=2026-01-05").data) == [number]
    assert numbers_in(client.get("/cases/?view=all_cases&due_at_to=2026-01-05").data) == []

    bad = client.get("/cases/?view=all_cases&due_state=late")
    assert bad.status_code == 400
    assert "unknown due_state late" in htmllib.unescape(bad.data.decode())
    # The shipper has no target: none of its cases is due.
    login(client, world.shipper_actor)
    assert numbers_in(client.get("/cases/?view=due_soon").data) == []
    assert numbers_in(client.get("/cases/?view=all_cases&due_state=none").data) == [number]


def test_a_saved_due_view_keeps_its_order(kit, world, client, answer_in_four_hours):
    login(client, world.carrier_actor)
    saved = kit.views.save(world.carrier_actor, "Due", {"view": "due_soon"})
    kit.clock.advance(hours=3, minutes=30)
    page = client.get(f"/cases/?saved={saved.id}")
    assert numbers_in(page.data) == [answer_in_four_hours]
    text = page.data.decode()
    assert re.search(r'<option value="" selected>Due</option>', text)
    assert re.search(r'<option value="asc" selected>soonest first</option>', text)


def test_the_case_page_shows_the_viewers_clocks_in_their_time_zone(
    kit, world, client, answer_in_four_hours
):
    number = answer_in_four_hours
    login(client, world.carrier_actor)
    assert clock_lines(client.get(f"/cases/{number}").data) == [
        "On track First response due Mon 5 Jan 13:00 UTC — in 4 h"
    ]
    kit.service_levels.set_calendar(
        world.carrier_manager_actor,
        {"time_zone": "America/New_York", "hours": EVERY_DAY},
        partner_org_id=world.shipper.id,
    )
    kit.clock.advance(hours=4, minutes=25)
    assert clock_lines(client.get(f"/cases/{number}").data) == [
        "Breached First response was due Mon 5 Jan 08:00 EST — breached 25 min ago"
    ]
    # The shipper sees none of the carrier's clocks: it does not share them.
    login(client, world.shipper_actor)
    assert clock_lines(client.get(f"/cases/{number}").data) == []
    assert 'class="ck-clocks"' not in client.get(f"/cases/{number}").data.decode()
    kit.service_levels.set_calendar(
        world.carrier_manager_actor,
        {"time_zone": "America/New_York", "hours": EVERY_DAY},
        partner_org_id=world.shipper.id,
        share_clocks=True,
    )
    assert clock_lines(client.get(f"/cases/{number}").data) == [
        "Breached Carrier's first response was due Mon 5 Jan 08:00 EST — breached 25 min ago"
    ]
    kit.messages.post(world.carrier_actor, number, body="Sorry.", audience=Audience.PARTNERS)
    login(client, world.carrier_actor)
    assert clock_lines(client.get(f"/cases/{number}").data) == [
        "Breached First response breached at Mon 5 Jan 08:00 EST, ended Mon 5 Jan 08:25 EST"
    ]


def test_the_rest_list_reads_the_due_view_filters_and_sort(
    kit, world, client, answer_in_four_hours
):
    number = answer_in_four_hours
    key = kit.api_keys.create(
        world.carrier_manager_actor, org_id=world.carrier.id, name="TMS", scope="read"
    ).token
    auth = {"Authorization": f"Bearer {key}"}
    kit.clock.advance(hours=3, minutes=30)
    page = client.get("/api/v1/cases?view=due_soon", headers=auth)
    assert page.status_code == 200, page.json
    (row,) = page.json["cases"]
    assert row["number"] == number
    assert row["due_state"] == "due_soon"
    assert datetime.fromisoformat(row["due_at"]) == datetime(2026, 1, 5, 13, tzinfo=UTC)
    assert row["due_time_zone"] == "UTC"
    flt = json.dumps([{"field": "due_state", "op": "in", "value": ["breached"]}])
    query = {"view": "all_cases", "filters": flt, "sort": "due_at", "direction": "asc"}
    assert client.get("/api/v1/cases", query_string=query, headers=auth).json["cases"] == []
    bad = json.dumps([{"field": "due_state", "op": "in", "value": ["late"]}])
    refused = client.get("/api/v1/cases", query_string={"filters": bad}, headers=auth)
    assert refused.status_code == 400
    assert "filters.0.value" in refused.json["errors"]
    # The shipper's key reads the shipper's side: no clock runs there.
    shipper_key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="ERP", scope="read"
    ).token
    mine = client.get(
        "/api/v1/cases?view=all_cases", headers={"Authorization": f"Bearer {shipper_key}"}
    )
    assert [(r["due_at"], r["due_state"]) for r in mine.json["cases"]] == [(None, None)]


# -- the words ------------------------------------------------------------------------


def _clock(**values) -> ClockView:
    base = {
        "side": Side.CARRIER,
        "org_id": 2,
        "kind": ClockKind.RESOLUTION,
        "target_id": 1,
        "target_name": "Answer",
        "target_seconds": 8 * HOUR,
        "state": ClockState.RUNNING,
        "due_state": DueState.ON_TRACK,
        "started_at": datetime(2026, 12, 4, 21, 55, tzinfo=UTC),
        "stopped_at": None,
        "due_at": datetime(2026, 12, 7, 16, 55, tzinfo=UTC),
        "warn_at": None,
        "breached_at": None,
        "elapsed_seconds": 0,
        "time_zone": "America/New_York",
    }
    return ClockView(**{**base, **values})


def test_the_words_of_a_clock():
    now = datetime(2026, 12, 7, 14, 50, tzinfo=UTC)
    assert clocks.zoned(datetime(2026, 12, 7, 16, 55, tzinfo=UTC), "America/New_York") == (
        "Mon 7 Dec 11:55 EST"
    )
    assert clocks.zoned(datetime(2026, 7, 6, 15, 55, tzinfo=UTC), "America/New_York") == (
        "Mon 6 Jul 11:55 EDT"
    )
    assert clocks.zoned(datetime(2026, 7, 6, 15, 55, tzinfo=UTC), "No/Such_Zone") == (
        "Mon 6 Jul 15:55 UTC"
    )

    def words(markup) -> str:
        return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", str(markup))).split())

    assert words(clocks.clock_line(_clock(), now)) == (
        "Resolution due Mon 7 Dec 11:55 EST — in 2 h 5 min"
    )
    assert words(clocks.clock_line(_clock(), now, own=False)) == (
        "Carrier's resolution due Mon 7 Dec 11:55 EST — in 2 h 5 min"
    )
    paused = _clock(state=ClockState.PAUSED, due_at=None, elapsed_seconds=HOUR + 600)
    assert words(clocks.clock_line(paused, now)) == (
        "Resolution paused — 6 h 50 min of working time left"
    )
    met = _clock(state=ClockState.STOPPED, stopped_at=now, due_at=None)
    assert words(clocks.clock_line(met, now)) == "Resolution met Mon 7 Dec 09:50 EST"
    assert clocks.relative(now + timedelta(days=2, hours=19, minutes=3), now) == "in 2 d 19 h"
    assert clocks.relative(now + timedelta(seconds=30), now) == "in less than a minute"
    assert clocks.relative(now - timedelta(seconds=30), now) == "now"
    assert clocks.relative(now - timedelta(hours=3), now) == "3 h ago"
    assert clocks.span(86400) == "1 d"
    assert words(clocks.due_cell(None, None, None, now)) == "—"
    badge = str(clocks.state_badge(DueState.BREACHED))
    assert badge == '<span class="ck-due-state ck-due-breached">Breached</span>'
