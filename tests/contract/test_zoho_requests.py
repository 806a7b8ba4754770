"""Request conformance: every request the connector sends to Zoho Books in real month runs, for the US
organisation and for the UK one with VAT and business locations, validates against Zoho's published request
schema for its operation (body, and every query parameter by name, type and enum).

The sandbox keeps what clients sent (`SandboxConfig.record_requests`); each request is matched to its
operation in `reference/zoho-books/*.yml` by path template. Only the Locations API is absent from the saved
references (`NOT_IN_SAVED_SPECS`); its requests are checked against the public page the sandbox follows.
"""

from __future__ import annotations

import re
from functools import cache

import jsonschema
import pytest
import requests

from tests.conftest import REPO
from tests.contract.test_zoho_contract import REFERENCE, spec, to_json_schema, validate_request
from tests.e2e.conftest import harness  # noqa: F401  (the e2e fixture, used here)

BOOKS = "/zoho/books/v3"
# Operations the saved OAS files do not cover, with what the sandbox follows instead.
NOT_IN_SAVED_SPECS = {("GET", "/locations"): "zoho.com/books/api/v3/locations (no parameters but organization_id)"}
UK_MAPPING = REPO / "config" / "mapping.zoho_books.uk.example.yaml"


@cache
def operations() -> list[tuple[re.Pattern, str, str, str]]:
    """(path pattern, spec file, path template, method) for every operation of every saved spec."""
    found = []
    for file in sorted(p.name for p in REFERENCE.glob("*.yml")):
        for template, methods in spec(file)["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{")
                                              .replace(r"\}", "}")) + "$")
            found += [(pattern, file, template, method) for method in methods if method in
                      ("get", "post", "put", "delete")]
    return found


def operation_of(method: str, path: str) -> tuple[str, str] | None:
    matches = [(file, template) for pattern, file, template, m in operations()
               if m == method.lower() and pattern.match(path)]
    # A literal segment wins over a template one (/contacts/owner over /contacts/{contact_id}).
    matches.sort(key=lambda match: match[1].count("{"))
    return matches[0] if matches else None


def query_problems(query: dict, file: str, template: str, method: str) -> list[str]:
    document = spec(file)
    item = document["paths"][template]
    declared = {}
    for parameter in item.get("parameters", []) + item[method].get("parameters", []):
        parameter = to_json_schema(parameter, document["components"].get("parameters", {}) |
                                   document["components"]["schemas"])
        if parameter.get("in") == "query":
            declared[parameter["name"]] = parameter.get("schema", {})
            # Zoho's filter grammar: a parameter's description lists its variants (`date_start`, ...).
            for variant in re.findall(r"<code>([a-z_]+)</code>", parameter.get("description", "")):
                if variant.startswith(parameter["name"] + "_"):
                    declared.setdefault(variant, parameter.get("schema", {}))
    problems = []
    for name, value in query.items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not declared")
            continue
        schema = declared[name]
        typed: object = value
        if schema.get("type") == "integer" and value.lstrip("-").isdigit():
            typed = int(value)
        elif schema.get("type") == "boolean" and value in ("true", "false"):
            typed = value == "true"
        try:
            jsonschema.validate(typed, schema)
        except jsonschema.ValidationError as error:
            problems.append(f"query parameter {name}={value!r}: {error.message}")
    return problems


def month_requests(h, **run) -> list[dict]:
    summary = h.run(**run)
    assert summary["success"], summary["failures"]
    answer = requests.get(f"{h.server.config.public_url}/_sandbox/requests", params={"prefix": "zoho"},
                          timeout=30).json()
    assert answer["enabled"]
    return [r for r in answer["requests"] if r["path"].startswith(BOOKS)]


def assert_conform(sent: list[dict]) -> None:
    assert sent
    problems, checked = [], 0
    for request in sent:
        method, path = request["method"], request["path"].removeprefix(BOOKS)
        if (method, path) in NOT_IN_SAVED_SPECS:
            assert set(request["query"]) <= {"organization_id"}, request
            continue
        operation = operation_of(method, path)
        if operation is None:
            problems.append(f"{method} {path}: no operation in the saved specs")
            continue
        file, template = operation
        problems += [f"{method} {path}: {p}" for p in query_problems(request["query"], file, template,
                                                                      method.lower())]
        if isinstance(request["body"], dict):
            try:
                validate_request(request["body"], file, template, method.lower())
            except jsonschema.ValidationError as error:
                problems.append(f"{method} {path}: body: {error.message} at {list(error.absolute_path)}")
        checked += 1
    assert not problems, f"{len(problems)} of {len(sent)} requests do not conform:\n" + "\n".join(problems[:40])
    assert checked


@pytest.mark.parametrize("org", ["us", "uk"])
def test_every_request_of_a_month_conforms_to_zohos_spec(harness, org):  # noqa: F811
    options = {"mapping": UK_MAPPING} if org == "uk" else {}
    with harness(org=org, record_requests=True, **options) as h:
        sent = month_requests(h)
        assert any(r["method"] == "POST" and r["path"].endswith("/bills") for r in sent)
        assert any(r["method"] == "POST" and r["path"].endswith("/journals") for r in sent)
        if org == "uk":
            assert all("location_id" in r["body"] for r in sent
                       if r["method"] == "POST" and r["path"].endswith(("/bills", "/journals")))
        assert_conform(sent)
