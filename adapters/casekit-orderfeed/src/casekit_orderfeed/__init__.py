"""casekit-orderfeed: a storefront's order and shipment export, in casekit.

Import a CSV or JSON Lines export into casekit's order and shipment store
(``casekit import orders FILE`` or :func:`import_file`), and let casekit look
orders and shipments up from it when a case is linked to one.
"""

from __future__ import annotations

from casekit_orderfeed.feed import (
    COLUMNS,
    ColumnMapping,
    ImportReport,
    RejectedRow,
    import_file,
    import_rows,
    parse_row,
    read_rows,
)

__version__ = "0.1.0"

__all__ = [
    "COLUMNS",
    "ColumnMapping",
    "ImportReport",
    "RejectedRow",
    "import_file",
    "import_rows",
    "parse_row",
    "read_rows",
]
