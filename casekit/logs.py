"""casekit's logs as JSON, for hosts whose log pipeline reads one object per line.

casekit logs through ``logging.getLogger(__name__)`` in each module (all
under ``casekit`` and ``casekit_flask``) and configures nothing: the host
decides where the records go. :class:`JsonFormatter` is a formatter a host
names in its ``dictConfig``::

    "formatters": {"json": {"()": "casekit.logs.JsonFormatter"}}

and :func:`configure` is the short way for a script or a worker process
(``casekit worker --log-format json`` uses it).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["JsonFormatter", "configure"]

#: The attributes every LogRecord has; any other was passed with ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, ``exception`` (the traceback, when there is one) and each
    ``extra=`` field (as a string when JSON cannot hold it)."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in body and not key.startswith("_"):
                body[key] = value
        return json.dumps(body, default=str, ensure_ascii=False)


#: The marker of the handler :func:`configure` installed, so a second call replaces it.
_MARK = "_casekit_handler"


def configure(
    *,
    json: bool = False,
    level: int | str = logging.INFO,
    logger: str = "casekit",
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send the records of ``logger`` (casekit's, by default) to ``stream`` (stderr).

    Opt-in, for the host's scripts and casekit's own commands: library code
    never calls it. A second call replaces the handler the first installed.
    ``json`` formats with :class:`JsonFormatter`; otherwise one line of time,
    logger and message. Pass ``logger=""`` for the root logger (the host's
    own records too). Returns the handler.
    """
    target = logging.getLogger(logger)
    for handler in list(target.handlers):
        if getattr(handler, _MARK, False):
            target.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _MARK, True)
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonFormatter() if json else text)
    target.addHandler(handler)
    target.setLevel(level)
    return handler
