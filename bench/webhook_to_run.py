"""Webhook to run: from an event's delivery to the receiver until the `brex_events` sensor requests its run.

A Brex sandbox (for the sensor's expense lookups), the real receiver app on 127.0.0.1 (uvicorn in a thread)
writing to a store of its own, a sender delivering Svix-signed EXPENSE_PAYMENT_UPDATED events for expenses of
two months at a steady rate, and the real sensor evaluated on a real Dagster instance every `--interval`
seconds, as the daemon does; each run it requests is then created on the instance (a stand-in run with the
sensor's run key, as the daemon submits it), so later ticks settle its events. For every event: the time from
the receiver's 200 to the end of the tick whose batch took it. Results go to docs/benchmarks.md under
"Webhook to run".

    .venv/bin/python bench/webhook_to_run.py [--events 300] [--rate 20] [--interval 2] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import requests
import uvicorn
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402

for name in [k for k in os.environ if k.startswith("ML_CONNECTOR_")]:
    del os.environ[name]  # the code location below is built from a clean environment
os.environ["ML_CONNECTOR_HOME"] = tempfile.mkdtemp(prefix="bench-webhook-run-")

import dagster as dg  # noqa: E402

from ml_connector.sandbox.brex_standalone import StandaloneBrex  # noqa: E402
from ml_connector.sandbox.config import SandboxConfig  # noqa: E402
from ml_connector.sources.brex import BrexAuth, BrexClient  # noqa: E402
from ml_connector.store import open_store  # noqa: E402
from ml_connector.webhooks.batches import SensorState  # noqa: E402
from ml_connector.webhooks.receiver import create_app  # noqa: E402
from ml_connector.webhooks.secrets import WebhookSecrets  # noqa: E402
from pipelines.brex.resources import BrexResource  # noqa: E402
from pipelines.brex.sensors import NAME, brex_events  # noqa: E402
from pipelines.definitions import defs  # noqa: E402
from pipelines.store.resources import ConnectorStoreResource  # noqa: E402

HEADING = "## Webhook to run"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
MONTHS = (("2026-09", date(2026, 9, 1), date(2026, 9, 30)), ("2026-10", date(2026, 10, 1), date(2026, 10, 31)))


class Receiver:
    def __init__(self, store_url: str, secret: str) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/webhooks/brex"
        app = create_app(open_store(store_url), WebhookSecrets(configured=[secret]), max_body_bytes=65536)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dg.op
def _noop():
    pass


@dg.job
def stand_in():
    _noop()


def send(url: str, secret: str, expense_ids: list[str], count: int, rate: float, delivered: dict[str, float]) -> None:
    webhook, session = Webhook(secret), requests.Session()
    started = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, started + index / rate - time.monotonic()))
        msg_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"event_type": "EXPENSE_PAYMENT_UPDATED", "expense_id": expense_ids[index % len(expense_ids)],
                           "payment_status": "PENDING", "payment_type": "PURCHASE", "company_id": "cuacc_bench",
                           "version": 2}, separators=(",", ":"))
        now = datetime.now(UTC)
        answer = session.post(url, data=body, timeout=30, headers={
            "content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": webhook.sign(msg_id, now, body)})
        if answer.status_code != 200:
            raise RuntimeError(f"the receiver answered {answer.status_code}: {answer.text[:200]}")
        delivered[msg_id] = time.monotonic()


def run(events: int, rate: float, interval: float) -> dict:
    config = SandboxConfig(seed=11, last_month="2026-10", months=2, brex_expenses_per_month=100, rate_limits="off")
    folder = tempfile.mkdtemp(prefix="bench-webhook-run-store-")
    store_url = f"sqlite:///{folder}/connector.db"
    with StandaloneBrex(config) as brex:
        creds = brex.config.credentials
        client = BrexClient(brex.url("brex"), BrexAuth(api_token=creds.brex_token))
        expense_ids = [e["id"] for _, start, end in MONTHS for e in client.expenses(start, end)][::3]
        receiver = Receiver(store_url, creds.brex_webhook_secret)
        store = ConnectorStoreResource(url=store_url)
        resources = {"store": store, "brex": BrexResource(store=store, base_url=brex.url("brex"),
                                                          api_token=creds.brex_token)}
        delivered: dict[str, float] = {}
        requested: dict[str, float] = {}
        ticks: list[float] = []
        runs: list[int] = []  # events per run requested
        sender = threading.Thread(target=send, args=(receiver.url, creds.brex_webhook_secret, expense_ids, events,
                                                     rate, delivered))
        cursor = None
        try:
            with dg.instance_for_test() as instance:
                sender.start()
                while sender.is_alive() or len(requested) < events:
                    tick_started = time.monotonic()
                    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                                 repository_def=defs.get_repository_def()) as context:
                        result = brex_events.evaluate_tick(context)
                    ended = time.monotonic()
                    ticks.append(ended - tick_started)
                    before = {b.key for b in SensorState.loads(cursor).batches}
                    cursor = result.cursor
                    for batch in SensorState.loads(cursor).batches:
                        if batch.key in before:
                            continue
                        for event_id in batch.events:
                            requested.setdefault(event_id, ended)
                        runs += [sum(m in ms for ms in batch.events.values()) for m in batch.runs]
                    for request in result.run_requests:  # what the daemon does with them
                        stand_in.execute_in_process(instance=instance, run_config=QUIET, tags={
                            "dagster/run_key": request.run_key, "dagster/sensor_name": NAME})
                    time.sleep(max(0.0, interval - (time.monotonic() - tick_started)))
        finally:
            receiver.stop()
        sender.join()
    latencies = sorted(requested[e] - delivered[e] for e in delivered)
    return {"events": len(latencies), "p50": latencies[len(latencies) // 2],
            "p95": latencies[int(len(latencies) * 0.95)], "max": latencies[-1],
            "tick_p50": statistics.median(ticks), "tick_p95": sorted(ticks)[int(len(ticks) * 0.95)],
            "ticks": len(ticks), "runs": len(runs), "events_per_run": statistics.fmean(runs)}


def render(r: dict, command: str, rate: float, interval: float) -> str:
    return "\n".join([
        HEADING, "",
        f"Command: `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores; one run; SQLite store; a Brex sandbox on 127.0.0.1; "
        f"{r['events']} Svix-signed events for expenses of two months sent at {rate:g} a second to the real "
        f"receiver; the real `brex_events` sensor evaluated every {interval:g} s on a Dagster test instance, each "
        "run it asks for then created on the instance as the daemon would).", "",
        "Latency is from the receiver's 200 to the end of the sensor tick whose batch took the event (its run is "
        "requested then). A tick maps the new events to months (one Brex read per distinct expense) and asks for "
        "one run per month.", "",
        "| events | p50 s | p95 s | max s | ticks | tick p50 s | tick p95 s | runs requested | events per run |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {r['events']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} | {r['ticks']} | {r['tick_p50']:.2f} | "
        f"{r['tick_p95']:.2f} | {r['runs']} | {r['events_per_run']:.1f} |", "",
        f"The wait for the next tick dominates: about half the interval on average, plus the tick itself. In "
        f"production the sensor's `minimum_interval_seconds` is 30 and the daemon evaluates sensors about every "
        f"30 s, so expect a median near 15 s plus {r['tick_p50']:.2f} s and at most about 30 s plus a tick, "
        f"whatever the burst size: a burst becomes one run per month per tick, not one per event.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="events to deliver")
    parser.add_argument("--rate", type=float, default=20.0, help="events delivered per second")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between sensor ticks")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = run(args.events, args.rate, args.interval)
    defaults = {"events": 300, "rate": 20.0, "interval": 2.0}
    flags = "".join(f" --{k} {getattr(args, k):g}" for k, v in defaults.items() if getattr(args, k) != v)
    section = render(results, f"python bench/webhook_to_run.py{flags}", args.rate, args.interval)
    print(section)
    if not args.no_write:
        print(f"written to {docs_section.write_section(HEADING, section)}")


if __name__ == "__main__":
    main()
