"""casekit's logging: named loggers, nothing configured by the library, a JSON format."""

from __future__ import annotations

import ast
import io
import json
import logging
from pathlib import Path

import pytest

from casekit.logs import JsonFormatter, configure

ROOT = Path(__file__).resolve().parent.parent
#: The library's code: the core, casekit-flask, the adapters and plugins (not their tests).
LIBRARY = sorted(
    path
    for folder in (
        ROOT / "casekit",
        ROOT / "flask_ext" / "casekit_flask",
        ROOT / "adapters",
        ROOT / "plugins",
    )
    for path in folder.rglob("*.py")
    if "tests" not in path.parts and "migrations" not in path.parts
)
#: The command sets up logging for itself; casekit.logs is the helper a host calls to.
CONFIGURERS = {ROOT / "casekit" / "cli.py", ROOT / "casekit" / "logs.py"}


def calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def name_of(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def test_there_is_library_code_to_check():
    assert ROOT / "casekit" / "kit.py" in LIBRARY
    assert ROOT / "flask_ext" / "casekit_flask" / "ops.py" in LIBRARY


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_logs_through_its_own_named_logger_and_configures_nothing(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = calls(tree)
    if path in CONFIGURERS:
        return
    assert "basicConfig" not in {name_of(c) for c in found}, "library code configures logging"
    for call in found:
        if name_of(call) == "getLogger" and call.args:
            assert ast.unparse(call.args[0]) == "__name__", ast.unparse(call)
    # Logging through the root logger (logging.info(...)) bypasses the module's name.
    for call in found:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "logging"
        ):
            assert func.attr not in {"debug", "info", "warning", "error", "exception"}, ast.unparse(
                call
            )


def test_the_json_formatter_writes_one_parseable_object_per_record():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("casekit.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning('refused %s "quoted"\nnext line', "a key", extra={"channel": "mail"})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == 'refused a key "quoted"\nnext line'
    assert first["level"] == "WARNING"
    assert first["logger"] == "casekit.test_logs"
    assert first["channel"] == "mail"
    assert first["time"].endswith("+00:00")
    assert "exception" not in first
    assert second["message"] == "it failed"
    assert "ValueError: boom" in second["exception"]


def test_an_extra_json_cannot_hold_is_written_as_text():
    record = logging.LogRecord("casekit", logging.INFO, __file__, 1, "hi", None, None)
    record.path = Path("/tmp/x")
    assert json.loads(JsonFormatter().format(record))["path"] == "/tmp/x"


def test_configure_installs_one_handler_and_a_second_call_replaces_it():
    logger = logging.getLogger("casekit.test_configure")
    first, second = io.StringIO(), io.StringIO()
    try:
        configure(json=True, logger=logger.name, stream=first)
        configure(json=True, logger=logger.name, stream=second, level="WARNING")
        logger.info("not shown")
        logger.warning("shown")
        assert first.getvalue() == ""
        assert json.loads(second.getvalue())["message"] == "shown"
        assert len(logger.handlers) == 1
        text = io.StringIO()
        configure(logger=logger.name, stream=text)
        logger.warning("as text")
        assert text.getvalue().rstrip().endswith("WARNING casekit.test_configure: as text")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
