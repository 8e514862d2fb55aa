"""Result rows with their context, and the run folder that keeps them with their evidence.

Rows are tidy (one measurement each) and carry the GPU, clocks, software versions and commit,
so a CSV line can be compared across machines. Rows are flushed to disk as they are measured:
an interrupted run keeps what it had.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import itertools
import json
import os
import platform
import re
import sys
import tempfile
from pathlib import Path

from mmabench import __version__
from mmabench.core import atomic_file, gitinfo
from mmabench.core.errors import UserError
from mmabench.measure import nvml

# The source checkout this copy of the package runs from (an editable install), or None for an
# installed wheel, which carries the commit it was built from (setup.py).
_TOP = Path(__file__).resolve().parents[2]
SOURCE_CHECKOUT = _TOP if (_TOP / "pyproject.toml").is_file() and (_TOP / "ptx").is_dir() else None

# Columns every measured row carries, whatever the benchmark.
CONTEXT_COLUMNS = (
    "gpu_name", "compute_capability", "sm_count", "driver_version", "driver_cuda_version",
    "cuda_runtime_version", "cupy_version", "torch_version", "mmabench_version", "git_commit",
    "timestamp",
)


def git_commit() -> str:
    """$MMABENCH_GIT_COMMIT, else HEAD (+dirty) of the source checkout, else the commit an
    installed wheel was built from (gitinfo.BUILD_COMMIT_FILE); empty when none says."""
    if os.environ.get("MMABENCH_GIT_COMMIT"):
        return os.environ["MMABENCH_GIT_COMMIT"]
    if SOURCE_CHECKOUT is not None:
        return gitinfo.commit_of(SOURCE_CHECKOUT)
    try:
        return (Path(__file__).resolve().parents[1] / gitinfo.BUILD_COMMIT_FILE).read_text().strip()
    except OSError:
        return ""


def _cuda_version(code: int) -> str:
    return f"{code // 1000}.{(code % 1000) // 10}"


def software_context() -> dict:
    ctx = {
        "mmabench_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }
    try:
        import cupy
        ctx["cupy_version"] = cupy.__version__
    except Exception:
        ctx["cupy_version"] = ""
    torch = sys.modules.get("torch")
    ctx["torch_version"] = getattr(torch, "__version__", "") if torch else ""
    return ctx


def gpu_context(device: int = 0) -> dict:
    """Static facts of the GPU at hand (raises if there is none: callers check first)."""
    import cupy

    rt = cupy.cuda.runtime
    props = rt.getDeviceProperties(device)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    ctx = {
        "gpu_name": name,
        "compute_capability": f"{props['major']}.{props['minor']}",
        "sm_count": int(props["multiProcessorCount"]),
        "driver_cuda_version": _cuda_version(rt.driverGetVersion()),
        "cuda_runtime_version": _cuda_version(rt.runtimeGetVersion()),
        "driver_version": nvml.driver_version(),
    }
    return ctx


def offline_context() -> dict:
    """The context of a run that needs no GPU: software versions, commit, time and the
    toolchain found (gpu_name 'offline')."""
    from mmabench.compiler import toolchain

    ctx = software_context()
    ctx["timestamp"] = timestamp()
    ctx["toolchain"] = toolchain.toolchain_info()
    ctx["gpu_name"] = "offline"
    return ctx


def offline_row_context(ctx: dict) -> dict:
    """The columns every offline row carries (from offline_context())."""
    from mmabench.compiler import toolchain

    return {"ptxas_version": toolchain.tool_version("ptxas"),
            "mmabench_version": ctx.get("mmabench_version", ""),
            "git_commit": ctx.get("git_commit", ""), "timestamp": ctx["timestamp"]}


def offline_run(bench: str, root=None) -> tuple["RunFolder", dict]:
    """The run folder of an offline check (<time>_<bench>_offline, with context.json) and the
    columns each of its rows carries."""
    folder = RunFolder(bench, "offline", root)
    ctx = offline_context()
    folder.save_context(ctx)
    return folder, offline_row_context(ctx)


def timestamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def results_root(root: str | os.PathLike | None = None) -> Path:
    """The folder run folders go under: `root` (--results), else $MMABENCH_RESULTS, else
    ./results; created and probed with a file write now, so that a path that cannot be written
    is one line (UserError) before any work, not a traceback after it."""
    env = os.environ.get("MMABENCH_RESULTS")
    if not root and env is not None and not env.strip():   # set but empty: a mistake, not ./results
        raise UserError("MMABENCH_RESULTS is set but empty; unset it (./results) or name a folder")
    path = Path(root or env or "results")
    where = "--results" if root else "MMABENCH_RESULTS" if env else "the default ./results"
    from mmabench.record.output import shipped

    if path.exists() and not path.is_dir():
        raise UserError(f"cannot write results to {path} (from {where}): it is a file, not a "
                        "folder; give a folder with --results DIR or MMABENCH_RESULTS")
    if reason := shipped(path):
        raise UserError(f"cannot write results to {path} (from {where}): {reason}; give another "
                        "folder with --results DIR or MMABENCH_RESULTS")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".mmabench-probe-"):
            pass
    except OSError as exc:
        raise UserError(f"cannot write results to {path} (from {where}): "
                        f"{exc.strerror or exc}; give a writable folder with --results DIR "
                        "or MMABENCH_RESULTS") from None
    return path


def new_folder(root: Path, name: str) -> Path:
    """root/name, or root/name_2, name_3, ... if taken: made by one mkdir that fails when the
    folder exists, so two runs started in the same second (other processes, other threads) never
    share a folder and overwrite each other's rows; names still sort by time."""
    for n in itertools.count(1):
        path = root / (name if n == 1 else f"{name}_{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


# Every run folder this process opened, in order: an interrupted command says what they kept.
_OPENED: list["RunFolder"] = []


def folders_opened() -> list["RunFolder"]:
    return list(_OPENED)


class RunFolder:
    """results/<time>_<bench>_<gpu>/ holding rows (CSV + JSON) and provenance files; a run that
    starts in the same second as another with the same name gets <time>_<bench>_<gpu>_2/, _3/, ..."""

    def __init__(self, bench: str, gpu_name: str, root: str | os.PathLike | None = None):
        root = results_root(root)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.path = new_folder(root, f"{stamp}_{bench}_{_slug(gpu_name)}")
        self.bench = bench
        self.rows: list[dict] = []
        self.tables: list[str] = []            # names of the row tables (CSV) written
        _OPENED.append(self)

    def rows_kept(self) -> dict[str, int]:
        """{table: rows} of the row tables that hold rows on disk now, counted in the files."""
        kept = {}
        for name in self.tables:
            try:
                with (self.path / f"{name}.csv").open(newline="") as f:
                    rows = sum(1 for _ in csv.reader(f)) - 1      # the header is no row
            except OSError:
                continue
            if rows > 0:
                kept[name] = rows
        return kept

    def add(self, row: dict) -> None:
        """Append one row and rewrite the files at once, so nothing measured is lost."""
        self.rows.append(row)
        self.flush()

    def flush(self) -> None:
        import pandas as pd

        self.save_frame(self.bench, pd.DataFrame(self.rows))

    def save_frame(self, name: str, frame, with_json: bool = True) -> Path:
        """A table as <name>.csv and (with_json) <name>.json, one object per row; returns the CSV."""
        target = atomic_file.write(self.path / f"{name}.csv", frame.to_csv(index=False))
        if name not in self.tables:
            self.tables.append(name)
        if with_json:
            self.save_text(f"{name}.json", frame.to_json(orient="records", indent=1, double_precision=6))
        return target

    def save_json(self, name: str, data, indent: int = 1) -> Path:
        """A document (not rows) as JSON; values JSON lacks are written as their str()."""
        return self.save_text(name, json.dumps(data, indent=indent, default=str))

    def save_figure(self, name: str, figure) -> Path:
        """A matplotlib figure as a PNG (closed once written)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_figure(figure, target)

    def save_text(self, name: str, text: str) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return atomic_file.write(target, text)

    def save_code(self, kind: str, name: str, text: str) -> Path:
        """Keep one piece of code evidence (kind: 'ptx', 'sass', 'ptxas' log, ...) for `name`,
        stored by content: code/<sha256[:16]>.<kind> holds each distinct text once, and
        code/index.csv maps name, kind -> file. Returns the file's path."""
        data = text.encode()
        file = f"{hashlib.sha256(data).hexdigest()[:16]}.{_slug(kind)}"
        code = self.path / "code"
        code.mkdir(exist_ok=True)
        if not (code / file).exists():
            (code / file).write_bytes(data)
        index = code / "index.csv"
        new = not index.exists()
        with index.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["name", "kind", "file", "bytes"])
            writer.writerow([name, kind, file, len(data)])
        return code / file

    def save_gpu_state(self, label: str) -> None:
        """NVML snapshot of the GPU (clocks, power, limits, temperatures, throttle reasons) for the
        audit trail, as nvml-<label>.txt; nothing without NVML. Older run folders hold
        nvidia-smi-<label>.txt instead."""
        text = nvml.snapshot()
        if text:
            self.save_text(f"nvml-{label}.txt", text)

    def save_context(self, context: dict) -> None:
        self.save_json("context.json", context, indent=2)


def kept_message(folders: list[RunFolder]) -> str:
    """What an interrupted command kept, read from its run folders as they are on disk: each
    folder with rows and their count, or that nothing was saved."""
    kept, empty = [], []
    for folder in folders:
        if not folder.path.is_dir():
            continue
        tables = folder.rows_kept()
        if tables:
            total = sum(tables.values())
            names = ", ".join(f"{name}.csv" for name in tables)
            kept.append(f"{total} row{'s' * (total != 1)} ({names}) kept in {folder.path}")
        else:
            empty.append(str(folder.path))
    if kept:
        return "; ".join(kept)
    if empty:
        return f"no rows were saved ({', '.join(empty)} holds no rows)"
    return "nothing was saved"


# The file types every PNG-writing command can also write (matplotlib with Pillow, nothing else).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")


def write_figure(figure, path: Path) -> Path:
    """Every PNG mmabench writes, at one resolution; the figure is closed afterwards."""
    import matplotlib.pyplot as plt

    try:
        figure.savefig(path, dpi=110)
    finally:
        plt.close(figure)
    return path


def mark_saturating(rows: list[dict]) -> None:
    """Flag, per form, the throughput row with the highest TFLOP/s `saturating` (True) and the
    other ok throughput rows False: the best point of a sweep, a best-of-N figure."""
    best: dict[str, dict] = {}
    for row in rows:
        if row.get("kind") == "throughput" and row.get("status") == "ok":
            row["saturating"] = False
            if row["form"] not in best or row["tflops"] > best[row["form"]]["tflops"]:
                best[row["form"]] = row
    for row in best.values():
        row["saturating"] = True
