"""A month of Brex spend goes from the API's pages straight to columns: the same values, dtypes and versions as
the records built one by one (so the same posting keys), on the US and the UK company (foreign-currency
purchases, refunds, missing departments and receipts)."""

from datetime import date

import pandas as pd
import pytest

from ml_connector.mapping.frames import records_frame
from ml_connector.sandbox.config import SandboxConfig
from ml_connector.sandbox.server import SandboxServer
from ml_connector.sources.brex import BrexAuth, BrexClient, join_records, spend_frame


@pytest.fixture(scope="module", params=["us", "uk"])
def brex_month(request):
    config = SandboxConfig(seed=13, last_month="2026-10", months=1, brex_expenses_per_month=300,
                           expensify_reports_per_month=0, rate_limits="off", org=request.param)
    with SandboxServer(config) as server:
        client = BrexClient(server.url("brex"), BrexAuth(api_token=config.credentials.brex_token))
        start, end = date(2026, 10, 1), date(2026, 10, 31)
        yield client, client.card_transactions(start, end), {e["id"]: e for e in client.expenses(start, end)}


def test_the_columns_are_the_records_built_one_by_one(brex_month):
    _, transactions, expenses = brex_month
    records, orphans = join_records(transactions, expenses)
    frame, frame_orphans = spend_frame(transactions, expenses)
    assert len(frame) == len(records) > 250
    assert frame_orphans == orphans
    pd.testing.assert_frame_equal(frame, records_frame(records))
    assert list(frame["version"]) == [r.version for r in records]


def test_a_month_without_spend_is_an_empty_frame_with_every_column():
    frame, orphans = spend_frame([], {})
    assert frame.empty and not orphans
    assert list(frame.columns) == list(records_frame([]).columns)


def test_the_month_has_the_awkward_records_the_comparison_needs(brex_month):
    frame, _ = spend_frame(*brex_month[1:])
    assert (frame["amount"] < 0).any()  # refunds
    assert frame["exchange_rate"].notna().any() and frame["original_amount"].notna().any()  # bought abroad
    assert frame[["location", "memo", "category"]].isna().any().any()  # fields Brex leaves out
    assert frame["receipt_urls"].map(len).eq(0).any()


def test_fetching_a_month_keeps_only_what_its_records_are_made_of(brex_month):
    """`fetch_month` cuts every row to the fields a record reads as its page arrives: the same columns."""
    from ml_connector.sources.brex import fetch_month

    client, transactions, expenses = brex_month
    fetched, orphans, counts = fetch_month(client, date(2026, 10, 1), date(2026, 10, 31))
    expected, expected_orphans = spend_frame(transactions, expenses)
    pd.testing.assert_frame_equal(fetched, expected)
    assert counts == {"card_transactions": len(transactions), "expenses": len(expenses)}
    assert [o["id"] for o in orphans] == [o["id"] for o in expected_orphans]
