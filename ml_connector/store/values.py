"""Engine values as bytes for the store: tagged JSON, compressed, exact for Decimal, dates and frames.

What the Dagster I/O manager keeps between steps (spend records, reference data, month plans) is written
here instead of pickled on a local disk: any run worker on any machine reads it back from the store, and
nothing is executed on load. Only the engine's own types listed in `_TYPES` are rebuilt; anything else is
refused when written, not silently turned into something else.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import BaseModel

FORMAT = "tagged-json+zlib/1"


def _types() -> dict[str, type]:
    from ml_connector.brex_export import ReadyRecords
    from ml_connector.mapping.draft_table import DraftTable
    from ml_connector.models import (
        Account,
        BillDraft,
        BillLine,
        BusinessLocation,
        CurrencyInfo,
        JournalDraft,
        JournalLine,
        LineTag,
        ReferenceData,
        SpendRecord,
        TagOption,
        TaxCode,
        Vendor,
    )
    from ml_connector.month import MonthPlan
    from ml_connector.sources.base import MonthRecords, SourceBatch
    from ml_connector.store.target import LedgerTarget

    return {t.__name__: t for t in (Account, BillDraft, BillLine, CurrencyInfo, JournalDraft, JournalLine, LineTag,
                                    ReferenceData, SpendRecord, TagOption, Vendor, MonthPlan, MonthRecords, SourceBatch,
                                    DraftTable, LedgerTarget, ReadyRecords, TaxCode, BusinessLocation)}


_TYPES: dict[str, type] = {}


def _registry() -> dict[str, type]:
    if not _TYPES:
        _TYPES.update(_types())
    return _TYPES


def dumps(value: Any) -> bytes:
    return zlib.compress(json.dumps(_encode(value), separators=(",", ":")).encode(), 6)


def loads(payload: bytes) -> Any:
    return _decode(json.loads(zlib.decompress(payload)))


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return {"$f": repr(value)}  # NaN and infinities included
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, set | frozenset):
        return {"$set": [_encode(v) for v in sorted(value, key=repr)]}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, pd.DataFrame):
        return {"$frame": {"columns": [str(c) for c in value.columns],
                           "dtypes": [str(t) for t in value.dtypes],
                           "data": [[_encode(_plain(v)) for v in value[c].tolist()] for c in value.columns]}}
    name = type(value).__name__
    if _registry().get(name) is type(value):
        if isinstance(value, BaseModel):
            return {"$model": name, "fields": {k: _encode(getattr(value, k)) for k in type(value).model_fields}}
        if dataclasses.is_dataclass(value):
            return {"$dc": name, "fields": {f.name: _encode(getattr(value, f.name))
                                            for f in dataclasses.fields(value)}}
    raise TypeError(f"the store cannot keep a {type(value).__qualname__}; add it to ml_connector.store.values")


def _plain(value: Any) -> Any:
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass  # tuples and other containers: not a missing value
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$f" in value:
        return float(value["$f"])
    if "$dec" in value:
        return Decimal(value["$dec"])
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$tuple" in value:
        return tuple(_decode(v) for v in value["$tuple"])
    if "$set" in value:
        return frozenset(_decode(v) for v in value["$set"])
    if "$dict" in value:
        return {_decode(k): _decode(v) for k, v in value["$dict"]}
    if "$frame" in value:
        spec = value["$frame"]
        frame = pd.DataFrame({c: pd.Series([_decode(v) for v in data], dtype=object)
                              for c, data in zip(spec["columns"], spec["data"], strict=True)},
                             columns=spec["columns"])
        for column, dtype in zip(spec["columns"], spec["dtypes"], strict=True):
            if dtype != "object":
                frame[column] = frame[column].astype(dtype)
        return frame
    if "$model" in value:
        cls = _registry()[value["$model"]]
        return cls.model_validate({k: _decode(v) for k, v in value["fields"].items()})
    if "$dc" in value:
        cls = _registry()[value["$dc"]]
        return cls(**{k: _decode(v) for k, v in value["fields"].items()})
    raise ValueError(f"unknown value in the store: {sorted(value)}")
