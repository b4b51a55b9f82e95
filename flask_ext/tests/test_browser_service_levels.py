"""The service-level settings in Chromium: a manager sets the calendar and a target through the
forms as a browser sends them (time fields, multiple choices, CSRF on), a refused form keeps
what was typed; and the pages photographed at 1366x900 and at a phone's 390 px for
``tests/artifacts/`` (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import ARTIFACTS, chromium, sample_service_levels, serving, signing_in_app

pytestmark = [pytest.mark.browser, pytest.mark.backends("sqlite")]

#: The window sizes the pages are photographed at, by the name their files end with.
SIZES = {"1366": (1366, 900), "390": (390, 844)}


@pytest.fixture
def live(kit, world) -> Iterator[str]:
    """The host app with CSRF on, served; /login/<who> signs in as the shipper's manager or
    agent. The shipper keeps a calendar, one for its carrier, and two targets."""
    app = signing_in_app(
        kit, {"manager": world.shipper_manager_actor, "agent": world.shipper_actor}
    )
    sample_service_levels(kit, world.shipper_manager_actor, world.carrier.id)
    with serving(app) as base:
        yield base


@pytest.fixture
def browser() -> Iterator:
    with chromium() as launched:
        yield launched


def tab(browser, width: int = 1366, height: int = 900):
    context = browser.new_context(
        viewport={"width": width, "height": height}, timezone_id="America/Chicago"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


def test_a_manager_sets_the_calendar_and_a_target_in_the_browser(kit, world, live, browser):
    page = tab(browser)
    page.goto(f"{live}/login/manager")
    page.goto(f"{live}/cases/settings")
    with page.expect_navigation():
        page.get_by_role("link", name="Business calendar").click()
    # Sunday was closed: a morning on Sundays, and the calendar in New York.
    page.fill("#hours-sun-0-start", "10:00")
    page.fill("#hours-sun-0-end", "14:00")
    page.select_option("#time_zone", "America/New_York")
    submit(page, "Save calendar")
    assert "Calendar saved" in page.inner_text(".ck-flash")
    kept = kit.service_levels.calendar(world.shipper_manager_actor)
    assert kept is not None
    calendar = kept.calendar.to_json()
    assert calendar["time_zone"] == "America/New_York"
    assert calendar["hours"]["sun"] == [["10:00", "14:00"]]
    assert calendar["hours"]["mon"] == [["08:00", "12:00"], ["13:00", "17:00"]]  # kept
    assert calendar["holidays"] == {"country": "US", "subdivision": "TX"}

    # A refused form: an interval without its end comes back with the day's message.
    page.fill("#hours-tue-2-start", "18:00")
    submit(page, "Save calendar")
    assert "give each of Tuesday's intervals a start and an end" in page.inner_text(
        "#hours-tue-error"
    )
    assert page.input_value("#hours-tue-2-start") == "18:00"
    assert page.get_attribute("#hours-tue-2-end", "aria-invalid") == "true"

    # A new target: conditions chosen from the lists, times in hours and minutes.
    page.goto(f"{live}/cases/settings/service-levels")
    with page.expect_navigation():
        page.get_by_role("link", name="Add a target").click()
    page.fill("#name", "Lost parcels: answer in two hours")
    page.select_option("#types", ["lost", "where_is_my_order"])
    page.select_option("#partners", [str(world.carrier.id)])
    page.fill("#first_response_hours", "2")
    page.fill("#resolution_hours", "16")
    page.fill("#warn_before_hours", "0")
    page.fill("#warn_before_minutes", "20")
    page.select_option("#hand_over_to", str(world.shipper_manager.id))
    submit(page, "Add target")
    assert "Lost parcels: answer in two hours" in page.inner_text(".ck-targets")
    added = kit.service_levels.targets(world.shipper_manager_actor)[-1]
    assert added.conditions == {
        "types": ["lost", "where_is_my_order"],
        "partners": [world.carrier.id],
    }
    assert (added.first_response_seconds, added.resolution_seconds) == (7200, 16 * 3600)
    assert (added.warn_before_seconds, added.escalation) == (
        1200,
        {"hand_over_to": world.shipper_manager.id},
    )
    # Moved to the top, it is the first a case is tried against.
    move_up = page.get_by_role("button", name=re.compile(r"^Move up\W+Lost parcels"))
    for _ in range(2):
        with page.expect_navigation():
            move_up.click()
    names = [t.name for t in kit.service_levels.targets(world.shipper_manager_actor)]
    assert names[0] == "Lost parcels: answer in two hours"
    page.context.close()


PAGES = {
    "calendar": "/cases/settings/calendar",
    "partner-calendar": "/cases/settings/calendar/{partner_org_id}",
    "service-levels": "/cases/settings/service-levels",
    "service-level": "/cases/settings/service-levels/{target_id}",
    "new-service-level": "/cases/settings/service-levels/new",
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_settings_pages_read_well_at_both_sizes(kit, world, live, browser, size):
    """Each page fits the window's width (nothing to scroll sideways but the partners'
    table), and is photographed whole."""
    width, height = SIZES[size]
    page = tab(browser, width, height)
    page.goto(f"{live}/login/manager")
    target = kit.service_levels.targets(world.shipper_manager_actor)[0]
    values = {"partner_org_id": world.carrier.id, "target_id": target.id}
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in PAGES.items():
        response = page.goto(live + path.format(**values))
        assert response is not None
        assert response.status == 200, (name, response.status)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} is {scroll} px wide in a {width} px window"
        page.screenshot(path=str(ARTIFACTS / f"settings-{name}-{size}.png"), full_page=True)
    # A refused target form, as the manager sees it.
    page.goto(live + PAGES["service-level"].format(**values))
    page.fill("#name", "")
    page.fill("#first_response_minutes", "75")
    submit(page, "Save target")
    assert page.locator(".ck-error-summary").is_visible()
    page.screenshot(path=str(ARTIFACTS / f"settings-service-level-refused-{size}.png"))
    page.context.close()
