"""The dashboard pages through the Flask test client, on every database under test.

The story (times UTC; New York moved from UTC-5 to UTC-4 on 2026-03-08):

- A, 03-07 06:00: Sam (shipper) opens it (lost, carrier Fast, brand Acme Home);
  Cal (carrier) answers at 06:30; Sam solves it at 08:00.
- B, 03-08 04:59 (03-07 23:59 in New York): Sam opens it (where_is_my_order,
  brand Acme Trail, no carrier) and takes it.
- C, 03-09 04:30: Cal opens it for the shipper (osd_damaged, brand Acme Home).
- O, 03-09 06:00: another shipper's case with carrier Fast.

Now is 03-10 07:00; the page covers 03-07 to 03-09.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from conftest import login

from casekit import Actor, CaseKit, ShipmentFacts
from casekit.clock import FrozenClock
from casekit.labels import field_label
from casekit.testing import World

NY = "America/New_York"
RANGE = f"from=2026-03-07&to=2026-03-09&timezone={NY}"
DRILL = re.compile(r'href="([^"]+)" data-ck-drill="(\d+)"')
LISTED = re.compile(r'<td[^>]*><a href="/cases/([^"/?]+)">\1</a>')


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def tell_story(kit: CaseKit, world: World, actors: dict[str, Actor]) -> dict[str, str]:
    """The cases of the module's story; returns their numbers by letter."""
    clock = kit.clock
    assert isinstance(clock, FrozenClock)

    def move(moment: datetime) -> None:
        clock.advance(moment - clock.now())

    sam, cal = world.shipper_actor, world.carrier_actor
    made: dict[str, str] = {}
    move(at(7, 6))
    made["A"] = kit.cases.open(
        sam,
        type="lost",
        carrier=world.carrier.id,
        message="Where is it?",
        shipment=ShipmentFacts(reference="S-A", carrier="fast", brand="Acme Home"),
    ).number
    move(at(7, 6, 30))
    kit.messages.post(cal, made["A"], "On its way")
    move(at(7, 8))
    kit.cases.solve(sam, made["A"])
    move(at(8, 4, 59))
    made["B"] = kit.cases.open(
        sam,
        type="where_is_my_order",
        message="Checking",
        shipment=ShipmentFacts(reference="S-B", brand="Acme Trail"),
    ).number
    kit.cases.take(sam, made["B"])
    move(at(9, 4, 30))
    made["C"] = kit.cases.open(
        cal,
        type="osd_damaged",
        shipper=world.shipper.id,
        message="Crushed crate",
        shipment=ShipmentFacts(reference="S-C", carrier="fast", brand="Acme Home"),
    ).number
    move(at(9, 6))
    made["O"] = kit.cases.open(
        actors["other_shipper"], type="lost", carrier=world.carrier.id, message="Gone"
    ).number
    move(at(10, 7))
    return made


@pytest.fixture
def story(kit, world, actors):
    return tell_story(kit, world, actors)


def totals(client: Any, query: str = RANGE) -> dict[str, int]:
    response = client.get(f"/cases/dashboard.json?{query}")
    assert response.status_code == 200, response.data[:400]
    data = response.get_json()
    volume = next(s for s in data["sections"] if s["name"] == "volume")
    return {t["key"]: t["count"] for t in volume["totals"]}


def table(client: Any, name: str, query: str = RANGE) -> dict[str, int]:
    data = client.get(f"/cases/dashboard.json?{query}").get_json()
    rows = next(t for s in data["sections"] for t in s["tables"] if t["name"] == name)["rows"]
    return {row["label"]: row["count"] for row in rows}


def figure(html: str, name: str) -> str:
    """The HTML of one table's figure (its chart and its table)."""
    start = html.index(f'id="table-{name}"')
    return html[start : html.index("</figure>", start)]


def listed(client: Any, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.data[:600])
    return set(LISTED.findall(response.get_data(as_text=True)))


def test_the_page_shows_every_section_with_charts_and_tables(client, world, story):
    login(client, world.shipper_actor)
    response = client.get(f"/cases/dashboard?{RANGE}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for section in ("volume", "speed", "load", "aging", "targets"):
        assert f'id="section-{section}"' in html
    assert html.count("<svg") >= 10
    assert 'role="group"' in html  # a chart with drill-down links
    assert "<caption>Cases opened" in html
    assert '<th scope="col">Period</th>' in html
    assert "cdn" not in html.lower()
    assert "Days in <strong>America/New_York</strong>" in html
    # A customer's or another party's case never shows up.
    assert story["O"] not in html
    # Each chart's bars link to the list, like the numbers beside it.
    svg_links = {unescape(h) for h in re.findall(r'<a href="([^"]+)"><g>', html)}
    number_links = {unescape(h) for h, _ in DRILL.findall(html)}
    assert svg_links
    assert svg_links <= number_links


def test_days_are_the_viewers_time_zones(client, world, story):
    login(client, world.shipper_actor)
    # B was opened 03-08 04:59 UTC: 03-07 in New York, 03-08 in UTC (the default).
    assert table(client, "opened") == {"2026-03-07": 2, "2026-03-08": 0, "2026-03-09": 1}
    ny = client.get(f"/cases/dashboard.json?{RANGE}").get_json()
    utc = client.get("/cases/dashboard.json?from=2026-03-07&to=2026-03-09").get_json()
    assert ny["query"]["timezone"] == NY
    assert utc["query"]["timezone"] == "UTC"

    def opened(data):
        rows = next(t for s in data["sections"] for t in s["tables"] if t["name"] == "opened")
        return [row["count"] for row in rows["rows"]]

    assert opened(ny) == [2, 0, 1]
    assert opened(utc) == [1, 1, 1]


def test_the_default_range_is_the_last_30_days(client, world, story):
    login(client, world.shipper_actor)
    data = client.get("/cases/dashboard.json").get_json()
    assert data["query"]["from"] == "2026-02-09"
    assert data["query"]["to"] == "2026-03-10"
    assert data["query"]["timezone"] == "UTC"


def test_filters_narrow_every_number(client, world, story):
    login(client, world.shipper_actor)
    assert totals(client) == {"opened": 3, "solved": 1, "active": 2}
    assert totals(client, f"{RANGE}&brand=Acme+Home") == {"opened": 2, "solved": 1, "active": 1}
    assert totals(client, f"{RANGE}&type=lost&type=osd_damaged") == {
        "opened": 2,
        "solved": 1,
        "active": 1,
    }
    assert totals(client, f"{RANGE}&carrier={world.carrier.id}")["opened"] == 2
    assert totals(client, f"{RANGE}&owner={world.shipper_actor.user_id}")["active"] == 1
    assert totals(client, f"{RANGE}&source=api")["opened"] == 0
    page = client.get(f"/cases/dashboard?{RANGE}&brand=Acme+Home&type=lost")
    html = page.get_data(as_text=True)
    assert 'value="Acme Home"' in html
    assert '<option value="lost" selected>' in html
    # The CSV and JSON links carry every filter value, each number its own.
    two = f"{RANGE}&type=lost&type=osd_damaged"
    html = client.get(f"/cases/dashboard?{two}").get_data(as_text=True)
    csv_link = unescape(re.search(r'href="(/cases/dashboard/opened\.csv[^"]*)"', html).group(1))
    json_link = unescape(re.search(r'href="(/cases/dashboard\.json[^"]*)"', html).group(1))
    rows = list(csv.DictReader(io.StringIO(client.get(csv_link).get_data(as_text=True))))
    assert [row["count"] for row in rows] == ["1", "0", "1"]
    assert client.get(json_link).get_json()["query"]["filters"] == {"type": ["lost", "osd_damaged"]}
    weekly = client.get(f"/cases/dashboard.json?{RANGE}&granularity=week").get_json()
    assert weekly["query"]["granularity"] == "week"
    weeks = next(t for s in weekly["sections"] for t in s["tables"] if t["name"] == "opened")
    # Weeks start on Monday: Sat 03-07 and Sun 03-08 (A, B), then Mon 03-09 (C).
    assert [row["count"] for row in weeks["rows"]] == [2, 1]


def test_a_carriers_dashboard_counts_only_its_cases(client, world, actors, story):
    login(client, world.carrier_actor)
    # A, C and the other shipper's O; not B (no carrier).
    assert totals(client) == {"opened": 3, "solved": 1, "active": 2}
    assert table(client, "backlog_by_shipper") == {"Acme Goods": 1, "Other Goods": 1}
    login(client, actors["other_carrier"])
    assert totals(client) == {"opened": 0, "solved": 0, "active": 0}
    html = client.get(f"/cases/dashboard?{RANGE}").get_data(as_text=True)
    for number in story.values():
        assert number not in html


def test_every_drill_down_lists_exactly_the_counted_cases(client, kit, world, story):
    kit.service_levels.save_target(
        world.shipper_manager_actor, {"name": "All", "first_response": 60, "resolution": 86400}
    )
    for actor in (world.shipper_actor, world.carrier_actor):
        login(client, actor)
        html = client.get(f"/cases/dashboard?{RANGE}").get_data(as_text=True)
        links = DRILL.findall(html)
        assert len(links) >= 30
        for href, count in links:
            assert len(listed(client, unescape(href))) == int(count), href
    # And exactly those cases: New York's 03-07 is A and B, its 03-09 is C.
    login(client, world.shipper_actor)
    data = client.get(f"/cases/dashboard.json?{RANGE}").get_json()
    rows = next(t for s in data["sections"] for t in s["tables"] if t["name"] == "opened")["rows"]
    html = client.get(f"/cases/dashboard?{RANGE}").get_data(as_text=True)
    urls = [unescape(h) for h, _ in DRILL.findall(html)]
    # The page's first three links are the totals: opened, solved, active.
    assert listed(client, urls[0]) == {story["A"], story["B"], story["C"]}
    assert listed(client, urls[1]) == {story["A"]}
    assert listed(client, urls[2]) == {story["B"], story["C"]}
    days = [unescape(h) for h, _ in DRILL.findall(figure(html, "opened"))]
    assert [row["count"] for row in rows] == [2, 0, 1]
    assert len(days) == 3
    assert listed(client, days[0]) == {story["A"], story["B"]}
    assert listed(client, days[1]) == set()
    assert listed(client, days[2]) == {story["C"]}
    by_type = {
        unescape(label): unescape(h)
        for label, h in re.findall(
            r'<th scope="row">([^<]+)</th><td class="ck-num"><a href="([^"]+)"',
            figure(html, "backlog_by_type"),
        )
    }
    assert listed(client, by_type[kit.case_types["where_is_my_order"].label]) == {story["B"]}
    assert listed(client, by_type[kit.case_types["osd_damaged"].label]) == {story["C"]}
    # The breaching case's link lists that case; the breach counts list the breached.
    breach = re.search(r'<th scope="row"><a href="([^"]+)" data-ck-drill="1">(\w+)</a>', html)
    assert breach is not None
    assert listed(client, unescape(breach.group(1))) == {breach.group(2)}
    # C owes the shipper's first answer (1 min) since 03-09 04:30; B and C are open
    # longer than a day (the carrier's reply to A came before there was a target).
    overall = [(h, n) for h, n in DRILL.findall(figure(html, "targets"))]
    assert [int(n) for _, n in overall] == [1, 1, 2, 2]
    assert listed(client, unescape(overall[1][0])) == {story["C"]}
    assert listed(client, unescape(overall[3][0])) == {story["B"], story["C"]}


def test_csv_of_every_table(client, kit, world, story):
    login(client, world.shipper_actor)
    report = kit.reports.dashboard(
        world.shipper_actor, {"from": "2026-03-07", "to": "2026-03-09", "timezone": NY}
    )
    html = client.get(f"/cases/dashboard?{RANGE}").get_data(as_text=True)
    for t in report.tables():
        assert f"/cases/dashboard/{t.name}.csv?" in html
        response = client.get(f"/cases/dashboard/{t.name}.csv?{RANGE}")
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith(
            f'attachment; filename="{t.name}-2026-03-07-2026-03-09.csv"'
        )
        assert response.get_data(as_text=True) == t.csv()
    opened = list(
        csv.DictReader(
            io.StringIO(client.get(f"/cases/dashboard/opened.csv?{RANGE}").get_data(as_text=True))
        )
    )
    assert [row["count"] for row in opened] == ["2", "0", "1"]
    assert client.get(f"/cases/dashboard/nothing.csv?{RANGE}").status_code == 404
    assert client.get(f"/cases/dashboard/backlog_by_shipper.csv?{RANGE}").status_code == 404


def test_json_is_the_reports_own(client, kit, world, story):
    login(client, world.shipper_actor)
    data = client.get(f"/cases/dashboard.json?{RANGE}&brand=Acme+Home").get_json()
    expected = kit.reports.dashboard(
        world.shipper_actor,
        {
            "from": "2026-03-07",
            "to": "2026-03-09",
            "timezone": NY,
            "filters": {"brand": ["Acme Home"]},
        },
    ).to_json()
    assert data["sections"] == expected["sections"]
    assert data["query"]["filters"] == {"brand": ["Acme Home"]}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-09&to=2026-03-01", "to"),
        ("from=March&to=2026-03-09", "from"),
        ("from=2026-03-07&to=2026-03-09&timezone=Mars/Olympus", "timezone"),
        (f"{RANGE}&granularity=hour", "granularity"),
        (f"{RANGE}&owner=Sam", "filters.owner"),
        (f"{RANGE}&source=pigeon", "filters.source"),
    ],
)
def test_bad_input_names_the_field(client, world, story, query, field):
    login(client, world.shipper_actor)
    page = client.get(f"/cases/dashboard?{query}")
    assert page.status_code == 400
    assert f"<strong>{field_label(field)}</strong>" in page.get_data(as_text=True)
    assert "Please check the form" in page.get_data(as_text=True)
    as_json = client.get(f"/cases/dashboard.json?{query}")
    assert as_json.status_code == 400
    assert field in as_json.get_json()["errors"]
    as_csv = client.get(f"/cases/dashboard/opened.csv?{query}")
    assert as_csv.status_code == 400
    assert field in as_csv.get_data(as_text=True)


def test_a_manager_edits_the_targets(client, kit, world, story):
    """The targets page sets the organization's service level of one case type
    (its first response and resolution), which the dashboard then counts."""
    login(client, world.shipper_manager_actor)
    page = client.get("/cases/dashboard/targets")
    assert page.status_code == 200
    assert 'aria-label="Lost: first response target in hours"' in page.get_data(as_text=True)
    response = client.post(
        "/cases/dashboard/targets",
        data={"case_type": "lost", "first_response": "0.5", "resolution": "48"},
    )
    assert response.status_code == 302
    (target,) = kit.service_levels.targets(world.shipper_manager_actor)
    assert (target.name, target.conditions) == ("Lost", {"types": ["lost"]})
    assert (target.first_response_seconds, target.resolution_seconds) == (1800, 172800)
    html = client.get("/cases/dashboard/targets").get_data(as_text=True)
    assert 'value="0.5"' in html
    assert 'value="48"' in html
    # A lost case the carrier opens now owes the shipper's answer within half an
    # hour; an hour later the dashboard counts it breached.
    number = kit.cases.open(
        world.carrier_actor, type="lost", shipper=world.shipper.id, message="Gone"
    ).number
    kit.clock.advance(hours=1)
    data = client.get("/cases/dashboard.json?from=2026-03-10&to=2026-03-10").get_json()
    rows = next(t for s in data["sections"] for t in s["tables"] if t["name"] == "targets")
    first = next(r for r in rows["rows"] if r["kind"] == "first_response")
    assert (first["clocks"], first["breached"], first["median_seconds"]) == (1, 1, 3600)
    breaches = next(t for s in data["sections"] for t in s["tables"] if t["name"] == "breaches")
    assert [(r["number"], r["kind"]) for r in breaches["rows"]] == [(number, "first_response")]
    # Clearing both removes it.
    client.post("/cases/dashboard/targets", data={"case_type": "lost"})
    assert kit.service_levels.targets(world.shipper_manager_actor) == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"case_type": "lost", "first_response": "two"}, "first_response"),
        ({"case_type": "lost", "resolution": "-1"}, "resolution"),
        ({"case_type": "lost", "first_response": "0.001"}, "first_response"),
        ({"case_type": "lost", "resolution": "10000"}, "resolution"),
        ({"case_type": "nope", "first_response": "1"}, "case_type"),
    ],
)
def test_bad_targets_name_the_field_and_keep_the_input(client, kit, world, form, field):
    login(client, world.shipper_manager_actor)
    response = client.post("/cases/dashboard/targets", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f"<strong>{field_label(field)}</strong>" in html
    if form["case_type"] == "lost":
        assert f'value="{form.get(field, "")}"' in html
    assert kit.service_levels.targets(world.shipper_manager_actor) == []


def test_only_a_manager_changes_the_targets(client, kit, world):
    login(client, world.shipper_actor)
    page = client.get("/cases/dashboard/targets").get_data(as_text=True)
    assert "Only a manager changes them." in page
    assert "<form" not in page.split("<main", 1)[1]
    response = client.post(
        "/cases/dashboard/targets", data={"case_type": "lost", "first_response": "1"}
    )
    assert response.status_code == 403
    assert kit.service_levels.targets(world.shipper_manager_actor) == []


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("shipper", f"/cases/dashboard?{RANGE}"),
        ("carrier", f"/cases/dashboard?{RANGE}&type=lost"),
        ("manager", "/cases/dashboard/targets"),
    ],
)
def test_the_pages_are_accessible(client, world, story, who, path):
    from test_accessibility import Controls

    actor = {
        "shipper": world.shipper_actor,
        "carrier": world.carrier_actor,
        "manager": world.shipper_manager_actor,
    }[who]
    login(client, actor)
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parser = Controls()
    parser.feed(html)
    assert parser.controls
    assert parser.unlabelled() == []
    assert html.count("<table") == html.count("<caption>")
    assert "<th>" not in html  # every header cell says whether it heads a row or a column
    for svg in re.findall(r"<svg.*?</svg>", html, flags=re.S):
        # A picture, or a labelled group when its bars link to their cases.
        assert ('role="group"' if "<a href=" in svg else 'role="img"') in svg
        assert "aria-label=" in svg
        assert "<title>" in svg
    assert 'name="viewport"' in html


def test_every_drill_down_query_survives_the_list_pages_arguments():
    """ "Has no value" and date ends with a time go to the URL and come back the same."""
    from casekit.schemas.views import ListQuerySchema, dump_query
    from casekit_flask.listing import args_from_query, query_from_args

    query = {
        "view": "all_cases",
        "filters": [
            {"field": "brand", "op": "empty", "value": True},
            {"field": "closed_at", "op": "empty", "value": True},
            {"field": "has_owner", "op": "in", "value": ["no"]},
            {"field": "carrier", "op": "in", "value": [3, 4]},
            {
                "field": "created_at",
                "op": "between",
                "value": {"from": "2026-03-07T05:00:00+00:00", "to": "2026-03-09T00:00:00Z"},
            },
        ],
    }
    loaded = ListQuerySchema().load(query)
    args = args_from_query(dump_query(loaded))
    assert args["brand_op"] == "empty"
    assert args["created_at_from"] == "2026-03-07T05:00:00+00:00"
    assert args["created_at_to"] == "2026-03-09"
    back = ListQuerySchema().load(query_from_args(args))
    assert back.view == loaded.view
    assert set(back.filters) == set(loaded.filters)  # in the form's order


def test_a_drill_down_url_is_the_list_pages_arguments_urlencoded(kit):
    """Written once per request and quoted once per argument, as urlencode writes them."""
    from urllib.parse import urlencode

    from flask import Flask, g, url_for

    from casekit.query.filters import Filter
    from casekit.query.listing import BuiltinView, ListQuery
    from casekit.schemas.views import dump_query
    from casekit_flask import CaseKitFlask
    from casekit_flask.dashboard import drill_url
    from casekit_flask.listing import args_from_query

    app = Flask(__name__)
    app.config.update(SECRET_KEY="test")
    CaseKitFlask(app, kit=kit, identity_loader=lambda: None)
    opened = Filter("created_at", "between", (at(2, 9), at(3, 0)))
    queries = [
        ListQuery(view=BuiltinView.ALL_CASES, filters=(opened, Filter("brand", "in", (brand,))))
        for brand in ("Acme & Sons", "Zoë +1/2 %", "Acme & Sons")
    ]
    with app.test_request_context("/", base_url="http://host/shop/"):
        urls = [drill_url(query) for query in queries]
        base = url_for("casekit_staff.case_list")
        for query, url in zip(queries, urls, strict=True):
            args = args_from_query(dump_query(query))
            assert url == base + "?" + urlencode(list(args.items(multi=True)))
        assert urls[0] == urls[2]
        assert "Zo%C3%AB+%2B1%2F2+%25" in urls[1]
        assert set(g.casekit_drill_urls) == {None, *queries}
    assert drill_url(None) is None


def test_a_table_shows_its_largest_rows_and_links_to_all_of_them(
    client, kit, world, story, monkeypatch
):
    """A table of groups keeps its largest rows (and a chart its largest bars) and counts
    the rest in one Other row and bar; "All 2 brands" shows the whole table; the JSON and
    the CSV keep every row."""
    from casekit_flask import dashboard

    monkeypatch.setattr(dashboard, "PAGE_ROWS", 1)
    monkeypatch.setattr(dashboard, "CHART_BARS", 1)
    login(client, world.shipper_actor)
    html = client.get(f"/cases/dashboard?{RANGE}").get_data(as_text=True)
    brands = figure(html, "backlog_by_brand")
    # Active: B (Acme Trail) and C (Acme Home), one each; the tie goes by name.
    assert "Acme Home" in brands
    assert "Acme Trail" not in brands
    assert '<th scope="row">Other (1 more)</th><td class="ck-num">1</td>' in brands
    assert "Other (1 more)" in brands.split("</svg>")[0]  # the chart's Other bar
    # Only Acme Home's bar and number link: the Other bar and row link nowhere.
    assert len(re.findall(r'<a href="[^"]+"><g>', brands)) == 1
    assert [n for _, n in DRILL.findall(brands)] == ["1"]
    everything = re.search(r'<a class="ck-dash-all" href="([^"]+)">All 2 brands</a>', brands)
    assert everything is not None
    response = client.get(unescape(everything.group(1)))
    assert response.status_code == 200
    full = response.get_data(as_text=True)
    assert 'id="table-backlog_by_brand"' in full
    assert full.count('class="ck-dash-table"') == 1  # that table alone
    assert "Acme Trail" in full
    assert "Other (" not in full.split("<table")[1]
    assert 'name="table" value="backlog_by_brand"' in full  # the filters keep to it
    assert "Back to the whole dashboard" in full
    # The totals count every case, the JSON and the CSV every row.
    assert totals(client)["active"] == 2
    assert table(client, "backlog_by_brand") == {"Acme Home": 1, "Acme Trail": 1}
    csv_text = client.get(f"/cases/dashboard/backlog_by_brand.csv?{RANGE}").get_data(as_text=True)
    assert "Acme Trail" in csv_text
    assert "Acme Home" in csv_text


def test_the_reports_top_rows_and_the_rest(kit, world, story):
    query = {"from": "2026-03-07", "to": "2026-03-09", "timezone": NY}
    whole = kit.reports.dashboard(world.shipper_actor, query)
    top = kit.reports.dashboard(world.shipper_actor, query, top=1)
    for full, kept in zip(whole.tables(), top.tables(), strict=True):
        assert kept.row_count == full.row_count
        assert kept.rows == full.rows[: len(kept.rows)]
        if full.name.startswith(("backlog_by_", "first_response_by_", "resolution_by_")):
            assert len(kept.rows) == min(1, len(full.rows))
    brands = top.table("backlog_by_brand")
    assert brands.rest is not None
    assert (brands.rest.rows, brands.rest.cases) == (1, 1)
    assert "rest" not in whole.to_json()["sections"][0]["tables"][0]
    assert whole.table("backlog_by_brand").rest is None


@pytest.mark.parametrize("name", ["nothing", "backlog_by_nothing"])
def test_an_unknown_table_is_a_400_naming_it(client, world, story, name):
    login(client, world.shipper_actor)
    response = client.get(f"/cases/dashboard?{RANGE}&table={name}")
    assert response.status_code == 400
    assert "no table" in response.get_data(as_text=True)


def test_the_actions_section_counts_appointments_and_dispositions(client, kit, world, story):
    """Appointments accepted, kept and missed by carrier; dispositions by choice; only
    those of the cases the reader sees, in the period."""
    sam, cal = world.shipper_actor, world.carrier_actor
    number = story["C"]
    offer = kit.actions.propose_appointment(
        cal, number, [("2026-03-11T08:00", "2026-03-11T12:00")], time_zone="America/New_York"
    )
    kit.actions.accept_appointment(sam, number, offer.id)
    kit.clock.advance(days=2)
    assert kit.actions.sweep().missed == (offer.id,)
    asked = kit.actions.request_disposition(
        cal, number, reason="refused", deadline=kit.clock.now() + timedelta(days=2)
    )
    kit.actions.decide_disposition(sam, number, asked.id, choice="return", payer="shipper",
                                   ra_number="RA-1")  # fmt: skip
    period = "from=2026-03-07&to=2026-03-12"
    for who in (sam, cal):
        login(client, who)
        html = client.get(f"/cases/dashboard?{period}").get_data(as_text=True)
        appointments = figure(html, "appointments")
        cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", appointments.split("<tbody>")[1])
        assert cells == [world.carrier.name, "1", "0", "1", "0 %"]
        assert '<th scope="row">Return</th><td class="ck-num">1</td>' in figure(
            html, "dispositions"
        )
    # Before the period: none of them.
    html = client.get("/cases/dashboard?from=2026-03-07&to=2026-03-09").get_data(as_text=True)
    assert "No delivery appointments." in figure(html, "appointments")


def test_a_withdrawn_disposition_stops_its_storage_on_the_page_the_api_and_the_report(
    client, kit, world, story
):
    """The carrier withdraws its request from the case page; the storage charged until
    then shows on the case page, in the REST action, the REST report and the dashboard."""
    sam, cal = world.shipper_actor, world.carrier_actor
    number = story["C"]
    asked = kit.actions.request_disposition(
        cal, number, reason="refused", deadline=kit.clock.now() + timedelta(hours=2),
        storage_per_day="25.00",
    )  # fmt: skip
    kit.clock.advance(hours=5)  # a day begun after the deadline counts
    login(client, sam)
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "Storage charged so far" in unescape(page)
    assert "25.00 USD (1 day)" in page
    assert "Withdraw the request" not in page  # the shipper decides; it does not withdraw
    # The shipper cannot withdraw through the page's form either (403).
    form = {"do": "withdraw", "action_id": str(asked.id)}
    assert client.post(f"/cases/{number}/actions", data=form).status_code == 403
    login(client, cal)
    assert "Withdraw the request" in client.get(f"/cases/{number}").get_data(as_text=True)
    kit.clock.advance(days=1)
    done = client.post(f"/cases/{number}/actions", data={**form, "note": "Delivered after all"})
    assert done.status_code == 302
    kit.clock.advance(days=5)  # nothing more is charged after the withdrawal
    page = unescape(client.get(f"/cases/{number}").get_data(as_text=True))
    assert "Disposition request withdrawn." in page
    assert "Storage charged</dt><dd>50.00 USD (2 days)" in page
    assert "Withdraw the request" not in page

    # REST: the action carries its charges; a second withdrawal names the action.
    action = client.get(f"/api/v1/cases/{number}/actions").get_json()["actions"][-1]
    assert (action["state"], action["storage_days"], action["storage_charges"]) == (
        "withdrawn",
        2,
        "50.00",
    )
    again = client.post(f"/api/v1/cases/{number}/dispositions/{asked.id}/withdraw", json={})
    assert again.status_code == 400
    assert "action_id" in again.get_json()["errors"]
    for who in (sam, cal):
        login(client, who)
        report = client.get("/api/v1/reports/actions?from=2026-03-01&to=2026-03-31")
        assert report.status_code == 200, report.data[:300]
        assert report.get_json()["storage"] == [
            {"currency": "USD", "dispositions": 1, "days": 2, "charges": "50.00"}
        ]
        before = client.get("/api/v1/reports/actions?from=2026-02-01&to=2026-02-28")
        assert before.get_json()["storage"] == []
        html = client.get("/cases/dashboard?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
        assert '<th scope="row">USD</th><td class="ck-num">1</td><td class="ck-num">2</td>' in (
            figure(html, "storage")
        )
    # Bad days are named.
    for query, field in (("from=March", "from"), ("from=2026-03-05&to=2026-03-01", "to")):
        bad = client.get(f"/api/v1/reports/actions?{query}")
        assert bad.status_code == 400, (query, bad.data[:200])
        assert field in bad.get_json()["errors"], bad.get_json()


def test_the_claims_section_counts_claims_filed_recovery_and_days_to_pay(
    client, kit, world, actors
):
    """Freight claims filed in the period by carrier and currency (``kit.claims.report``):
    the recovery rate over the claims answered and the median days to pay; a shipper
    reads its own claims, a carrier those filed with it; a draft never counts."""
    sam, cal = world.shipper_actor, world.carrier_actor
    slow = actors["other_carrier"].org_id

    def lines(amount: str, currency: str = "USD") -> dict[str, Any]:
        return {"lines": [{"description": "Freight", "amount": amount}], "currency": currency}

    def claim(shipper: Actor, carrier: int, amount: str, currency: str = "USD") -> Any:
        number = kit.cases.open(shipper, type="lost", carrier=carrier, subject="Loss").number
        drafted = kit.claims.draft(shipper, number, lines(amount, currency))
        kit.claims.file(shipper, number, drafted.id)
        return number, drafted.id

    day = kit.clock.now().date()
    part, declined = claim(sam, world.carrier.id, "100.00"), claim(sam, world.carrier.id, "200.00")
    offered = claim(sam, slow, "50.00", "EUR")
    claim(actors["other_shipper"], world.carrier.id, "999.00")
    kit.claims.draft(sam, kit.cases.open(sam, type="lost", subject="Draft").number, lines("7.00"))
    kit.clock.advance(days=4)
    kit.claims.offer(actors["other_carrier"], *offered, amount_offered="30.00")
    kit.claims.accept_offer(sam, *offered)
    kit.clock.advance(days=6)
    kit.claims.pay(cal, *part, amount_paid="80.00", reason="Salvage value deducted")
    kit.claims.decline(cal, *declined, reason="Not liable")

    period = f"from={day.isoformat()}&to={(day + timedelta(days=10)).isoformat()}"

    def rows(who: Actor) -> list[list[str]]:
        login(client, who)
        response = client.get(f"/cases/dashboard?{period}")
        assert response.status_code == 200
        html = unescape(response.get_data(as_text=True))
        assert '<a href="#section-claims">Freight claims</a>' in html
        found = figure(html, "claims").split("<tbody>")[1]
        return [
            re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
            for row in found.split("</tr>")
            if "<t" in row
        ]

    assert rows(sam) == [
        [
            world.carrier.name,
            "USD",
            "2",
            "0",
            "0",
            "1",
            "1",
            "0",
            "300.00",
            "80.00",
            "27 %",
            "10.0",
        ],
        ["Slow Freight", "EUR", "1", "0", "0", "1", "0", "0", "50.00", "30.00", "60 %", "4.0"],
    ]
    # The carrier: the claims filed with it, the other shipper's open one too; never the
    # other carrier's.
    assert rows(cal) == [
        [
            world.carrier.name,
            "USD",
            "3",
            "1",
            "0",
            "1",
            "1",
            "0",
            "300.00",
            "80.00",
            "27 %",
            "10.0",
        ],
    ]
    # A period before the filing: none.
    login(client, sam)
    before = (day - timedelta(days=3)).isoformat()
    html = client.get(f"/cases/dashboard?from={before}&to={before}").get_data(as_text=True)
    assert "No claims filed." in figure(html, "claims")
