"""The compile cache: a test run keeps it in pytest's temporary folder, and cache_dir() follows
MMABENCH_CACHE without handing back a folder it checked earlier that is no longer the one asked for.
Its cubins are run on the GPU, so it is only ever a folder of the user's own, and a file in it is
whole or absent."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mmabench.compiler import toolchain
from mmabench.compiler.demo_kernels import spill_ptx


def _mode(folder: Path) -> int:
    return stat.S_IMODE(os.stat(folder).st_mode)


def _owned_by_another_user(monkeypatch, folder: Path) -> None:
    """os.stat reports `folder` as another user's (a test run by a user cannot chown)."""
    real_stat = os.stat

    def fake_stat(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        if isinstance(path, (str, os.PathLike)) and os.path.abspath(path) == str(folder):
            fields = list(st)
            fields[4] = os.getuid() + 1                                       # st_uid
            return os.stat_result(fields)
        return st
    monkeypatch.setattr(os, "stat", fake_stat)


def _writable_by_the_group(monkeypatch, folder: Path) -> None:
    folder.chmod(0o770)


def _writable_by_others(monkeypatch, folder: Path) -> None:
    folder.chmod(0o707)


@pytest.fixture
def unusable(tmp_path):
    """A cache path that cannot be created (its parent is a file: fails even for root)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return blocker / "cache"


def test_a_test_run_compiles_into_pytests_temporary_folder(tmp_path_factory):
    cache = toolchain.cache_dir()
    assert cache.is_relative_to(tmp_path_factory.getbasetemp())
    assert _mode(cache) == 0o700                      # pytest's own folders are private: accepted
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


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=lambda umask: f"umask{umask:03o}")
def test_a_new_cache_folder_is_made_0700_whatever_the_umask(tmp_path, monkeypatch, umask):
    monkeypatch.setenv("MMABENCH_CACHE", str(tmp_path / "parent" / "cache"))
    before = os.umask(umask)
    try:
        cache = toolchain.cache_dir()
    finally:
        os.umask(before)
    assert cache == tmp_path / "parent" / "cache" and _mode(cache) == 0o700


@pytest.mark.parametrize("make_unsafe, why", [
    (_owned_by_another_user, "belongs to another user"),
    (_writable_by_the_group, "is writable by group or others (mode 0770)"),
    (_writable_by_others, "is writable by group or others (mode 0707)")],
    ids=["another-user", "group-writable", "other-writable"])
def test_cubins_are_not_read_from_a_folder_others_can_write(tmp_path, monkeypatch, capsys,
                                                            make_unsafe, why):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MMABENCH_CACHE", str(cache))
    real = toolchain.assemble(spill_ptx(), "sm_80")
    for cubin in cache.glob("*.cubin"):
        cubin.write_bytes(b"planted by someone else")
    make_unsafe(monkeypatch, cache)
    assert toolchain.assemble(spill_ptx(), "sm_80").cubin == real.cubin
    assert not toolchain.cache_dir().is_relative_to(cache)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cache folder {cache} {why}" in err and "MMABENCH_CACHE" in err


def test_an_unusable_cache_is_replaced_by_a_private_folder_nobody_can_guess(
        tmp_path, monkeypatch, capsys, unusable):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    guessable = shared / f"mmabench-cache-{os.getuid()}"     # where the old fallback was
    guessable.mkdir()
    guessable.chmod(0o777)
    monkeypatch.setenv("MMABENCH_CACHE", str(unusable))
    first = toolchain.cache_dir()
    assert first.parent == shared and first != guessable
    assert _mode(first) == 0o700 and os.stat(first).st_uid == os.getuid()
    assert toolchain.cache_dir() == first                  # one folder for the whole process
    monkeypatch.setattr(toolchain, "_CACHE_CHECKED", {})    # as in the next process
    assert toolchain.cache_dir() not in (first, guessable)
    assert "private temporary folder" in capsys.readouterr().err


def test_the_private_temporary_cache_goes_away_with_its_process(tmp_path, unusable):
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "MMABENCH_CACHE": str(unusable), "TMPDIR": str(tmp_path / "tmp")}
    child = subprocess.run([sys.executable, "-c", "from mmabench.compiler import toolchain; "
                                                  "print(toolchain.cache_dir())"],
                           capture_output=True, text=True, check=True, env=env)
    used = Path(child.stdout.strip())
    assert used.parent == tmp_path / "tmp" and not used.exists()
    assert child.stderr.count("\n") == 1 and str(unusable) in child.stderr


def test_a_cache_write_that_fails_leaves_nothing_to_read(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("MMABENCH_CACHE", str(cache))

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        toolchain.assemble(spill_ptx(), "sm_80")
    assert list(cache.iterdir()) == []         # no half cubin, no temporary file left behind
