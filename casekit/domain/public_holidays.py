"""Public holidays for business calendars, from the ``holidays`` library.

Building a country's holidays is slow next to working-time arithmetic, so
each (country, subdivision, year) is built once per process and kept as a set
of day ordinals (:meth:`datetime.date.toordinal`). ``functools.lru_cache`` is
safe to call from several threads; at worst two threads build the same year.
"""

from __future__ import annotations

import functools
from typing import Any


def _holidays() -> Any:
    # Imported on first use: the library loads every country's rules.
    import holidays

    return holidays


@functools.lru_cache(maxsize=1)
def _supported() -> dict[str, tuple[str, ...]]:
    countries = _holidays().list_supported_countries(include_aliases=True)
    return {code: tuple(subdivisions) for code, subdivisions in countries.items()}


def country_code(value: str) -> str | None:
    """The code ``holidays`` knows for ``value`` (``"US"``, ``"de"``...), or None."""
    code = value.strip().upper()
    return code if code in _supported() else None


@functools.lru_cache(maxsize=256)
def _subdivisions(country: str) -> dict[str, str]:
    """Every name ``holidays`` accepts for a subdivision of ``country``
    (codes and their aliases), upper case, to the name to keep."""
    names = {code.upper(): code for code in _supported()[country]}
    aliases = getattr(_holidays().country_holidays(country), "subdivisions_aliases", {}) or {}
    for alias in aliases:
        names.setdefault(alias.upper(), alias)
    return names


def subdivision_code(country: str, value: str) -> str | None:
    """The name ``holidays`` knows for subdivision ``value`` of ``country``
    (a code such as ``"TX"``, or an alias it accepts), or None."""
    return _subdivisions(country).get(value.strip().upper())


def some_subdivisions(country: str, limit: int = 8) -> str:
    """A few of the country's subdivision codes, for an error message."""
    codes = _supported()[country]
    listed = ", ".join(codes[:limit])
    return listed + (", ..." if len(codes) > limit else "")


@functools.lru_cache(maxsize=1024)
def holiday_ordinals(country: str, subdivision: str | None, year: int) -> frozenset[int]:
    """The public holidays of ``country`` (and ``subdivision``) in ``year``,
    days observed in lieu included, as day ordinals.

    ``holidays`` lists a day observed in the year before its holiday under
    the year it falls in (New Year's Day 2022 observed on 31 December 2021).
    """
    made = _holidays().country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(day.toordinal() for day in made if day.year == year)
