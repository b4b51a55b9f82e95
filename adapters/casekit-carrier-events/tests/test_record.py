"""Recording parsed events in casekit: per-event rejects, duplicates, rules, the command."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from casekit_carrier_events import easypost, generic, record, x12
from click.testing import CliRunner

from casekit import Actor, ExceptionKind, InvalidInput, ShipmentFacts, ShipmentStatus

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def shipments(casekit_backend_kit, casekit_backend_world):
    feed = Actor.system_actor("api", org_id=casekit_backend_world.shipper.id)
    casekit_backend_kit.shipments.upsert_shipments(
        feed,
        [
            ShipmentFacts(reference="SHP-1001", carrier="fast", tracking_number="PRO778812"),
            ShipmentFacts(reference="SHP-1002", carrier="fast", tracking_number="PRO778813"),
            ShipmentFacts(reference="SHP-USPS", tracking_number="9400110898825022579493"),
        ],
    )
    return casekit_backend_kit


def test_generic_events_recorded_bad_ones_reported(shipments, casekit_backend_world):
    kit = shipments
    batch = generic.parse((SAMPLES / "generic.json").read_bytes())
    result = record(kit, batch, carrier="fast")
    assert result.recorded == 2
    positions = [b.position for b in result.rejected]
    assert sorted(positions) == [f"events[{i}]" for i in (2, 3, 4, 5, 6, 7)]
    unknown = next(b for b in result.rejected if b.position == "events[7]")
    assert "no shipment 'SHP-9999' is yours" in unknown.reason
    facts = kit.shipments.shipment(casekit_backend_world.shipper_actor, "SHP-1001")
    assert facts.shipment_status is ShipmentStatus.EXCEPTION
    assert facts.exception is ExceptionKind.HELD_AT_TERMINAL
    again = record(kit, batch, carrier="fast")
    assert (again.recorded, again.duplicates) == (0, 2)
    with pytest.raises(InvalidInput):
        record(kit, batch, carrier="nobody")


def test_x12_opens_a_rule_case_and_delivery_solves_it(shipments, casekit_backend_world):
    kit, world = shipments, casekit_backend_world
    kit.rules.create(
        world.shipper_manager_actor,
        {
            "name": "Address",
            "exceptions": ["address_issue"],
            "case_type": "address_correction",
            "auto_solve": True,
        },
    )
    text = (SAMPLES / "status_214.edi").read_text()
    result = record(
        kit, x12.parse(text, local_timezone=ZoneInfo("America/Los_Angeles")), carrier="fast"
    )
    assert result.recorded == 3
    assert len(result.opened) == 1
    case = kit.cases.get(Actor.host(), result.opened[0])
    assert case.type == "address_correction"
    # The views filter on the tracking state the events set.
    address = {
        "view": "all_cases",
        "filters": [
            {"field": "exception", "op": "in", "value": ["address_issue"]},
            {"field": "shipment_status", "op": "in", "value": ["exception"]},
        ],
    }
    assert [r.number for r in kit.views.list(world.shipper_actor, address).rows] == [case.number]
    assert kit.shipments.shipment(world.shipper_actor, "SHP-1002").shipment_status == "delivered"
    history = kit.shipments.events(world.shipper_actor, "SHP-1001")
    assert [h.location for h in history] == ["Columbus, OH, US", "Reno, NV, US"]
    fixed = generic.parse(
        '{"reference": "SHP-1001", "status": "delivered", "occurred_at": "2026-01-08T10:00:00Z"}'
    )
    assert record(kit, fixed, carrier="fast").solved == result.opened
    assert kit.views.list(world.shipper_actor, address).rows == ()
    delivered = {
        "view": "all_cases",
        "filters": [{"field": "shipment_status", "op": "in", "value": ["delivered"]}],
    }
    assert [r.number for r in kit.views.list(world.shipper_actor, delivered).rows] == [case.number]


def test_easypost_as_the_host(shipments, casekit_backend_world):
    kit = shipments
    result = record(kit, easypost.parse((SAMPLES / "easypost_tracker_updated.json").read_bytes()))
    assert result.recorded == 4
    assert [b.position for b in result.rejected] == ["result.tracking_details[4]"]
    facts = kit.shipments.shipment(casekit_backend_world.shipper_actor, "SHP-USPS")
    assert facts.shipment_status is ShipmentStatus.RETURNING_TO_SENDER
    assert facts.exception is ExceptionKind.RETURN_TO_SENDER
    # The carrier "fast" does not carry it: nothing of it is the carrier's to record.
    refused = record(
        kit,
        easypost.parse((SAMPLES / "easypost_tracker_updated.json").read_bytes()),
        carrier="fast",
    )
    assert refused.recorded == 0
    assert len(refused.rejected) == 5


def test_the_command(shipments, casekit_backend_url, monkeypatch):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    cli = build_cli()
    result = CliRunner().invoke(
        cli,
        [
            "import",
            "events",
            str(SAMPLES / "status_214.edi"),
            "--format",
            "x12",
            "--carrier",
            "fast",
            "--local-timezone",
            "America/Los_Angeles",
        ],
    )
    assert result.exit_code == 1, result.output  # two statuses could not be read
    assert "3 recorded, 0 duplicates, 2 rejected" in result.output
    assert "ST 0003: a 210 set, not a 214" in result.output
    bad_zone = CliRunner().invoke(
        cli,
        [
            "import",
            "events",
            str(SAMPLES / "status_214.edi"),
            "--format",
            "x12",
            "--local-timezone",
            "Mars/Base",
        ],
    )
    assert bad_zone.exit_code == 2


def test_the_command_draws_a_bar_on_a_terminal(shipments, casekit_backend_url):
    import os
    import sys

    from casekit.testing import run_in_terminal

    command = [sys.executable, "-m", "casekit", "import", "events", str(SAMPLES / "status_214.edi")]
    status, shown = run_in_terminal(
        [*command, "--format", "x12", "--carrier", "fast", "--local-timezone", "America/Chicago"],
        env={**os.environ, "CASEKIT_DATABASE_URL": casekit_backend_url, "TERM": "xterm"},
    )
    assert status == 1, shown  # two statuses could not be read
    assert "Recording  [" in shown
    assert "3/3" in shown  # the three events read, recorded
    assert "3 recorded, 0 duplicates, 2 rejected" in shown


def test_the_command_on_a_database_without_casekit_tables_is_one_line(tmp_path, monkeypatch):
    from casekit.cli import build_cli

    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{empty}")
    result = CliRunner().invoke(
        build_cli(), ["import", "events", str(SAMPLES / "status_214.edi"), "--format", "x12"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: CASEKIT_DATABASE_URL: sqlite:///{empty} has no casekit tables: "
        "run `casekit db upgrade`"
    ]


def test_text_no_database_keeps_rejects_its_event_alone(shipments):
    """A NUL, or a JSON escape of a lone surrogate, once stopped the whole batch."""
    kit = shipments
    lines = "\n".join(
        '{"reference": "SHP-1001", "status": "in_transit", "occurred_at": "2026-01-05T10:00Z", '
        + extra
        + "}"
        for extra in ('"description": "a\\u0000b"', '"location": "\\udc80"', '"id": "fine"')
    )
    result = record(kit, generic.parse(lines))
    assert result.recorded == 1
    assert {(b.position, b.reason) for b in result.rejected} == {
        ("line 1", "description: holds a NUL character"),
        ("line 2", "location: holds bytes that are not UTF-8 text"),
    }
