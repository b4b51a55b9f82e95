"""Time zones as business calendars read them: UTC offsets and their changes.

Instants and local wall-clock times are whole microseconds since 1970-01-01
(an instant on the UTC time line, a local time on the zone's wall clock), so
that working time adds up exactly. A zone's offsets are read from
:mod:`zoneinfo` once per year and kept: a :class:`ZoneWindow` answers, for
three years around one, the offset at an instant and the instant at which
the wall clock shows a local time.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Microseconds in a second, a minute and a day.
SECOND = 1_000_000
MINUTE = 60 * SECOND
DAY = 86_400 * SECOND

#: The ordinal (:meth:`datetime.date.toordinal`) of 1970-01-01.
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

#: The years calendars compute in; instants outside are refused.
FIRST_YEAR = 1900
LAST_YEAR = 9000

#: Seconds between the samples of a zone's offset when looking for changes.
#: Two changes closer than this that cancel out would go unseen; time zone
#: rules have none.
_SAMPLE = 3 * 3600


def load_zone(name: object) -> ZoneInfo | None:
    """The zone named ``name`` (an IANA name such as ``"Europe/Berlin"``), or
    None when there is no such zone."""
    if not isinstance(name, str) or not name or len(name) > 64 or name != name.strip():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"business calendars compute from {FIRST_YEAR} to {LAST_YEAR}")


def year_of_instant(instant: int) -> int:
    """The UTC year of an instant."""
    return date.fromordinal(EPOCH_ORDINAL + instant // DAY).year


def _offset_seconds(zone: ZoneInfo, timestamp: int) -> int:
    offset = datetime.fromtimestamp(timestamp, zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def _year_start(year: int) -> int:
    """1 January of ``year``, 00:00 UTC, in seconds since 1970."""
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


@functools.lru_cache(maxsize=4096)
def offset_changes(name: str, year: int) -> tuple[tuple[int, int], ...]:
    """Each change of the zone's UTC offset after 1 January of ``year`` (UTC)
    up to and including 1 January of the next year: (instant, offset after),
    in order, in microseconds."""
    check_year(year)
    zone = ZoneInfo(name)
    end = _year_start(year + 1)
    changes: list[tuple[int, int]] = []
    at = _year_start(year)
    current = _offset_seconds(zone, at)
    while at < end:
        ahead = min(at + _SAMPLE, end)
        offset = _offset_seconds(zone, ahead)
        if offset == current:
            at = ahead
            continue
        # The first second whose offset is not ``current``: the change.
        low, high = at, ahead
        while high - low > 1:
            middle = (low + high) // 2
            if _offset_seconds(zone, middle) == current:
                low = middle
            else:
                high = middle
        current = _offset_seconds(zone, high)
        changes.append((high * SECOND, current * SECOND))
        at = high
    return tuple(changes)


class ZoneWindow:
    """A zone's offsets from 1 January of the year before ``year`` to the end
    of the year after it: pieces of the UTC time line with one offset each."""

    __slots__ = ("_offsets", "_starts", "_wall_ends")

    def __init__(self, name: str, year: int) -> None:
        first = _year_start(year - 1)
        starts = [first * SECOND]
        offsets = [_offset_seconds(ZoneInfo(name), first) * SECOND]
        for each in (year - 1, year, year + 1):
            for instant, offset in offset_changes(name, each):
                starts.append(instant)
                offsets.append(offset)
        self._starts = tuple(starts)
        self._offsets = tuple(offsets)
        # The wall clock's time at the end of each piece but the last.
        self._wall_ends = tuple(starts[i + 1] + offsets[i] for i in range(len(starts) - 1))

    def offset(self, instant: int) -> int:
        """The UTC offset at ``instant``."""
        return self._offsets[max(bisect_right(self._starts, instant) - 1, 0)]

    def instant(self, local: int) -> int:
        """The first instant at which the wall clock shows ``local`` or later.

        That is the plain conversion for most local times; the earlier of two
        instants for a local time that happens twice (fold 0); and the end of
        the gap, the instant the clocks are put forward, for a local time
        that never happens.
        """
        piece = bisect_right(self._wall_ends, local)
        at = local - self._offsets[piece]
        return at if piece == 0 else max(self._starts[piece], at)


@functools.lru_cache(maxsize=1024)
def zone_window(name: str, year: int) -> ZoneWindow:
    """The zone's :class:`ZoneWindow` around ``year``: good for instants and
    local times in ``year`` (and a day either side)."""
    check_year(year)
    return ZoneWindow(name, year)
