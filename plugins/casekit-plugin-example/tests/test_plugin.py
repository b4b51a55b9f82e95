"""The example plugin, tested the way a plugin author tests theirs."""

from __future__ import annotations

import logging
from datetime import timedelta

import casekit_plugin_example
import pytest

from casekit import CaseKit, Settings
from casekit.testing import World, make_kit


@pytest.fixture
def kit(tmp_path, casekit_clock):
    """A kit with the plugin registered (entry points are not loaded in tests)."""
    kit = make_kit(
        f"sqlite:///{tmp_path / 'example.sqlite3'}",
        attachment_dir=tmp_path / "files",
        clock=casekit_clock,
        plugins=[casekit_plugin_example],
    )
    yield kit
    kit.close()


def test_the_case_type_is_in_the_catalogue_and_usable(kit):
    assert kit.case_types["pallet_exchange"].label == "Pallet Exchange"
    world = World.build(kit)
    case = kit.cases.open(world.shipper_actor, type="pallet_exchange", message="12 pallets owed")
    assert case.type == "pallet_exchange"


def test_solving_a_case_logs_how_long_it_took(kit, casekit_clock, caplog):
    world = World.build(kit)
    case = kit.cases.open(world.shipper_actor, type="pallet_exchange", message="12 pallets owed")
    casekit_clock.advance(timedelta(hours=3, minutes=5))
    with caplog.at_level(logging.INFO, logger="casekit_plugin_example"):
        kit.cases.solve(world.shipper_actor, case.number)
    assert caplog.messages == [f"{case.number} solved after 3 h 5 min"]


def test_it_hears_only_the_kits_it_is_registered_with(kit, tmp_path, caplog):
    other = make_kit(f"sqlite:///{tmp_path / 'other.sqlite3'}", attachment_dir=tmp_path / "o")
    try:
        world = World.build(other)
        case = other.cases.open(world.shipper_actor, type="lost", message="Where is it?")
        with caplog.at_level(logging.INFO, logger="casekit_plugin_example"):
            other.cases.solve(world.shipper_actor, case.number)
        assert caplog.messages == []
    finally:
        other.close()


@pytest.mark.parametrize(
    ("took", "said"),
    [
        (timedelta(seconds=20), "under a minute"),
        (timedelta(minutes=7), "7 min"),
        (timedelta(hours=1), "1 h 0 min"),
        (timedelta(days=2, hours=3, minutes=59), "2 d 3 h"),
    ],
)
def test_durations_read_as_people_say_them(took, said):
    assert casekit_plugin_example.describe(took) == said


def test_installed_it_loads_from_its_entry_point(tmp_path):
    """Installed with pip, the plugin is found without the host naming it."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ep.sqlite3'}", attachment_dir=tmp_path / "files"
    )
    with CaseKit(settings=settings) as kit:
        assert kit.plugin_manager.get_plugin("example") is casekit_plugin_example
        assert "pallet_exchange" in kit.case_types
    blocked = Settings(
        database_url=f"sqlite:///{tmp_path / 'ep.sqlite3'}",
        attachment_dir=tmp_path / "files",
        plugins_block=("example",),
    )
    with CaseKit(settings=blocked) as kit:
        assert "pallet_exchange" not in kit.case_types
