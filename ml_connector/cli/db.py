"""`ml-connector db`: the store's schema."""

from __future__ import annotations

import json

import click

from ml_connector.settings import load_settings
from ml_connector.store.db import create_store_engine, current_revision, head_revision, upgrade


@click.group()
def db() -> None:
    """Create and upgrade the connector store."""


@db.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def upgrade_command(as_json: bool) -> None:
    """Apply every migration the store lacks (also done automatically on first use)."""
    settings = load_settings()
    engine = create_store_engine(settings.store_url)
    before = current_revision(engine)
    after = upgrade(engine)
    backend = engine.url.get_backend_name()
    if as_json:
        click.echo(json.dumps({"backend": backend, "from": before, "to": after}))
    else:
        click.echo(f"store ({backend}) at revision {after}" + ("" if before == after else f" (was {before})"))


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def status_command(as_json: bool) -> None:
    """Show the store's backend and revision."""
    settings = load_settings()
    engine = create_store_engine(settings.store_url)
    current, head = current_revision(engine), head_revision()
    if as_json:
        click.echo(json.dumps({"backend": engine.url.get_backend_name(), "revision": current, "head": head}))
    else:
        state = "up to date" if current == head else f"behind (newest is {head}); run `ml-connector db upgrade`"
        click.echo(f"store ({engine.url.get_backend_name()}) at revision {current}: {state}")
