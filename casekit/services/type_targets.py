"""Targets of one case type each: the report targets of old, kept as service levels.

Before service levels an organization set, per case type, a first-response
and a resolution target that only the dashboard read
(``kit.reports.set_target``). Those are service levels now
(:class:`~casekit.services.service_levels.ServiceLevelService`): a **type target** is a target
whose only condition is one case type. Migration 0029 turned each report
target into one (named after the type, warning an hour before a breach,
tried before the organization's other targets).

The deprecated ``kit.reports.targets`` and ``kit.reports.set_target``, the
deprecated REST endpoints ``/report-targets`` and the dashboard's targets
page read and write an organization's type targets through the functions
here, which change nothing but the type target's first-response and
resolution times.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol

from casekit.domain.actor import Actor
from casekit.domain.reports import ReportTarget
from casekit.domain.sla import Target
from casekit.errors import InvalidInput, PermissionDenied
from casekit.services.service_levels import ServiceLevelService

#: The longest target: 366 days.
MAX_TARGET = timedelta(days=366)
#: How long before a breach a new type target warns.
WARN_BEFORE = 3600


class TargetsKit(Protocol):
    """What the type targets need of the kit (a :class:`~casekit.CaseKit` is one)."""

    @property
    def service_levels(self) -> ServiceLevelService: ...

    @property
    def case_types(self) -> Mapping[str, Any]: ...


def type_of(target: Target) -> str | None:
    """The case type of a type target (its only condition is that one type); else None."""
    types = target.conditions.get("types") or []
    if set(target.conditions) != {"types"} or len(types) != 1:
        return None
    return str(types[0])


def _found(kit: TargetsKit, actor: Actor) -> dict[str, Target]:
    """The organization's enabled type targets by case type: the first of each type."""
    found: dict[str, Target] = {}
    for target in kit.service_levels.targets(actor):
        code = type_of(target)
        if target.enabled and code is not None and code not in found:
            found[code] = target
    return found


def _report_target(code: str, target: Target) -> ReportTarget:
    return ReportTarget(
        org_id=target.org_id,
        case_type=code,
        updated_at=target.updated_at,
        updated_by=target.updated_by,
        first_response_seconds=target.first_response_seconds,
        resolution_seconds=target.resolution_seconds,
    )


def type_targets(kit: TargetsKit, actor: Actor) -> list[ReportTarget]:
    """The organization's type targets that set a first-response or a resolution
    time, by case type."""
    return [
        _report_target(code, target)
        for code, target in sorted(_found(kit, actor).items())
        if target.first_response_seconds is not None or target.resolution_seconds is not None
    ]


def set_type_target(
    kit: TargetsKit,
    actor: Actor,
    case_type: str,
    *,
    first_response: timedelta | int | None = None,
    resolution: timedelta | int | None = None,
) -> ReportTarget | None:
    """Set the first-response and resolution times of ``case_type``'s type target (a
    manager's call), adding one (named after the type, last in order) when there is none.

    Durations are a :class:`~datetime.timedelta` or whole seconds of working
    time; None unsets that time. Unsetting both removes the type target
    (unless it sets a next-response time, which it then keeps) and returns None.
    Bad input raises :class:`~casekit.errors.InvalidInput` naming
    ``case_type``, ``first_response`` or ``resolution``.
    """
    if not actor.is_staff or actor.org_id is None:
        raise PermissionDenied("targets belong to an organization: act as one of its users")
    if not actor.is_manager:
        raise PermissionDenied("only a manager sets the organization's targets")
    errors: dict[str, list[str]] = {}
    if case_type not in kit.case_types:
        errors["case_type"] = [f"unknown case type {case_type!r}"]
    first = _seconds(errors, "first_response", first_response)
    resolve = _seconds(errors, "resolution", resolution)
    if errors:
        raise InvalidInput(errors)
    levels = kit.service_levels
    found = _found(kit, actor).get(case_type)
    if first is None and resolve is None:
        if found is None:
            return None
        if found.next_response_seconds is None:
            levels.remove_target(actor, found.id)  # type: ignore[arg-type]
        else:
            unset = {"first_response": None, "resolution": None}
            levels.save_target(actor, unset, target_id=found.id)
        return None
    values: dict[str, Any] = {"first_response": first, "resolution": resolve}
    if found is None:
        values.update(
            name=str(kit.case_types[case_type].label),
            conditions={"types": [case_type]},
            warn_before=WARN_BEFORE,
        )
        saved = levels.save_target(actor, values)
    else:
        saved = levels.save_target(actor, values, target_id=found.id)
    return _report_target(case_type, saved)


def _seconds(errors: dict[str, list[str]], name: str, value: timedelta | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (timedelta, int)):
        errors[name] = ["a duration: a timedelta or whole seconds"]
        return None
    seconds = value if isinstance(value, int) else value.total_seconds()
    if not 60 <= seconds <= MAX_TARGET.total_seconds():
        errors[name] = ["between one minute and 366 days"]
        return None
    return int(seconds)


__all__ = ["TargetsKit", "set_type_target", "type_of", "type_targets"]
