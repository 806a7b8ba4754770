"""A month's result tells the truth: exit 0 only when every entry is posted or held and the month ties out."""

import http.server
import json
import subprocess
import sys
import threading

import sqlalchemy as sa

from ml_connector.store import open_store, reference_cache
from ml_connector.store.schema import audit_events, posting_ledger, token_state
from tests.conftest import REPO
from tests.reliability.conftest import MONTH


def test_a_run_that_leaves_drafts_with_no_known_outcome_exits_non_zero(fleet):
    fleet = fleet(expensify_reports_per_month=0, extra_env={"ML_CONNECTOR_HTTP_TIMEOUT_SECONDS": "2"})
    # Every journal call fails on Zoho's side, search included: nothing can be known about the posts.
    fleet.server.faults.force("unavailable", "/books/v3/journals", times=100_000)
    code, summary, err = fleet.run("unknown")
    assert code == 1, err[-2000:]
    assert not summary["done"] and not summary["success"]
    assert any("MonthIncomplete" in failure for failure in summary["failures"]), summary["failures"]
    fleet.server.faults.clear()
    code, summary, err = fleet.run("retry")  # the next run settles them by searching first, and posts the rest
    assert code == 0, err[-2000:]
    assert max(fleet.references().values()) == 1


def test_a_month_the_ledger_rejects_entirely_does_not_tie_out_and_names_each_entry(fleet, tmp_path):
    fleet = fleet(expensify_reports_per_month=0)
    code, summary, err = fleet.run("first")
    assert code == 0, err[-2000:]
    engine = open_store(fleet.store_url)
    ledger = fleet.ledger()
    # Between the reference read and the next month's posts an admin retires the card liability account: the
    # connector still holds it active for a few minutes (its cache), and Zoho refuses every journal.
    accounts = reference_cache.get(engine, ledger.target, "accounts", max_age=__import__("datetime").timedelta(1))
    for account in accounts:
        if account.get("account_code") == "6990":
            account["is_active"] = True
    reference_cache.put(engine, ledger.target, "accounts", accounts)
    mapping = (REPO / "config" / "mapping.example.yaml").read_text().replace(
        "credit_account: 2100            # Brex Card Payable", "credit_account: 6990")
    path = tmp_path / "retired.yaml"
    path.write_text(mapping)
    fleet.extra_env["ML_CONNECTOR_MAPPING_FILE"] = str(path)
    code, summary, err = fleet.run("rejected", month="2026-09")
    assert code == 1, err[-2000:]
    posting = summary["posting"]
    assert posting["rejected"] and posting["posted"] == 0
    assert not summary["tie_out"]["ties_out"] and set(summary["tie_out"]["missing"]) == set(posting["rejected"])
    assert not summary["checks"]["every_entry_posted"]["passed"]
    assert all("inactive" in reason.lower() for reason in posting["rejected"].values())


class _Spy(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        self.seen.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_pointing_the_stored_token_at_another_origin_sends_nothing_there(fleet):
    fleet = fleet(expensify_reports_per_month=0)
    code, _, err = fleet.run("first")
    assert code == 0, err[-2000:]
    spy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Spy)
    threading.Thread(target=spy.serve_forever, daemon=True).start()
    elsewhere = f"http://127.0.0.1:{spy.server_address[1]}"
    engine = open_store(fleet.store_url)
    with engine.begin() as connection:  # someone with write access to the store edits the token row
        connection.execute(token_state.update().values(api_domain=elsewhere))
        sealed = connection.execute(sa.select(token_state.c.sealed)).scalar_one()
        connection.execute(token_state.update().values(sealed=sealed.replace(b"A", b"B", 3)))
    fleet.extra_env["ML_CONNECTOR_ZOHO_ALLOWED_API_DOMAINS"] = f"{fleet.server.config.public_url},{elsewhere}"
    code, _, err = fleet.run("second", month="2026-09")
    spy.shutdown()
    assert _Spy.seen == [], "a request reached the other origin"
    assert code == 0, err[-2000:]


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ml_connector", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def _row_counts(store_url: str) -> tuple[int, int]:
    engine = open_store(store_url)
    with engine.connect() as connection:
        return (connection.execute(sa.select(sa.func.count()).select_from(posting_ledger)).scalar_one(),
                connection.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


def test_bad_input_exits_2_with_the_fix_and_changes_nothing(fleet, tmp_path):
    fleet = fleet(expensify_reports_per_month=0)
    env = fleet.env("bad")
    before = _row_counts(fleet.store_url)
    cases = {
        ("run", "--month", "2026-1"): "YYYY-MM",
        ("run", "--month", "2019-05"): "outside the months the connector runs",
        ("status", "--month", "2026-13"): "YYYY-MM",
    }
    for args, said in cases.items():
        result = _cli(env, *args)
        assert result.returncode == 2 and said in result.stderr + result.stdout, (args, result.stderr)
        assert "Traceback" not in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nbrex:\n  credit_account: 2100\n   posting_mode: per_day\n")
    for mapping, said in ((broken, "broken.yaml:4"), (tmp_path / "missing.yaml", "missing.yaml")):
        result = _cli(env | {"ML_CONNECTOR_MAPPING_FILE": str(mapping)}, "run", "--month", MONTH)
        assert result.returncode == 2 and said in result.stderr and "Fix:" in result.stderr, result.stderr
    result = _cli(env | {"ML_CONNECTOR_ZOHO_CLIENT_ID": ""}, "run", "--month", MONTH)
    assert result.returncode == 2 and "ML_CONNECTOR_ZOHO_CLIENT_ID" in result.stderr
    result = _cli(env | {"ML_CONNECTOR_MASTER_KEY": "not-a-key"}, "run", "--month", MONTH)
    assert result.returncode == 2 and "ML_CONNECTOR_MASTER_KEY" in result.stderr
    assert _row_counts(fleet.store_url) == before
    assert json.loads(_cli(env, "status", "--month", MONTH, "--json").stdout) == []
