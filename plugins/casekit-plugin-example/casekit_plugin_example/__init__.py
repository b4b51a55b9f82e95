"""An example casekit plugin: copy this distribution to start your own.

It does two things, the two ways a plugin takes part in casekit:

- it *answers a hook*: ``casekit_add_case_types`` adds the case type
  "Pallet Exchange" to the catalogue;
- it *listens to a signal*: when a case is solved, it logs how long the case
  took, at INFO on the logger ``casekit_plugin_example``.

The module itself is the plugin (see the entry point in pyproject.toml):
casekit registers it and calls the functions named after hooks.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from casekit import CaseKit, CaseType, CaseView, hookimpl, signals

__version__ = "0.1.0"

log = logging.getLogger(__name__)

PALLET_EXCHANGE = CaseType("pallet_exchange", "Pallet Exchange")


@hookimpl
def casekit_add_case_types() -> list[CaseType]:
    """Add "Pallet Exchange" to the case type catalogue."""
    return [PALLET_EXCHANGE]


@hookimpl
def casekit_kit_ready(kit: CaseKit) -> None:
    """Listen to this kit's solved cases (and no other kit's)."""
    signals.case_solved.connect(on_case_solved, sender=kit)


def on_case_solved(kit: CaseKit, *, case: CaseView, **extra: Any) -> None:
    """Log which case was solved, and how long after it was opened."""
    if case.solved_at is None:  # never for case_solved; a receiver checks anyway
        return
    log.info("%s solved after %s", case.number, describe(case.solved_at - case.created_at))


def describe(took: timedelta) -> str:
    """A duration as people say it: ``2 d 3 h``, ``3 h 5 min``, ``under a minute``."""
    minutes = int(took.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else "under a minute"
