"""The `ml-connector` command. Exit codes: 0 done, 1 the work failed, 2 bad usage or configuration."""

from __future__ import annotations

import sys

import click

from ml_connector.cli.close import close
from ml_connector.cli.credentials import credentials
from ml_connector.cli.db import db
from ml_connector.cli.demo import demo
from ml_connector.cli.drift import drift
from ml_connector.cli.month import audit, run, status
from ml_connector.cli.replay import replay
from ml_connector.cli.sandbox import sandbox
from ml_connector.cli.webhooks import webhooks
from ml_connector.errors import ConfigError, ConnectorError, VaultError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ml-connector")
def cli() -> None:
    """Brex and Expensify spend into Zoho Books, exactly once, with an audit trail."""


cli.add_command(db)
cli.add_command(credentials)
cli.add_command(sandbox)
cli.add_command(run)
cli.add_command(status)
cli.add_command(audit)
cli.add_command(demo)
cli.add_command(webhooks)
cli.add_command(replay)
cli.add_command(drift)
cli.add_command(close)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code == 2 else exc.exit_code)
    except (ConfigError, VaultError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except ConnectorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILED)
