"""The filters templates use: one way to show a moment, a date that never shifts, labels."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

from flask import Flask, render_template_string

from casekit import Status
from casekit_flask import rendering

CHICAGO = timezone(timedelta(hours=-6), "CST")
TOKYO = timezone(timedelta(hours=9), "JST")


def parts(markup: str) -> tuple[str, str, str]:
    found = re.fullmatch(r'<time datetime="([^"]+)" data-style="(\w+)">([^<]+)</time>', markup)
    assert found, markup
    return found.group(1), found.group(2), found.group(3)


def test_a_date_is_a_day_everywhere():
    """A date is written as a day: the page's script shows it in UTC, where the
    ISO day it carries is midnight, so no reader's zone moves it."""
    assert parts(rendering.when(date(2025, 11, 8))) == ("2025-11-08", "day", "Nov 8, 2025")
    assert parts(rendering.day(date(2025, 1, 31)))[2] == "Jan 31, 2025"


def test_an_order_date_near_midnight_keeps_its_day_in_chicago_and_in_tokyo():
    # Placed late on Nov 8 in Chicago: already Nov 9 in UTC.
    late_in_chicago = datetime(2025, 11, 8, 23, 30, tzinfo=CHICAGO)
    assert late_in_chicago.astimezone(UTC).day == 9
    assert parts(rendering.day(late_in_chicago))[:2] == ("2025-11-08", "day")
    # Placed just after midnight on Nov 8 in Tokyo: still Nov 7 in UTC.
    early_in_tokyo = datetime(2025, 11, 8, 0, 30, tzinfo=TOKYO)
    assert early_in_tokyo.astimezone(UTC).day == 7
    assert parts(rendering.day(early_in_tokyo))[:2] == ("2025-11-08", "day")
    # A date stored as UTC midnight (what a date-only feed gives) is that day.
    assert parts(rendering.day(datetime(2025, 11, 8, tzinfo=UTC)))[0] == "2025-11-08"
    assert parts(rendering.day("2025-11-08"))[0] == "2025-11-08"


def test_a_moment_is_written_in_utc_for_the_browser_to_show_in_its_zone():
    moment = datetime(2025, 11, 8, 5, 30, tzinfo=UTC)  # Nov 7, 11:30 PM in Chicago
    assert parts(rendering.when(moment)) == (
        "2025-11-08T05:30:00Z",
        "datetime",
        "2025-11-08 05:30 UTC",
    )
    assert parts(rendering.when(datetime(2025, 11, 8, 0, 30, tzinfo=TOKYO))) == (
        "2025-11-07T15:30:00Z",
        "datetime",
        "2025-11-07 15:30 UTC",
    )
    assert parts(rendering.when(datetime(2025, 11, 8, 5, 30)))[0] == "2025-11-08T05:30:00Z"
    assert parts(rendering.when(moment, "date"))[1] == "date"


def test_a_mails_date_header_is_shown_like_every_other_moment():
    header = "Sat, 08 Nov 2025 05:30:00 +0000"
    assert parts(rendering.when(header))[0] == "2025-11-08T05:30:00Z"
    assert parts(rendering.when("Fri, 07 Nov 2025 23:30:00 -0600"))[0] == "2025-11-08T05:30:00Z"
    assert "+0000" not in rendering.when(header)
    assert str(rendering.when(None)) == '<span class="ck-muted">—</span>'
    assert str(rendering.when("not a date")) == '<span class="ck-muted">—</span>'


def test_the_label_and_field_filters():
    app = Flask(__name__)
    rendering.install(app)
    with app.app_context():
        shown = render_template_string(
            "{{ 'parcel'|casekit_label('mode') }}|{{ none|casekit_label('mode') }}|"
            "{{ 'crm_number'|casekit_field }}|{{ status|casekit_status }}|"
            "{{ d|casekit_day }}",
            status=Status.SOLVED,
            d=date(2025, 11, 8),
        )
    assert shown == (
        'Parcel||CRM case number|Solved|<time datetime="2025-11-08" data-style="day">'
        "Nov 8, 2025</time>"
    )


def test_every_event_of_the_timeline_is_a_sentence_not_a_code():
    import attrs

    from casekit import EntryView, EventKind

    fields = {f.name: None for f in attrs.fields(EntryView)}
    for kind in EventKind:
        status = kind in (EventKind.STATUS_CHANGED, EventKind.REOPENED)
        new = "open" if status else "1"
        view = EntryView(**{**fields, "event": kind.value, "new_value": new, "old_value": "new"})
        sentence = str(rendering.describe_event(view, {}, str))
        assert "_" not in sentence, (kind, sentence)
        assert "changed the case (" not in sentence, (kind, sentence)  # each has its own
        assert sentence[:1].islower(), sentence
    unknown = EntryView(**{**fields, "event": "held_for_review"})
    assert rendering.describe_event(unknown, {}, str) == "changed the case (Held for review)"
