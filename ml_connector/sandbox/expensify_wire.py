"""How the Integration Server reads requests and phrases answers: form fields, lenient JSON, error bodies."""

from __future__ import annotations

import email
import json
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# Errors are a JSON body under HTTP 200 (notes §7); Expensify often labels JSON as text/plain.
TEXT_PLAIN = "text/plain;charset=utf-8"
RATE_LIMIT_MESSAGE = (
    "You have been rate-limited. Please try again later or contact help@expensify.com for assistance."
)


class JobError(Exception):
    """A job refused with Expensify's {responseCode, responseMessage}."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(code: int, message: str) -> Response:
    body = json.dumps({"responseMessage": message, "responseCode": code})
    return Response(body, status_code=200, media_type=TEXT_PLAIN)


def rate_limited_response() -> Response:
    # The docs only say "an error with status code 429" (notes §8); like every other Integration Server
    # error it is the body's responseCode under HTTP 200, with the message the docs quoted until 2024.
    return error_response(429, RATE_LIMIT_MESSAGE)


def ok_json(payload: dict) -> Response:
    return JSONResponse({**payload, "responseCode": 200})


async def form_fields(request: Request) -> dict[str, str]:
    """Form fields from the body (urlencoded or multipart), falling back to the query string, which
    clients also use in practice (notes §1)."""
    fields = {key: values[0] for key, values in parse_qs(request.url.query, keep_blank_values=True).items()}
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.get_payload() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[name] = part.get_payload(decode=True).decode("utf-8")
    elif body:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        fields.update({key: values[0] for key, values in parsed.items()})
    return fields


def parse_job(raw: str | None) -> dict:
    """The requestJobDescription JSON. Official examples carry trailing commas and Expensify's own script
    sends single-quoted pseudo-JSON (notes §1, §10.3, §10.5), so both are tolerated."""
    if not raw:
        raise JobError(410, "Argument 'requestJobDescription' is missing or malformed")
    try:
        job = json.loads(raw)
    except json.JSONDecodeError:
        try:
            job = json.loads(_normalise_lenient_json(raw))
        except json.JSONDecodeError as exc:
            raise JobError(
                410, f"Argument 'requestJobDescription' is missing or malformed: {exc.msg}"
            ) from exc
    if not isinstance(job, dict):
        raise JobError(410, "Argument 'requestJobDescription' is missing or malformed")
    return job


def _normalise_lenient_json(raw: str) -> str:
    """Rewrite single-quoted strings as JSON strings and drop trailing commas."""
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char in "\"'":
            end = index + 1
            chars: list[str] = []
            while end < len(raw) and raw[end] != char:
                if raw[end] == "\\" and end + 1 < len(raw):
                    chars.append(raw[end : end + 2] if raw[end + 1] != "'" else "'")
                    end += 2
                    continue
                chars.append('\\"' if raw[end] == '"' else raw[end])
                end += 1
            out.append('"' + "".join(chars) + '"')
            index = end + 1
            continue
        if char == ",":
            rest = raw[index + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                index += 1
                continue
        out.append(char)
        index += 1
    return "".join(out)
