"""Webhook ingest: verified events per second into the inbox, one receiver process, N concurrent senders.

Starts one `ml-connector webhooks serve` process per store (a SQLite file, and a PostgreSQL schema of its
own on the test server), both at once. Each round sends a batch of new, Svix-signed events from
`--senders` threads (keep-alive HTTP over 127.0.0.1) to each receiver in turn, then replays the same
batch (what Svix retries look like: verified, found, nothing stored). Every answer must be 200 and the
inbox must hold each event exactly once. Results go to docs/benchmarks.md under "Webhook ingest".

    .venv/bin/python bench/webhook_ingest.py [--events 2000] [--senders 8] [--rounds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import docs_section  # noqa: E402
from ml_connector.store.db import create_store_engine  # noqa: E402

HEADING = "## Webhook ingest"
POSTGRES_URL = os.environ.get("ML_CONNECTOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Receiver:
    def __init__(self, name: str, store_url: str, secret: str) -> None:
        self.name, self.store_url = name, store_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("ML_CONNECTOR_")}
        env.update(ML_CONNECTOR_DATABASE_URL=store_url, ML_CONNECTOR_BREX_WEBHOOK_SECRET=secret,
                   ML_CONNECTOR_HOME=tempfile.mkdtemp(prefix="bench-webhooks-"))
        self.process = subprocess.Popen([sys.executable, "-m", "ml_connector", "webhooks", "serve", "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {name} receiver did not start")
        self.url = json.loads(line)["url"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url.replace("/webhooks/brex", "/healthz"), timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"the {name} receiver is not healthy")

    def stored(self) -> int:
        engine = create_store_engine(self.store_url)
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(DISTINCT event_id) FROM webhook_inbox")).scalar_one()
            rows = connection.execute(sa.text("SELECT count(*) FROM webhook_inbox")).scalar_one()
        engine.dispose()
        if count != rows:
            raise RuntimeError(f"{self.name}: {rows} rows for {count} event ids")
        return count

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def signed_batch(secret: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Signed before timing starts: the senders' own signing is not what is measured."""
    webhook = Webhook(secret)
    batch = []
    for _ in range(count):
        msg_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"event_type": "EXPENSE_PAYMENT_UPDATED", "expense_id": f"expense_{uuid.uuid4().hex[:20]}",
                           "payment_status": "PENDING", "payment_type": "PURCHASE", "company_id": "cuacc_bench",
                           "version": 1}, separators=(",", ":"))
        now = datetime.now(UTC)
        batch.append((body.encode(), {"content-type": "application/json", "webhook-id": msg_id,
                                      "webhook-timestamp": str(int(now.timestamp())),
                                      "webhook-signature": webhook.sign(msg_id, now, body)}))
    return batch


def send(url: str, batch: list[tuple[bytes, dict]], senders: int, expect_stored: bool) -> tuple[float, list[float]]:
    """(wall seconds, per-request seconds) for the batch split over `senders` keep-alive threads."""
    latencies: list[float] = []
    failures: list[str] = []
    barrier = threading.Barrier(senders + 1)

    def worker(share: list[tuple[bytes, dict]]) -> None:
        session = requests.Session()
        barrier.wait()
        for body, headers in share:
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json()["stored"] is not expect_stored:
                failures.append(f"{response.status_code} {response.text[:100]}")

    threads = [threading.Thread(target=worker, args=(batch[i::senders],)) for i in range(senders)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} deliveries failed, e.g. {failures[0]}")
    return wall, latencies


def run(events: int, senders: int, rounds: int) -> dict[str, dict[str, float]]:
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_store_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    folder = tempfile.mkdtemp(prefix="bench-webhooks-store-")
    receivers = [Receiver("SQLite", f"sqlite:///{folder}/connector.db", secret),
                 Receiver("PostgreSQL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", secret)]
    per_round = max(1, events // rounds)
    timings = {r.name: {"new": [], "replay": [], "latency": []} for r in receivers}
    try:
        for _ in range(rounds):
            for receiver in receivers:  # alternating, so drift in the machine's load falls on both alike
                batch = signed_batch(secret, per_round)
                wall, latencies = send(receiver.url, batch, senders, expect_stored=True)
                timings[receiver.name]["new"].append(per_round / wall)
                timings[receiver.name]["latency"].extend(latencies)
                wall, _ = send(receiver.url, batch, senders, expect_stored=False)
                timings[receiver.name]["replay"].append(per_round / wall)
        results = {}
        for receiver in receivers:
            stored = receiver.stored()
            if stored != per_round * rounds:
                raise RuntimeError(f"{receiver.name}: {stored} events stored, {per_round * rounds} sent")
            latencies = sorted(timings[receiver.name]["latency"])
            results[receiver.name] = {
                "events": stored, "new_per_second": statistics.fmean(timings[receiver.name]["new"]),
                "replay_per_second": statistics.fmean(timings[receiver.name]["replay"]),
                "p50_ms": latencies[len(latencies) // 2] * 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}
        return results
    finally:
        for receiver in receivers:
            receiver.stop()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def render(results: dict[str, dict[str, float]], command: str, senders: int, rounds: int) -> str:
    lines = [HEADING, "",
             f"Command: `{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
             f"{platform.machine()}, {os.cpu_count()} cores; one run, both stores' receivers up at once and measured "
             f"in {rounds} alternating rounds; one `ml-connector webhooks serve` process per store, {senders} "
             "concurrent senders on keep-alive HTTP over 127.0.0.1, senders and receiver on the same machine).", "",
             "Each event is verified (HMAC-SHA256 with the Standard Webhooks library) and inserted once "
             "(`ON CONFLICT DO NOTHING`) before the 200 goes back; a replay is the same batch again, as Svix "
             "retries look: verified, found, nothing stored. Every answer was 200 and the inbox held each "
             "event exactly once.", "",
             "| store | events stored | new events/s | replays/s | p50 ms | p99 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['events']:,} | {r['new_per_second']:,.0f} | {r['replay_per_second']:,.0f} | "
                     f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
    sqlite, postgres = results["SQLite"], results["PostgreSQL"]
    lines += ["", f"PostgreSQL ingests {postgres['new_per_second'] / sqlite['new_per_second']:.2f}x the new events "
              "per second of SQLite here. Brex sends one event per card or accounting change, so either is far "
              "above what a company's Brex account produces; several replicas on PostgreSQL add headroom and "
              "availability, not correctness.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="new events per store, over all rounds")
    parser.add_argument("--senders", type=int, default=8, help="concurrent sending threads")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = run(args.events, args.senders, args.rounds)
    defaults = {"events": 2000, "senders": 8, "rounds": 3}
    flags = "".join(f" --{k} {getattr(args, k)}" for k, v in defaults.items() if getattr(args, k) != v)
    section = render(results, f"python bench/webhook_ingest.py{flags}", args.senders, args.rounds)
    print(section)
    if not args.no_write:
        print(f"written to {docs_section.write_section(HEADING, section)}")


if __name__ == "__main__":
    main()
