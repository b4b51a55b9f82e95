"""Reading an order export and loading it into casekit's order and shipment store.

A row describes an order, a shipment, or both (a shipment of that order).
Its columns are casekit's field names unless a :class:`ColumnMapping` says
otherwise. Each row is checked on its own: a bad row is reported with its
line and reason, and the good rows are stored. Loading is an upsert, so
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import functools
import itertools
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from marshmallow import ValidationError

from casekit import Actor, CaseKit, InvalidInput, NotFound, OrderFacts, ShipmentFacts, csvsafe
from casekit.schemas.facts import read_json
from casekit_orderfeed.schema import COLUMNS, ORDER_COLUMNS, SHIPMENT_COLUMNS, RowSchema

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


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _values(row: Mapping[str, Any], mapping: ColumnMapping) -> dict[str, Any]:
    """The row's values by casekit's field names, the mapping's defaults in empty cells."""
    values: dict[str, Any] = {}
    for field in COLUMNS:
        value = row.get(mapping.columns.get(field, field))
        if _blank(value):
            value = mapping.defaults.get(field)
        if not _blank(value):
            values[field] = value
    return values


@functools.lru_cache(maxsize=8)
def _schema(zone: tzinfo | None) -> RowSchema:
    return RowSchema(zone)


def _load(row: Any, mapping: ColumnMapping, zone: tzinfo | None) -> dict[str, Any]:
    """The row's fields, checked against the schema; ValidationError says what is wrong."""
    if not isinstance(row, Mapping):
        raise ValidationError("a row is a mapping of column names to values", "row")
    return _schema(zone).load(_values(row, mapping))


def _facts(values: Mapping[str, Any]) -> tuple[OrderFacts | None, ShipmentFacts | None]:
    number, reference = values.get("order_number"), values.get("shipment_reference")
    order = shipment = None
    if number:
        order = OrderFacts(
            number=number,
            shipper=values.get("shipper"),
            **{field: values.get(field) for field in ORDER_COLUMNS[1:]},
        )
    if reference:
        shipment = ShipmentFacts(
            reference=reference,
            shipper=values.get("shipper"),
            order_number=number,
            brand=values.get("brand"),
            **{field: values.get(field) for field in SHIPMENT_COLUMNS[1:]},
        )
    return order, shipment


def parse_row(
    row: Mapping[str, Any], mapping: ColumnMapping, zone: tzinfo | None = None
) -> tuple[OrderFacts | None, ShipmentFacts | None]:
    """The order and shipment facts of one row; InvalidInput names each bad field.

    The row is checked against :class:`~casekit_orderfeed.schema.RowSchema`.
    """
    try:
        return _facts(_load(row, mapping, zone))
    except ValidationError as error:
        raise InvalidInput(error.normalized_messages()) from None


# -- reading files --------------------------------------------------------------------


def read_rows(path: str | Path, *, format: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, row) pairs of a CSV or JSON Lines file (by its suffix by default).

    A row that cannot be read (a line that is not JSON, a CSV row with a
    quote left open...) is yielded as an InvalidInput that says why, so the
    import can report it and read on. Bytes that are not UTF-8 are kept in
    the row as lone surrogates, which the row's schema refuses.
    """
    path = Path(path)
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind in ("jsonl", "ndjson", "json"):
        reader = _json_lines
    elif kind in ("csv", "txt"):
        reader = _csv_rows
    else:
        raise InvalidInput({"format": [f"unknown format {kind!r}; csv or jsonl"]})
    try:
        with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
            yield from reader(f)
    except OSError as error:
        raise InvalidInput({"file": [f"{path}: {error.strerror or error}"]}) from error


def _unreadable(reason: str) -> InvalidInput:
    return InvalidInput({"row": [reason]})


def _json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, read_json(line)
        except ValueError as error:
            yield number, _unreadable(str(error))


def _csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """The rows of a CSV file under its header row; a row is one line.

    A row whose quoted value runs over several lines (a line break in a
    value, or a quote left open) is refused whole, naming the lines it took.
    """
    read = 0

    def counted() -> Iterator[str]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    reader = csv.reader(counted(), strict=True)
    header: list[str] | None = None
    while True:
        start = read + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if header is None:
                raise InvalidInput(
                    {"file": [f"line {start}: the header is not CSV: {error}"]}
                ) from None
            span = f" (lines {start} to {read}; is a quote left open?)" if read > start else ""
            yield start, _unreadable(f"not CSV: {error}{span}")
            continue
        if not values:  # a blank line
            continue
        if header is None:
            header = values
        elif read > start:
            yield (
                start,
                _unreadable(
                    f"runs over lines {start} to {read}: values are one line "
                    "(a line break in a quoted value, or a quote left open?)"
                ),
            )
        elif len(values) != len(header):
            yield start, _unreadable(f"{len(values)} values; the header has {len(header)} columns")
        else:
            yield start, dict(zip(header, values, strict=True))


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
                order, shipment = _facts(_load(row, mapping, zone))
            except InvalidInput as error:
                report.rejected.append(RejectedRow(line, "", _reason(error.errors)))
                continue
            except ValidationError as error:
                valid = cast(dict[str, Any], error.valid_data or {})
                key = valid.get("order_number") or valid.get("shipment_reference") or ""
                report.rejected.append(RejectedRow(line, key, _reason(error.normalized_messages())))
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
