"""Ctrl-C stops any command within about two seconds, keeps what was measured and says what it
kept, as the file system has it (issue 19)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from mmabench import cli, record
from mmabench.core import workers

ROOT = Path(__file__).resolve().parent.parent
STOP_LIMIT_S = 5      # 2 s asked; slack for a loaded 2-core CI machine (the figure is printed)


def _interrupt(proc: subprocess.Popen, after_s: float, whole_group: bool) -> float:
    """SIGINT to `proc` (a terminal's Ctrl-C: its whole process group) after `after_s`; the
    seconds it then took to exit."""
    time.sleep(after_s)
    assert proc.poll() is None, "it ended before the interrupt"
    start = time.monotonic()
    (os.killpg if whole_group else os.kill)(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return time.monotonic() - start


@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal-ctrl-c", "kill-pid"])
def test_ctrl_c_stops_regs_all_at_once_and_keeps_the_finished_builds(tmp_path, whole_group):
    env = {**os.environ, "MMABENCH_CACHE": str(tmp_path / "fresh-cache"),
           "MMABENCH_RESULTS": str(tmp_path / "results"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mmabench", "regs", "--all"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    took = _interrupt(proc, 3.0, whole_group)
    out, err = proc.communicate()
    print(f"regs --all stopped {took:.2f} s after SIGINT")
    assert took < STOP_LIMIT_S, err[-2000:]
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    folders = list((tmp_path / "results").glob("*_regs_*"))
    if folders:    # the rows of the builds that had finished, and the message says how many
        import pandas as pd

        (folder,) = folders
        kept = len(pd.read_csv(folder / "regs.csv"))
        from mmabench import hardware
        from mmabench.compiler import report

        pairs = len(report.select_kernels(all_kernels=True)) * len(hardware.DEFAULT_ARCHS)
        assert 0 < kept < pairs and f"interrupted; {kept} rows (regs.csv) kept in {folder}" in err
    else:
        assert "mmabench: interrupted; nothing was saved" in err
    time.sleep(0.2)
    assert not _tools_left(str(tmp_path / "fresh-cache")), "a tool outlived mmabench"


def _tools_left(marker: str) -> list[str]:
    """Processes (other than this one) whose environment or command line holds `marker`: tools or
    children that outlived the mmabench that started them (they run in their own sessions, so
    they would be re-parented, not gone, if it left them running)."""
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.name == str(os.getpid()):
                continue
            cmdline = (proc / "cmdline").read_bytes()
            if marker.encode() in (proc / "environ").read_bytes() + cmdline:
                left.append(cmdline.replace(b"\0", b" ").decode())
        except OSError:
            continue
    return left


# A command that measures `rows` rows into its run folder, then works on until interrupted.
SLOW_COMMAND = textwrap.dedent("""
    import sys, time
    from mmabench import cli, record
    from mmabench.compiler import report

    def compile_builds(*args, **kwargs):
        rows = int(sys.argv[1])
        if rows:
            folder = record.RunFolder("regs", "offline", sys.argv[2])
            for i in range(rows):
                folder.add({"i": i})
        print("working", flush=True)
        time.sleep(60)

    report.compile_builds = compile_builds
    sys.exit(cli.main(["regs", "--results", sys.argv[2]]))
""")


@pytest.mark.parametrize("rows", [0, 3])
def test_ctrl_c_during_a_command_names_the_folder_with_rows_or_none(tmp_path, rows):
    proc = subprocess.Popen([sys.executable, "-c", SLOW_COMMAND, str(rows), str(tmp_path)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline() == "working\n", proc.stderr.read()
    took = _interrupt(proc, 0.0, whole_group=True)
    err = proc.stderr.read()
    assert took < STOP_LIMIT_S and proc.returncode == 130, err
    if rows:
        (folder,) = tmp_path.glob("*_regs_offline")
        assert err.endswith(f"mmabench: interrupted; 3 rows (regs.csv) kept in {folder}\n")
        assert len(pd.read_csv(folder / "regs.csv")) == 3
    else:
        assert err.endswith("mmabench: interrupted; nothing was saved\n")
        assert not list(tmp_path.iterdir())


# ---- the message, in-process ------------------------------------------------------------------

def _interrupt_regs(tmp_path, monkeypatch, rows):
    """`regs` interrupted while compiling, after `rows` rows went to a run folder (None: none made)."""
    from mmabench.compiler import report

    def compile_builds(*args, **kwargs):
        if rows is not None:
            folder = record.RunFolder("regs", "offline", tmp_path)
            for i in range(rows):
                folder.add({"i": i})
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "compile_builds", compile_builds)
    return cli.main(["regs", "--results", str(tmp_path)])


def test_interrupted_with_no_folder_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    record.RunFolder("earlier", "offline", tmp_path).add({"x": 1})  # not this command's folder
    assert _interrupt_regs(tmp_path, monkeypatch, rows=None) == 130
    assert capsys.readouterr().err == "mmabench: interrupted; nothing was saved\n"


def test_interrupted_with_an_empty_folder_says_it_holds_no_rows(tmp_path, monkeypatch, capsys):
    assert _interrupt_regs(tmp_path, monkeypatch, rows=0) == 130
    (folder,) = tmp_path.glob("*_regs_offline")
    assert capsys.readouterr().err == f"mmabench: interrupted; no rows were saved ({folder} holds no rows)\n"


def test_interrupted_with_rows_names_the_folder_and_count(tmp_path, monkeypatch, capsys):
    assert _interrupt_regs(tmp_path, monkeypatch, rows=2) == 130
    (folder,) = tmp_path.glob("*_regs_offline")
    assert capsys.readouterr().err == f"mmabench: interrupted; 2 rows (regs.csv) kept in {folder}\n"


def test_regs_keeps_the_rows_of_the_builds_finished_before_ctrl_c(tmp_path, monkeypatch, capsys):
    """compile_builds interrupted after two chunks of builds (the third raises): regs saves
    the rows of those two."""
    from mmabench.compiler import report

    calls = []
    real = report.build_many

    def build_many(pairs, run=None, with_sass=True):
        calls.append([spec.name for spec, _ in pairs])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(pairs, run, with_sass)

    monkeypatch.setattr(report, "build_many", build_many)
    assert cli.main(["regs", "--results", str(tmp_path), "--jobs", "1", "--arch", "sm_80",
                     "--family", "mma"]) == 130
    (folder,) = tmp_path.glob("*_regs_offline")
    kept = calls[0] + calls[1]
    assert len(kept) >= 2
    assert capsys.readouterr().err.endswith(
        f"mmabench: interrupted; {len(kept)} rows (regs.csv) kept in {folder}\n")
    assert list(pd.read_csv(folder / "regs.csv")["kernel"]) == kept


def test_regs_interrupted_while_reading_the_sass_says_so_in_the_rows(tmp_path, monkeypatch, capsys):
    from mmabench.compiler import report

    def add_sass_batched(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "add_sass_batched", add_sass_batched)
    assert cli.main(["regs", "--results", str(tmp_path), "--jobs", "1", "--arch", "sm_80",
                     "--family", "mma"]) == 130
    (folder,) = tmp_path.glob("*_regs_offline")
    rows = pd.read_csv(folder / "regs.csv")
    assert len(rows) and (rows["message"] == "interrupted before its SASS was read").all()


# ---- the pool and the tools it runs -----------------------------------------------------------

STUCK_POOL = textwrap.dedent("""
    import sys, time
    from mmabench.core import workers
    try:
        with workers.pool(2) as pool:
            pool.submit(time.sleep, 30)               # a job Python cannot stop (native code)
            futures = [pool.submit(workers.run, ["sleep", "30"]) for _ in range(4)]
            time.sleep(0.5)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        print("queued jobs cancelled:", sum(f.cancelled() for f in futures), flush=True)
        if "--leave" in sys.argv:
            workers.leave_if_stuck(130)
        sys.exit(130)
""")


def test_a_stopped_pool_cancels_kills_and_does_not_wait_for_a_stuck_job():
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", STUCK_POOL, "--leave"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    took = time.monotonic() - start
    assert proc.returncode == 130, proc.stderr
    assert "queued jobs cancelled: 3" in proc.stdout        # 1 sleep 30 ran, 3 never started
    assert took < 10, took                                   # not the 30 s the stuck job takes


def test_a_stopped_pools_tool_is_killed_and_no_new_one_starts(tmp_path):
    marker = tmp_path / "started"
    with pytest.raises(KeyboardInterrupt):
        with workers.pool(1) as pool:
            slow = pool.submit(workers.run, ["sleep", "30"])
            later = pool.submit(workers.run, ["touch", str(marker)])
            time.sleep(0.5)
            raise KeyboardInterrupt
    start = time.monotonic()
    result = slow.result(timeout=5)                          # killed, not 30 s
    assert result.returncode == -signal.SIGKILL and time.monotonic() - start < 5
    assert later.cancelled() and not marker.exists()


def test_a_tool_killed_by_ctrl_c_in_the_calling_thread(tmp_path):
    # the main thread waits for the tool; Ctrl-C there kills it (it has its own process group,
    # so the terminal's Ctrl-C does not reach it)
    script = textwrap.dedent("""
        import os, signal, threading
        from mmabench.core import workers
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            workers.run(["sleep", "30"])
        except KeyboardInterrupt:
            print("interrupted")
    """)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.strip() == "interrupted" and time.monotonic() - start < 10


# ---- --devices: the child of each GPU ---------------------------------------------------------

CHILD = textwrap.dedent("""
    import signal, sys, time
    from pathlib import Path
    got = []
    def on_sigint(*_):
        got.append(1)
        if sys.argv[2] == "polite":
            Path(sys.argv[1]).write_text(str(len(got)))
            sys.exit(130)
    signal.signal(signal.SIGINT, on_sigint)
    print("child measuring", flush=True)
    for _ in range(600):
        time.sleep(0.1)
""")

PARENT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mmabench.devices import launch
    try:
        launch.run_child([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]], None,
                         Path(sys.argv[2] + ".log"))
    except KeyboardInterrupt:
        print("parent interrupted", flush=True)
        sys.exit(130)
""")


@pytest.mark.parametrize("child", ["polite", "hung"])
def test_ctrl_c_with_devices_gives_the_child_one_sigint_then_kills_it(tmp_path, child):
    marker = tmp_path / "sigints"
    proc = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(marker), child],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline() == "child measuring\n", proc.stderr.read()
    took = _interrupt(proc, 0.2, whole_group=True)             # the terminal's Ctrl-C
    out = proc.stdout.read()
    print(f"--devices parent with a {child} child stopped {took:.2f} s after SIGINT")
    assert proc.returncode == 130 and "parent interrupted" in out
    assert took < STOP_LIMIT_S
    if child == "polite":
        assert marker.read_text() == "1"                        # one SIGINT, not two
    else:
        assert not marker.exists()
        assert not _tools_left(str(marker))                     # killed, not left running
