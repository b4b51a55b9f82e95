"""The documentation keeps up with the code.

Every hook is specified with a complete docstring and rendered on
docs/hooks.rst; every signal is documented, listed in ``ALL_SIGNALS`` and
rendered on docs/signals.rst; every setting and every table has its entry;
the runnable examples the pages include still run and print what the pages
show; the Alembic recipe on docs/store.rst really keeps casekit's tables out
of a host's autogenerate.
"""

from __future__ import annotations

import inspect
import os
import re
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from blinker import NamedSignal
from sqlalchemy import Column, Integer, MetaData, String, Table

from casekit import hookspecs, signals
from casekit.plugins import make_plugin_manager
from casekit.settings import PREFIX, Settings
from casekit.store.migrate import VERSION_TABLE
from casekit.store.tables import metadata

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = DOCS / "examples"


def hookspec_functions() -> dict[str, Callable[..., Any]]:
    return {
        name: func
        for name, func in vars(hookspecs).items()
        if name.startswith("casekit_") and inspect.isfunction(func)
    }


def signal_names() -> dict[int, str]:
    """The Python name of every module-level signal in casekit.signals, by id."""
    return {
        id(value): name
        for name, value in vars(signals).items()
        if isinstance(value, NamedSignal) and not name.startswith("_")
    }


def directive_targets(page: str, directive: str, prefix: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    pattern = rf"^\.\. {directive}:: {re.escape(prefix)}(\w+)\s*$"
    return re.findall(pattern, text, flags=re.MULTILINE)


# -- hooks ---------------------------------------------------------------------


def test_there_are_hooks_to_check():
    assert len(hookspec_functions()) >= 7


@pytest.mark.parametrize("name", sorted(hookspec_functions()))
def test_hook_docstring_is_complete(name):
    func = hookspec_functions()[name]
    doc = inspect.getdoc(func)
    assert doc, f"{name} has no docstring"
    lines = doc.splitlines()
    summary = lines[0].strip()
    assert summary.endswith("."), f"{name}: the summary line should be one sentence: {summary!r}"
    assert len(lines) == 1 or not lines[1].strip(), (
        f"{name}: the one-line summary must be followed by a blank line"
    )
    for param in inspect.signature(func).parameters:
        assert re.search(rf"^:param {param}:", doc, flags=re.MULTILINE), (
            f"{name}: no ':param {param}:' in its docstring"
        )
    assert re.search(r"^\.\. versionadded:: \S+", doc, flags=re.MULTILINE), (
        f"{name}: no '.. versionadded::' in its docstring"
    )
    if func.casekit_spec["firstresult"]:  # type: ignore[attr-defined]
        assert "Stops at the first non-None result" in " ".join(doc.split()), (
            f"{name} is firstresult: say 'Stops at the first non-None result'"
        )


@pytest.mark.parametrize("name", sorted(hookspec_functions()))
def test_hook_is_rendered_on_the_hooks_page(name):
    listed = directive_targets("hooks.rst", "autofunction", "casekit.hookspecs.")
    assert name in listed, (
        f"docs/hooks.rst has no '.. autofunction:: casekit.hookspecs.{name}': document the hook"
    )


def test_hooks_page_lists_only_real_hooks_once_each():
    listed = directive_targets("hooks.rst", "autofunction", "casekit.hookspecs.")
    assert sorted(listed) == sorted(set(listed)), "a hook is rendered twice on docs/hooks.rst"
    assert set(listed) <= set(hookspec_functions()), "docs/hooks.rst renders a hook that is gone"


def test_every_hookspec_is_a_registered_hook():
    """A ``casekit_*`` function without ``@hookspec`` would silently be no hook."""
    pm = make_plugin_manager(Settings(load_entry_points=False))
    registered = {name for name in vars(pm.hook) if name.startswith("casekit_")}
    assert registered == set(hookspec_functions())


# -- signals ---------------------------------------------------------------------


def test_every_module_level_signal_is_in_all_signals():
    in_module = signal_names()
    in_all = {id(signal) for signal in signals.ALL_SIGNALS}
    missing = sorted(name for key, name in in_module.items() if key not in in_all)
    assert not missing, f"add {missing} to casekit.signals.ALL_SIGNALS"
    assert len(signals.ALL_SIGNALS) == len(in_all), "a signal is in ALL_SIGNALS twice"


def test_all_signals_are_casekit_signals():
    names = signal_names()
    for signal in signals.ALL_SIGNALS:
        assert id(signal) in names, f"{signal.name!r} is in ALL_SIGNALS but not in the module"
        assert signals.casekit_signals.get(signal.name) is signal, (
            f"{signal.name!r} is not on casekit's own Namespace"
        )


@pytest.mark.parametrize("signal", signals.ALL_SIGNALS, ids=lambda s: str(s.name))
def test_signal_has_a_doc(signal):
    # blinker keeps doc= on the instance; without it __doc__ is the class's.
    doc = signal.__dict__.get("__doc__") or ""
    assert doc.strip(), f"signal {signal.name!r}: pass doc= to casekit_signals.signal()"


@pytest.mark.parametrize("signal", signals.ALL_SIGNALS, ids=lambda s: str(s.name))
def test_signal_is_rendered_on_the_signals_page(signal):
    name = signal_names()[id(signal)]
    listed = directive_targets("signals.rst", "autodata", "casekit.signals.")
    assert name in listed, (
        f"docs/signals.rst has no '.. autodata:: casekit.signals.{name}': document the signal"
    )


# -- settings and tables --------------------------------------------------------------


@pytest.mark.parametrize("field", [f.name for f in attrs.fields(Settings)])
def test_setting_is_documented(field):
    text = (DOCS / "settings.rst").read_text(encoding="utf-8")
    assert f"``{field}``" in text, f"docs/settings.rst does not describe the setting {field}"
    variable = PREFIX + field.upper()
    assert f"``{variable}``" in text, f"docs/settings.rst does not name {variable}"


@pytest.mark.parametrize("table", sorted([*metadata.tables, VERSION_TABLE]))
def test_table_is_documented(table):
    text = (DOCS / "store.rst").read_text(encoding="utf-8")
    assert f"``{table}``" in text, f"docs/store.rst does not list the table {table}"


# -- runnable examples --------------------------------------------------------------

SCRIPTS = sorted(
    path.name
    for path in EXAMPLES.glob("*.py")
    if path.name not in {"example_tests.py", "host_alembic_env.py"}
)


def run_python(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEKIT_")}
    env["CASEKIT_LOAD_ENTRY_POINTS"] = "0"  # the examples' own plugins only
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_there_are_examples_to_run():
    assert "getting_started.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_and_prints_what_the_docs_show(script, tmp_path):
    result = run_python([str(EXAMPLES / script)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = EXAMPLES / script.replace(".py", ".out")
    if expected.exists():
        assert result.stdout == expected.read_text(encoding="utf-8")


def test_testing_page_example_passes(tmp_path):
    shutil.copy(EXAMPLES / "example_tests.py", tmp_path / "test_example.py")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["casekit.testing"]\n')
    result = run_python(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_example.py"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_host_alembic_recipe_leaves_casekit_tables_alone(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from casekit.store.database import create_casekit_engine
    from casekit.store.migrate import upgrade

    recipe = runpy.run_path(str(EXAMPLES / "host_alembic_env.py"))
    host_metadata = MetaData()
    Table(
        "accounts",
        host_metadata,
        Column("id", Integer, primary_key=True),
        Column("name", String(50)),
    )
    engine = create_casekit_engine(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    try:
        upgrade(engine)
        host_metadata.create_all(engine)
        with engine.connect() as conn:

            def diff(**opts: Any) -> list[Any]:
                context = MigrationContext.configure(
                    conn, opts={"target_metadata": host_metadata, **opts}
                )
                return list(compare_metadata(context, host_metadata))

            unfiltered = [d for d in diff() if d[0] == "remove_table"]
            assert {d[1].name for d in unfiltered} >= {"casekit_cases", "casekit_alembic_version"}
            assert diff(include_object=recipe["include_object"]) == []
            assert diff(include_name=recipe["include_name"]) == []
    finally:
        engine.dispose()
