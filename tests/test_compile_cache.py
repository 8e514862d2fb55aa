"""The compile cache: a test run keeps it in pytest's temporary folder, and cache_dir() follows
MMABENCH_CACHE without handing back a folder it checked earlier that is no longer the one asked for."""

import shutil
import subprocess
import sys
from pathlib import Path

from mmabench.compiler import toolchain
from mmabench.compiler.demo_kernels import spill_ptx



def test_a_test_run_compiles_into_pytests_temporary_folder(tmp_path_factory):
    cache = toolchain.cache_dir()
    assert cache.is_relative_to(tmp_path_factory.getbasetemp())
    toolchain.assemble(spill_ptx(), "sm_80")
    assert list(cache.glob("*.cubin")) and list(cache.glob("*.ptxas.log"))
    child = subprocess.run([sys.executable, "-c", "from mmabench.compiler import toolchain; "
                                                  "print(toolchain.cache_dir())"],
                           capture_output=True, text=True, check=True)
    assert Path(child.stdout.strip()) == cache                    # subprocesses inherit it


def test_a_removed_cache_folder_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "cache"))
    first = toolchain.cache_dir()
    assert first == tmp_path / "cache" and first.is_dir()
    shutil.rmtree(first)
    asm = toolchain.assemble(spill_ptx(), "sm_80")                       # writes its cubin and log
    assert [p.read_bytes() for p in first.glob("*.cubin")] == [asm.cubin]


def test_a_relative_cache_folder_is_taken_from_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MMABENCH_CACHE", "cache")
    for here in (tmp_path / "a", tmp_path / "b"):
        here.mkdir()
        monkeypatch.chdir(here)
        assert toolchain.cache_dir() == here / "cache" and (here / "cache").is_dir()
        toolchain.assemble(spill_ptx(), "sm_80")
        assert list((here / "cache").glob("*.cubin"))
