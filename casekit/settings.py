"""casekit's settings, from code or from ``CASEKIT_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import frozen

from casekit.errors import ConfigurationError

PREFIX = "CASEKIT_"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _check_prefix(_instance: Any, _attribute: Any, value: str) -> None:
    if not (1 <= len(value) <= 8 and value.isalnum() and value.isascii()):
        raise ConfigurationError(
            f"case_number_prefix {value!r}: use 1 to 8 ASCII letters or digits"
        )


def _check_positive(_instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ConfigurationError(f"{attribute.name} {value!r}: must be at least 1")


def _check_not_negative(_instance: Any, attribute: Any, value: int) -> None:
    if value < 0:
        raise ConfigurationError(f"{attribute.name} {value!r}: must be 0 or more")


@frozen(kw_only=True)
class Settings:
    """Every setting of the core, each also readable from ``CASEKIT_<NAME>``.

    :param database_url: SQLAlchemy URL of casekit's database.
    :param case_number_prefix: prefix of new case numbers (``CV`` gives ``CV000001``).
    :param load_entry_points: load plugins from the ``casekit`` entry point group.
    :param plugins_allow: when not empty, only these entry point names load.
    :param plugins_block: entry point names that never load.
    :param attachment_dir: folder of the built-in filesystem attachment store.
    :param max_attachment_bytes: largest attachment accepted.
    :param view_window_months: the Case Management views list cases created in
        this many months (All Cases reaches further); 0 lists them all.
    """

    database_url: str = "sqlite:///casekit.sqlite3"
    case_number_prefix: str = attrs.field(default="CV", validator=_check_prefix)
    load_entry_points: bool = True
    plugins_allow: tuple[str, ...] = ()
    plugins_block: tuple[str, ...] = ()
    attachment_dir: Path = Path("casekit-attachments")
    max_attachment_bytes: int = attrs.field(default=25 * 1024 * 1024, validator=_check_positive)
    view_window_months: int = attrs.field(default=13, validator=_check_not_negative)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``CASEKIT_*`` variables; ``overrides`` win over them."""
        environ = os.environ if environ is None else environ
        converters: dict[str, Any] = {
            "load_entry_points": _bool,
            "plugins_allow": _split,
            "plugins_block": _split,
            "attachment_dir": Path,
            "max_attachment_bytes": int,
            "view_window_months": int,
        }
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = environ.get(PREFIX + field.name.upper())
            if raw is None:
                continue
            try:
                value = converters.get(field.name, str)(raw)
                if field.validator is not None:
                    field.validator(None, field, value)
            except (ValueError, ConfigurationError) as error:
                raise ConfigurationError(f"{PREFIX}{field.name.upper()}: {error}") from error
            values[field.name] = value
        values.update(overrides)
        return cls(**values)
