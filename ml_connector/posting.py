"""The posting protocol: every draft reaches the ledger exactly once, across any number of processes.

A posting run holds its month's lease (`store.leases`). For each draft, under its deterministic posting key:
  1. it is claimed in the store (`store.posting_batches.claim_many`, as `store.postings.claim` would): a row
     with the run's lease owner, and a row per source record it carries, written before anything is sent. A
     key already posted is skipped; a key another live run holds is left alone; a record another posting
     already carries is never sent twice;
  2. a claim left by an earlier attempt (a dead run, a lost answer, a rejection) is resolved by searching
     the ledger for the key before anything is sent again;
  3. the lease is checked (the fence: a run that was taken for dead stops here; a heartbeat renews it) as the
     attempt is counted, and the call is made; its answer, with the lines as the ledger saved them, is recorded
     with the result;
  4. a call whose outcome is unknown (`Uncertain`) is searched for before a second round; still unknown
     after the rounds, it stays claimed and pending, and the month is not done: the posting step fails as
     retryable, and the retry (or the next run) settles it by search.
Validation rejections mark the draft failed with the ledger's reason and the rest of the month goes on.
Authentication and configuration errors stop the run at once: retrying them cannot help.

The store is written in bulk where exactly-once allows it (`store.posting_batches` says why each is safe):
drafts are claimed a chunk at a time, sized to about `CLAIM_AHEAD_SECONDS` of posting (so a crash leaves
only that much to search for, and a fast ledger claims up to `MAX_CLAIM_CHUNK` per transaction); the write
before each call (fence, attempt, audit) is one transaction; results are written `RESULT_BATCH` at a time, or
after `RESULT_FLUSH_SECONDS`, and always before the next chunk is claimed and before `post` returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy.engine import Connection, Engine

from ml_connector.errors import AuthError, ConfigError, RateLimited, RetryableError, Uncertain, ValidationRejected
from ml_connector.ledgers.base import Ledger
from ml_connector.models import Draft, PostingResult
from ml_connector.store import posting_batches, postings, receipts
from ml_connector.store.audit import AuditEvent, record
from ml_connector.store.db import write_transaction
from ml_connector.store.leases import MonthLease
from ml_connector.store.postings import Claim, Posting, Saved

log = logging.getLogger("ml_connector.posting")

MAX_UNCERTAIN_ROUNDS = 3
PROGRESS_EVERY = 50
CLAIM_AHEAD_SECONDS = 2.0  # a chunk of claims covers about this much posting time
FIRST_CLAIM_CHUNK = 4
MAX_CLAIM_CHUNK = 100
RESULT_BATCH = 50
RESULT_FLUSH_SECONDS = 1.0


@dataclass
class PostingReport:
    posted: list[PostingResult] = field(default_factory=list)  # created by this run
    found: list[PostingResult] = field(default_factory=list)  # already in the ledger (resolved by search)
    skipped: list[str] = field(default_factory=list)  # posted earlier: nothing sent
    held: dict[str, str] = field(default_factory=dict)  # posting key -> why it is held for review
    rejected: dict[str, str] = field(default_factory=dict)  # posting key -> the ledger's reason
    unresolved: dict[str, str] = field(default_factory=dict)  # posting key -> why its outcome is not known yet

    @property
    def is_complete(self) -> bool:
        """Every draft is posted, held or rejected: nothing is left whose outcome is unknown."""
        return not self.unresolved


def posting_of(draft: Draft) -> Posting:
    return Posting(posting_key=draft.posting_key, kind=draft.kind, source_system=draft.source,
                   source_ids=draft.source_ids, source_versions=draft.source_versions, month=draft.month,
                   amount=draft.amount, currency=draft.currency, record_amounts=draft.record_amounts)


def saved_of(result: PostingResult) -> Saved:
    lines = None if result.lines is None else [line.model_dump(mode="json") for line in result.lines]
    return Saved(ledger_entity_id=result.ledger_entity_id, ledger_number=result.ledger_number, url=result.url,
                 lines=lines, modified_at=result.modified_at,
                 total=None if result.total is None else str(result.total))


class Poster:
    """Posts drafts to one ledger organisation under a held month lease, recording everything in the store."""

    def __init__(self, engine: Engine, ledger: Ledger, lease: MonthLease, *, run_id: str | None = None,
                 actor: str = "dagster", progress: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.ledger = ledger
        self.target = ledger.target
        self.lease = lease
        self.run_id = run_id
        self.actor = actor
        self.progress = progress or (lambda message: None)
        self._results: list[tuple[str, Saved]] = []  # posted, not yet written: see _record_posted
        self._events: list[AuditEvent] = []
        self._results_since = 0.0
        self._calls = 0  # ledger calls made for entries, to size the next chunk of claims
        self._connection: Connection | None = None

    def post(self, drafts: Iterable[Draft], keys: Sequence[str] | None = None) -> PostingReport:
        """Post `drafts` in order; `keys` (all their posting keys, in the same order) when `drafts` is lazy."""
        drafts = drafts if keys is not None else list(drafts)
        keys = list(keys) if keys is not None else [d.posting_key for d in drafts]
        report = PostingReport()
        pending = iter(drafts)
        index, size = 0, FIRST_CLAIM_CHUNK
        self._connection = self.engine.connect()  # for the write before each call
        self._connection.execution_options(sqlite_immediate=True)
        try:
            while chunk := list(islice(pending, size)):
                self._flush()  # claims see every earlier result, and results never wait longer than a chunk
                started, calls_before = time.monotonic(), self._calls
                for draft, claim in zip(chunk, self._claim(chunk), strict=True):
                    index += 1
                    try:
                        self._post_one(draft, claim, report)
                    except RetryableError as exc:
                        if isinstance(exc, RateLimited) and exc.is_daily_quota:
                            raise
                        # The ledger cannot be reached: stop sending, leave the rest for the retry (claims made
                        # ahead stay pending: the retry searches for them before sending).
                        for rest in keys[index - 1:]:
                            report.unresolved.setdefault(rest, f"not attempted: {exc}")
                        return report
                    self._flush_if_due()
                    if index % PROGRESS_EVERY == 0 or index == len(keys):
                        self.progress(f"{index} of {len(keys)} drafts: {len(report.posted)} posted now, "
                                      f"{len(report.found)} found, {len(report.skipped)} posted earlier, "
                                      f"{len(report.rejected)} rejected, {len(report.unresolved)} unresolved")
                size = _next_chunk(len(chunk), self._calls - calls_before, time.monotonic() - started)
        finally:
            try:
                self._flush()
            finally:
                self._connection.close()
        return report

    # -- one draft ---------------------------------------------------------------------------------

    def _post_one(self, draft: Draft, claim: Claim, report: PostingReport) -> None:
        if claim.outcome == "posted":
            report.skipped.append(draft.posting_key)
            return
        if claim.outcome == "flagged":
            report.held[draft.posting_key] = (claim.row or {}).get("last_error") or "held for review"
            return
        if claim.outcome == "busy":
            owner = (claim.row or {}).get("run_id") or "another run"
            report.unresolved[draft.posting_key] = f"claimed by {owner}, which is still running"
            return
        if claim.outcome == "conflict":
            self._conflict(draft, claim, report)
            return
        if claim.must_search_first:
            self._calls += 1
            found = self.ledger.find_posted(draft.posting_key, draft.kind)
            if found is not None:
                self._record_posted(draft, found, report, resolved=True)
                return
        self._send(draft, report)

    def _claim(self, chunk: list[Draft]) -> list[Claim]:
        def owe_receipts(connection, claims: list[Claim]) -> None:
            # Receipts are owed from the moment a bill is claimed (and for bills posted before receipts had rows
            # of their own), in the claim's own transaction, so a crash at any later line cannot forget one.
            for draft, claim in zip(chunk, claims, strict=True):
                if claim.outcome in ("claimed", "resumed", "posted") and draft.kind == "bill" and draft.receipt_urls:
                    receipts.owe(connection, self.target, draft.posting_key, draft.month, draft.source,
                                 draft.receipt_urls)

        return posting_batches.claim_many(self.engine, self.target, [posting_of(d) for d in chunk],
                                          owner=self.lease.owner, run_id=self.run_id, on_claimed=owe_receipts)

    def _send(self, draft: Draft, report: PostingReport) -> None:
        for round_ in range(1, MAX_UNCERTAIN_ROUNDS + 1):
            # The fence (never send for a month another run has taken over), the attempt and its audit event.
            attempt = posting_batches.begin_attempt(
                self._connection, self.lease, draft.posting_key,
                lambda n: self._event(draft, "post.attempt", "sent", detail={"attempt": n, "kind": draft.kind}))
            if not attempt:
                report.unresolved[draft.posting_key] = "the claim passed to another run before sending"
                return
            self._calls += 1
            try:
                result = self.ledger.post(draft)
            except Uncertain as exc:
                self._audit(draft, "post.result", "uncertain", detail={"error": str(exc), "round": round_})
                self._calls += 1
                found = self.ledger.find_posted(draft.posting_key, draft.kind)
                if found is not None:
                    self._record_posted(draft, found, report, resolved=True)
                    return
                continue  # the search says it did not land: sending again cannot duplicate it
            except ValidationRejected as exc:
                self._record_rejected(draft, exc, report)
                return
            except (AuthError, ConfigError):
                with self.engine.begin() as connection:
                    postings.record_unresolved(connection, self.target, draft.posting_key,
                                               "stopped: the ledger refused the credentials")
                raise
            self._record_posted(draft, result, report, resolved=False)
            return
        reason = f"outcome still unknown after {MAX_UNCERTAIN_ROUNDS} rounds; a retry searches for it before sending"
        with self.engine.begin() as connection:
            postings.record_unresolved(connection, self.target, draft.posting_key, reason)
        report.unresolved[draft.posting_key] = reason

    def _conflict(self, draft: Draft, claim: Claim, report: PostingReport) -> None:
        changed = [c for c in claim.conflicts if not c.same_version and c.status == "posted"]
        if changed:
            reason = "; ".join(f"{draft.source} record {c.source_id} changed after it was posted as {c.posting_key}"
                               for c in changed) + ": review it in the ledger; it will not be reposted automatically"
            with write_transaction(self.engine) as connection:
                postings.flag(connection, self.target, posting_of(draft), self.run_id, reason)
                record(connection, self._event(draft, "post.flagged", "held", detail={"reason": reason}))
            report.held[draft.posting_key] = reason
            return
        pending = [c for c in claim.conflicts if c.status == "pending"]
        reason = "; ".join(f"{draft.source} record {c.source_id} is {'being posted' if c in pending else 'posted'} "
                           f"as {c.posting_key}" for c in claim.conflicts) + "; this entry would carry it twice"
        if pending:
            report.unresolved[draft.posting_key] = reason
        else:
            report.held[draft.posting_key] = reason
            self._audit(draft, "post.flagged", "held", detail={"reason": reason})

    # -- store writes ------------------------------------------------------------------------------

    def _record_posted(self, draft: Draft, result: PostingResult, report: PostingReport, *, resolved: bool) -> None:
        """Kept until the next flush: a result lost with this process leaves a pending claim that the next run
        settles by finding the entry's key in the ledger (`store.posting_batches`)."""
        if not self._results:
            self._results_since = time.monotonic()
        self._results.append((draft.posting_key, saved_of(result)))
        self._events.append(self._event(draft, "post.result", "found" if resolved else "ok",
                                        ledger_entity_id=result.ledger_entity_id,
                                        detail={"ledger_number": result.ledger_number}))
        (report.found if resolved else report.posted).append(result)

    def _flush_if_due(self) -> None:
        if len(self._results) >= RESULT_BATCH or (
                self._results and time.monotonic() - self._results_since >= RESULT_FLUSH_SECONDS):
            self._flush()

    def _flush(self) -> None:
        if self._results:
            results, events, self._results, self._events = self._results, self._events, [], []
            posting_batches.write_results(self.engine, self.target, results, events, self.run_id)

    def _record_rejected(self, draft: Draft, exc: ValidationRejected, report: PostingReport) -> None:
        reason = exc.vendor_message or str(exc)
        with self.engine.begin() as connection:
            postings.record_rejected(connection, self.target, draft.posting_key, reason, self.run_id)
            record(connection, self._event(draft, "post.result", "rejected",
                                           detail={"code": exc.vendor_code, "message": reason}))
        report.rejected[draft.posting_key] = reason

    def _event(self, draft: Draft, action: str, outcome: str, *, ledger_entity_id: str | None = None,
               detail: dict | None = None) -> AuditEvent:
        return AuditEvent(actor=self.actor, action=action, outcome=outcome, run_id=self.run_id, month=draft.month,
                          posting_key=draft.posting_key, source_system=draft.source,
                          source_id=",".join(draft.source_ids)[:128], ledger_entity_id=ledger_entity_id,
                          detail={"ledger": str(self.target), **(detail or {})})

    def _audit(self, draft: Draft, action: str, outcome: str, detail: dict | None = None) -> None:
        record(self.engine, self._event(draft, action, outcome, detail=detail))


def _next_chunk(done: int, calls: int, seconds: float) -> int:
    """The next chunk of claims: about `CLAIM_AHEAD_SECONDS` of posting at the pace the last chunk of `done`
    drafts showed; twice as many when it needed no call (entries posted earlier)."""
    if calls == 0:
        return min(MAX_CLAIM_CHUNK, done * 2)
    return max(1, min(MAX_CLAIM_CHUNK, int(CLAIM_AHEAD_SECONDS * done / max(seconds, 1e-6))))
