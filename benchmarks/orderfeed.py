"""Scenario ``orderfeed``: importing an order export with casekit-orderfeed.

Writes a CSV export of ``--cases N`` rows (default 100,000), each an order
with one shipment, then times ``casekit_orderfeed.import_file`` into an
empty store, then the same file again (every row unchanged). The target is
100,000 rows in under 30 s on SQLite. ``cpu_seconds`` is the process's CPU
time (SQLite's work included, as it runs in the process): what the import
costs whatever else the machine runs. Needs the casekit-orderfeed
distribution installed (``pip install -e adapters/casekit-orderfeed``).
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

from benchmarks.common import Context, Result, bench_kit, scenario, throwaway_database
from casekit.domain.actor import Actor
from casekit.domain.directory import OrgRole

NAME = "orderfeed"
REGIONS = ("West", "East", "North", "South", "Central")


def write_export(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "order_number",
                "customer_email",
                "customer_name",
                "placed_at",
                "shipment_reference",
                "carrier",
                "tracking_number",
                "mode",
                "region",
                "destination_postal_code",
                "promised_date",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"{100000 + i}",
                    f"customer{i}@example.test",
                    f"Customer {i}",
                    "2026-01-02T10:15:00+00:00",
                    f"SHP-{i:07d}",
                    "fast",
                    f"1Z{i:016d}",
                    ("parcel", "freight")[i % 2],
                    REGIONS[i % len(REGIONS)],
                    f"{10000 + i % 89999:05d}",
                    "2026-01-09",
                ]
            )


@scenario(NAME, help="import an order export (casekit-orderfeed)", default_cases=100_000)
def run(ctx: Context) -> list[Result]:
    try:
        from casekit_orderfeed import import_file
    except ImportError:
        raise ValueError(
            "the orderfeed scenario needs casekit-orderfeed: "
            "pip install -e adapters/casekit-orderfeed"
        ) from None
    rows = ctx.cases
    with (
        throwaway_database(ctx.database_url, keep_sqlite=False) as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        export = Path(folder) / "orders.csv"
        write_export(export, rows)
        kit = bench_kit(url, Path(folder) / "attachments")
        try:
            host = Actor.host()
            kit.directory.add_organization(
                host, name="Acme", role=OrgRole.SHIPPER, external_id="acme"
            )
            kit.directory.add_organization(
                host, name="Fast", role=OrgRole.CARRIER, external_id="fast"
            )
            ctx.log(f"orderfeed: importing {rows} rows")
            started, cpu = time.perf_counter(), time.process_time()
            first = import_file(kit, export, shipper="acme")
            first_seconds = time.perf_counter() - started
            first_cpu = time.process_time() - cpu
            ctx.log("orderfeed: importing them again")
            started = time.perf_counter()
            again = import_file(kit, export, shipper="acme")
            again_seconds = time.perf_counter() - started
        finally:
            kit.close()
    if first.rejected or first.orders_created != rows or first.shipments_created != rows:
        raise RuntimeError(f"the import did not store every row: {first}")
    if again.unchanged != 2 * rows:
        raise RuntimeError(f"importing again changed rows: {again}")
    return [
        Result("import", "seconds", first_seconds),
        Result("import", "per_s", rows / first_seconds),
        Result("import", "cpu_seconds", first_cpu),
        Result("import.again", "seconds", again_seconds),
        Result("import.again", "per_s", rows / again_seconds),
    ]
