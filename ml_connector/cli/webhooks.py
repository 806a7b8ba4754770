"""`ml-connector webhooks`: serve the Brex webhook receiver, register it with Brex, list the inbox."""

from __future__ import annotations

import json
import logging
import os
import socket

import click

from ml_connector.cli.report import console, month_argument, print_json


def _month(_ctx, _param, value):
    return None if value is None else month_argument(value)


@click.group()
def webhooks() -> None:
    """Receive Brex webhook events into the inbox, register the subscription, list the inbox."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (the first line printed says which).")
def serve(host: str, port: int) -> None:
    """Serve POST /webhooks/brex, GET /healthz and GET /metrics. The first line printed is JSON: the URLs."""
    import uvicorn

    from ml_connector.webhooks.receiver import PATH, app_from_settings

    app = app_from_settings()  # a missing secret or store is a ConfigError (exit 2) before anything listens
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        raise click.UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    bound = listener.getsockname()[1]
    base = f"http://{f'[{host}]' if family == socket.AF_INET6 else host}:{bound}"
    click.echo(json.dumps({"url": base + PATH, "healthz": base + "/healthz", "metrics": base + "/metrics",
                           "pid": os.getpid()}))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Our own log line says what became of each delivery; uvicorn's access log would only repeat it.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[listener])


@webhooks.command("register")
@click.option("--url", required=True, help="The public HTTPS address of POST /webhooks/brex.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def register(url: str, as_json: bool) -> None:
    """Create or update Brex's webhook subscription for URL, for the event types the connector uses."""
    from ml_connector.settings import load_settings
    from ml_connector.sources.brex import BrexClient
    from ml_connector.store import open_store
    from ml_connector.store.audit import AuditEvent, record
    from ml_connector.vault import Vault
    from ml_connector.webhooks.register import check_url, register_subscription

    check_url(url)
    settings = load_settings()
    engine = open_store(settings.store_url)
    vault = Vault(engine, settings.master_key.get_secret_value()) if settings.master_key else None
    result = register_subscription(BrexClient.from_settings(settings, vault), url)
    subscription = result.subscription
    record(engine, AuditEvent(actor="cli", action="webhooks.register", outcome=result.action, source_system="brex",
                              source_id=subscription.get("id"),
                              detail={"url": url, "event_types": subscription.get("event_types")}))
    if as_json:
        print_json({"action": result.action, "subscription": subscription})
        return
    console.print(f"subscription {subscription.get('id')} {result.action}: {url} receives "
                  f"{', '.join(subscription.get('event_types') or [])} ({subscription.get('status')})")


@webhooks.command("list")
@click.option("--month", callback=_month, default=None, help="Events handled for this month, YYYY-MM.")
@click.option("--unhandled", is_flag=True, help="Only events the sensor has not handled yet.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_command(month: str | None, unhandled: bool, limit: int, as_json: bool) -> None:
    """The webhook inbox, newest first: each event, when it arrived, and which run took it for which months."""
    from rich.table import Table

    from ml_connector.settings import load_settings
    from ml_connector.store import open_store
    from ml_connector.webhooks.inbox import list_events

    events = list_events(open_store(load_settings().store_url), month=month, unhandled_only=unhandled, limit=limit)
    if as_json:
        print_json([event.as_dict() for event in events])
        return
    if not events:
        console.print("the webhook inbox has no such events")
        return
    table = Table(title=f"webhook inbox ({len(events)} events)")
    for column in ("received", "event id", "type", "handled", "months", "run key / note"):
        table.add_column(column)
    for e in events:
        table.add_row(e.received_at.isoformat(timespec="seconds"), e.event_id, e.event_type,
                      e.processed_at.isoformat(timespec="seconds") if e.processed_at else "waiting",
                      ", ".join(e.months or []), e.handled_run_key or e.handled_note or "")
    console.print(table)
