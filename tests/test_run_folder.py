"""Run folders: one per run even when runs start in the same second, rows written whole, and the
message an interrupted command prints about what it kept (issue 19)."""

import datetime as dt
import multiprocessing
import threading
import time
import types

import pandas as pd
import pytest

from mmabench import record
from mmabench.core import atomic_file


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every RunFolder made now reads the same second."""
    fixed = dt.datetime(2026, 1, 2, 3, 4, 5)
    clock = types.SimpleNamespace(datetime=types.SimpleNamespace(now=lambda *a: fixed),
                                  timezone=dt.timezone)
    monkeypatch.setattr(record, "_dt", clock)
    return fixed


def test_runs_in_the_same_second_get_their_own_folders(tmp_path, frozen_clock):
    folders = [record.RunFolder("mma", "Some GPU", tmp_path) for _ in range(12)]
    names = [f.path.name for f in folders]
    assert len(set(names)) == 12
    assert names[0] == "20260102-030405_mma_some-gpu"
    assert names[1:3] == ["20260102-030405_mma_some-gpu_2", "20260102-030405_mma_some-gpu_3"]


def test_threads_starting_together_never_share_a_folder(tmp_path, frozen_clock):
    start = threading.Barrier(8)
    made = []

    def one():
        start.wait()
        made.append(record.RunFolder("regs", "offline", tmp_path).path)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8 and all(p.is_dir() for p in made)


def _writer(args):
    """A run in another process: starts at `when` (wall clock), adds `n` rows one by one."""
    root, when, who, n = args
    time.sleep(max(0.0, when - time.time()))
    folder = record.RunFolder("mma", "Some GPU", root)
    for i in range(n):
        folder.add({"writer": who, "i": i})
    return str(folder.path)


def test_processes_started_in_the_same_second_keep_all_their_rows(tmp_path):
    # The processes wait for one moment early in a second, so their folders' time stamps match.
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(6) as pool:
        when = int(time.time()) + 2.05
        paths = pool.map(_writer, [(tmp_path, when, w, 15) for w in range(6)])
    assert len(set(paths)) == 6                                     # one folder per run
    stamps = [p.split("/")[-1].split("_")[0] for p in paths]
    assert len(set(stamps)) < len(stamps), f"no two started in the same second: {stamps}"
    for path in paths:
        rows = pd.read_csv(f"{path}/mma.csv")
        assert len(set(rows.writer)) == 1 and list(rows.i) == list(range(15))
    assert sorted(pd.concat(pd.read_csv(f"{p}/mma.csv") for p in paths).writer.unique()) == list(range(6))


def test_a_rewrite_that_fails_leaves_the_rows_already_kept(tmp_path, monkeypatch):
    folder = record.RunFolder("mma", "Some GPU", tmp_path)
    folder.add({"form": "x", "tflops": 1.0})

    class Interrupted:       # a frame whose CSV text is cut short by Ctrl-C
        def to_csv(self, index=False):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        folder.save_frame("mma", Interrupted())
    assert list(pd.read_csv(folder.path / "mma.csv").form) == ["x"]
    assert folder.rows_kept() == {"mma": 1}

    real_replace = atomic_file.os.replace

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_file.os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        folder.add({"form": "y", "tflops": 2.0})
    monkeypatch.setattr(atomic_file.os, "replace", real_replace)
    assert list(pd.read_csv(folder.path / "mma.csv").form) == ["x"]
    assert not list(folder.path.glob(".*.part"))                    # no temporary file left


def test_atomic_write_keeps_the_permissions_of_a_plain_write(tmp_path):
    plain, atomic = tmp_path / "plain.txt", tmp_path / "atomic.txt"
    plain.write_text("a")
    atomic_file.write(atomic, "a")
    assert atomic.read_text() == "a"
    assert atomic.stat().st_mode == plain.stat().st_mode


# ---- what an interrupted command says it kept ---------------------------------------------------

def test_kept_message_with_no_folder_says_nothing_was_saved():
    assert record.kept_message([]) == "nothing was saved"


def test_kept_message_names_the_folder_and_its_row_count(tmp_path):
    folder = record.RunFolder("attention", "Some GPU", tmp_path)
    for i in range(3):
        folder.add({"variant": i, "message": "a log's first line\nand its second"})  # 3 rows, 7 lines
    folder.save_frame("overview", pd.DataFrame([{"a": 1}]), with_json=False)
    message = record.kept_message([folder])
    assert message == f"4 rows (attention.csv, overview.csv) kept in {folder.path}"


def test_kept_message_reads_the_disk_not_the_intention(tmp_path):
    empty = record.RunFolder("mma", "Some GPU", tmp_path)
    assert record.kept_message([empty]) == f"no rows were saved ({empty.path} holds no rows)"
    one = record.RunFolder("gemm", "Some GPU", tmp_path)
    one.add({"x": 1})
    assert record.kept_message([empty, one]) == f"1 row (gemm.csv) kept in {one.path}"
    (one.path / "gemm.csv").unlink()                                # the rows are gone after all
    (one.path / "gemm.json").unlink()
    empty.path.rmdir()
    assert record.kept_message([empty, one]) == f"no rows were saved ({one.path} holds no rows)"
