"""The business calendar pages (``casekit_flask.calendars``): the organization's own calendar
and one per partner, read by its staff, set by its managers; bad input answered on the form."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import login, make_app
from html_forms import submitted
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from casekit.domain.calendar import BusinessCalendar
from casekit_flask.calendars import (
    WEEKDAYS,
    calendar_errors,
    calendar_form,
    calendar_json,
    posted_calendar_form,
)

PAGE = "/cases/settings/calendar"
CALENDAR: dict[str, Any] = {
    "time_zone": "America/Chicago",
    "hours": {
        "mon": [["08:00", "12:00"], ["13:00", "17:00"]],
        "wed": [["08:00", "17:00"]],
        "fri": [["22:00", "06:00"]],
        "sat": [["08:00", "12:00"]],
        "sun": [["00:00", "24:00"]],
    },
    "holidays": {"country": "US", "subdivision": "TX"},
    "closed_days": ["2026-12-24", "2026-12-31"],
}


def stored(calendar: dict[str, Any]) -> dict[str, Any]:
    """What the core keeps of ``calendar``."""
    return BusinessCalendar.from_json(calendar).to_json()


def as_posted(values: dict[str, Any]) -> MultiDict[str, str]:
    """The form's values (``calendar_form``) as a browser sends them."""
    form: MultiDict[str, str] = MultiDict()
    form["time_zone"] = values["time_zone"]
    for day, _ in WEEKDAYS:
        for i, (start, end) in enumerate(values["hours"][day]):
            form[f"hours-{day}-{i}-start"] = start
            form[f"hours-{day}-{i}-end"] = end
    form["holiday_country"] = values["holiday_country"]
    form["holiday_subdivision"] = values["holiday_subdivision"]
    form["closed_days"] = values["closed_days"]
    return form


def errors_on(page: str) -> list[str]:
    return re.findall(r'<p class="ck-error" id="([^"]+)-error">', page)


# -- the form and the calendar's JSON form -----------------------------------------------------
TIMES = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
CALENDARS = st.fixed_dictionaries(
    {
        "time_zone": st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"]),
        "hours": st.dictionaries(
            st.sampled_from([d for d, _ in WEEKDAYS]),
            st.lists(st.lists(TIMES, min_size=2, max_size=2), min_size=1, max_size=4),
        ),
        "holidays": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "country": st.sampled_from(["US", "DE"]),
                    "subdivision": st.sampled_from([None, "TX", "BY"]),
                }
            ),
        ),
        "closed_days": st.lists(st.dates().map(str), max_size=3, unique=True),
    }
)


@settings(max_examples=60, deadline=None)
@given(calendar=CALENDARS)
def test_the_form_holds_a_calendar_and_gives_it_back(calendar):
    """A calendar shown on the form and sent back unchanged is the same calendar."""
    values = posted_calendar_form(as_posted(calendar_form(calendar)))
    sent, errors = calendar_json(values)
    assert errors == {}
    assert sent == calendar


def test_the_end_of_the_day_is_midnight_on_the_form_the_same_interval():
    """A time field cannot hold "24:00": the form shows "00:00", which the core reads the same."""
    whole_day = {"time_zone": "UTC", "hours": {"sun": [["00:00", "24:00"]]}}
    values = calendar_form(stored(whole_day))
    assert values["hours"]["sun"] == [("00:00", "00:00")]
    sent, errors = calendar_json(posted_calendar_form(as_posted(values)))
    assert errors == {}
    assert stored(sent) == stored(whole_day)


def test_an_interval_with_one_end_is_named_by_its_day():
    form = as_posted(calendar_form(CALENDAR))
    form["hours-wed-0-end"] = ""
    form["hours-thu-2-start"] = "09:00"  # the third row of a closed day: kept, without an end
    _sent, errors = calendar_json(posted_calendar_form(form))
    assert set(errors) == {"hours-wed", "hours-thu"}
    form = as_posted(calendar_form(CALENDAR | {"holidays": None}))
    form["holiday_subdivision"] = "TX"
    assert set(calendar_json(posted_calendar_form(form))[1]) == {"holiday_country"}


def test_the_cores_errors_land_on_their_fields_saying_which_interval_or_date():
    found = calendar_errors(
        {
            "calendar.time_zone": ["unknown time zone"],
            "calendar.hours": ["no working time in a week"],
            "calendar.hours.tue[1]": ["overlaps the interval before"],
            "calendar.hours.someday": ["not a weekday"],
            "calendar.holidays.country": ["unknown country"],
            "calendar.holidays.subdivision": ["unknown subdivision"],
            "calendar.closed_days[2]": ['a date "YYYY-MM-DD"'],
            "share_clocks": ["true or false"],
        }
    )
    assert found == {
        "time_zone": ["unknown time zone"],
        "hours": ["no working time in a week", "someday: not a weekday"],
        "hours-tue": ["interval 2: overlaps the interval before"],
        "holiday_country": ["unknown country"],
        "holiday_subdivision": ["unknown subdivision"],
        "closed_days": ['date 3: a date "YYYY-MM-DD"'],
        "share_clocks": ["true or false"],
    }


# -- the pages ---------------------------------------------------------------------------------
def test_a_manager_sets_the_calendar_and_the_page_shows_what_is_kept(kit, world, client):
    login(client, world.carrier_manager_actor)
    page = client.get(PAGE).data.decode()
    assert "Not set yet" in page
    # The suggestion: Monday to Friday, nine to five.
    suggested = dict(submitted(page, PAGE))
    assert (suggested["hours-mon-0-start"], suggested["hours-fri-0-end"]) == ("09:00", "17:00")
    assert "hours-sat-0-start" in suggested
    assert suggested["hours-sat-0-start"] == ""

    response = client.post(PAGE, data=as_posted(calendar_form(CALENDAR)))
    assert response.status_code == 302
    kept = kit.service_levels.calendar(world.carrier_manager_actor)
    assert kept is not None
    assert kept.calendar.to_json() == stored(CALENDAR)
    page = client.get(PAGE).data.decode()
    assert "Calendar saved" in page
    assert '<option value="America/Chicago" selected>America/Chicago</option>' in page
    # The form shows what is kept: sent back as it is, it keeps the same calendar.
    shown = MultiDict(submitted(page, PAGE))
    sent, errors = calendar_json(posted_calendar_form(shown))
    assert errors == {}
    assert stored(sent) == stored(CALENDAR)
    assert client.post(PAGE, data=shown).status_code == 302
    assert kit.service_levels.calendar(world.carrier_manager_actor).calendar.to_json() == stored(
        CALENDAR
    )


def test_a_bad_form_is_a_400_keeping_what_was_typed_and_storing_nothing(kit, world, client):
    login(client, world.shipper_manager_actor)
    form = as_posted(calendar_form(CALENDAR))
    form["hours-wed-0-end"] = ""
    form["closed_days"] = "2026-12-24\nsoon"
    response = client.post(PAGE, data=form)
    assert response.status_code == 400
    page = response.data.decode()
    assert errors_on(page) == ["hours-wed"]
    assert "give each of Wednesday&#39;s intervals a start and an end" in page
    assert '<a href="#hours-wed">Wednesday&#39;s hours</a>' in page
    typed = dict(submitted(page, PAGE))
    assert typed["hours-wed-0-start"] == "08:00"
    assert typed["hours-wed-0-end"] == ""
    assert typed["closed_days"] == "2026-12-24\nsoon"
    assert kit.service_levels.calendars(world.shipper_manager_actor) == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "unknown time zone"),
        ({"hours-mon-0-end": "25:00"}, "hours-mon", "interval 1: "),
        ({"hours-mon-1-start": "11:00"}, "hours-mon", "interval 2: overlaps mon[0]"),
        ({"holiday_country": "XX"}, "holiday_country", "no public holidays known for"),
        ({"holiday_subdivision": "ZZ"}, "holiday_subdivision", "US has no subdivision"),
        ({"closed_days": "2026-12-24\n2026-02-30"}, "closed_days", "date 2: a date"),
    ],
)
def test_what_the_core_refuses_comes_back_on_its_field(kit, world, client, change, field, words):
    """The core checks a calendar's contents: what it refuses is a 400 with its message on
    the field, saying which interval or date, what was typed kept, nothing stored."""
    login(client, world.shipper_manager_actor)
    form = as_posted(calendar_form(CALENDAR))
    for name, value in change.items():
        form[name] = value
    response = client.post(PAGE, data=form)
    assert response.status_code == 400
    page = response.data.decode()
    assert errors_on(page) == [field]
    error = page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert str(escape(words)) in error
    shown = dict(submitted(page, PAGE))
    assert {name: shown[name] for name in form} == form.to_dict()
    assert kit.service_levels.calendars(world.shipper_manager_actor) == []


def test_a_partner_calendar_and_showing_the_clocks_to_that_partner(kit, world, client):
    login(client, world.carrier_manager_actor)
    url = f"{PAGE}/{world.shipper.id}"
    listing = client.get(PAGE).data.decode()
    assert f'href="{url}">Acme Goods</a>' in listing
    page = client.get(url).data.decode()
    assert "Show our clocks on these cases to Acme Goods" in page
    assert "Remove" not in page  # nothing to remove yet
    form = as_posted(calendar_form(CALENDAR))
    form["share_clocks"] = "on"
    assert client.post(url, data=form).status_code == 302
    kept = kit.service_levels.calendar(world.carrier_manager_actor, partner_org_id=world.shipper.id)
    assert kept is not None
    assert (kept.share_clocks, kept.calendar.to_json()) == (True, stored(CALENDAR))
    listing = client.get(PAGE).data.decode()
    assert "<td>Yes</td>" in listing
    page = client.get(url).data.decode()
    assert dict(submitted(page, url))["share_clocks"] == "on"
    # Sent without the box, the clocks are the carrier's own again.
    form.pop("share_clocks")
    client.post(url, data=form)
    kept = kit.service_levels.calendar(world.carrier_manager_actor, partner_org_id=world.shipper.id)
    assert kept is not None
    assert kept.share_clocks is False
    assert client.post(url, data={"action": "remove"}).status_code == 302
    assert kit.service_levels.calendars(world.carrier_manager_actor) == []
    # Only a partner of the other role has a page; another carrier has none.
    assert client.get(f"{PAGE}/{world.carrier.id}").status_code == 404
    assert client.get(f"{PAGE}/{2**40}").status_code == 404


def test_the_own_calendar_is_removed(kit, world, client):
    kit.service_levels.set_calendar(world.shipper_manager_actor, CALENDAR)
    login(client, world.shipper_manager_actor)
    assert client.post(PAGE, data={"action": "remove"}).status_code == 302
    assert kit.service_levels.calendars(world.shipper_manager_actor) == []
    assert "count every hour" in client.get(PAGE).data.decode()
    # Nothing left to remove: a 404, not a 500.
    assert client.post(PAGE, data={"action": "remove"}).status_code == 404


def test_agents_read_the_calendar_but_only_managers_change_it(kit, world, client):
    kit.service_levels.set_calendar(world.shipper_manager_actor, CALENDAR)
    login(client, world.shipper_actor)
    page = client.get(PAGE).data.decode()
    assert "Only a manager changes the calendars." in page
    assert '<fieldset class="ck-plain" disabled>' in page
    # The whole calendar is in a disabled fieldset: a browser would send nothing of it.
    assert [name for name, _ in submitted(page, PAGE)] == ["csrf_token"]
    form = as_posted(calendar_form(CALENDAR | {"time_zone": "UTC"}))
    assert client.post(PAGE, data=form).status_code == 403
    assert client.post(PAGE, data={"action": "remove"}).status_code == 403
    assert client.post(f"{PAGE}/{world.carrier.id}", data=form).status_code == 403
    kept = kit.service_levels.calendar(world.shipper_manager_actor)
    assert kept is not None
    assert kept.calendar.to_json() == stored(CALENDAR)
    login(client, world.customer_actor)
    assert client.get(PAGE).status_code == 404


def test_the_form_needs_its_csrf_token(kit, world):
    app = make_app(kit)  # CSRF on, as in production
    client = app.test_client()
    login(client, world.shipper_manager_actor)
    page = client.get(PAGE).data.decode()
    form = MultiDict(submitted(page, PAGE))
    token = form.pop("csrf_token")
    assert token
    assert client.post(PAGE, data=form).status_code == 400
    assert kit.service_levels.calendars(world.shipper_manager_actor) == []
    form["csrf_token"] = token
    assert client.post(PAGE, data=form).status_code == 302
    assert kit.service_levels.calendar(world.shipper_manager_actor) is not None
