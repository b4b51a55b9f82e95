"""Fakes and pytest fixtures for people who test code built on casekit.

Opt in from a ``conftest.py``::

    pytest_plugins = ["casekit.testing"]

which gives the fixtures ``casekit_clock`` (a :class:`FrozenClock`),
``casekit_kit`` (a :class:`CaseKit` on a fresh SQLite file) and
``casekit_world`` (a :class:`World` of two organizations, their users and a
customer). :class:`FakeShipments` answers the lookup hooks from memory, and
:class:`SignalRecorder` records what casekit announced.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from blinker import NamedSignal

from casekit import signals
from casekit.clock import FrozenClock
from casekit.domain.directory import Organization
from casekit.domain.shipment import OrderFacts, ShipmentFacts
from casekit.kit import CaseKit
from casekit.plugins import hookimpl
from casekit.sample import World
from casekit.settings import Settings

__all__ = [
    "FakeShipments",
    "FrozenClock",
    "SignalRecorder",
    "World",
    "casekit_clock",
    "casekit_kit",
    "casekit_world",
    "make_kit",
]


class FakeShipments:
    """A plugin that answers the shipment and order lookups from dictionaries.

    >>> fake = FakeShipments()
    >>> facts = fake.add_shipment(ShipmentFacts(reference="SHP-1", shipper="acme", carrier="fast"))
    """

    def __init__(self) -> None:
        self.shipments: dict[str, ShipmentFacts] = {}
        self.orders: dict[str, OrderFacts] = {}
        self.lookups: list[tuple[str, str]] = []

    def add_shipment(self, facts: ShipmentFacts) -> ShipmentFacts:
        self.shipments[facts.reference] = facts
        return facts

    def add_order(self, facts: OrderFacts) -> OrderFacts:
        self.orders[facts.number] = facts
        return facts

    @hookimpl
    def casekit_lookup_shipment(
        self, organization: Organization, reference: str
    ) -> ShipmentFacts | None:
        self.lookups.append(("shipment", reference))
        facts = self.shipments.get(reference)
        if facts is None or organization.external_id not in (facts.shipper, facts.carrier):
            return None
        return facts

    @hookimpl
    def casekit_lookup_order(self, organization: Organization, number: str) -> OrderFacts | None:
        self.lookups.append(("order", number))
        facts = self.orders.get(number)
        if facts is None or facts.shipper not in (None, organization.external_id):
            return None
        return facts


class SignalRecorder:
    """Records the signals casekit sends while it is active.

    ::

        with SignalRecorder() as recorded:
            kit.cases.solve(actor, number)
        assert recorded.names() == ["status-changed", "case-solved", "case-updated"]
    """

    def __init__(self, watched: Sequence[NamedSignal] = signals.ALL_SIGNALS) -> None:
        self.watched = tuple(watched)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _receiver(self, name: str) -> Any:
        def receive(sender: object, **kwargs: Any) -> None:
            self.calls.append((name, kwargs))

        return receive

    def __enter__(self) -> SignalRecorder:
        self._receivers = [(s, self._receiver(str(s.name))) for s in self.watched]
        for signal, receiver in self._receivers:
            signal.connect(receiver, weak=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, signal: NamedSignal) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == signal.name]


def make_kit(
    database_url: str,
    *,
    attachment_dir: Path,
    clock: FrozenClock | None = None,
    plugins: Sequence[object] = (),
    create_schema: bool = True,
    **settings: Any,
) -> CaseKit:
    """A kit for tests: no entry points loaded, a frozen clock, its own attachment folder."""
    kit = CaseKit(
        settings=Settings(
            database_url=database_url,
            attachment_dir=attachment_dir,
            load_entry_points=False,
            **settings,
        ),
        plugins=plugins,
        clock=clock or FrozenClock(),
    )
    if create_schema:
        kit.create_schema()
    return kit


@pytest.fixture
def casekit_clock() -> FrozenClock:
    """A :class:`FrozenClock` at 2026-01-05 09:00 UTC."""
    return FrozenClock()


@pytest.fixture
def casekit_kit(tmp_path: Path, casekit_clock: FrozenClock) -> Iterator[CaseKit]:
    """A :class:`CaseKit` on a fresh SQLite file, schema created."""
    kit = make_kit(
        f"sqlite:///{tmp_path / 'casekit.sqlite3'}",
        attachment_dir=tmp_path / "attachments",
        clock=casekit_clock,
    )
    yield kit
    kit.close()


@pytest.fixture
def casekit_world(casekit_kit: CaseKit) -> World:
    """A :class:`World` in ``casekit_kit``."""
    return World.build(casekit_kit)
