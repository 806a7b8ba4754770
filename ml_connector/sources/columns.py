"""Record versions over columns: the same fingerprint `SpendRecord.version` gives one record, for a whole month
at once, without building a Python object per record.

A version is sha256 over the JSON of what the ledger would show (amount, currency, date, category, GL code,
department, location, project, merchant; and the tax a source states, when it states one), sorted keys,
Python's default separators and ASCII escaping; its first 16 hex digits. It feeds the posting key, so it must
never change for the same record: the test suite checks it against `SpendRecord.version` on awkward values
(non-ASCII names, quotes, missing fields, refunds, zero-decimal currencies). sha256 and JSON are standards, not
library details, so an upgrade cannot move it.
"""

from __future__ import annotations

import hashlib
import json
import re

import pandas as pd

_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII without '"' and '\': JSON needs no escaping
FIELDS = ("amount", "category", "currency", "date", "department", "gl_code", "location", "merchant", "project")


def _json_text(values: pd.Series) -> pd.Series:
    """Each value as a JSON token, exactly as json.dumps writes it: null, or a quoted, escaped string."""
    missing = values.isna()
    text = values.astype(object).where(~missing, "").astype(str)
    plain = text.str.fullmatch(_PLAIN.pattern)
    quoted = '"' + text + '"'
    if not plain.all():
        awkward = text[~plain]
        escaped = {value: json.dumps(value) for value in awkward.unique()}
        quoted = quoted.where(plain, awkward.map(escaped))
    return quoted.where(~missing, "null").astype(object)


def versions(frame: pd.DataFrame) -> pd.Series:
    """The version of every record of a frame with the columns `mapping.frames.records_frame` names (`amount` as
    Decimal, `record_date` as date)."""
    columns = {
        "amount": _json_text(frame["amount"].map(str)),
        "category": _json_text(frame["category"]),
        "currency": _json_text(frame["currency"]),
        "date": _json_text(frame["record_date"].map(lambda d: d.isoformat())),
        "department": _json_text(frame["department"]),
        "gl_code": _json_text(frame["gl_code"]),
        "location": _json_text(frame["location"]),
        "merchant": _json_text(frame["merchant"]),
        "project": _json_text(frame["project"]),
    }
    material = pd.Series("{", index=frame.index, dtype=object)
    for position, name in enumerate(FIELDS):
        material = material + ("" if position == 0 else ", ") + f'"{name}": ' + columns[name]
    if "tax_amount" in frame.columns and frame["tax_amount"].notna().any():
        # Records with a stated tax carry it too (sorted keys put it last); the others keep their versions.
        taxed = frame["tax_amount"].notna()
        tax = (', "tax_amount": ' + _json_text(frame["tax_amount"].map(lambda t: None if pd.isna(t) else str(t)))
               + ', "tax_code": ' + _json_text(frame["tax_code"]))
        material = material.where(~taxed, material + tax)
    material = material + "}"
    return pd.Series([hashlib.sha256(m.encode()).hexdigest()[:16] for m in material], index=frame.index, dtype="str")
