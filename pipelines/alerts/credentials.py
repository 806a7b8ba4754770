"""`credential_watch`: the store's view of the connector's credentials (`ml_connector.credential_health`), each
new finding written once to the audit trail and sent as an alert; nothing again on later ticks."""


import dagster as dg

from ml_connector.alerts import Alert
from ml_connector.credential_health import check_credentials, record_new
from pipelines.alerts.resources import AlertsResource, secret_values
from pipelines.brex.resources import BrexResource
from pipelines.ledger.resources import LedgerResource
from pipelines.store.resources import ConnectorStoreResource

TITLES = {"brex_idle": "Brex token unused for a long time", "brex_expired": "Brex token probably expired",
          "refresh_failed": "token refreshes failing", "refresh_revoked": "refresh token revoked"}


def build_credential_watch(idle_warn_days: int = 60) -> dg.SensorDefinition:
    """`idle_warn_days`: ML_CONNECTOR_BREX_TOKEN_IDLE_WARN_DAYS."""

    @dg.sensor(name="credential_watch", minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Warns {idle_warn_days} days into a Brex token's 90 unused days, and on token "
                           f"refreshes that fail or are refused as revoked.")
    def credential_watch(context: dg.SensorEvaluationContext, store: ConnectorStoreResource, alerts: AlertsResource,
                         brex: BrexResource, ledger: LedgerResource) -> dg.SkipReason:
        engine = store.engine()
        new = record_new(engine, check_credentials(engine, idle_warn_days=idle_warn_days))
        secrets = secret_values(store, alerts, brex, ledger) if new else []
        for finding in new:
            context.log.warning(finding.message)
            alerts.send(engine, Alert(kind="credential", title=f"{finding.system}: {TITLES[finding.kind]}",
                                      reason=finding.message, severity=finding.severity), secrets)
        return dg.SkipReason(f"{len(new)} new credential findings" if new else "no new credential findings")

    return credential_watch
