"""A business calendar in New York: office hours, US holidays, a clock's due time."""

from datetime import datetime
from zoneinfo import ZoneInfo

from casekit.domain.calendar import BusinessCalendar
from casekit.errors import InvalidInput

new_york = ZoneInfo("America/New_York")


def local(instant, pattern="%A %Y-%m-%d %H:%M"):
    return instant.astimezone(new_york).strftime(pattern)


office = {day: [["08:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
calendar = BusinessCalendar.from_json({"time_zone": "America/New_York", "hours": office})

# A clock started on Friday 4 December 2026 at 16:55 with 4 working hours:
# 5 minutes on Friday, 3 hours 55 minutes on Monday.
started = datetime(2026, 12, 4, 16, 55, tzinfo=new_york)
due = calendar.add(started, 4 * 3600)
print("due", local(due), "| UTC", due.isoformat())
print("working hours", calendar.working_seconds(started, due) / 3600)
print("open on Saturday?", calendar.is_open(datetime(2026, 12, 5, 10, tzinfo=new_york)))

# With the United States' public holidays, Christmas Day (a Friday) is closed.
holidays = BusinessCalendar.from_json(
    {"time_zone": "America/New_York", "hours": office, "holidays": {"country": "US"}}
)
started = datetime(2026, 12, 24, 16, tzinfo=new_york)
due = holidays.add(started, 2 * 3600)
print("due", local(due))
for start, end in holidays.open_intervals(started, due):
    print("  worked", local(start, "%a %d %H:%M"), "to", local(end, "%H:%M"))

# A wrong calendar names each wrong field.
try:
    BusinessCalendar.from_json({"time_zone": "America/NewYork", "hours": {"mon": [["8", "17"]]}})
except InvalidInput as error:
    for field, messages in sorted(error.errors.items()):
        print(field, "-", messages[0])
