"""Every module imports on its own, first, in a fresh interpreter: no import cycle waits for the one module
that happens to break it (a plugin or a script may import any module first)."""

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import ml_connector, pipelines

names = [m.name for package in (ml_connector, pipelines)
         for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
         if not m.name.endswith("__main__") and m.name != "ml_connector.store.migrations.env"]  # alembic runs env
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in ("ml_connector", "pipelines")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print(len(names))
print("\\n".join(failed))
"""


def test_every_module_imports_first_on_its_own():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    count, *failed = result.stdout.strip().splitlines()
    assert int(count) > 150
    assert failed == []
