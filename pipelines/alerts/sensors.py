"""Alerts about runs: one when a run fails (any job of the code location: month_sync, vendor_sync_job), and one
when a run succeeded with failed checks of severity ERROR (rejected entries, a month that does not tie out).
Each names the month (the partition), the step, the reason and a link to the run, and goes into the audit
trail and, when ML_CONNECTOR_ALERT_URL is set, to that URL."""


import re

import dagster as dg
from dagster._core.events import DagsterEventType

from ml_connector.alerts import Alert
from pipelines.alerts.resources import AlertsResource, secret_values
from pipelines.brex.resources import BrexResource
from pipelines.ledger.resources import LedgerResource
from pipelines.store.resources import ConnectorStoreResource

PARTITION_TAG = "dagster/partition"
REASON_LINES = 8


def _month(run: dg.DagsterRun) -> str | None:
    partition = run.tags.get(PARTITION_TAG)
    return partition[:7] if partition else None


def _reason(error) -> str:
    """The message of the error that failed the step, without Dagster's wrapping (the deepest cause that says
    something, as `pipelines.runner` reads retries)."""
    messages = []
    while error is not None:
        messages.append(error.message.strip())
        error = error.cause
    meaningful = [m for m in messages if not m.startswith(("dagster._core.errors.DagsterExecutionStepExecutionError",
                                                           "dagster._core.errors.RetryRequestedFromPolicy"))]
    text = (meaningful or messages or ["no reason given"])[0]
    text = re.sub(r"^dagster\.[\w.]+: ", "", text)  # Dagster's own error class says nothing to a person
    return "\n".join(text.splitlines()[:REASON_LINES])


def _failed_checks(instance: dg.DagsterInstance, run_id: str) -> list:
    """The run's asset check evaluations that failed with severity ERROR."""
    evaluations = [record.dagster_event.asset_check_evaluation_data
                   for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]
    return [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]


def _describe(checks: list) -> str:
    return "\n".join(f"{e.asset_key.to_user_string()} / {e.check_name}: {e.description or 'failed'}" for e in checks)


@dg.run_failure_sensor(name="run_failure_alerts", minimum_interval_seconds=30,
                       default_status=dg.DefaultSensorStatus.STOPPED,
                       description="Alerts when a run of this code location fails: month, step, reason, link.")
def run_failure_alerts(context: dg.RunFailureSensorContext, store: ConnectorStoreResource, alerts: AlertsResource,
                       brex: BrexResource, ledger: LedgerResource) -> None:
    run = context.dagster_run
    steps = context.get_step_failure_events()
    if steps:
        step, reason = steps[0].step_key, _reason(steps[0].event_specific_data.error)
        if len(steps) > 1:
            reason += f"\n(also failed: {', '.join(s.step_key for s in steps[1:])})"
    else:
        step, reason = None, context.failure_event.message or "the run failed before any step ran"
    checks = _failed_checks(context.instance, run.run_id)
    if checks:  # a blocking check stopped the run: its description says why, and what to do
        reason += "\n" + _describe(checks)
    month = _month(run)
    alerts.send(store.engine(), Alert(
        kind="run_failure", title=f"{run.job_name} failed" + (f" for {month}" if month else ""), reason=reason,
        month=month, step=step, run_id=run.run_id, run_url=alerts.run_url(run.run_id)),
        secret_values(store, alerts, brex, ledger))


@dg.run_status_sensor(name="failed_check_alerts", run_status=dg.DagsterRunStatus.SUCCESS,
                      minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
                      description="Alerts when a run succeeded but checks of severity ERROR failed.")
def failed_check_alerts(context: dg.RunStatusSensorContext, store: ConnectorStoreResource, alerts: AlertsResource,
                        brex: BrexResource, ledger: LedgerResource) -> None:
    run = context.dagster_run
    failed = _failed_checks(context.instance, run.run_id)
    if not failed:
        return
    month = _month(run)
    reason = _describe(failed)
    alerts.send(store.engine(), Alert(
        kind="checks_failed", title=f"{run.job_name}" + (f" for {month}" if month else "") + f": {len(failed)} "
        f"check{'s' if len(failed) > 1 else ''} failed", reason=reason, month=month,
        step=", ".join(sorted({e.asset_key.to_user_string() for e in failed})), run_id=run.run_id,
        run_url=alerts.run_url(run.run_id)), secret_values(store, alerts, brex, ledger))
