"""The offline CUDA toolchain: find ptxas / nvdisasm / cuobjdump / NVRTC and run them, with a cache.

Tools are looked up on PATH, under CUDA_HOME / CUDA_PATH, then inside the NVIDIA wheels on PyPI
(through cuda.pathfinder), so `pip install mmabench` is enough for every offline report.
Every compile is cached by (source, options, tool version); the cache keeps the tool's log too,
because a cached result without its log would read as "0 spills".
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mmabench.compiler import ptx_batch
from mmabench.compiler.cubin import code_sections
from mmabench.core import atomic_file, workers
from mmabench.core.errors import ToolMissing, UserError

# Which PyPI wheel provides each tool (for the install hint).
WHEEL_OF = {
    "ptxas": "nvidia-cuda-nvcc",
    "nvcc": "nvidia-cuda-nvcc",
    "nvdisasm": "nvidia-cuda-nvdisasm",
    "cuobjdump": "nvidia-cuda-cuobjdump",
    "nvrtc": "nvidia-cuda-nvrtc",
    "compute-sanitizer": "nvidia-cuda-sanitizer-api",
}


class CompileError(UserError):
    """ptxas or NVRTC rejected a source; the message carries the first lines of its log."""


_CACHE_CHECKED: dict[str, Path] = {}   # asked-for folder (absolute) -> the folder used


def cache_dir() -> Path:
    """The compile cache: $MMABENCH_CACHE, else $XDG_CACHE_HOME/mmabench (~/.cache/mmabench).

    Cubins from it are loaded and run on the GPU, so it must be this user's own folder: owned by
    this user and writable by nobody else (one we create is 0700). That is checked at every call,
    so before any cached file is read. The full check (created, probed for writing) runs once per
    folder asked for.

    A folder that fails it is replaced, for this process only, by a private temporary folder
    (tempfile.mkdtemp: 0700, a name nobody can guess), with a one-line warning, rather than
    stopping: the cache only saves time, nothing in a brand-new private folder came from anyone
    else, and offline reports keep working on a read-only home. The warning names the folder and
    the fix.
    """
    root = os.path.abspath(os.environ.get("MMABENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mmabench"))
    used = _CACHE_CHECKED.get(root)
    if used is not None and not _unsafe_reason(used):
        return used
    path = Path(root)
    why = _unusable_reason(path)
    if why:
        path = _private_temporary_cache(path, why)
    _CACHE_CHECKED[root] = path
    return path


def _unsafe_reason(folder: Path) -> str:
    """Why files in `folder` could have been put there by someone else ('' if they could not).
    A symlink is followed: what counts is the folder the files are in."""
    try:
        st = os.stat(folder)
    except OSError as exc:
        return f"cannot be used ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if st.st_uid != os.getuid():
        return f"belongs to another user (uid {st.st_uid})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
    return ""


def _make_private_folder(folder: Path) -> None:
    """Create `folder` (and its parents) if missing; the folder itself is made 0700."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return        # not ours to change: _unsafe_reason judges it as it is
    os.chmod(folder, 0o700)   # the umask may have taken bits away that the owner needs


def _unusable_reason(folder: Path) -> str:
    """Why `folder` cannot be the cache ('' once it exists, is safe and can be written)."""
    try:
        _make_private_folder(folder)
    except OSError as exc:
        return f"cannot be created ({exc.strerror})"
    why = _unsafe_reason(folder)
    if why:
        return why
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".probe-"):
            return ""
    except OSError as exc:
        return f"cannot be written ({exc.strerror})"


def _private_temporary_cache(refused: Path, why: str) -> Path:
    """A new 0700 folder of this process's own, removed when it exits; one warning line."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="mmabench-cache-"))
    except OSError as exc:
        raise UserError(f"cache folder {refused} {why}, and no private temporary folder could be "
                        f"made ({exc.strerror}); set MMABENCH_CACHE to a folder of your own") from None
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    print(f"mmabench: warning: cache folder {refused} {why}; using the private temporary folder "
          f"{folder} for this run (set MMABENCH_CACHE to a folder of your own, not writable by "
          f"others)", file=sys.stderr)
    return folder


def _candidates(name: str) -> list[Path]:
    found = []
    if shutil.which(name):
        found.append(Path(shutil.which(name)))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        home = os.environ.get(var)
        if home and (Path(home) / "bin" / name).is_file():
            found.append(Path(home) / "bin" / name)
    try:
        from cuda import pathfinder

        wheel = pathfinder.find_nvidia_binary_utility(name)
        if wheel:
            found.append(Path(wheel))
    except Exception:  # pathfinder missing or does not know the tool
        pass
    return list(dict.fromkeys(p.resolve() for p in found))


@functools.lru_cache(maxsize=None)
def _release(path: Path) -> tuple[int, ...]:
    """(13, 5) from a tool's `--version`; () if it does not say."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    m = re.search(r"release (\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else ()


@functools.lru_cache(maxsize=None)
def find_tool(name: str) -> Path:
    """Path of a CUDA binary utility, or ToolMissing naming the wheel that provides it.

    Candidates come from PATH, CUDA_HOME/CUDA_PATH and the NVIDIA wheels; the newest release
    wins, so ptxas can read what the (usually newest) NVRTC wrote and knows the newest targets.
    """
    candidates = _candidates(name)
    if candidates:
        return max(candidates, key=_release)
    raise ToolMissing(f"{name} not found on PATH, under CUDA_HOME or in the NVIDIA wheels; "
                      f"install it with: pip install {WHEEL_OF.get(name, 'nvidia-cuda-nvcc')}")


@functools.lru_cache(maxsize=None)
def tool_version(name: str) -> str:
    """'13.5' style release of a binary tool (empty string if it does not say)."""
    return ".".join(map(str, _release(find_tool(name))))


def _nvrtc():
    try:
        from cupy_backends.cuda.libs import nvrtc
        nvrtc.getVersion()
    except Exception as exc:
        raise ToolMissing(f"NVRTC not usable ({exc}); install it with: pip install nvidia-cuda-nvrtc "
                          "cupy-cuda13x") from None
    return nvrtc


@functools.lru_cache(maxsize=None)
def nvrtc_version() -> str:
    major, minor = _nvrtc().getVersion()
    return f"{major}.{minor}"


def toolchain_info() -> dict[str, str]:
    """Where each tool was found and its version; 'missing: <hint>' for the absent ones."""
    info = {}
    for name in ("ptxas", "nvdisasm", "cuobjdump"):
        try:
            info[name] = f"{find_tool(name)} ({tool_version(name)})"
        except ToolMissing as exc:
            info[name] = f"missing: {exc}"
    try:
        info["nvrtc"] = nvrtc_version()
    except ToolMissing as exc:
        info["nvrtc"] = f"missing: {exc}"
    return info


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Assembled:
    """A cubin and the ptxas `-v` log that produced it. A kernel compiled in a batch
    (assemble_many) has no cubin of its own: `batched_code` is its code section, `log` its lines
    of the batch's log."""
    arch: str
    cubin: bytes
    log: str
    batched_code: bytes = b""

    @property
    def code(self) -> bytes | None:
        """The kernel's code: its one code section (None if its cubin has several)."""
        if self.batched_code:
            return self.batched_code
        sections = code_sections(self.cubin)
        return sections[0][1] if sections and len(sections) == 1 else None


def _ptxas_call(ptxas: Path | None, arch: str, options: tuple[str, ...]) -> tuple[Path, tuple, str]:
    """The binary, its options and the version string that keys the cache."""
    version = ".".join(map(str, _release(ptxas))) + f"@{ptxas}" if ptxas else tool_version("ptxas")
    return ptxas or find_tool("ptxas"), ("-arch=" + arch, "-v", *options), version


def _run_ptxas(ptxas: Path, opts: tuple, ptx: str, arch: str) -> tuple[bytes, str]:
    """(cubin, log) of one ptxas start; CompileError on failure or on a log without a report."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "k.ptx", Path(tmp) / "k.cubin"
        src.write_text(ptx)
        proc = workers.run([str(ptxas), *opts, "-o", str(out), str(src)])
        log = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise CompileError(f"ptxas {arch} failed: " + " | ".join(log.strip().splitlines()[:4]))
        if "Compiling entry function" not in log:
            raise CompileError(f"ptxas {arch} gave no resource log; refusing to report it as empty")
        return out.read_bytes(), log


def _cached_paths(kind: str, version: str, opts: tuple, ptx: str, *suffixes: str) -> list[Path]:
    """The cache files of one ptxas result ('ptxas': a cubin of its own, 'ptxas-batched': a
    kernel's part of a batch), the log last: it is written last and marks the result whole."""
    key = _key(kind, version, " ".join(opts), ptx)
    return [cache_dir() / f"{key}{suffix}" for suffix in (*suffixes, ".ptxas.log")]


def _read_assembled(arch: str, paths: list[Path]) -> Assembled | None:
    """A cached result (cubin paths: ['.cubin', log]; batched: ['.code', log]), None if absent."""
    if not all(path.exists() for path in paths):
        return None
    body, log = paths[0].read_bytes(), paths[1].read_text(encoding="utf-8")
    return (Assembled(arch, body, log) if paths[0].suffix == ".cubin"
            else Assembled(arch, b"", log, batched_code=body))


def assemble(ptx: str, arch: str, options: tuple[str, ...] = (),
             ptxas: Path | None = None) -> Assembled:
    """ptxas -v for one architecture (e.g. 'sm_90', 'sm_90a'), cached; CompileError on failure.
    `ptxas`: another binary than the project's (e.g. the one Triton ships); its release and path
    are part of the cache key."""
    ptxas, opts, version = _ptxas_call(ptxas, arch, options)
    paths = _cached_paths("ptxas", version, opts, ptx, ".cubin")
    cached = _read_assembled(arch, paths)
    if cached:
        return cached
    cubin, log = _run_ptxas(ptxas, opts, ptx, arch)
    # whole files: a run killed mid-write, or another run reading now, never sees half of one
    atomic_file.write(paths[0], cubin)
    atomic_file.write(paths[1], log)
    return Assembled(arch, cubin, log)


def assemble_many(ptxs: list[str], arch: str, options: tuple[str, ...] = ()
                  ) -> list[Assembled | UserError]:
    """assemble() for several kernels of one architecture and options, with as few ptxas starts
    as ptx_batch allows: each cached one as before, the others joined into one module where they
    can be, each compiled alone otherwise (and all of them alone if the joined compile fails, so
    that an error is its own kernel's). A kernel's failure is its item (CompileError), not raised;
    a missing ptxas is raised (ToolMissing)."""
    ptxas, opts, version = _ptxas_call(None, arch, options)
    out: list[Assembled | UserError | None] = [None] * len(ptxs)
    batched_at, todo = {}, []
    for i, ptx in enumerate(ptxs):
        batched_at[i] = _cached_paths("ptxas-batched", version, opts, ptx, ".code")
        out[i] = (_read_assembled(arch, _cached_paths("ptxas", version, opts, ptx, ".cubin"))
                  or _read_assembled(arch, batched_at[i]))
        if out[i] is None:
            todo.append(i)
    modules = {i: ptx_batch.module_of(ptxs[i]) for i in todo} if len(todo) > 1 else {}
    by_header: dict[str, list[int]] = {}
    for i, module in modules.items():
        if module is not None:
            by_header.setdefault(module.header, []).append(i)
    for members in by_header.values():
        if len(members) < 2:
            continue
        chosen = [modules[i] for i in members]
        try:
            cubin, log = _run_ptxas(ptxas, opts, ptx_batch.join(chosen), arch)
        except CompileError:
            continue                    # compiled alone below, each with its own error
        for i, part in zip(members, ptx_batch.split(cubin, log, chosen)):
            if part is None:
                continue
            code, kernel_log = part
            atomic_file.write(batched_at[i][0], code)
            atomic_file.write(batched_at[i][1], kernel_log)          # written last
            out[i] = Assembled(arch, b"", kernel_log, batched_code=code)
    for i in todo:
        if out[i] is None:
            try:
                out[i] = assemble(ptxs[i], arch, options)
            except ToolMissing:
                raise
            except UserError as exc:
                out[i] = exc
    return out


NVDISASM_FLAGS = ("-c", "-ndf")   # code only; no data-flow analysis (same instructions, ~25% faster)


def _run_on_cubin(args: list[str], cubin: bytes, what: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.cubin"
        src.write_bytes(cubin)
        proc = workers.run([*args, str(src)])
    if proc.returncode != 0:
        raise CompileError(f"{what} failed: " + (proc.stderr.strip() or "?").splitlines()[0][:300])
    return proc.stdout


def _cached_sass(kind: str, cubin: bytes, make) -> str:
    path = cache_dir() / f"{_key(kind, hashlib.sha256(cubin).hexdigest())}.sass"
    if path.exists():
        return path.read_text(encoding="utf-8")
    text = make()
    atomic_file.write(path, text)
    return text


def disassemble_with_tool(cubin: bytes) -> tuple[str, str]:
    """SASS text of a cubin (cached) and the tool that made it ('nvdisasm 13.5').

    nvdisasm (with labels, so loops can be found); without it, `cuobjdump -sass`, its function
    headers rewritten to nvdisasm's section form so that one parser (sass.parse) reads both.
    ToolMissing (naming nvdisasm's wheel) when neither is there.
    """
    try:
        tool = find_tool("nvdisasm")
    except ToolMissing as first:
        try:
            tool = find_tool("cuobjdump")
        except ToolMissing:
            raise first from None
        version = tool_version("cuobjdump")

        def make():
            out = _run_on_cubin([str(tool), "-sass"], cubin, "cuobjdump")
            return re.sub(r"^\s*Function : (\S+)\s*$",
                          r'\t.section\t.text.\1,\n\t.other\t\1,@"STO_CUDA_ENTRY"', out, flags=re.M)
        return _cached_sass(f"cuobjdump-sass {version}", cubin, make), f"cuobjdump {version}"
    version = tool_version("nvdisasm")
    text = _cached_sass(f"nvdisasm {' '.join(NVDISASM_FLAGS)} {version}", cubin,
                        lambda: _run_on_cubin([str(tool), *NVDISASM_FLAGS], cubin, "nvdisasm"))
    return text, f"nvdisasm {version}"


def disassemble_raw(code: bytes, arch: str) -> str:
    """nvdisasm on raw instruction bytes (`-b`, no ELF) for `arch` ('sm_90a'): one call for the code
    of many kernels, because each nvdisasm start costs ~0.35 s of CPU whatever its input. Not
    cached; addresses (and branch targets) are offsets into `code`."""
    tool = find_tool("nvdisasm")
    decoder = "SM" + arch.split("_", 1)[1]
    return _run_on_cubin([str(tool), "-b", decoder, "-ndf"], code, "nvdisasm -b " + decoder)


def disassemble(cubin: bytes) -> str:
    """SASS text of a cubin (disassemble_with_tool without the tool's name)."""
    return disassemble_with_tool(cubin)[0]


def nvrtc_to_ptx(source: str, virtual_arch: str, options: tuple[str, ...] = (),
                 name: str = "kernel.cu") -> str:
    """CUDA C++ -> PTX with NVRTC for a virtual architecture (e.g. 'compute_80'), cached.

    PTX (not a cubin) comes back: the register report then goes through the same `assemble`
    path as the hand-written PTX, which sidesteps NVRTC's own log format and the cubin getters.
    """
    opts = ("--gpu-architecture=" + virtual_arch, "-std=c++17", *options)
    key = _key("nvrtc", nvrtc_version(), " ".join(opts), source)
    path = cache_dir() / f"{key}.ptx"
    if path.exists():
        return path.read_text(encoding="utf-8")
    nvrtc = _nvrtc()
    prog = nvrtc.createProgram(source, name, [], [])
    try:
        try:
            nvrtc.compileProgram(prog, list(opts))
        except Exception:
            log = nvrtc.getProgramLog(prog)
            raise CompileError(f"NVRTC {virtual_arch} failed: " +
                               " | ".join(l for l in log.splitlines() if "error" in l)[:600]) from None
        ptx = nvrtc.getPTX(prog)
    finally:
        nvrtc.destroyProgram(prog)
    if isinstance(ptx, bytes):
        ptx = ptx.decode()
    ptx = ptx.rstrip("\0")
    atomic_file.write(path, ptx)
    return ptx
