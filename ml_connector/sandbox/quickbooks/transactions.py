"""Create, update (full or sparse), delete and void of journal entries and bills: the edits a person makes
"in the app", simulated through the public API so that drift detection can be tested.

- Create: `POST /{entity}` without Id. Update: the same with Id and the current SyncToken (stale -> 5010),
  `"sparse": true` to send only changed fields (a sent Line list replaces every line). A full update
  clears whatever it leaves out, as QuickBooks documents. Every change bumps SyncToken and LastUpdatedTime.
- Delete: `POST /{entity}?operation=delete` with Id and SyncToken; the answer is `{"<Entity>": {"domain":
  "QBO", "status": "Deleted", "Id": ...}}` (XSD EntityStatusEnum). A deleted entity answers 610 afterwards.
- Void: `?operation=void` (or `include=void`, the Java SDK's form) for a JournalEntry; amounts become 0
  and the DocNumber stays taken. Voiding a Bill is refused (500 Unsupported Operation): QuickBooks Online
  lets a person delete a bill, not void it (UNCONFIRMED for the API).
- A voided entry cannot be updated (6000, UNCONFIRMED); a change, delete or void of an entry dated on or
  before the closing date is refused with 6200, as is moving an entry into the closed period.
- DocNumber (6140): a number already used by another live JournalEntry or Bill is refused, across both
  types, compared trimmed and case-insensitively. QuickBooks enforces duplicate journal numbers only when
  "Warn if duplicate journal number is used" is on and bill numbers per its own setting (notes section 6);
  the sandbox always enforces them, the stricter choice. `include=allowduplicatedocnum` lifts the check,
  as it does in QuickBooks.
"""

from __future__ import annotations

from collections.abc import Callable

from ml_connector.sandbox.quickbooks import errors
from ml_connector.sandbox.quickbooks.bills import bill
from ml_connector.sandbox.quickbooks.journals import journal_entry, voided_journal
from ml_connector.sandbox.quickbooks.store import RealmBooks, public, txn_type_name
from ml_connector.sandbox.quickbooks.validation import References, day, entity_id, sync_token

Builder = Callable[[RealmBooks, dict, str, int, str, str], dict]
BUILDERS: dict[str, Builder] = {"JournalEntry": journal_entry, "Bill": bill}


def check_doc_number(books: RealmBooks, record: dict, entity: str, allow_duplicate: bool) -> None:
    doc_number = record.get("DocNumber")
    if not doc_number or allow_duplicate:
        return
    holders = books.doc_number_holders(doc_number) - {(entity, record["Id"])}
    if holders:
        holder_type, holder_id = min(holders, key=lambda h: int(h[1]))
        raise errors.duplicate_doc_number(doc_number, txn_type_name(holder_type), holder_id)


def existing(books: RealmBooks, entity: str, body: dict) -> dict:
    wanted = entity_id(body)
    if wanted is None:
        raise errors.required("Id")
    current = books.get(entity, wanted)
    if current is None:
        raise errors.inactive_or_missing("Id")
    sync_token(body, current)
    return current


def create(books: RealmBooks, entity: str, body: dict, allow_duplicate: bool) -> dict:
    with books.lock:
        now = books.now()
        record = BUILDERS[entity](books, body, books.peek_id("Transaction"), 0, now, now)
        check_doc_number(books, record, entity, allow_duplicate)
        books.next_id("Transaction")
        record["_status"] = "active"
        return books.put(entity, record)


def update(books: RealmBooks, entity: str, body: dict, allow_duplicate: bool) -> dict:
    with books.lock:
        current = existing(books, entity, body)
        if current.get("_status") == "voided":
            raise errors.business("This transaction is voided and cannot be changed.", "Id")
        References(books).open_period(day(current["TxnDate"], "TxnDate"))
        merged = {**public(current), **body} if body.get("sparse") is True else body
        record = BUILDERS[entity](books, merged, current["Id"], int(current["SyncToken"]) + 1,
                                  current["MetaData"]["CreateTime"], books.now())
        check_doc_number(books, record, entity, allow_duplicate)
        record["_status"] = "active"
        return books.put(entity, record)


def delete(books: RealmBooks, entity: str, body: dict) -> dict:
    with books.lock:
        current = existing(books, entity, body)
        References(books).open_period(day(current["TxnDate"], "TxnDate"))
        books.delete(entity, current["Id"])
        current["_status"] = "deleted"
        current["_deleted_at"] = books.now()
        return {"domain": "QBO", "status": "Deleted", "Id": current["Id"]}


def void(books: RealmBooks, entity: str, body: dict) -> dict:
    if entity != "JournalEntry":
        raise errors.unsupported_operation(f"void is not supported for {entity}; delete it instead.")
    with books.lock:
        current = existing(books, entity, body)
        References(books).open_period(day(current["TxnDate"], "TxnDate"))
        return books.put(entity, voided_journal(current, int(current["SyncToken"]) + 1, books.now()))
