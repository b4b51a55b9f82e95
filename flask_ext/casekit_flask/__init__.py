"""casekit-flask: casekit's pages for Flask hosts.

::

    from casekit_flask import CaseKitFlask

    casekit_flask = CaseKitFlask(app, kit=kit, identity_loader=load_actor)

The names below load on first use, so that the ``casekit`` entry point of
this distribution (:mod:`casekit_flask.cli`) does not import Flask into every
program that builds a :class:`~casekit.CaseKit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casekit_flask.extension import (
        DEFAULTS,
        CaseKitFlask,
        current_actor,
        current_kit,
        feedback_button,
    )
    from casekit_flask.ratelimit import RateLimiter

__version__ = "0.1.0"

__all__ = [
    "DEFAULTS",
    "CaseKitFlask",
    "RateLimiter",
    "current_actor",
    "current_kit",
    "feedback_button",
]


def __getattr__(name: str) -> Any:
    if name == "RateLimiter":
        from casekit_flask import ratelimit

        return ratelimit.RateLimiter
    if name in __all__:
        from casekit_flask import extension

        return getattr(extension, name)
    raise AttributeError(f"module 'casekit_flask' has no attribute {name!r}")
