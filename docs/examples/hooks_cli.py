"""A plugin that adds a subcommand: ``casekit count-cases``."""

import click
from click.testing import CliRunner

from casekit import Actor, CaseKit, hookimpl
from casekit.cli import open_kit


@click.command("count-cases")
@click.pass_context
def count_cases(ctx):
    """Print how many cases the database holds (up to 500)."""
    # The kit of the database the command was given (--database-url or CASEKIT_DATABASE_URL).
    with open_kit(ctx) as kit:
        click.echo(len(kit.cases.list(Actor.host(), limit=500)))


class CountCommand:
    @hookimpl
    def casekit_add_cli_commands(self, cli):
        cli.add_command(count_cases)


# Installed with an entry point, the plugin's command joins ``casekit``. To try
# it without installing, call the hook on a group of your own:
from casekit.plugins import make_plugin_manager  # noqa: E402
from casekit.settings import Settings  # noqa: E402

group = click.Group("casekit")
pm = make_plugin_manager(Settings(load_entry_points=False), [CountCommand()])
pm.hook.casekit_add_cli_commands(cli=group)
with CaseKit(database_url="sqlite:///cli-example.sqlite3") as kit:
    kit.create_schema()
result = CliRunner().invoke(
    group, ["count-cases"], obj={"database_url": "sqlite:///cli-example.sqlite3"}
)
print(result.output.strip(), "cases")
