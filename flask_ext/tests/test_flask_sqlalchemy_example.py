"""The Flask-SQLAlchemy example host: its rows and casekit's commit or roll back together."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casekit import Actor, CaseKit, Settings, signals
from casekit.store import tables
from casekit.testing import FrozenClock, SignalRecorder, empty_tables

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_sqlalchemy_host.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flask_sqlalchemy_host", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # SQLAlchemy reads the models' annotations in their module: it must be importable.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(database_url: str, tmp_path: Path) -> Iterator[tuple[ModuleType, Flask]]:
    module = load_example()
    settings = Settings(
        database_url=database_url, attachment_dir=tmp_path / "files", load_entry_points=False
    )
    app = module.create_app(database_url, settings=settings, clock=FrozenClock())
    yield module, app
    kit: CaseKit = app.extensions["casekit_kit"]
    with app.app_context():
        module.db.session.remove()
        module.db.drop_all()
        empty_tables(kit)
        module.db.engine.dispose()
    sys.modules.pop(module.__name__, None)


def counts(module: ModuleType, app: Flask) -> dict[str, Any]:
    with app.app_context():
        session = module.db.session
        return {
            "replacements": session.scalars(select(module.Replacement.order_number)).all(),
            "cases": session.scalar(select(func.count()).select_from(tables.cases)),
            "entries": session.scalar(select(func.count()).select_from(tables.entries)),
        }


def test_the_replacement_and_its_case_commit_together(
    example: tuple[ModuleType, Flask],
) -> None:
    module, app = example
    kit: CaseKit = app.extensions["casekit_kit"]
    with SignalRecorder(signals.CASE_SIGNALS) as recorded:
        answer = app.test_client().post("/orders/1001/damaged", data={"quantity": "2"})
    assert answer.status_code == 201
    number = answer.get_json()["case"]
    assert counts(module, app) | {"entries": 0} == {
        "replacements": ["1001"],
        "cases": 1,
        "entries": 0,
    }
    assert counts(module, app)["entries"] >= 2  # opened, and the message
    assert [kw["case"].number for kw in recorded.of(signals.case_opened)] == [number]
    assert kit.cases.get(Actor.host(), number).subject == "Order 1001 arrived damaged"


def test_a_host_rollback_takes_the_case_with_it(example: tuple[ModuleType, Flask]) -> None:
    module, app = example
    client = app.test_client()
    assert client.post("/orders/1001/damaged", data={"quantity": "4"}).status_code == 201
    before = counts(module, app)
    with SignalRecorder(signals.CASE_SIGNALS) as recorded:
        answer = client.post("/orders/1002/damaged", data={"quantity": "2"})
    assert answer.status_code == 409
    assert answer.get_json() == {"errors": {"quantity": ["only 5 in stock"]}}
    assert counts(module, app) == before
    assert recorded.names() == []
    # The host's session is usable after the rollback: the next request commits.
    assert client.post("/orders/1003/damaged", data={"quantity": "1"}).status_code == 201
    assert counts(module, app)["replacements"] == ["1001", "1003"]
    assert counts(module, app)["cases"] == 2


def test_bad_input_is_a_400_naming_the_field(example: tuple[ModuleType, Flask]) -> None:
    module, app = example
    answer = app.test_client().post("/orders/1001/damaged", data={"quantity": "many"})
    assert answer.status_code == 400
    assert answer.get_json() == {"errors": {"quantity": ["a whole number, at least 1"]}}
    assert counts(module, app)["cases"] == 0
