"""`ml-connector sandbox`: the local Brex, Zoho Books and Expensify APIs."""

from __future__ import annotations

import json

import click

from ml_connector.sandbox.config import SandboxConfig


@click.command()
@click.option("--port", default=8765, show_default=True, help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--seed", default=7, show_default=True, help="Seed for the generated company and its data.")
@click.option("--last-month", default=None, help="Newest month with data, YYYY-MM (default: last full month).")
@click.option("--months", default=3, show_default=True, help="How many months of data.")
@click.option("--brex-expenses", default=200, show_default=True, help="Brex card expenses per month.")
@click.option("--expensify-reports", default=20, show_default=True, help="Expensify reports per month.")
@click.option("--faults", default=0.0, show_default=True, help="Share of requests that fail (0 to 1).")
@click.option("--token-ttl", default=3600, show_default=True, help="Access token lifetime in seconds.")
@click.option("--rate-limits", type=click.Choice(["real", "off"]), default="real", show_default=True,
              help="Enforce the vendors' real rate limits.")
@click.option("--org", type=click.Choice(["us", "uk"]), default="us", show_default=True,
              help="The ledger organisation: us (no sales tax, one location) or uk (VAT, several locations).")
@click.option("--state", "state_file", default=None, type=click.Path(dir_okay=False),
              help="Keep state in this file across restarts.")
def sandbox(port: int, seed: int, last_month: str | None, months: int, brex_expenses: int,
            expensify_reports: int, faults: float, token_ttl: int, rate_limits: str, org: str,
            state_file: str | None) -> None:
    """Serve the sandbox APIs. The first line printed is JSON: base URLs, credentials and `env`."""
    from ml_connector.sandbox.server import SandboxServer

    config_args = dict(seed=seed, months=months, brex_expenses_per_month=brex_expenses,
                       expensify_reports_per_month=expensify_reports, faults=faults, token_ttl_seconds=token_ttl,
                       rate_limits=rate_limits, org=org, state_file=state_file)
    if last_month:
        config_args["last_month"] = last_month
    try:
        config = SandboxConfig(**config_args)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    server = SandboxServer(config, port=port)
    click.echo(json.dumps(server.describe()), nl=True)
    click.echo(f"sandbox serving on {config.public_url} (Ctrl-C to stop)", err=True)
    server.serve_forever()
