"""Several `ml-connector webhooks serve` processes on one PostgreSQL store, sent the same events at the same
time (as retries and a load balancer would): each event is stored exactly once, and no secret shows."""

from __future__ import annotations

import threading

import requests
import sqlalchemy as sa

from ml_connector.store import open_store
from tests.webhooks.conftest import ServeProcess, event_body, new_secret, signed

REPLICAS = 3
EVENTS = 40


def test_three_receivers_on_one_postgres_store_store_each_event_exactly_once(postgres_schema_url, tmp_path):
    secret = new_secret()
    env = {"ML_CONNECTOR_DATABASE_URL": postgres_schema_url, "ML_CONNECTOR_BREX_WEBHOOK_SECRET": secret,
           "ML_CONNECTOR_HOME": str(tmp_path / "home")}
    open_store(postgres_schema_url)  # migrated once here; the replicas find it up to date
    replicas = [ServeProcess(env) for _ in range(REPLICAS)]
    try:
        deliveries = []
        for n in range(EVENTS):
            body = event_body(expense_id=f"expense_{n:03d}")
            deliveries.append((body, signed(secret, body)))
        statuses: list[int] = []
        barrier = threading.Barrier(REPLICAS)

        def send_all(replica: ServeProcess) -> None:
            session = requests.Session()
            barrier.wait()
            for body, headers in deliveries:
                statuses.append(session.post(replica.url, data=body, headers=headers, timeout=30).status_code)

        threads = [threading.Thread(target=send_all, args=(replica,)) for replica in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        metrics = [requests.get(replica.described["metrics"], timeout=10).text for replica in replicas]
    finally:
        logs = [replica.stop() for replica in replicas]

    assert statuses == [200] * (REPLICAS * EVENTS)
    with open_store(postgres_schema_url).connect() as connection:
        counts = connection.execute(sa.text("SELECT event_id, count(*) FROM webhook_inbox GROUP BY event_id")).all()
    assert len(counts) == EVENTS and {count for _, count in counts} == {1}
    stored = sum(_sample(text, "ml_connector_webhook_stored_total") for text in metrics)
    duplicates = sum(_sample(text, "ml_connector_webhook_duplicates_total") for text in metrics)
    assert (stored, duplicates) == (EVENTS, EVENTS * (REPLICAS - 1))
    everything = "".join(logs) + "".join(metrics)
    assert secret not in everything and secret.removeprefix("whsec_") not in everything
    assert "stored" in "".join(logs)  # the replicas do log what they did


def _sample(text: str, name: str) -> float:
    return next(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))
