"""Reading an order export and loading it into casekit's order and shipment store.

A row describes an order, a shipment, or both (a shipment of that order).
Its columns are casekit's field names unless a :class:`ColumnMapping` says
otherwise. Each row is checked on its own: a bad row is reported with its
line and reason, and the good rows are stored. Loading is an upsert, so
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import itertools
import json
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from casekit import Actor, CaseKit, InvalidInput, NotFound, OrderFacts, ShipmentFacts, csvsafe

#: The fields a row may carry: an order's, then a shipment's.
ORDER_COLUMNS = ("order_number", "customer_email", "customer_name", "brand", "placed_at")
SHIPMENT_COLUMNS = (
    "shipment_reference",
    "carrier",
    "carrier_name",
    "tracking_number",
    "bol_number",
    "po_number",
    "reference_number",
    "ra_number",
    "origin_name",
    "origin_postal_code",
    "destination_name",
    "destination_postal_code",
    "mode",
    "direction",
    "customer_segment",
    "region",
    "status",
    "promised_date",
    "estimated_date",
)
COLUMNS = ("shipper", *ORDER_COLUMNS, *SHIPMENT_COLUMNS)
DATE_COLUMNS = {"promised_date", "estimated_date"}
BATCH = 2000


@attrs.frozen
class ColumnMapping:
    """How an export's columns map to casekit's fields.

    ``columns`` maps a casekit field (``order_number``...) to the export's
    column name; fields not named keep their own name. ``defaults`` fill a
    field the row leaves empty. ``timezone`` is assumed for times written
    without an offset (otherwise such a time is rejected).
    """

    columns: Mapping[str, str] = attrs.field(factory=dict)
    defaults: Mapping[str, str] = attrs.field(factory=dict)
    timezone: str | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> ColumnMapping:
        """Read a TOML mapping file: ``[columns]``, ``[defaults]`` and ``timezone``."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise InvalidInput({"mapping": [f"{path}: {error}"]}) from error
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        errors: dict[str, list[str]] = {}
        unknown = set(data) - {"columns", "defaults", "timezone"}
        if unknown:
            errors["mapping"] = [f"unknown sections: {', '.join(sorted(unknown))}"]
        columns = data.get("columns", {})
        defaults = data.get("defaults", {})
        for section, values in (("columns", columns), ("defaults", defaults)):
            if not isinstance(values, Mapping) or not all(
                isinstance(v, str) for v in values.values()
            ):
                errors[section] = ["a table of text values"]
                continue
            bad = sorted(set(values) - set(COLUMNS))
            if bad:
                errors[section] = [f"unknown fields: {', '.join(bad)}"]
        timezone = data.get("timezone")
        if timezone is not None:
            try:
                ZoneInfo(str(timezone))
            except (ZoneInfoNotFoundError, ValueError):
                errors["timezone"] = [f"unknown time zone {timezone!r}"]
        if errors:
            raise InvalidInput(errors)
        return cls(columns=dict(columns), defaults=dict(defaults), timezone=timezone)

    def zone(self) -> tzinfo | None:
        return ZoneInfo(self.timezone) if self.timezone else None


@attrs.frozen
class RejectedRow:
    """A row that was not imported: where it is, what it names, and why."""

    line: int
    key: str
    reason: str


@attrs.define
class ImportReport:
    """What an import did: rows read, orders and shipments created or updated, rejects."""

    rows: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    shipments_created: int = 0
    shipments_updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = attrs.field(factory=list)

    def write_rejects(self, path: str | Path) -> None:
        """Write the rejected rows as CSV: line, key, reason."""
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["line", "key", "reason"])
            for row in self.rejected:
                writer.writerow([row.line, csvsafe.cell(row.key), csvsafe.cell(row.reason)])


# -- parsing a row -----------------------------------------------------------------


def _text(row: Mapping[str, Any], field: str, mapping: ColumnMapping) -> str | None:
    value = row.get(mapping.columns.get(field, field))
    if value is None or (isinstance(value, str) and not value.strip()):
        value = mapping.defaults.get(field)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(value: str, field: str, errors: dict[str, list[str]]) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date.fromisoformat(value)
    except ValueError:
        errors.setdefault(field, []).append(f"{value!r} is not a date (YYYY-MM-DD)")
        return None


def _datetime(
    value: str, field: str, zone: tzinfo | None, errors: dict[str, list[str]]
) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.setdefault(field, []).append(f"{value!r} is not an ISO 8601 date and time")
        return None
    if moment.tzinfo is None:
        if zone is None:
            errors.setdefault(field, []).append(
                f"{value!r} has no UTC offset (set a timezone in the mapping file)"
            )
            return None
        moment = moment.replace(tzinfo=zone)
    return moment


def _values(row: Mapping[str, Any], mapping: ColumnMapping) -> dict[str, str | None]:
    columns, defaults = mapping.columns, mapping.defaults
    values: dict[str, str | None] = {}
    for field in COLUMNS:
        value = row.get(columns.get(field, field))
        if value:
            if type(value) is not str:
                value = str(value)
            value = value.strip()
        elif value is not None and value != "":
            value = str(value)  # 0, False: data, not an empty cell
        if not value:
            value = defaults.get(field) or None
        values[field] = value
    return values


def parse_row(
    row: Mapping[str, Any], mapping: ColumnMapping, zone: tzinfo | None = None
) -> tuple[OrderFacts | None, ShipmentFacts | None]:
    """The order and shipment facts of one row; InvalidInput names each bad field."""
    if not isinstance(row, Mapping):
        raise InvalidInput({"row": ["a row is a mapping of column names to values"]})
    values = _values(row, mapping)
    errors: dict[str, list[str]] = {}
    shipper = values["shipper"]
    order = shipment = None
    if values["order_number"]:
        placed = values["placed_at"]
        order = OrderFacts(
            number=values["order_number"],
            shipper=shipper,
            customer_email=values["customer_email"],
            customer_name=values["customer_name"],
            brand=values["brand"],
            placed_at=_datetime(placed, "placed_at", zone, errors) if placed else None,
        )
    if values["shipment_reference"]:
        facts: dict[str, Any] = {
            field: values[field]
            for field in SHIPMENT_COLUMNS
            if field != "shipment_reference" and field not in DATE_COLUMNS
        }
        for field in DATE_COLUMNS:
            raw = values[field]
            facts[field] = _date(raw, field, errors) if raw else None
        shipment = ShipmentFacts(
            reference=values["shipment_reference"],
            shipper=shipper,
            order_number=values["order_number"],
            brand=values["brand"],
            **facts,
        )
    if order is None and shipment is None:
        errors.setdefault("order_number", []).append(
            "a row needs an order number or a shipment reference"
        )
    if errors:
        raise InvalidInput(errors)
    return order, shipment


# -- reading files --------------------------------------------------------------------


def read_rows(path: str | Path, *, format: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, row) pairs of a CSV or JSON Lines file (by its suffix by default).

    A JSON line that does not parse is yielded as its error, so the import
    can report it and read on.
    """
    path = Path(path)
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind in ("jsonl", "ndjson", "json"):
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, InvalidInput({"row": [f"not JSON: {error.msg}"]})
    elif kind in ("csv", "txt"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                yield reader.line_num, row
    else:
        raise InvalidInput({"format": [f"unknown format {kind!r}; csv or jsonl"]})


def count_rows(path: str | Path) -> int:
    """How many data rows the file has (lines, less a CSV header): for a progress bar."""
    path = Path(path)
    with path.open("rb") as f:
        lines = sum(1 for line in f if line.strip())
    return max(lines - (1 if path.suffix.lower() in (".csv", ".txt") else 0), 0)


# -- loading ---------------------------------------------------------------------------


def _actor(kit: CaseKit, shipper: str | None) -> Actor:
    if shipper is None:
        return Actor.host()
    try:
        org = kit.directory.organization_by_external_id(Actor.host(), shipper)
    except NotFound:
        raise InvalidInput({"shipper": [f"no organization {shipper!r}"]}) from None
    return Actor.system_actor("api", org_id=org.id)


def import_rows(
    kit: CaseKit,
    rows: Iterable[Mapping[str, Any] | tuple[int, Any]],
    *,
    shipper: str | None = None,
    mapping: ColumnMapping | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Import rows (mappings of column to value) into the kit's order and shipment store.

    ``shipper`` is the external id of the shipper the rows belong to; without
    it every row names its own (in its ``shipper`` column). ``rows`` may also
    be ``(line number, row)`` pairs, as :func:`read_rows` yields. ``progress``
    is called with the number of rows done after each batch.
    """
    mapping = mapping or ColumnMapping()
    zone = mapping.zone()
    actor = _actor(kit, shipper)
    report = ImportReport()
    numbered = (item if isinstance(item, tuple) else (n, item) for n, item in enumerate(rows, 1))
    while batch := list(itertools.islice(numbered, BATCH)):
        orders: list[OrderFacts] = []
        order_lines: list[tuple[int, str]] = []
        shipments: list[ShipmentFacts] = []
        shipment_lines: list[tuple[int, str]] = []
        for line, row in batch:
            report.rows += 1
            try:
                if isinstance(row, InvalidInput):
                    raise row
                order, shipment = parse_row(row, mapping, zone)
            except InvalidInput as error:
                key = ""
                if isinstance(row, Mapping):
                    key = str(
                        _text(row, "order_number", mapping)
                        or _text(row, "shipment_reference", mapping)
                        or ""
                    )
                report.rejected.append(RejectedRow(line, key, _reason(error.errors)))
                continue
            if order is not None:
                orders.append(order)
                order_lines.append((line, order.number))
            if shipment is not None:
                shipments.append(shipment)
                shipment_lines.append((line, shipment.reference))
        done = kit.shipments.upsert_orders(actor, orders)
        report.orders_created += done.created
        report.orders_updated += done.updated
        report.unchanged += done.unchanged
        for rejected in done.rejected:
            line, key = order_lines[rejected.index]
            report.rejected.append(RejectedRow(line, key, rejected.reason))
        done = kit.shipments.upsert_shipments(actor, shipments)
        report.shipments_created += done.created
        report.shipments_updated += done.updated
        report.unchanged += done.unchanged
        for rejected in done.rejected:
            line, key = shipment_lines[rejected.index]
            report.rejected.append(RejectedRow(line, key, rejected.reason))
        if progress is not None:
            progress(len(batch))
    report.rejected.sort(key=lambda r: r.line)
    return report


def import_file(
    kit: CaseKit,
    path: str | Path,
    *,
    shipper: str | None = None,
    mapping: ColumnMapping | str | Path | None = None,
    format: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> ImportReport:
    """Import a CSV or JSON Lines export; see :func:`import_rows`.

    ``mapping`` is a :class:`ColumnMapping` or the path of its TOML file.
    """
    if mapping is not None and not isinstance(mapping, ColumnMapping):
        mapping = ColumnMapping.from_file(mapping)
    return import_rows(
        kit, read_rows(path, format=format), shipper=shipper, mapping=mapping, progress=progress
    )


def _reason(errors: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
        for field, msgs in sorted(errors.items())
    )


__all__ = [
    "COLUMNS",
    "ColumnMapping",
    "ImportReport",
    "RejectedRow",
    "count_rows",
    "import_file",
    "import_rows",
    "parse_row",
    "read_rows",
]
