"""Upgrading from the release before per-organisation posting keys: nothing already posted is posted again."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from ml_connector.store import db
from ml_connector.store.schema import posting_ledger, record_outcomes
from pipelines.runner import prepare_home


def _legacy_store(store_url: str, rows: list[dict], outcomes: list[dict]) -> None:
    """A store as the release before per-organisation keys left it: revision 0003, with its rows."""
    engine = db.create_store_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(db._alembic_config(connection), "0003")
    legacy = sa.table("posting_ledger", *(sa.column(c, posting_ledger.c[c].type) for c in rows[0]))
    outcome_table = sa.table("record_outcomes", *(sa.column(c, record_outcomes.c[c].type) for c in outcomes[0]))
    with engine.begin() as connection:
        connection.execute(sa.insert(legacy), rows)
        connection.execute(sa.insert(outcome_table), outcomes)
    engine.dispose()


def test_entries_posted_before_the_upgrade_are_not_posted_again(harness, tmp_path):
    with harness(expensify_reports_per_month=0) as first:
        summary = first.run()
        assert summary["done"]
        journals = first.sandbox_journals()
        with first.engine.connect() as connection:
            posted = [dict(r._mapping) for r in connection.execute(sa.select(posting_ledger))]
            outcomes = [dict(r._mapping) for r in connection.execute(sa.select(record_outcomes))]
        now = datetime.now(UTC)
        old_rows = [{"posting_key": r["posting_key"], "source_system": r["source_system"],
                     "source_ids": r["source_ids"], "source_version": r["source_version"],
                     "source_versions": r["source_versions"], "month": r["month"], "ledger_system": "zoho_books",
                     "ledger_entity_id": r["ledger_entity_id"], "status": r["status"], "attempt_count": 1,
                     "last_error": r["last_error"], "run_id": "before-upgrade", "amount": r["amount"],
                     "currency": r["currency"], "created_at": now, "updated_at": now}
                    for r in posted]
        old_outcomes = [{k: v for k, v in o.items() if k != "id"} for o in outcomes]
        legacy_url = f"sqlite:///{tmp_path / 'legacy.db'}"
        _legacy_store(legacy_url, old_rows, old_outcomes)
        first.store_url = legacy_url  # the same sandbox Zoho, the upgraded store
        prepare_home(tmp_path / "dagster-2")
        again = first.run(home=tmp_path / "dagster-2")
        assert again["done"], again["failures"]
        assert again["posting"]["posted_now"] == 0
        assert first.sandbox_journals() == journals
        assert again["posting"]["posted"] == summary["posting"]["posted"]
