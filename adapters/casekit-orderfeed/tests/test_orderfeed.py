"""casekit-orderfeed: importing exports, the command, the lookups, and the round trip."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import casekit_orderfeed.plugin
import pytest
from casekit_orderfeed import import_file, import_rows
from click.testing import CliRunner

from casekit import Actor, InvalidInput, NotFound
from casekit.testing import make_kit

DATA = Path(__file__).parent / "data"


def shipper_actor(world):
    return Actor.system_actor("api", org_id=world.shipper.id)


def test_csv_import_upserts_and_reports_rejected_rows(casekit_backend_kit, casekit_backend_world):
    kit, world = casekit_backend_kit, casekit_backend_world
    report = import_file(kit, DATA / "orders.csv", shipper="acme")
    assert report.rows == 9
    assert (report.orders_created, report.shipments_created) == (4, 4)
    assert report.unchanged == 1  # order 1002 again, on the line of its second shipment
    rejected = {row.line: row for row in report.rejected}
    assert sorted(rejected) == [7, 8, 9, 10]
    assert rejected[7].key == "SHP-1004-1"
    assert rejected[7].reason.startswith("mode: unknown mode 'boat'")
    assert "promised_date" in rejected[8].reason
    assert "no UTC offset" in rejected[9].reason
    assert "order number or a shipment reference" in rejected[10].reason
    # The good rows are in the store, with their facts.
    facts = kit.shipments.shipment(shipper_actor(world), "SHP-1001-1")
    assert facts.carrier == "fast"
    assert facts.tracking_number == "1Z999AA10123456784"
    assert facts.region == "West"
    assert facts.order_number == "1001"
    assert facts.promised_date == date(2026, 1, 8)
    assert str(facts.mode) == "parcel"
    order = kit.shipments.order(shipper_actor(world), "1001")
    assert order.customer_email == "casey@example.test"
    assert order.placed_at == datetime(2026, 1, 2, 15, 15, tzinfo=UTC)
    # Order 1004 is in, though its shipment was not.
    assert kit.shipments.order(shipper_actor(world), "1004").customer_name == "Lee Late"
    with pytest.raises(NotFound):
        kit.shipments.shipment(shipper_actor(world), "SHP-1004-1")
    # Importing the same file again changes nothing.
    again = import_file(kit, DATA / "orders.csv", shipper="acme")
    assert (again.orders_created, again.orders_updated) == (0, 0)
    assert (again.shipments_created, again.shipments_updated) == (0, 0)
    assert again.unchanged == 9
    assert [r.line for r in again.rejected] == [7, 8, 9, 10]


def test_jsonl_import_keeps_reading_past_bad_lines(casekit_backend_kit, casekit_backend_world):
    kit, world = casekit_backend_kit, casekit_backend_world
    report = import_file(kit, DATA / "orders.jsonl", shipper="acme")
    assert (report.orders_created, report.shipments_created) == (3, 2)
    reasons = {row.line: row.reason for row in report.rejected}
    assert sorted(reasons) == [3, 4, 5]
    assert reasons[3].startswith("direction: unknown direction 'sideways'")
    assert reasons[4].startswith("row: not JSON")
    assert reasons[5].startswith("row: a row is a mapping")
    facts = kit.shipments.shipment(shipper_actor(world), "SHP-2004")
    assert facts.customer_segment == "B2B"
    assert facts.estimated_date == date(2026, 1, 10)


def test_a_mapping_file_renames_columns(casekit_backend_kit, casekit_backend_world, tmp_path):
    kit, world = casekit_backend_kit, casekit_backend_world
    report = import_file(kit, DATA / "export.csv", shipper="acme", mapping=DATA / "mapping.toml")
    assert report.rejected == []
    assert (report.orders_created, report.shipments_created) == (2, 2)
    order = kit.shipments.order(shipper_actor(world), "#5001")
    assert order.placed_at == datetime(2026, 1, 5, 20, 0, tzinfo=UTC)  # Chicago, UTC-6
    assert str(kit.shipments.shipment(shipper_actor(world), "F-5001").mode) == "parcel"
    assert str(kit.shipments.shipment(shipper_actor(world), "9400112").mode) == "freight"
    bad = tmp_path / "bad.toml"
    bad.write_text('timezone = "Mars/Olympus"\n[columns]\nflavour = "x"\n')
    with pytest.raises(InvalidInput) as caught:
        import_file(kit, DATA / "export.csv", shipper="acme", mapping=bad)
    assert set(caught.value.errors) == {"timezone", "columns"}


def test_rows_from_python_and_the_shipper_column(casekit_backend_kit, casekit_backend_world):
    kit = casekit_backend_kit
    report = import_rows(
        kit,
        [
            {"shipper": "acme", "order_number": "A-1", "shipment_reference": "S-A1"},
            {"order_number": "A-2"},  # no shipper, and the host imports
            {"shipper": "fast", "order_number": "A-3"},  # a carrier, not a shipper
        ],
    )
    assert report.orders_created == 1
    assert [r.line for r in report.rejected] == [2, 3]
    assert "shipper" in report.rejected[0].reason
    with pytest.raises(InvalidInput):
        import_rows(kit, [], shipper="nobody")
    progress: list[int] = []
    import_rows(
        kit,
        ({"order_number": f"P-{i}"} for i in range(5)),
        shipper="acme",
        progress=progress.append,
    )
    assert progress == [5]


def test_the_command_imports_with_a_progress_bar(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    cli = build_cli()  # entry points: the installed casekit-orderfeed adds `import orders`
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        cli,
        [
            "import",
            "orders",
            str(DATA / "orders.csv"),
            "--shipper",
            "acme",
            "--rejects",
            str(rejects),
        ],
    )
    assert result.exit_code == 1, result.output  # some rows were rejected
    assert "9 rows: orders 4 created" in result.output
    assert "4 rejected" in result.output
    with rejects.open() as f:
        rows = list(csv.DictReader(f))
    assert [row["line"] for row in rows] == ["7", "8", "9", "10"]
    assert rows[0]["key"] == "SHP-1004-1"
    good = CliRunner().invoke(
        cli,
        [
            "import",
            "orders",
            str(DATA / "export.csv"),
            "--shipper",
            "acme",
            "--mapping",
            str(DATA / "mapping.toml"),
        ],
    )
    assert good.exit_code == 0, good.output
    assert "2 rows" in good.output
    missing = CliRunner().invoke(
        cli, ["import", "orders", str(DATA / "orders.csv"), "--shipper", "nobody"]
    )
    assert missing.exit_code == 1
    assert "no organization 'nobody'" in missing.output


def test_the_rejects_file_neutralises_formulas(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path, monkeypatch
):
    from casekit.cli import build_cli

    # The import strips each value, so a key never begins with a tab or a CR.
    formulas = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3"]
    export = tmp_path / "orders.csv"
    with export.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["shipment_reference", "mode"])
        writer.writerows([key, "boat"] for key in formulas)
    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(
        build_cli(),
        ["import", "orders", str(export), "--shipper", "acme", "--rejects", str(rejects)],
    )
    assert result.exit_code == 1, result.output
    with rejects.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [row["key"] for row in rows] == ["'" + key for key in formulas]
    assert [row["line"] for row in rows] == ["2", "3", "4", "5"]


def test_round_trip_feed_lookup_case_view_filter(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, tmp_path
):
    """The feed fills the store; a case linked by tracking number gets the facts;
    views filter on them; a newer feed moves the case between filters."""
    world = casekit_backend_world
    import_file(casekit_backend_kit, DATA / "orders.csv", shipper="acme")
    kit = make_kit(
        casekit_backend_url,
        attachment_dir=tmp_path,
        clock=casekit_backend_kit.clock,
        plugins=[casekit_orderfeed.plugin],
        create_schema=False,
    )
    try:
        agent = world.shipper_actor
        case = kit.cases.open(
            agent, type="where_is_my_order", shipment="1Z999AA10123456784", order="1001"
        )
        assert case.carrier_org_id == world.carrier.id  # the feed named the carrier
        facts = kit.shipments.shipment(agent, "SHP-1001-1")
        assert facts.destination_postal_code == "94107"
        # The carrier sees the case through the shipment, and looks it up itself.
        assert kit.cases.get(world.carrier_actor, case.number).shipment_id == case.shipment_id
        west = {
            "view": "all_cases",
            "filters": [{"field": "region", "op": "in", "value": ["West"]}],
        }
        vip = {
            "view": "all_cases",
            "filters": [
                {"field": "customer_segment", "op": "in", "value": ["VIP"]},
                {"field": "mode", "op": "in", "value": ["parcel"]},
            ],
        }
        assert [r.number for r in kit.views.list(agent, west).rows] == [case.number]
        assert [r.number for r in kit.views.list(agent, vip).rows] == [case.number]
        import_rows(kit, [{"shipment_reference": "SHP-1001-1", "region": "East"}], shipper="acme")
        assert kit.views.list(agent, west).rows == ()
        east = {
            "view": "all_cases",
            "filters": [{"field": "region", "op": "in", "value": ["East"]}],
        }
        assert [r.number for r in kit.views.list(agent, east).rows] == [case.number]
    finally:
        kit.close()


def test_the_command_prints_a_summary_not_a_bar_off_a_terminal(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url, monkeypatch
):
    from casekit.cli import build_cli

    monkeypatch.setenv("CASEKIT_DATABASE_URL", casekit_backend_url)
    result = CliRunner().invoke(
        build_cli(), ["import", "orders", str(DATA / "orders.csv"), "--shipper", "acme"]
    )
    assert result.exit_code == 1, result.output  # some rows were rejected
    [summary] = result.stdout.splitlines()
    assert summary.startswith("9 rows: orders 4 created")
    # stderr holds the rejected rows, one line each, and nothing else (no bar, no label).
    assert [line[:7] for line in result.stderr.splitlines()] == ["  line "] * 4


def test_the_command_draws_a_bar_on_a_terminal(
    casekit_backend_kit, casekit_backend_world, casekit_backend_url
):
    import os
    import sys

    from casekit.testing import run_in_terminal

    command = [sys.executable, "-m", "casekit", "import", "orders", str(DATA / "orders.csv")]
    status, shown = run_in_terminal(
        [*command, "--shipper", "acme"],
        env={**os.environ, "CASEKIT_DATABASE_URL": casekit_backend_url, "TERM": "xterm"},
    )
    assert status == 1, shown
    assert "Importing  [" in shown
    assert "9/9" in shown
    assert "9 rows: orders 4 created" in shown


def test_the_command_on_a_database_without_casekit_tables_is_one_line(tmp_path, monkeypatch):
    from casekit.cli import build_cli

    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    monkeypatch.setenv("CASEKIT_DATABASE_URL", f"sqlite:///{empty}")
    result = CliRunner().invoke(
        build_cli(), ["import", "orders", str(DATA / "orders.csv"), "--shipper", "acme"]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: CASEKIT_DATABASE_URL: sqlite:///{empty} has no casekit tables: "
        "run `casekit db upgrade`"
    ]
