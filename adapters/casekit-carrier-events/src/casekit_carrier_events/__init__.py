"""casekit-carrier-events: carrier tracking events, normalised into casekit's statuses.

Three formats, each a parser returning a :class:`Batch` of events and of the
events it could not read; :func:`record` stores a batch:

- :mod:`casekit_carrier_events.generic` — a documented JSON form in casekit's own terms;
- :mod:`casekit_carrier_events.easypost` — EasyPost tracker webhooks;
- :mod:`casekit_carrier_events.x12` — X12 EDI 214 shipment status messages.
"""

from __future__ import annotations

from casekit_carrier_events import easypost, generic, x12
from casekit_carrier_events.common import BadEvent, Batch, Recorded, record

__version__ = "0.1.0"

FORMATS = {"generic": generic.parse, "easypost": easypost.parse, "x12": x12.parse}

__all__ = [
    "FORMATS",
    "BadEvent",
    "Batch",
    "Recorded",
    "easypost",
    "generic",
    "record",
    "x12",
]
