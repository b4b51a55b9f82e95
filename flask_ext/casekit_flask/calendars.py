"""The managers' business calendars: the organization's own, and one per partner.

Routes of the staff blueprint, beside the other settings pages. The
organization's staff read them; its managers change them. A calendar is
edited as the form of its JSON form (:meth:`BusinessCalendar.to_json
<casekit.domain.calendar.BusinessCalendar.to_json>`), which the core checks:
a field it refuses comes back on the form with its message, what was typed
kept. A partner's calendar also says whether that partner sees the
organization's clocks.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from casekit import Actor, InvalidInput
from casekit_flask.extension import current_kit
from casekit_flask.staff import _organization, partners_of, require_staff, staff

#: The weekdays of a calendar's ``hours``, in the words of the form.
WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)
#: The most intervals a weekday takes on the form (one more than it has is shown, to add).
MAX_INTERVALS = 12
#: A new calendar's suggestion: Monday to Friday, nine to five.
SUGGESTED_HOURS = {day: [["09:00", "17:00"]] for day, _ in WEEKDAYS[:5]}


# -- calendars -----------------------------------------------------------------------------
@cache
def time_zones() -> tuple[str, ...]:
    """The IANA time zones a calendar may name, sorted (the legacy aliases left out)."""
    zones = zoneinfo.available_timezones()
    legacy = ("Etc/", "SystemV/", "US/")
    return (*sorted(z for z in zones if "/" in z and not z.startswith(legacy)), "UTC")


@cache
def holiday_countries() -> tuple[tuple[str, str], ...]:
    """The countries whose public holidays a calendar may follow: (code, name), by name."""
    import holidays

    names: dict[str, str] = {}
    for class_name, code, *_rest in holidays.registry.COUNTRIES.values():
        names[code] = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)
    supported = holidays.list_supported_countries()
    return tuple(sorted(((c, names.get(c, c)) for c in supported), key=lambda p: p[1]))


def subdivisions(country: str) -> tuple[str, ...]:
    """The codes of ``country``'s subdivisions that have holidays of their own."""
    import holidays

    return tuple(holidays.list_supported_countries().get(country, ()))


def calendar_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values for a calendar in its JSON form."""
    holidays = data.get("holidays") or {}
    hours = data.get("hours") or {}
    return {
        "time_zone": data.get("time_zone") or "UTC",
        "hours": {
            day: [(str(i[0]), _end(str(i[1]))) for i in hours.get(day) or [] if len(i) == 2]
            for day, _ in WEEKDAYS
        },
        "holiday_country": holidays.get("country") or "",
        "holiday_subdivision": holidays.get("subdivision") or "",
        "closed_days": "\n".join(str(d) for d in data.get("closed_days") or []),
    }


def _end(time: str) -> str:
    """An interval's end as a time field holds it: "24:00" (the end of the day) is
    "00:00", which the calendar reads the same (an end not after the start is the next
    day's)."""
    return "00:00" if time == "24:00" else time


def posted_calendar_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The form's values as they were sent (to show them again with the errors)."""
    hours: dict[str, list[tuple[str, str]]] = {}
    for day, _ in WEEKDAYS:
        rows = [
            (
                form.get(f"hours-{day}-{i}-start", "").strip(),
                form.get(f"hours-{day}-{i}-end", "").strip(),
            )
            for i in range(MAX_INTERVALS)
        ]
        hours[day] = [row for row in rows if row != ("", "")]
    return {
        "time_zone": form.get("time_zone", "").strip(),
        "hours": hours,
        "holiday_country": form.get("holiday_country", "").strip(),
        "holiday_subdivision": form.get("holiday_subdivision", "").strip().upper(),
        "closed_days": form.get("closed_days", ""),
    }


def calendar_json(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A calendar's JSON form from the form's values (:func:`posted_calendar_form`), and
    the errors of the form itself (an interval with one end), by the form's field."""
    errors: dict[str, list[str]] = {}
    hours: dict[str, list[list[str]]] = {}
    for day, name in WEEKDAYS:
        intervals = values["hours"][day]
        if any(not start or not end for start, end in intervals):
            errors[f"hours-{day}"] = [f"give each of {name}'s intervals a start and an end"]
        elif intervals:
            hours[day] = [[start, end] for start, end in intervals]
    country = values["holiday_country"]
    subdivision = values["holiday_subdivision"]
    if subdivision and not country:
        errors["holiday_country"] = ["choose the country of the subdivision"]
    days = [d for d in re.split(r"[\s,;]+", values["closed_days"]) if d]
    data = {
        "time_zone": values["time_zone"],
        "hours": hours,
        "holidays": {"country": country, "subdivision": subdivision or None} if country else None,
        "closed_days": days,
    }
    return data, errors


#: A field of the calendar's JSON form (as the core names it), and where it is on the form.
_CALENDAR_FIELD = re.compile(
    r"^(?:calendar\.)?(?P<field>time_zone|hours|holidays|closed_days)"
    r"(?:\.(?P<key>[^\[.]+))?(?:\[(?P<index>\d+)\])?$"
)


def calendar_errors(errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """The core's errors on a calendar, by the form's field, each message saying which
    interval or date it is about (``calendar.hours.mon[1]``: Monday's second interval)."""
    days = dict(WEEKDAYS)
    found: dict[str, list[str]] = {}
    for name, messages in errors.items():
        texts = [str(m) for m in messages]
        match = _CALENDAR_FIELD.match(name)
        if match is None:
            found.setdefault(name, []).extend(texts)
            continue
        field, key, index = match["field"], match["key"], match["index"]
        where = ""
        if field == "hours":
            target = f"hours-{key}" if key in days else "hours"
            if key and key not in days:
                where = f"{key}: "
            elif index is not None:
                where = f"interval {int(index) + 1}: "
        elif field == "holidays":
            target = "holiday_subdivision" if key == "subdivision" else "holiday_country"
        elif field == "closed_days":
            target = "closed_days"
            if index is not None:
                where = f"date {int(index) + 1}: "
        else:
            target = "time_zone"
        found.setdefault(target, []).extend(where + t for t in texts)
    return found


#: The form's fields, as the error summary names them.
CALENDAR_LABELS = {
    "time_zone": "Time zone",
    "hours": "Working hours",
    **{f"hours-{day}": f"{name}'s hours" for day, name in WEEKDAYS},
    "holiday_country": "Public holidays",
    "holiday_subdivision": "Subdivision",
    "closed_days": "Closed days",
    "share_clocks": "Show our clocks",
    "partner_org_id": "Partner",
}


def _save_calendar(
    actor: Actor, values: dict[str, Any], partner_org_id: int | None
) -> dict[str, list[str]]:
    """Save the posted calendar; the errors by the form's field (none: saved)."""
    data, errors = calendar_json(values)
    if errors:
        return errors
    share = partner_org_id is not None and request.form.get("share_clocks") == "on"
    try:
        current_kit().service_levels.set_calendar(
            actor, data, partner_org_id=partner_org_id, share_clocks=share
        )
    except InvalidInput as error:
        return calendar_errors(error.errors)
    return {}


@staff.route("/settings/calendar", methods=["GET", "POST"])
def calendar() -> ResponseReturnValue:
    """The organization's own business calendar, and the list of its partners' calendars."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if request.form.get("action") == "remove":
            kit.service_levels.remove_calendar(actor)
            flash("Your calendar is removed: your clocks count every hour of every day.")
            return redirect(url_for(".calendar"))
        values = posted_calendar_form(request.form)
        errors = _save_calendar(actor, values, None)
        if not errors:
            flash("Calendar saved: your open cases' clocks count in it now.")
            return redirect(url_for(".calendar"))
    settings = {s.partner_org_id: s for s in kit.service_levels.calendars(actor)}
    own = settings.get(None)
    if not errors:
        values = calendar_form(own.calendar.to_json() if own else {"hours": SUGGESTED_HOURS})
    return render_template(
        "casekit/staff/calendar.html",
        actor=actor,
        organization=organization,
        setting=own,
        partner=None,
        partners=[(p, settings.get(p.id)) for p in partners_of(actor, organization)],
        **_calendar_context(values, errors),
    ), (400 if errors else 200)


@staff.route("/settings/calendar/<int:partner_org_id>", methods=["GET", "POST"])
def partner_calendar(partner_org_id: int) -> ResponseReturnValue:
    """The calendar of the organization's cases with one partner, and whether the partner
    sees the organization's clocks on them."""
    actor = require_staff()
    kit = current_kit()
    organization = _organization(actor)
    partner = next((p for p in partners_of(actor, organization) if p.id == partner_org_id), None)
    if partner is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if request.form.get("action") == "remove":
            kit.service_levels.remove_calendar(actor, partner_org_id=partner_org_id)
            flash(f"The cases with {partner.name} count in your own calendar again.")
            return redirect(url_for(".calendar"))
        values = posted_calendar_form(request.form)
        errors = _save_calendar(actor, values, partner_org_id)
        if not errors:
            flash(f"Calendar for the cases with {partner.name} saved.")
            return redirect(url_for(".calendar"))
    setting = kit.service_levels.calendar(actor, partner_org_id=partner_org_id)
    own = kit.service_levels.calendar(actor)
    if not errors:
        start = setting or own
        values = calendar_form(start.calendar.to_json() if start else {"hours": SUGGESTED_HOURS})
    shared = (
        request.form.get("share_clocks") == "on"
        if errors
        else bool(setting and setting.share_clocks)
    )
    return render_template(
        "casekit/staff/calendar.html",
        actor=actor,
        organization=organization,
        setting=setting,
        own=own,
        partner=partner,
        share_clocks=shared,
        **_calendar_context(values, errors),
    ), (400 if errors else 200)


def _calendar_context(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    zones, countries = time_zones(), holiday_countries()
    country = values["holiday_country"]
    return {
        "values": values,
        "errors": errors,
        "labels": CALENDAR_LABELS,
        "weekdays": WEEKDAYS,
        "max_intervals": MAX_INTERVALS,
        # A zone or country the list lacks (sent by hand, or kept from before) is offered
        # too, so that it is kept.
        "time_zones": zones if values["time_zone"] in zones else (values["time_zone"], *zones),
        "countries": countries
        if not country or country in dict(countries)
        else (
            (country, country),
            *countries,
        ),
        "subdivisions": subdivisions(country) if country else (),
    }
