"""JSON on QuickBooks' wire: compact bodies, amounts as plain numbers, company-local timestamps.

Recorded responses write amounts as JSON numbers without trailing zeros (`100`, `103.55`, `56.5`),
`MetaData` times to the second with the company's UTC offset (`2026-05-05T03:20:37-07:00`) and the
envelope's `time` with milliseconds. Records keep `Decimal`; the conversion happens here, once.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from starlette.responses import Response

JSON_TYPE = "application/json"
JSON_TYPE_UTF8 = "application/json;charset=UTF-8"  # recorded on GETs; writes answered "application/json"


def wire_number(value: Decimal | int) -> int | float:
    """A Decimal as QuickBooks writes it: `100` when whole, `12.34` otherwise."""
    if isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return wire_number(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(body: object) -> str:
    return json.dumps(body, default=_default, separators=(",", ":"), ensure_ascii=False)


def plain(value: object) -> object:
    """A structure made JSON-ready (Decimals become numbers), for state files."""
    if isinstance(value, Decimal):
        return wire_number(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def revive(value: object) -> object:
    """The inverse of `plain` for money: floats read back from a state file become exact Decimals."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [revive(item) for item in value]
    if isinstance(value, dict):
        return {key: revive(item) for key, item in value.items()}
    return value


def stamp(zone: ZoneInfo, moment: datetime | None = None) -> str:
    """A `MetaData` time: to the second, in the company's zone, with its offset."""
    return (moment or datetime.now(zone)).astimezone(zone).isoformat(timespec="seconds")


def response_time(zone: ZoneInfo) -> str:
    """The envelope's `time`: company-local, with milliseconds."""
    return datetime.now(zone).isoformat(timespec="milliseconds")


def intuit_tid() -> str:
    """A fresh transaction id for the `intuit_tid` response header (what Intuit support asks for)."""
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def qbo_response(body: object, status: int = 200, content_type: str = JSON_TYPE,
                 headers: dict[str, str] | None = None) -> Response:
    all_headers = {"intuit_tid": intuit_tid(), **(headers or {})}
    return Response(to_json(body), status_code=status, headers=all_headers, media_type=content_type)
