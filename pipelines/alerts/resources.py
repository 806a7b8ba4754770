"""Where alerts go: a Slack-compatible incoming webhook (a secret), with links to runs in the Dagster UI."""


import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from ml_connector.alerts import Alert, run_url, send_alert
from ml_connector.settings import load_settings

SECRET = {"dagster__is_secret": True}


class AlertsResource(dg.ConfigurableResource):
    url: str = Field(default="", description="Slack-compatible incoming webhook; empty: alerts go to the audit "
                                             "trail only.", json_schema_extra=SECRET)
    dagster_url: str = Field(default="", description="The Dagster webserver's base URL, for links to runs.")

    def run_url(self, run_id: str | None) -> str | None:
        return run_url(self.dagster_url or None, run_id)

    def send(self, engine: Engine, alert: Alert, secrets: list[str]) -> bool:
        return send_alert(engine, alert, url=self.url or None, secrets=secrets)


def secret_values(*resources: dg.ConfigurableResource) -> list[str]:
    """Every secret the resources hold (fields marked secret, nested resources included) and every secret of the
    environment's settings: what an alert's text is scrubbed of."""
    found: list[str] = []
    for resource in resources:
        for name, info in type(resource).model_fields.items():
            value = getattr(resource, name, None)
            if isinstance(value, dg.ConfigurableResource):
                found += secret_values(value)
            elif isinstance(value, str) and value and (info.json_schema_extra or {}).get("dagster__is_secret"):
                found.append(value)
    settings = load_settings()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value") and value.get_secret_value():
            found.append(value.get_secret_value())
    return found
