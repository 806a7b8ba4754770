"""`ml-connector demo`, the README's first command, as a new user runs it: a month into the sandbox ledger that
ties out, its close pack written; a folder holding an earlier demo's store is refused before anything starts."""

import json
import os
import shutil
import subprocess
import sys

import pytest

DEMO = [sys.executable, "-m", "ml_connector", "demo"]


def _environment(tmp_path) -> dict[str, str]:
    """Nothing of the developer's: no connector settings, a home of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ML_CONNECTOR_", "DAGSTER_"))}
    return env | {"HOME": str(tmp_path / "user")}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    home = root / "demo-home"
    result = subprocess.run([*DEMO, "--json", "--home", str(home)], capture_output=True, text=True, timeout=600,
                            env=_environment(root), cwd=root)
    return root, home, result


def test_the_demo_posts_a_month_that_ties_out_and_writes_its_close_pack(demo_run):
    _, home, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["done"] is True and summary["success"] is True
    tie_out = summary["tie_out"]
    assert tie_out["ties_out"] is True
    assert tie_out["entries_found"] == tie_out["entries_expected"] == summary["drafts"] > 0
    assert not (tie_out["missing"] or tie_out["duplicated"] or tie_out["unexpected"])
    pack = summary["close_pack"]
    assert pack["ties_out"] is True and pack["posted"] == summary["drafts"]
    assert (home / "close" / f"close-pack-{summary['month']}.html").read_text().count(summary["month"]) > 0
    if shutil.which("chromium"):
        assert (home / "close" / f"close-pack-{summary['month']}.pdf").read_bytes().startswith(b"%PDF")


def test_a_folder_with_an_earlier_demos_store_is_refused_and_left_as_it_was(demo_run):
    root, home, first = demo_run
    assert first.returncode == 0
    store = home / "connector.db"
    before = store.read_bytes()
    again = subprocess.run([*DEMO, "--home", str(home)], capture_output=True, text=True, timeout=120,
                           env=_environment(root), cwd=root)
    assert again.returncode == 2
    assert "--home" in again.stderr and "new folder" in again.stderr
    assert store.read_bytes() == before
