"""Xero's JSON conventions: MS-JSON dates, the response envelope, money as numbers, and reading request bodies.

As recorded (`reference/xero/recorded-*`): every answer is `{"Id": <correlation id>, "Status": "OK",
"ProviderName": <app name>, "DateTimeUTC": "/Date(ms)/", "<Plural>": [...]}` with the same id in the
`Xero-Correlation-Id` header; document dates are `/Date(ms+0000)/` at UTC midnight plus a `DateString`
`2026-04-24T00:00:00`; `UpdatedDateUTC` is `/Date(ms+0000)/`. Amounts are stored as Decimal strings and become
JSON numbers only here, at the edge. Request property names are matched case-insensitively, as Xero's .NET
deserialiser does (the OAS's own TrackingCategory example sends `name`).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from starlette.responses import Response

from ml_connector.sandbox.xero.errors import XeroError, post_data_invalid

PROVIDER_NAME = "ML Connector"  # the Xero app's name, echoed as ProviderName
JSON_TYPE = "application/json; charset=utf-8"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def now_ms() -> int:
    return int(time.time() * 1000)


def date_ms(iso_day: str) -> int:
    """Milliseconds since the epoch at UTC midnight of a YYYY-MM-DD day."""
    return (date.fromisoformat(iso_day).toordinal() - _EPOCH_ORDINAL) * 86_400_000


def ms_date(iso_day: str) -> str:
    return f"/Date({date_ms(iso_day)}+0000)/"


def ms_stamp(ms: int) -> str:
    return f"/Date({ms}+0000)/"


def date_string(iso_day: str) -> str:
    return f"{iso_day}T00:00:00"


def correlation_id() -> str:
    return str(uuid.uuid4())


def envelope(key: str, items: list, correlation: str, **extra: object) -> dict:
    return {"Id": correlation, "Status": "OK", "ProviderName": PROVIDER_NAME,
            "DateTimeUTC": f"/Date({now_ms()})/", **extra, key: items}


def money(value: str | Decimal | None) -> float | None:
    """A stored Decimal string as a JSON number (the wire edge)."""
    return None if value is None else float(Decimal(value))


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_text(body: object) -> str:
    return json.dumps(body, default=_encode)


def xero_json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_text(body), status_code=status, headers=headers, media_type=JSON_TYPE)


def error_response(error: XeroError, headers: dict[str, str]) -> Response:
    merged = {**headers, **error.headers}
    if isinstance(error.body, str):
        return Response(error.body, status_code=error.status, headers=merged, media_type="text/plain; charset=utf-8")
    return xero_json(error.body, error.status, merged)


# --- reading requests -----------------------------------------------------------------------------------

def ci(obj: dict) -> dict:
    """A request object with lower-cased property names (Xero matches them case-insensitively)."""
    return {str(k).lower(): v for k, v in obj.items()}


def read_json(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise post_data_invalid(f"JSON for post data was invalid,{exc}") from None
    if not isinstance(body, dict):
        raise post_data_invalid("JSON for post data was invalid,Send a JSON object.")
    return body


def items_of(body: dict, plural: str) -> list[dict]:
    """The objects of a `{"<Plural>": [...]}` body; a single bare object is accepted too, as Xero does."""
    lowered = ci(body)
    if plural.lower() in lowered:
        items = lowered[plural.lower()]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise post_data_invalid(f"JSON for post data was invalid,{plural} must be an array of objects.")
        return items
    return [body]


def parse_date(value: object, path: str) -> str:
    """A request date (`2026-10-15`, `2026-10-15T00:00:00` or `/Date(ms+0000)/`) as YYYY-MM-DD."""
    text = str(value).strip()
    try:
        if text.startswith("/Date(") and text.endswith(")/"):
            ms = int(text[6:-2].split("+")[0].split("-")[0])
            return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
        return date.fromisoformat(text[:10]).isoformat() if len(text) in (10, 19) else _bad_date(text, path)
    except ValueError:
        return _bad_date(text, path)


def _bad_date(text: str, path: str) -> str:
    raise post_data_invalid(f"JSON for post data was invalid,Could not convert string to DateTime: {text}. "
                            f"Path '{path}'.")


def parse_decimal(value: object, path: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise post_data_invalid(f"JSON for post data was invalid,Could not convert {value!r} to decimal. "
                                f"Path '{path}'.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise post_data_invalid(f"JSON for post data was invalid,Could not convert string to decimal: {value}. "
                                f"Path '{path}'.")
    return number


def parse_bool(value: object, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise post_data_invalid(f"JSON for post data was invalid,Could not convert string to boolean: {value}. "
                            f"Path '{path}'.")
