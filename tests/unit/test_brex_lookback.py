"""The daily Brex look back: the month in progress and the lookback months before it, each its own run."""

import datetime as dt

import dagster as dg

from ml_connector.lookback import lookback_months
from pipelines.brex.schedules import build_brex_lookback
from pipelines.definitions import defs


def test_the_default_lookback_is_this_month_and_the_last_across_a_year_end():
    assert lookback_months(dt.date(2027, 1, 3), 1) == ["2026-12", "2027-01"]


def test_the_lookback_never_reaches_before_the_first_month():
    assert lookback_months(dt.date(2025, 2, 10), 3) == ["2025-01", "2025-02"]


def test_a_lookback_of_zero_is_the_current_month_only():
    assert lookback_months(dt.date(2026, 11, 30), 0) == ["2026-11"]


def test_the_schedule_asks_one_run_per_month_of_the_window_tagged_as_the_schedule():
    schedule = build_brex_lookback(2)
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 2, 5, tzinfo=dt.UTC),
                                        repository_def=defs.get_repository_def())
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2026-09-01", "2026-10-01", "2026-11-01"]
    assert len({r.run_key for r in requests}) == 3 and all(r.tags["ml_connector/source"] == "schedule"
                                                           for r in requests)


def test_the_lookback_and_the_vendor_sync_schedules_are_off_until_turned_on():
    for name in ("brex_lookback", "vendor_sync_daily"):
        assert defs.get_schedule_def(name).default_status == dg.DefaultScheduleStatus.STOPPED
