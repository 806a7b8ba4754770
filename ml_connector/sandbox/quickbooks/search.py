"""Running a parsed query against one company's books: index lookups, filters, order and the page.

The grammar and the answer's shape are documented in `query`.
"""

from __future__ import annotations

from ml_connector.sandbox.quickbooks.attachments import ATTACHABLE_TARGETS
from ml_connector.sandbox.quickbooks.query import (
    ACTIVE_FILTERED,
    NEWEST_FIRST_TYPES,
    TOTAL_COUNT_TYPES,
    Condition,
    Query,
    comparable,
    matches,
    parse,
    sort_key,
)
from ml_connector.sandbox.quickbooks.store import NAMED_LIST_TYPES, RealmBooks, public

# Keys a single read carries that query rows leave out (recorded: list-vendors rows have no CostRate,
# get-vendor and create-vendor do).
ROW_OMITS = {"Vendor": ("CostRate",)}


def row(entity: str, record: dict) -> dict:
    omitted = ROW_OMITS.get(entity, ())
    return {k: v for k, v in public(record).items() if k not in omitted}


def indexed(books: RealmBooks, query: Query) -> list[dict] | None:
    """The records an `=` / `IN` condition on an indexed field allows, or None to scan everything."""
    entity = query.entity
    for cond in query.conditions:
        if cond.op not in ("=", "in"):
            continue
        name = cond.field.name
        ids: set[str] | None = None
        if name == "Id":
            ids = {str(v) for v in cond.values}
        elif name == "DocNumber":
            ids = {i for v in cond.values for t, i in books.doc_number_holders(str(v)) if t == entity}
        elif name == "DisplayName" and entity == "Vendor":
            ids = {i for v in cond.values if (i := books.vendor_named(str(v))) is not None}
        elif name == "Name" and entity in NAMED_LIST_TYPES:
            ids = {i for v in cond.values if (i := books.named(entity, str(v))) is not None}
        elif name == "AttachableRef.EntityRef.Value":
            ids = {i for v in cond.values for t in ATTACHABLE_TARGETS for i in books.attachments_for(t, str(v))}
        if ids is not None:
            found = [r for i in ids if (r := books.get(entity, i)) is not None]
            return sorted(found, key=lambda r: r["_seq"], reverse=True)
    return None


def prepared(cond: Condition, books: RealmBooks) -> list:
    if cond.field.kind == "datetime":
        return [comparable(cond.field, value, books) for value in cond.values]
    return cond.values


def candidates(books: RealmBooks, query: Query) -> list[dict]:
    if query.entity == "CompanyInfo":
        return [books.company_info]
    if query.entity == "Preferences":
        return [books.preferences()]
    found = indexed(books, query)
    return books.newest_first(query.entity) if found is None else found


def ordered(rows: list[dict], query: Query) -> list[dict]:
    if query.order:
        for target, descending in reversed(query.order):
            present = [r for r in rows if target.values(r)]
            missing = [r for r in rows if not target.values(r)]
            present.sort(key=lambda r, t=target: sort_key(t, t.values(r)[0]), reverse=descending)
            rows = present + missing
        return rows
    if query.entity in NEWEST_FIRST_TYPES:
        return rows  # already most recently updated first
    name_key = "DisplayName" if query.entity == "Vendor" else "Name"
    return sorted(rows, key=lambda r: str(r.get(name_key, "")))


def run_query(books: RealmBooks, statement: str) -> dict:
    """The `QueryResponse` object for one statement."""
    query = parse(statement)
    conditions = [(cond, prepared(cond, books)) for cond in query.conditions]
    check_active = query.entity in ACTIVE_FILTERED and not any(c.field.name == "Active" for c in query.conditions)
    with books.lock:
        rows = [r for r in candidates(books, query)
                if (not check_active or r.get("Active", True))
                and all(matches(cond, r, books, wanted) for cond, wanted in conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows = ordered(rows, query)
    page = rows[query.start - 1:query.start - 1 + query.max_results]
    if not page:
        return {}
    response: dict = {query.entity: [row(query.entity, r) for r in page], "startPosition": query.start,
                      "maxResults": len(page)}
    if query.entity in TOTAL_COUNT_TYPES:
        response["totalCount"] = len(rows)
    return response
