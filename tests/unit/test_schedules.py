"""The Expensify poll: the current month, and the previous one in the first week of a month."""

import datetime as dt

import dagster as dg

from pipelines.definitions import defs
from pipelines.expensify.schedules import months_to_poll


def test_first_week_closes_the_previous_month():
    assert months_to_poll(dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC)) == ["2026-10-01", "2026-11-01"]


def test_later_in_the_month_only_the_current_month_runs():
    assert months_to_poll(dt.datetime(2026, 11, 16, 6, tzinfo=dt.UTC)) == ["2026-11-01"]


def test_schedule_requests_a_partitioned_run_per_month():
    schedule = defs.get_schedule_def("expensify_poll")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 2, 6, tzinfo=dt.UTC),
                                        repository_def=defs.get_repository_def())
    requests = list(schedule.evaluate_tick(context).run_requests)
    assert [r.partition_key for r in requests] == ["2026-10-01", "2026-11-01"]
    assert len({r.run_key for r in requests}) == 2
    assert schedule.cron_schedule == "0 6 * * 1"  # weekly by default
