"""JSON text from outside casekit, read within a depth and a size.

Every JSON document a caller hands casekit as text — a request body, a
``filters`` parameter, a saved view's query from a form, a list cursor —
is read by :func:`load_json`, so a document nested a thousand levels deep
is a clear :class:`~casekit.errors.InvalidInput` naming its field instead of a
``RecursionError`` somewhere in a parser or a validator.
"""

from __future__ import annotations

import json
from typing import Any

from casekit.errors import InvalidInput

__all__ = ["MAX_BYTES", "MAX_DEPTH", "load_json"]

#: The deepest nesting of arrays and objects casekit reads; no input needs more than a few.
MAX_DEPTH = 32
#: The longest JSON text casekit reads by default (8 MiB).
MAX_BYTES = 8 * 1024 * 1024

_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def load_json(text: str | bytes, *, field: str, max_bytes: int = MAX_BYTES) -> Any:
    """The value of the JSON ``text``; :class:`~casekit.errors.InvalidInput` naming ``field``
    when it is not JSON (``NaN`` and ``Infinity`` are not), is longer than
    ``max_bytes`` (UTF-8) or is nested deeper than :data:`MAX_DEPTH` levels."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidInput({field: [f"longer than {max_bytes} bytes"]})
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidInput({field: [_TOO_DEEP]}) from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidInput({field: ["not JSON"]}) from None
    if _deeper_than(value, MAX_DEPTH):
        raise InvalidInput({field: [_TOO_DEEP]})
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` levels."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
