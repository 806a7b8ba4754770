"""`ml-connector credentials`: the encrypted vault. Secrets are read from stdin or a hidden prompt,
never from the command line, and never printed."""

from __future__ import annotations

import json
import sys

import click

from ml_connector.settings import load_settings
from ml_connector.store import open_store
from ml_connector.vault import KNOWN_SYSTEMS, Vault, generate_key


def _vault() -> Vault:
    settings = load_settings()
    master_key = settings.master_key.get_secret_value() if settings.master_key else None
    return Vault(open_store(settings.store_url), master_key)


@click.group()
def credentials() -> None:
    """Store, list, delete and re-key encrypted credentials."""


@credentials.command("set")
@click.argument("system", type=click.Choice(KNOWN_SYSTEMS))
@click.argument("name")
def set_command(system: str, name: str) -> None:
    """Store a secret for SYSTEM under NAME (e.g. `zoho refresh_token`), read from stdin or a prompt."""
    if sys.stdin.isatty():
        secret = click.prompt(f"Secret for {system}/{name}", hide_input=True, confirmation_prompt=True)
    else:
        secret = sys.stdin.read().strip()
    _vault().set(system, name, secret)
    click.echo(f"stored {system}/{name}")


@credentials.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_command(as_json: bool) -> None:
    """List stored credentials: names and last-updated times, values redacted."""
    settings = load_settings()
    master_key = settings.master_key.get_secret_value() if settings.master_key else None
    # Listing reads no secret, but a wrong key should still be said early rather than at the next run.
    vault = Vault(open_store(settings.store_url), master_key)
    items = vault.list()
    if as_json:
        click.echo(json.dumps([{"system": i.system, "name": i.name, "value": "[redacted]",
                                "updated_at": i.updated_at.isoformat()} for i in items]))
        return
    if not items:
        click.echo("no credentials stored")
    for item in items:
        click.echo(f"{item.system:<10} {item.name:<24} ********  updated {item.updated_at:%Y-%m-%d %H:%M:%S %Z}")


@credentials.command("delete")
@click.argument("system", type=click.Choice(KNOWN_SYSTEMS))
@click.argument("name")
def delete_command(system: str, name: str) -> None:
    """Delete the secret stored for SYSTEM under NAME."""
    if not _vault().delete(system, name):
        raise click.ClickException(f"no credential {system}/{name} is stored")
    click.echo(f"deleted {system}/{name}")


@credentials.command("rotate-key")
def rotate_key_command() -> None:
    """Re-encrypt every secret under the newest key of ML_CONNECTOR_MASTER_KEY ('NEW,OLD')."""
    count = _vault().rotate()
    click.echo(f"re-encrypted {count} credential(s) under the newest key; the old key can now be dropped")


@credentials.command("generate-key")
def generate_key_command() -> None:
    """Print a new master key, for ML_CONNECTOR_MASTER_KEY."""
    click.echo(generate_key())
