"""Errors become Dagster outcomes in one place.

What cannot succeed on a retry (configuration, credentials, a request the ledger refuses as invalid, a bug)
fails the step at once with `allow_retries=False`; what may succeed later (a ledger that did not answer, an
outcome still unknown, a month another run is posting, a daily quota) fails as retryable, so the step's
`RetryPolicy` tries again, and the retry settles unknown outcomes by searching the ledger first.
"""


import contextlib
from collections.abc import Iterator

import dagster as dg

from ml_connector.errors import RetryableError, Uncertain
from ml_connector.store.leases import LeaseLost, MonthBusy

RETRYABLE = (RetryableError, Uncertain, MonthBusy, LeaseLost)


class MonthIncomplete(Exception):
    """Some drafts of the month still have no known outcome: the step fails so its retry settles them."""


def as_failure(exc: BaseException) -> dg.Failure:
    if isinstance(exc, dg.Failure):
        return exc
    retryable = isinstance(exc, RETRYABLE + (MonthIncomplete,))
    kind = type(exc).__name__
    return dg.Failure(description=f"{kind}: {exc}", allow_retries=retryable,
                      metadata={"error": kind, "retryable": retryable})


@contextlib.contextmanager
def dagster_outcomes() -> Iterator[None]:
    """Wrap an asset body: the connector's errors leave as the Dagster failure that fits them."""
    try:
        yield
    except (dg.Failure, dg.RetryRequested):
        raise
    except Exception as exc:  # noqa: BLE001 - every error leaves as a Failure that says whether to retry
        raise as_failure(exc) from exc
