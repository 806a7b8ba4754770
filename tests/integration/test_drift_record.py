"""Drift findings reach the audit trail once, however many checks of the month record them at the same time."""

import multiprocessing

import sqlalchemy as sa

from ml_connector.drift import ACTION, DriftReport, record_new
from ml_connector.drift_findings import Finding
from ml_connector.store import open_store
from ml_connector.store.schema import audit_events

CHECKS = 4


def _report() -> DriftReport:
    findings = [Finding(kind="edited", posting_key=f"MLC-{n:020d}", entry_kind="journal", ledger_entity_id=f"J-{n}",
                        summary=f"journal J-{n} was edited in the ledger", changes=("amounts",), state="2026-11-02")
                for n in range(25)]
    return DriftReport(month="2026-10", ledger="zoho_books/org-1", ledger_name="Zoho Books", findings=findings)


def _check(url: str, start, queue) -> None:
    engine = open_store(url)
    start.wait()
    queue.put(len(record_new(engine, _report(), run_id=f"drift-{multiprocessing.current_process().pid}")))


def test_checks_that_meet_record_each_finding_once(store_url):
    open_store(store_url).dispose()  # migrated once, before the checks meet
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(CHECKS), context.Queue()
    checks = [context.Process(target=_check, args=(store_url, start, queue)) for _ in range(CHECKS)]
    for check in checks:
        check.start()
    for check in checks:
        check.join(timeout=60)
    assert [check.exitcode for check in checks] == [0] * CHECKS
    recorded_new = sorted(queue.get(timeout=5) for _ in range(CHECKS))
    with open_store(store_url).connect() as connection:
        events = connection.execute(sa.select(audit_events.c.request_id).where(audit_events.c.action == ACTION)).all()
    assert len(events) == len({e.request_id for e in events}) == 25
    assert recorded_new == [0] * (CHECKS - 1) + [25]  # one check recorded them all; the others found them there
