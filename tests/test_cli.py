"""The casekit command, run as a user would: a real subprocess and click's runner."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from casekit import hookimpl
from casekit.cli import build_cli, cli
from casekit.store.database import throwaway_database


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casekit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CASEKIT_LOAD_ENTRY_POINTS": "false", **(env or {})},
        timeout=120,
        check=False,
    )


def test_db_upgrade_and_current(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    (tmp_path / "empty.sqlite3").touch()
    before = run("--database-url", f"sqlite:///{tmp_path / 'empty.sqlite3'}", "db", "current")
    assert before.returncode == 1
    assert "empty" in before.stdout
    up = run("--database-url", url, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    now = run("db", "current", env={"CASEKIT_DATABASE_URL": url})
    assert now.returncode == 0
    assert "up to date" in now.stdout
    again = run("--database-url", url, "db", "upgrade")
    assert again.returncode == 0
    down = run("--database-url", url, "db", "downgrade", "base")
    assert down.returncode == 0
    assert "base" in down.stdout


def test_db_current_never_creates_a_database_file(tmp_path):
    missing = tmp_path / "missing.sqlite3"
    result = CliRunner().invoke(
        cli,
        ["--database-url", f"sqlite:///{missing}", "db", "current"],
        env={"CASEKIT_LOAD_ENTRY_POINTS": "false"},
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: --database-url: sqlite:///{missing}: no such file (casekit creates nothing "
        "here): run `casekit db upgrade` to create it, or check the URL"
    ]
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_reports_its_migrations_in_one_line_off_a_terminal(tmp_path):
    from casekit.store import migrate
    from casekit.store.database import create_casekit_engine

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    result = CliRunner().invoke(
        cli, ["--database-url", url, "db", "upgrade"], env={"CASEKIT_LOAD_ENTRY_POINTS": "false"}
    )
    assert result.exit_code == 0, result.output
    engine = create_casekit_engine(url)
    steps = len(migrate.revisions(engine))
    assert result.stdout == f"casekit schema at {migrate.head(engine)} ({steps} migrations run)\n"
    engine.dispose()
    assert result.stderr == ""


def test_db_upgrade_shows_each_migration_on_a_terminal(tmp_path):
    from casekit.testing import run_in_terminal

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    status, shown = run_in_terminal(
        [sys.executable, "-m", "casekit", "--database-url", url, "db", "upgrade"],
        env={**os.environ, "CASEKIT_LOAD_ENTRY_POINTS": "false", "TERM": "xterm"},
    )
    assert status == 0, shown
    assert "Migrating  [" in shown  # the bar, before the first migration
    assert "Migrating 0001 initial schema" in shown  # each migration's name as it runs
    assert "migrations run)" in shown


MESSAGE_LINE = re.compile(r"^  \S+ \S+  (.+?) to (\w+)(, shared with the carrier)?: (.*)$")


def messages_in(section: str) -> list[tuple[str, str, bool, str]]:
    """The message lines of one printed timeline: who, audience, shared, text."""
    found = (MESSAGE_LINE.match(line) for line in section.splitlines())
    return [(m[1], m[2], m[3] is not None, m[4]) for m in found if m]


def test_example_plays_a_case(tmp_path):
    result = run("example", env={"CASEKIT_ATTACHMENT_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    shipper, carrier, customer = out.split("sees it")[1:]
    opening = "the sofa from order 1042 arrived today"
    asks_photos = "Could you send us photos"
    photos = "Here they are: the cover is torn along the back, and the box has a hole."
    files = "[attachment cover.jpg, 2051 bytes] [attachment box.jpg, 2051 bytes]"
    note = "Refund approved if the carrier confirms damage."
    quote = 'Our customer writes: "the box has a hole" (photos shared above).'
    pod = "Driver noted a torn cover on the POD; photo attached."
    replacement = "a replacement cover ships tomorrow"
    thanks = "Thank you, that works for me."

    # The shipper reads everything, in order: its talk with its customer, its
    # note, the share and its question to the carrier.
    said = [text for _who, _audience, _shared, text in messages_in(shipper)]
    for expected, text in zip(
        (opening, asks_photos, photos, note, quote, pod, replacement, thanks), said, strict=True
    ):
        assert expected in text
    assert "entry shared (the customer's photos)" in shipper
    assert "ZD-88231" in shipper

    # The carrier reads of the shipper's talk with its customer only the shared
    # message (with its photos) and the event that shared it; the statuses of
    # that talk are open to it.
    sam, cal = "Sam Shipper (Acme Goods)", "Cal Carrier (Fast Freight)"
    assert messages_in(carrier) == [
        ("customer", "customer", True, f"{photos} {files}"),
        (sam, "partners", False, f"{quote} Please confirm the damage noted at delivery."),
        (cal, "partners", False, f"{pod} [attachment pod-photo.jpg, 2051 bytes]"),
    ]
    assert carrier.count("entry shared (the customer's photos)") == 1
    for private in (opening, asks_photos, replacement, thanks, note, "ZD-88231", "Casey"):
        assert private not in carrier
    assert "waiting" not in carrier
    assert "reply_received" not in carrier
    assert "solved (open -> solved)" in carrier

    # The customer reads its conversation with the shipper, never the partners'.
    assert [(a, text) for _who, a, _shared, text in messages_in(customer)] == [
        ("customer", "Hello, the sofa from order 1042 arrived today and the cover is torn."),
        ("customer", "We are sorry! Could you send us photos of the cover and of the box?"),
        ("customer", f"{photos} {files}"),
        ("customer", "The carrier confirmed the damage: a replacement cover ships tomorrow."),
        ("customer", thanks),
    ]
    assert "entry shared" not in customer
    assert "status Solved" in customer


def test_case_types_and_plugins(tmp_path):
    runner = CliRunner()
    env = {
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
        "CASEKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    types = runner.invoke(cli, ["case-types"], env=env)
    assert types.exit_code == 0
    assert "where_is_my_order" in types.output
    assert "Customer Feedback" in types.output
    plugins = runner.invoke(cli, ["plugins"], env=env)
    assert (
        "casekit.filesystem_storage: casekit_delete_attachment, casekit_open_attachment, "
        "casekit_store_attachment"
    ) in (plugins.output)


def test_bad_setting_is_a_clear_error(tmp_path):
    result = run("case-types", env={"CASEKIT_CASE_NUMBER_PREFIX": "not ok!"})
    assert result.returncode != 0
    assert "case_number_prefix" in result.stderr
    assert "Traceback" not in result.stderr


class GreeterPlugin:
    @hookimpl
    def casekit_add_cli_commands(self, cli: click.Group) -> None:
        @cli.command("hello")
        def hello() -> None:
            click.echo("hello from a plugin")


def test_plugins_add_subcommands(monkeypatch):
    from casekit import plugins

    original = plugins.builtin_plugins
    monkeypatch.setattr(
        plugins, "builtin_plugins", lambda s: [*original(s), ("greeter", GreeterPlugin())]
    )
    group = build_cli()
    try:
        result = CliRunner().invoke(group, ["hello"])
        assert result.output == "hello from a plugin\n"
    finally:
        group.commands.pop("hello", None)


def test_api_keys_from_the_command_line(tmp_path):
    from casekit import Actor, CaseKit

    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        kit.create_schema()
        kit.directory.add_organization(
            Actor.host(), name="Acme", role="shipper", external_id="acme"
        )
    made = run(
        "--database-url", url, "api-keys", "create", "acme", "--name", "TMS", "--scope", "write"
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.splitlines()[1]
    assert "keeps only a hash" in made.stderr
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        assert kit.api_keys.authenticate(token).scope == "write"
    listed = run("--database-url", url, "api-keys", "list", "acme")
    assert "TMS" in listed.stdout
    assert "active" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout  # the secret may hold "_" itself
    key_id = made.stdout.split()[1]
    revoked = run("--database-url", url, "api-keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run("--database-url", url, "api-keys", "list", "acme").stdout
    unknown = run("--database-url", url, "api-keys", "list", "nobody")
    assert unknown.returncode == 2
    assert "nobody" in unknown.stderr


def test_case_addresses_from_the_command_line(tmp_path):
    from casekit import Actor, CaseKit

    url = f"sqlite:///{tmp_path / 'addresses.sqlite3'}"
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        kit.create_schema()
        add_org = kit.directory.add_organization
        acme = add_org(Actor.host(), name="Acme", role="shipper", external_id="acme")
        add_org(Actor.host(), name="Fast", role="carrier", external_id="fast")
        mia = kit.directory.add_user(
            Actor.host(), org_id=acme.id, name="Mia", email="mia@acme.test"
        )

    def invoke(*args: str) -> click.testing.Result:
        return CliRunner().invoke(
            cli,
            ["--database-url", url, "inbound", "addresses", *args],
            env={"CASEKIT_LOAD_ENTRY_POINTS": "false"},
        )

    added = invoke("add", "acme", "Cases@Acme.test", "--partner", "fast", "--owner", str(mia.id))
    assert added.exit_code == 0, added.output
    assert added.stdout == (
        f"cases@acme.test shipper acme type=(default) owner={mia.id} partner=fast "
        "unknown-senders=open\n"
    )
    desk = invoke("add", "fast", "desk@fast.test")
    assert desk.stdout.endswith("partner=- unknown-senders=triage\n"), desk.output
    changed = invoke(
        "update", "cases@acme.test", "--type", "lost", "--owner", "", "--unknown-senders", "triage"
    )
    assert changed.exit_code == 0, changed.output
    assert "type=lost owner=- partner=fast unknown-senders=triage" in changed.stdout
    assert invoke("list", "acme").stdout == changed.stdout
    assert invoke("list").stdout.splitlines() == [
        changed.stdout.strip(),
        desk.stdout.strip(),
    ]
    # Bad input is named, and changes nothing.
    refused = invoke("update", "desk@fast.test", "--unknown-senders", "open")
    assert refused.exit_code == 1
    assert "unknown_senders" in refused.stderr
    assert invoke("add", "acme", "x@acme.test", "--type", "nope").exit_code == 1
    assert invoke("add", "nobody", "x@acme.test").exit_code == 2
    assert invoke("update", "desk@fast.test", "--owner", "mia").exit_code == 2
    assert invoke("remove", "cases@acme.test").stdout == "removed cases@acme.test\n"
    assert invoke("list").stdout == desk.stdout
    assert invoke("remove", "cases@acme.test").exit_code == 1


def test_sla_sweep_and_recompute_from_the_command_line(tmp_path):
    from datetime import UTC, datetime, timedelta

    from casekit import Actor, CaseKit
    from casekit.clock import FrozenClock
    from casekit.sample import World

    url = f"sqlite:///{tmp_path / 'sla.sqlite3'}"
    # The case was opened two hours ago (real time: the command's clock is the system's).
    opened = FrozenClock(datetime.now(UTC) - timedelta(hours=2))
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path, clock=opened) as kit:
        kit.create_schema()
        world = World.build(kit)
        kit.service_levels.save_target(
            world.carrier_manager_actor, {"name": "Answer", "first_response": 3600}
        )
        kit.cases.open(
            world.shipper_actor, type="lost", carrier=world.carrier.id, message="Where is it?"
        )

    def invoke(*args: str) -> click.testing.Result:
        return CliRunner().invoke(
            cli, ["--database-url", url, "sla", *args], env={"CASEKIT_LOAD_ENTRY_POINTS": "false"}
        )

    swept = invoke("sweep")
    assert swept.exit_code == 0, swept.output
    # The carrier side has no owner and no collaborator address: its manager hears.
    assert swept.stdout == "warned 1 clock (0 due soon, 1 breached): 1 notification queued\n"
    assert invoke("sweep").stdout == (
        "warned 0 clocks (0 due soon, 0 breached): 0 notifications queued\n"
    )
    assert invoke("recompute").stdout == "recomputed the clocks of 1 case\n"
    assert invoke("recompute", "--organization", "acme").stdout == (
        "recomputed the clocks of 1 case\n"
    )
    unknown = invoke("recompute", "--organization", "nobody")
    assert unknown.exit_code == 2
    assert "nobody" in unknown.stderr
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        sent = kit.notifications.deliveries(Actor.host(), "CV000001")
        assert [(d.event, d.email) for d in sent if d.event.startswith("clock_")] == [
            ("clock_breached", world.carrier_manager.email)
        ]


def all_commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def test_every_help_names_only_options_its_command_has(monkeypatch):
    """Each --option a command's help mentions is one of its own, or the root's said as such.

    The commands of the plugins installed with casekit are checked too.
    """
    monkeypatch.delenv("CASEKIT_LOAD_ENTRY_POINTS", raising=False)
    group = build_cli()
    root = {opt for param in group.params for opt in getattr(param, "opts", ())}
    checked = 0
    for path, command in all_commands(group):
        result = CliRunner().invoke(group, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        own = {opt for param in command.params for opt in getattr(param, "opts", ())}
        for found in OPTION.finditer(result.output):
            option = found.group()
            before = result.output[: found.start()].split()[-1:]
            said_of_the_root = [w.strip("(`'\"") for w in before] == ["casekit"] and option in root
            assert option in own | {"--help"} or said_of_the_root, (path, option)
        checked += 1
    assert checked >= len(COMMANDS)


def leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*path, name))
        else:
            yield (*path, name)


#: Every command of the group, taken before a test adds a plugin's.
COMMANDS = sorted(leaf_commands(cli))
#: The arguments each command that opens the database is run with.
OPENS_DATABASE: dict[tuple[str, ...], tuple[str, ...]] = {
    ("db", "upgrade"): (),
    ("db", "downgrade"): ("base",),
    ("db", "current"): (),
    ("db", "rebuild-search"): (),
    ("example",): (),
    ("worker",): ("--once",),
    ("health",): (),
    ("api-keys", "create"): ("acme", "--name", "TMS"),
    ("api-keys", "list"): ("acme",),
    ("api-keys", "revoke"): ("1",),
    ("inbound", "read"): ("-",),
    ("inbound", "serve"): ("--port", "0"),
    ("inbound", "poll"): ("--once",),
    ("inbound", "purge"): (),
    ("inbound", "addresses", "list"): (),
    ("inbound", "addresses", "add"): ("acme", "cases@acme.test"),
    ("inbound", "addresses", "update"): ("cases@acme.test", "--type", "lost"),
    ("inbound", "addresses", "remove"): ("cases@acme.test",),
    ("rules", "sweep"): (),
    ("actions", "sweep"): (),
    ("claims", "sweep"): (),
    ("rules", "list"): ("acme",),
    ("rules", "starters"): ("acme",),
    ("rules", "dry-run"): ("1",),
    ("sla", "sweep"): (),
    ("sla", "recompute"): (),
    ("network", "compute"): (),
}
#: They make casekit's tables or report on them: a database without them is theirs to fill.
WITHOUT_TABLES = {("db", "upgrade"), ("db", "downgrade"), ("db", "current"), ("example",)}
OPENS_NO_DATABASE = {("plugins",), ("case-types",)}
SECRET = "hunter2-not-shown"


def test_every_command_says_whether_it_opens_the_database():
    assert set(COMMANDS) == set(OPENS_DATABASE) | OPENS_NO_DATABASE


@pytest.fixture
def never_hangs() -> Iterator[None]:
    """Fail a command that would serve or wait forever instead of refusing to start."""

    def stop(_signum: int, _frame: object) -> None:
        raise TimeoutError("the command ran on instead of stopping at its database")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def unusable_databases(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[tuple[str, str, str]]]:
    """(what is wrong, URL, a piece of the fix) for each way ``backend``'s database can be unusable.

    The last one is a database casekit's tables were never made in.
    """
    if backend == "sqlite":
        folder = tmp_path_factory.mktemp("unusable")
        (folder / "empty.sqlite3").touch()
        yield [
            ("malformed", "postgresql://:::", "dialect://user:password@host"),
            ("unknown dialect", f"nosuchdb://casekit:{SECRET}@localhost/casekit", "postgresql"),
            ("driver not installed", f"postgresql+asyncpg://casekit:{SECRET}@db/x", "pip install"),
            ("cannot open", f"sqlite:///{folder / 'missing' / 'x.sqlite3'}", "check"),
            ("never migrated", f"sqlite:///{folder / 'empty.sqlite3'}", "casekit db upgrade"),
        ]
        return
    from casekit.testing import SERVER_ENV

    server = make_url(os.environ[SERVER_ENV[backend]])
    if backend == "postgresql":  # its test server trusts every user it has, whatever the password
        server = server.set(password=SECRET)
        wrong_login = server.set(username="casekit_nobody")
    else:
        wrong_login = server.set(password=SECRET)
    with throwaway_database(server, prefix="casekit_unmigrated") as empty:
        yield [
            ("unreachable", server.set(port=1).render_as_string(False), "check"),
            ("wrong login", wrong_login.render_as_string(False), "check"),
            ("no database", server.set(database="casekit_never").render_as_string(False), "check"),
            ("never migrated", empty, "casekit db upgrade"),
        ]


@pytest.mark.usefixtures("never_hangs")
@pytest.mark.parametrize("command", sorted(set(COMMANDS) - OPENS_NO_DATABASE), ids=" ".join)
def test_an_unusable_database_is_one_line_naming_the_setting_and_the_fix(
    command, unusable_databases, tmp_path
):
    runner = CliRunner()
    env = {"CASEKIT_LOAD_ENTRY_POINTS": "false", "CASEKIT_ATTACHMENT_DIR": str(tmp_path)}
    for problem, url, fix in unusable_databases:
        if problem == "never migrated" and command in WITHOUT_TABLES:
            continue
        args = ["--database-url", url, *command, *OPENS_DATABASE[command]]
        result = runner.invoke(cli, args, env=env, input="")
        said = result.stderr
        assert result.exit_code == (75 if command == ("inbound", "read") else 2), (problem, said)
        assert len(said.splitlines()) == 1, (problem, said)
        assert "--database-url" in said, (problem, said)
        assert fix in said, (problem, said)
        assert "Traceback" not in result.output, (problem, result.output)
        assert SECRET not in result.output, (problem, said)


@pytest.mark.backends("sqlite")
def test_the_setting_named_is_the_one_the_url_came_from(backend, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default database is casekit.sqlite3 here
    (tmp_path / "empty.sqlite3").touch()
    env = {
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
        "CASEKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    result = CliRunner().invoke(cli, ["rules", "sweep"], env=env)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: CASEKIT_DATABASE_URL: ")
    assert "casekit db upgrade" in result.stderr
    unset = CliRunner().invoke(cli, ["rules", "sweep"], env={**env, "CASEKIT_DATABASE_URL": None})
    assert unset.exit_code == 2
    assert "CASEKIT_DATABASE_URL" in unset.stderr
    assert "casekit.sqlite3" in unset.stderr


def test_debug_shows_the_traceback(tmp_path):
    # A database file in a folder that does not exist: every install has the
    # driver (the servers' drivers are extras), and the error is the driver's.
    url = f"sqlite:///{tmp_path / 'missing' / 'casekit.sqlite3'}"
    plain = run("--database-url", url, "worker", "--once")
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1  # not even the worker's log lines before it
    assert "unable to open database file" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run("--debug", "--database-url", url, "worker", "--once")
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr
    assert "unable to open database file" in debug.stderr


def test_commands_write_nothing_into_the_working_directory(tmp_path):
    """The default database and attachments live in the per-user data folder, made when written."""
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "CASEKIT_LOAD_ENTRY_POINTS": "false",
    }
    for name in ("CASEKIT_DATABASE_URL", "CASEKIT_ATTACHMENT_DIR"):
        env.pop(name, None)

    def casekit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "casekit", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # Before anything is written: a command that only reads says what is missing.
    current = casekit("db", "current")
    assert current.returncode == 2
    assert "no such file" in current.stderr
    assert not (home / "data").exists()
    for args in (("case-types",), ("plugins",), ("example",), ("rules", "sweep")):
        casekit(*args)
    assert not (home / "data").exists()
    # The first write makes the folder and the file in it.
    upgrade = casekit("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert (home / "data" / "casekit" / "casekit.sqlite3").is_file()
    for args in (("db", "current"), ("rules", "sweep"), ("worker", "--once"), ("inbound", "purge")):
        done = casekit(*args)
        assert done.returncode == 0, (args, done.stderr)
    assert list(cwd.iterdir()) == []


def test_network_compute_from_the_command_line(tmp_path):
    from datetime import UTC, datetime

    from casekit import CaseKit
    from casekit.domain.network import period_of
    from casekit.sample import World

    url = f"sqlite:///{tmp_path / 'network.sqlite3'}"
    with CaseKit(url, load_entry_points=False, attachment_dir=tmp_path) as kit:
        kit.create_schema()
        world = World.build(kit)
        kit.cases.open(world.shipper_actor, type="lost", carrier=world.carrier.id)
    env = {"CASEKIT_LOAD_ENTRY_POINTS": "false"}

    def invoke(*args: str, **more: str) -> click.testing.Result:
        return CliRunner().invoke(
            cli, ["--database-url", url, "network", "compute", *args], env={**env, **more}
        )

    off = invoke()
    assert off.exit_code == 1
    assert "network benchmarks" in off.output
    now = period_of(datetime.now(UTC))
    done = invoke("--months", "2", CASEKIT_NETWORK_BENCHMARKS="on")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{now}: ")
    assert lines[0].endswith(" figures")
    assert lines[1].startswith(f"{period_of(datetime.now(UTC), 1)}: 0 figures")
    assert lines[2] == "read 1 case"
    bad = invoke("--period", "2026-13", CASEKIT_NETWORK_BENCHMARKS="on")
    assert bad.exit_code == 1
    assert "period" in bad.output
