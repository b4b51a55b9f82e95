"""The service-level target pages (``casekit_flask.service_levels``): the list in the order
the targets are tried, the form of one target, read by the organization's staff and set by
its managers; bad input answered on the form."""

from __future__ import annotations

import re

import pytest
from conftest import login, make_app
from html_forms import submitted
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from casekit_flask.service_levels import (
    describe_conditions,
    duration,
    posted_target_form,
    target_form,
    target_values,
)

LIST = "/cases/settings/service-levels"
NEW = f"{LIST}/new"


def errors_on(page: str) -> list[str]:
    return re.findall(r'<p class="ck-error" id="([^"]+)-error">', page)


@pytest.fixture
def manager(client, world):
    """The carrier's manager, signed in."""
    login(client, world.carrier_manager_actor)
    return client


def full_form(world) -> MultiDict[str, str]:
    """A target with every field set, as a browser sends the form."""
    return MultiDict(
        [
            ("name", "Damaged freight: three days"),
            ("enabled", "on"),
            ("types", "osd_damaged"),
            ("types", "lost"),
            ("partners", str(world.shipper.id)),
            ("sources", "email"),
            ("sources", "api"),
            ("brands", "Acme Home\nAcme Trail"),
            ("modes", "ltl"),
            ("segments", ""),
            ("first_response_hours", "4"),
            ("first_response_minutes", "30"),
            ("next_response_hours", ""),
            ("next_response_minutes", ""),
            ("resolution_hours", "24"),
            ("resolution_minutes", ""),
            ("pause_when_waiting", "on"),
            ("warn_before_hours", "0"),
            ("warn_before_minutes", "45"),
            ("watchers", str(world.carrier_agent.id)),
            ("hand_over_to", str(world.carrier_manager.id)),
        ]
    )


def test_a_manager_adds_a_target_and_its_form_shows_what_is_kept(kit, world, manager):
    page = manager.get(NEW).data.decode()
    fresh = dict(submitted(page, NEW))
    assert (fresh["enabled"], fresh["warn_before_hours"], fresh["warn_before_minutes"]) == (
        "on",
        "",
        "",
    )
    response = manager.post(NEW, data=full_form(world))
    assert response.status_code == 302
    (target,) = kit.service_levels.targets(world.carrier_manager_actor)
    assert (target.name, target.enabled, target.position) == (
        "Damaged freight: three days",
        True,
        0,
    )
    assert target.conditions == {
        "types": ["lost", "osd_damaged"],
        "partners": [world.shipper.id],
        "sources": ["api", "email"],
        "brands": ["Acme Home", "Acme Trail"],
        "modes": ["ltl"],
    }
    assert (
        target.first_response_seconds,
        target.next_response_seconds,
        target.resolution_seconds,
        target.warn_before_seconds,
        target.pause_when_waiting,
    ) == (4 * 3600 + 30 * 60, None, 24 * 3600, 45 * 60, True)
    assert target.escalation == {
        "watchers": [world.carrier_agent.id],
        "hand_over_to": world.carrier_manager.id,
    }
    # Its page shows it as kept: sent back unchanged, the target stays the same.
    url = f"{LIST}/{target.id}"
    shown = MultiDict(submitted(manager.get(url).data.decode(), url))
    assert manager.post(url, data=shown).status_code == 302
    again = kit.service_levels.target(world.carrier_manager_actor, target.id)
    assert (again.name, again.conditions, again.escalation) == (
        target.name,
        target.conditions,
        target.escalation,
    )
    assert [getattr(again, f"{n}_seconds") for n in ("first_response", "resolution")] == [
        16200,
        86400,
    ]
    listing = manager.get(LIST).data.decode()
    assert f'href="{url}">Damaged freight: three days</a>' in listing
    labels = [kit.case_types[code].label for code in ("lost", "osd_damaged")]
    assert str(escape(f"Case types: {', '.join(labels)}")) in listing
    assert "Acme Goods" in listing
    assert "4 h 30 min" in listing
    assert "45 min before a breach" in listing


def test_the_form_holds_a_target_and_gives_it_back(kit, world):
    saved = kit.service_levels.save_target(
        world.carrier_manager_actor,
        {
            "name": "Same day",
            "conditions": {"types": ["lost"], "segments": ["VIP", "Gold"]},
            "next_response": 5400,
            "warn_before": 0,
            "enabled": False,
        },
    )
    values, errors = target_values(posted_target_form(MultiDict(_as_form(target_form(saved)))))
    assert errors == {}
    assert values == {
        "name": "Same day",
        "enabled": False,
        "pause_when_waiting": False,
        "conditions": {
            "types": ["lost"],
            "partners": [],
            "sources": [],
            "brands": [],
            "modes": [],
            "segments": ["Gold", "VIP"],
        },
        "escalation": {"watchers": []},
        "first_response": None,
        "next_response": 5400,
        "resolution": None,
        "warn_before": 0,
    }


def _as_form(values: dict) -> list[tuple[str, str]]:
    form: list[tuple[str, str]] = []
    for name, value in values.items():
        if isinstance(value, bool):
            if value:
                form.append((name, "on"))
        elif isinstance(value, list):
            form.extend((name, v) for v in value)
        else:
            form.append((name, value))
    return form


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"name": ""}, "name", "a name of 1 to 200 characters"),
        ({"first_response_hours": "four"}, "first_response", "whole hours and minutes"),
        ({"resolution_minutes": "75"}, "resolution", "minutes from 0 to 59"),
        ({"resolution_hours": "9000"}, "resolution", "at most 366 days"),
        ({"first_response_minutes": "0", "first_response_hours": "0"}, "first_response", "60"),
        ({"types": "no_such_type"}, "types", "unknown case type"),
        ({"sources": "fax"}, "sources", "unknown source"),
        ({"partners": "x"}, "partners", "choose from the list"),
        ({"watchers": "999999"}, "watchers", "not an active user of the organization"),
        ({"hand_over_to": "999999"}, "hand_over_to", "not an active user of the organization"),
        ({"brands": "x" * 201}, "brands", "text values of 1 to 200 characters"),
    ],
)
def test_a_bad_target_is_a_400_on_its_field_keeping_what_was_typed(
    kit, world, manager, change, field, words
):
    form = full_form(world)
    for name, value in change.items():
        form.setlist(name, [value])
    response = manager.post(NEW, data=form)
    assert response.status_code == 400
    page = response.data.decode()
    assert errors_on(page) == [field]
    assert words in page.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert f'<a href="#{field}">' in page  # the summary links to the field
    shown = MultiDict(submitted(page, NEW))
    for name in ("name", "first_response_hours", "resolution_minutes", "brands"):
        assert shown.get(name, "") == form.get(name, ""), name
    assert kit.service_levels.targets(world.carrier_manager_actor) == []


def test_a_warning_left_empty_is_the_cores_default_or_as_it_was(kit, world, manager):
    """A new target's warning left empty: an hour, or a quarter of its shortest time when
    that is less; emptied on a target's form, the warning stays as it was."""
    response = manager.post(NEW, data={"name": "Quick", "first_response_hours": "1"})
    assert response.status_code == 302
    (target,) = kit.service_levels.targets(world.carrier_manager_actor)
    assert target.warn_before_seconds == 15 * 60
    url = f"{LIST}/{target.id}"
    form = MultiDict(submitted(manager.get(url).data.decode(), url))
    assert (form["warn_before_hours"], form["warn_before_minutes"]) == ("0", "15")
    form["warn_before_hours"], form["warn_before_minutes"] = "", ""
    form["name"] = "Quicker"
    assert manager.post(url, data=form).status_code == 302
    again = kit.service_levels.target(world.carrier_manager_actor, target.id)
    assert (again.name, again.warn_before_seconds) == ("Quicker", 15 * 60)


def test_a_target_without_any_time_names_resolution(kit, world, manager):
    form = full_form(world)
    for name in ("first_response", "resolution"):
        form.setlist(f"{name}_hours", [""])
        form.setlist(f"{name}_minutes", [""])
    response = manager.post(NEW, data=form)
    assert response.status_code == 400
    assert errors_on(response.data.decode()) == ["resolution"]


def test_targets_move_up_and_down_and_are_removed(kit, world, manager):
    for name in ("First", "Second", "Third"):
        kit.service_levels.save_target(
            world.carrier_manager_actor, {"name": name, "resolution": 3600}
        )

    def order() -> list[str]:
        return [t.name for t in kit.service_levels.targets(world.carrier_manager_actor)]

    ids = {t.name: t.id for t in kit.service_levels.targets(world.carrier_manager_actor)}
    page = manager.get(LIST).data.decode()
    assert page.index(">First</a>") < page.index(">Second</a>") < page.index(">Third</a>")
    assert manager.post(LIST, data={"target": ids["Third"], "move": "up"}).status_code == 302
    assert order() == ["First", "Third", "Second"]
    manager.post(LIST, data={"target": ids["First"], "move": "down"})
    assert order() == ["Third", "First", "Second"]
    # At the top already: nothing moves.
    manager.post(LIST, data={"target": ids["Third"], "move": "up"})
    assert order() == ["Third", "First", "Second"]
    assert manager.post(LIST, data={"target": "nope", "move": "up"}).status_code == 400
    assert manager.post(LIST, data={"target": ids["First"], "move": "left"}).status_code == 400
    url = f"{LIST}/{ids['First']}"
    assert manager.post(url, data={"action": "remove"}).status_code == 302
    assert order() == ["Third", "Second"]
    assert manager.get(url).status_code == 404


def test_agents_read_the_targets_but_only_managers_change_them(kit, world, client):
    target = kit.service_levels.save_target(
        world.carrier_manager_actor, {"name": "Same day", "first_response": 3600}
    )
    other = kit.service_levels.save_target(
        world.carrier_manager_actor, {"name": "Next day", "first_response": 7200}
    )
    login(client, world.carrier_actor)
    listing = client.get(LIST).data.decode()
    assert "Same day" in listing
    assert "Add a target" not in listing
    assert "Move" not in listing
    assert "Only a manager changes the targets." in listing
    url = f"{LIST}/{target.id}"
    page = client.get(url).data.decode()
    assert [name for name, _ in submitted(page, url)] == ["csrf_token"]
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, data={"name": "Mine", "first_response_hours": "1"}).status_code == 403
    assert client.post(url, data={"name": "Mine", "first_response_hours": "1"}).status_code == 403
    assert client.post(url, data={"action": "remove"}).status_code == 403
    assert client.post(LIST, data={"target": other.id, "move": "up"}).status_code == 403
    assert [t.name for t in kit.service_levels.targets(world.carrier_manager_actor)] == [
        "Same day",
        "Next day",
    ]
    # Another organization's target is none of the shipper's business; a customer has no page.
    login(client, world.shipper_manager_actor)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"action": "remove"}).status_code == 404
    assert "Same day" not in client.get(LIST).data.decode()
    login(client, world.customer_actor)
    assert client.get(LIST).status_code == 404
    assert kit.service_levels.target(world.carrier_manager_actor, target.id).name == "Same day"


def test_the_forms_need_their_csrf_token(kit, world):
    app = make_app(kit)  # CSRF on, as in production
    client = app.test_client()
    login(client, world.carrier_manager_actor)
    form = MultiDict(submitted(client.get(NEW).data.decode(), NEW))
    token = form.pop("csrf_token")
    form["name"], form["first_response_hours"] = "Same day", "4"
    assert client.post(NEW, data=form).status_code == 400
    assert kit.service_levels.targets(world.carrier_manager_actor) == []
    form["csrf_token"] = token
    assert client.post(NEW, data=form).status_code == 302
    assert [t.name for t in kit.service_levels.targets(world.carrier_manager_actor)] == ["Same day"]


def test_the_words_of_the_list():
    assert [duration(s) for s in (None, 0, 45 * 60, 3600, 5400, 30 * 3600)] == [
        "",
        "0 min",
        "45 min",
        "1 h",
        "1 h 30 min",
        "30 h",
    ]


def test_a_targets_conditions_in_words(kit, world):
    target = kit.service_levels.save_target(
        world.shipper_manager_actor,
        {
            "name": "Carrier cases",
            "resolution": 3600,
            "conditions": {"partners": [world.carrier.id], "sources": ["portal"]},
        },
    )
    partners = {world.carrier.id: "Fast Freight"}
    assert describe_conditions(target, kit.case_types, partners) == [
        ("Partners", "Fast Freight"),
        ("Sources", "Customer portal"),
    ]
