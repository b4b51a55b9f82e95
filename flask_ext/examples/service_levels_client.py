"""A REST API client: a carrier sets its calendar and a target; its clocks on a new case.

The carrier works Monday to Friday, 08:00-17:00 in New York, and answers a request
to schedule a delivery within four working hours. A shipper's system opens such a
case on Friday at 16:55; the carrier's system reads when its first answer is due.
Run it with the API's base URL, a write key of the shipper, a write key of the
carrier and the carrier's organization id::

    python service_levels_client.py https://cases.example.com/api/v1 ck_... ck_... 7
"""

import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import requests


def session(token: str) -> requests.Session:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    return api


def main(base: str, shipper_token: str, carrier_token: str, carrier_id: int) -> None:
    carrier, shipper = session(carrier_token), session(shipper_token)

    # The carrier's calendar, in the JSON form of a business calendar.
    week = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    response = carrier.put(
        f"{base}/settings/calendar",
        json={
            "time_zone": "America/New_York",
            "hours": week,
            "holidays": {"country": "US", "subdivision": "NY"},
        },
    )
    response.raise_for_status()
    print("calendar", response.json()["calendar"]["time_zone"])

    # A target: times in seconds of working time; warned an hour before a breach.
    response = carrier.post(
        f"{base}/settings/service-levels",
        json={
            "name": "Delivery scheduling: four working hours",
            "conditions": {"types": ["delivery_scheduling"]},
            "first_response_seconds": 4 * 3600,
            "warn_before_seconds": 3600,
        },
    )
    response.raise_for_status()
    print("target", response.json()["name"])

    # A bad field is a 400 naming it: nothing is stored.
    response = carrier.post(
        f"{base}/settings/service-levels", json={"name": "Too fast", "first_response_seconds": 5}
    )
    print(response.status_code, sorted(response.json()["errors"]))

    # The shipper's system opens a case for the carrier (at Friday 16:55 in New York).
    response = shipper.post(
        f"{base}/cases",
        json={"type": "delivery_scheduling", "subject": "Book a slot", "carrier": carrier_id},
    )
    response.raise_for_status()
    number = response.json()["number"]

    # The carrier reads its clocks: the due time, shown in its calendar's time zone.
    response = carrier.get(f"{base}/cases/{number}")
    response.raise_for_status()
    for clock in response.json()["clocks"]:
        due = datetime.fromisoformat(clock["due_at"]).astimezone(ZoneInfo(clock["time_zone"]))
        print(clock["kind"], "due", due.strftime("%a %d %b %H:%M %Z"), clock["due_state"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
