"""Importing the package writes nothing: no cache, results or log folders appear at import."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import importlib, pkgutil, mmabench
names = [m.name for m in pkgutil.walk_packages(mmabench.__path__, "mmabench.")
         if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_importing_every_module_creates_no_files(tmp_path):
    dirs = {k: tmp_path / k for k in ("home", "xdg", "cache", "results", "out", "cwd")}
    dirs["cwd"].mkdir()
    env = {**os.environ, "HOME": str(dirs["home"]), "XDG_CACHE_HOME": str(dirs["xdg"]),
           "MMABENCH_CACHE": str(dirs["cache"]), "MMABENCH_RESULTS": str(dirs["results"]),
           "OUT": str(dirs["out"]), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=dirs["cwd"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) > 20                 # it did import the modules
    made = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
            if not (p == dirs["cwd"])]
    assert not made, f"files created at import: {made}"
