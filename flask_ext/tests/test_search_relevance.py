"""A search's best match first on the list page and on ``GET /api/v1/cases``: the
default of a search without a sort, an explicit sort honoured, keyset pages in that
order, a bad sort a 400 naming it; the carrier's order unmoved by the shipper's notes."""

from __future__ import annotations

import re

import pytest
from conftest import login
from test_list_page import numbers_in


@pytest.fixture
def cases(kit, world):
    s = world.shipper_actor

    def opened(subject: str, body: str) -> str:
        number = kit.cases.open(s, type="other", carrier=world.carrier.id, subject=subject).number
        kit.messages.post(s, number, body, audience="partners")
        return number

    strong = opened("kumquat crate", "kumquat kumquat kumquat")
    middle = opened("a parcel", "two kumquat kumquat")
    weak = opened("a parcel", "the driver called about the gate and a kumquat " + "word " * 60)
    kit.cases.open(s, type="other", subject="nothing to see")
    return strong, middle, weak


@pytest.fixture
def auth(kit, world) -> dict[str, str]:
    key = kit.api_keys.create(
        world.shipper_manager_actor, org_id=world.shipper.id, name="TMS", scope="read"
    )
    return {"Authorization": f"Bearer {key.token}"}


def rest(client, auth, query: str) -> tuple[list[str], str | None]:
    body = client.get(f"/api/v1/cases?view=all_cases&{query}", headers=auth).json
    return [row["number"] for row in body["cases"]], body["next_cursor"]


def test_rest_lists_a_search_best_match_first(client, auth, cases):
    strong, middle, weak = cases
    assert rest(client, auth, "search=kumquat")[0] == [strong, middle, weak]
    assert rest(client, auth, "q=kumquat&sort=relevance")[0] == [strong, middle, weak]
    assert rest(client, auth, "search=kumquat&direction=asc")[0] == [weak, middle, strong]
    assert rest(client, auth, "search=kumquat&sort=created_at")[0] == [weak, middle, strong]
    seen, cursor = [], None
    while True:
        found, cursor = rest(
            client, auth, "search=kumquat&limit=1" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += found
        if cursor is None:
            break
    assert seen == [strong, middle, weak]
    bad = client.get("/api/v1/cases?search=kumquat&sort=best", headers=auth)
    assert bad.status_code == 400
    assert "sort" in str(bad.json)
    assert "relevance" in str(bad.json)


def test_the_list_page_lists_a_search_best_match_first(kit, world, client, cases):
    strong, middle, weak = cases
    login(client, world.carrier_actor)
    page = client.get("/cases/?view=all_cases&q=kumquat").data
    assert numbers_in(page) == [strong, middle, weak]
    text = page.decode()
    assert '<option value="" selected>Best match</option>' in text
    assert '<option value="desc" selected>best first</option>' in text
    by_date = client.get("/cases/?view=all_cases&q=kumquat&sort=created_at&dir=desc").data
    assert numbers_in(by_date) == [weak, middle, strong]
    assert '<option value="created_at" selected>' in by_date.decode()
    # The default order sends no sort: a search typed on a list in its default order is
    # listed best match first.
    plain = client.get("/cases/?view=all_cases").data.decode()
    assert '<option value="" selected>Created date</option>' in plain
    submitted = client.get("/cases/?view=all_cases&q=kumquat&sort=&dir=desc").data
    assert numbers_in(submitted) == [strong, middle, weak]
    # The shipper's internal note on the weakest, full of the word, moves nothing for
    # the carrier; the shipper reads it, and the case comes first for the shipper.
    kit.messages.post(world.shipper_actor, weak, "kumquat " * 20, audience="internal")
    assert numbers_in(client.get("/cases/?view=all_cases&q=kumquat").data) == [
        strong,
        middle,
        weak,
    ]
    login(client, world.shipper_actor)
    assert numbers_in(client.get("/cases/?view=all_cases&q=kumquat").data)[0] == weak


def test_common_words_list_in_the_views_order_and_count_to_a_bound(
    kit, world, client, cases, monkeypatch
):
    """Words in too many texts to list first: the page asks each case in the list's
    order (newest first), and the result count and a saved view's badge stop past
    SEARCH_COUNT ("2+" with a bound of 2)."""
    from casekit.query import listing
    from casekit.services import views
    from casekit_flask import rendering, staff

    strong, middle, weak = cases
    monkeypatch.setattr(listing, "SEARCH_TEXTS", 1)
    for module in (views, rendering, staff):
        monkeypatch.setattr(module, "SEARCH_COUNT", 2)
    kit.views.save(world.carrier_actor, "Kumquats", {"view": "all_cases", "search": "kumquat"})
    kit.views.save(world.carrier_actor, "All of them", {"view": "all_cases"})
    login(client, world.carrier_actor)
    text = client.get("/cases/?view=all_cases&q=kumquat").data.decode()
    assert numbers_in(text.encode()) == [weak, middle, strong]
    assert '<p class="ck-result-count" id="result-count">2+ cases</p>' in text
    badges = re.findall(r'(Kumquats|All of them) <span class="ck-count">([^<]*)</span>', text)
    assert badges == [("All of them", "3"), ("Kumquats", "2+")] * 2  # beside the list, in its menu
    monkeypatch.setattr(listing, "SEARCH_TEXTS", 2000)
    listed = client.get("/cases/?view=all_cases&q=kumquat").data.decode()
    assert '<p class="ck-result-count" id="result-count">2+ cases</p>' in listed
    assert "1 case" in client.get("/cases/?view=all_cases&q=kumquat+crate").data.decode()
