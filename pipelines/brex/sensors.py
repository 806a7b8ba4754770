"""The Brex webhook sensor: events in the inbox become runs of month_sync, one per month per batch of events.

The bookkeeping is the engine's (`ml_connector.webhooks.batches`): this sensor hands it the cursor and a way
to ask the instance which run keys already name a run, and turns its plan into RunRequests tagged
`ml_connector/source: sensor`. Events are marked handled only on a later tick, once their run exists.
"""


import dagster as dg

from ml_connector.http import RetryPolicy
from ml_connector.webhooks.batches import SensorState, plan_tick
from pipelines.brex.resources import BrexResource
from pipelines.jobs import month_sync
from pipelines.store.resources import ConnectorStoreResource

NAME = "brex_events"
RUN_KEY_TAG, SENSOR_NAME_TAG = "dagster/run_key", "dagster/sensor_name"
# A tick has a time limit (60 s by default): Brex lookups retry once, briefly, and a slow Brex waits for the
# next tick rather than stalling this one.
SENSOR_RETRY = RetryPolicy(max_attempts=2, base_delay=0.25, max_delay=1.0)
SENSOR_TIMEOUT_SECONDS = 10.0


class _BrexWhenNeeded:
    """The Brex client, built only when a tick has events to look up (a tick with none needs no credentials)."""

    def __init__(self, brex: BrexResource) -> None:
        self._resource, self._client = brex, None

    def _get(self):
        if self._client is None:
            self._client = self._resource.client(retry=SENSOR_RETRY, timeout_seconds=SENSOR_TIMEOUT_SECONDS)
        return self._client

    def expense(self, expense_id: str) -> dict:
        return self._get().expense(expense_id)

    def accounting_records(self, record_ids: list[str]) -> list[dict]:
        return self._get().accounting_records(record_ids)


@dg.sensor(name=NAME, job=month_sync, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Brex webhook events in the inbox: one month_sync run per affected month per batch.")
def brex_events(context: dg.SensorEvaluationContext, store: ConnectorStoreResource, brex: BrexResource):
    def runs_exist(keys: list[str]) -> set[str]:
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: keys, SENSOR_NAME_TAG: NAME}))
        return {run.tags.get(RUN_KEY_TAG) for run in runs} & set(keys)

    plan = plan_tick(store.engine(), SensorState.loads(context.cursor), _BrexWhenNeeded(brex), runs_exist)
    if plan.error:
        context.log.warning(f"Brex could not be reached; new events wait for the next tick: {plan.error}")
    requests = [dg.RunRequest(run_key=run.run_key, partition_key=run.partition_key,
                              tags={"ml_connector/source": "sensor", "ml_connector/events": str(run.events)})
                for run in plan.runs]
    summary = (f"{plan.new_events} new events, {len(plan.runs) - plan.asked_again} runs requested, "
               f"{plan.asked_again} asked again, {plan.handled} events marked handled, {plan.waiting} waiting for "
               f"their expense to post")
    context.log.info(summary)
    return dg.SensorResult(run_requests=requests, cursor=plan.state.dumps(),
                           skip_reason=None if requests else summary)
