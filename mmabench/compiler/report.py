"""The offline compiler report: every registered kernel x every target architecture, no GPU.

For each pair: ptxas -v (registers, spills, stack, static shared memory, barriers), nvdisasm
(the SASS opcode histogram) and the theoretical occupancy of the kernel's launch shape. Compiles
run in parallel threads (ptxas and nvdisasm are subprocesses, NVRTC releases the GIL), each
worker taking a chunk of kernels of one family and architecture that ptxas assembles in one
start (toolchain.assemble_many, ptx_batch), and are cached by the toolchain module (source,
options, tool version; the ptxas log is cached with the code). The SASS columns are added once
every kernel is built, a few nvdisasm calls for all of them (sassinfo.raw_summaries), because
each nvdisasm start costs more than most compiles.

A row's `status` is 'ok', 'n/a' (the kernel does not exist on that architecture), 'tool' (the
installed ptxas is too old for it; `message` says what to install) or 'error' (the compile
failed; `message` has the first lines of the log).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
from collections import Counter
from concurrent.futures import as_completed
from dataclasses import dataclass

from mmabench import hardware
from mmabench.compiler import registry, shared_code, toolchain
from mmabench.reporting.progress import Progress
from mmabench.core import workers
from mmabench.core.errors import ToolMissing, UserError
from mmabench.compiler import occupancy as occ_mod
from mmabench.compiler.resources import parse_ptxas_log, register_cap_overridden, setmaxnreg_values
from mmabench.compiler.sassinfo import Disassembler, columns_of, raw_summaries, sass_columns

WHEEL_PTXAS = toolchain.WHEEL_OF["ptxas"]


@dataclass
class Build:
    """One kernel on one architecture: the row, and the evidence behind it."""
    spec: registry.KernelSpec
    arch: str                       # as asked ('sm_90')
    target: str                     # as built ('sm_90a' for a kernel that needs it)
    row: dict
    ptx: str = ""
    log: str = ""
    cubin: bytes = b""              # empty for a kernel compiled in a batch: cubin_of() makes it
    sass: str = ""
    code: bytes | None = None       # its one code section (None: several, or not built)


# ---------------------------------------------------------------- targets and tool versions

def target_for(spec: registry.KernelSpec, arch: str) -> str | None:
    """The architecture to build `spec` for when `arch` is asked: sm_90 -> sm_90a for a kernel
    that needs the 'a' features; None if the kernel does not exist there."""
    target = arch
    if spec.arch_suffix_needed and not arch.endswith(spec.arch_suffix_needed):
        target = arch + spec.arch_suffix_needed
        if target not in hardware.arch_limits():
            return None
    return target if spec.supports(target) else None


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:2]) or (0,)


def ptxas_problem(target: str) -> str | None:
    """One line naming what to install when the ptxas found is too old for `target`."""
    need = hardware.arch_limits().get(target, {}).get("min_ptxas") or ""
    have = toolchain.tool_version("ptxas")
    if need and have and _version_tuple(have) < _version_tuple(need):
        return (f"ptxas {have} ({toolchain.find_tool('ptxas')}) is too old for {target} "
                f"(needs CUDA {need}+): pip install -U {WHEEL_PTXAS}, "
                "or put a newer ptxas first on PATH / in CUDA_HOME")
    return None


def _compile_problem(target: str, message: str) -> str | None:
    """A ptxas failure that means 'tool too old' rather than 'bad kernel'."""
    m = re.search(r"Unsupported \.version (\d+\.\d+); current version is '(\d+\.\d+)'", message)
    if m:
        return (f"ptxas {toolchain.tool_version('ptxas')} reads PTX ISA up to {m.group(2)}, the "
                f"kernel's PTX is ISA {m.group(1)} (from a newer NVRTC?): pip install -U "
                f"{WHEEL_PTXAS}, or put a newer ptxas first on PATH / in CUDA_HOME")
    if re.search(r"(Unknown|Unsupported|not defined for|Invalid).{0,40}(gpu|arch|target|sm_)",
                 message, re.I) or "Value '" + target in message:
        return (f"ptxas {toolchain.tool_version('ptxas')} does not know {target}: "
                f"pip install -U {WHEEL_PTXAS}")
    return None


# ---------------------------------------------------------------- one build

def _base_row(spec: registry.KernelSpec, arch: str, target: str | None) -> dict:
    return {
        "kernel": spec.name, "family": spec.family, "entry": spec.entry, "arch": arch,
        "target": target or "", "acc": spec.acc, "twin": spec.twin or "",
        "threads_per_block": spec.threads_per_block,
        "dynamic_smem_bytes": spec.dynamic_smem_bytes,
        "ptxas_options": " ".join(spec.ptxas_options),
        "status": "ok", "message": "",
    }


class _Run:
    """What the builds of one report share: each kernel's PTX made once per target (a CUDA C++
    family's NVRTC compile is not repeated by parallel workers), and the disassembler."""

    def __init__(self, sass_ok: bool = True):
        self.sass_ok = sass_ok
        self.disassemble = Disassembler()
        self._lock = threading.Lock()
        self._spec_locks: dict[str, threading.Lock] = {}

    def ptx(self, spec: registry.KernelSpec, target: str) -> str:
        with self._lock:
            lock = self._spec_locks.setdefault(spec.name, threading.Lock())
        with lock:                      # the first target compiles, the others hit the cache
            return spec.ptx(target)


def build_one(spec: registry.KernelSpec, arch: str, run: _Run | None = None,
              with_sass: bool = True) -> Build:
    """Compile one kernel for one architecture and fill its row (never raises for the kernel's
    own failure: the row says 'error'; a missing ptxas does raise ToolMissing). with_sass=False
    leaves the SASS columns to add_sass_batched."""
    return build_many([(spec, arch)], run, with_sass)[0]


def build_many(pairs: list[tuple[registry.KernelSpec, str]], run: _Run | None = None,
               with_sass: bool = True) -> list[Build]:
    """build_one for each (spec, arch) of `pairs`, the kernels of one target and ptxas options
    assembled together (toolchain.assemble_many: fewer ptxas starts, the same rows)."""
    run = run or _Run()
    builds = [_prepare(spec, arch, run) for spec, arch in pairs]
    groups: dict[tuple, list[Build]] = {}
    for build in builds:
        if build.ptx:
            groups.setdefault((build.target, tuple(build.spec.ptxas_options)), []).append(build)
    for (target, options), group in groups.items():
        for build, asm in zip(group, toolchain.assemble_many([b.ptx for b in group], target, options)):
            _assembled(build, asm)
            if with_sass and run.sass_ok and build.row["status"] == "ok":
                add_sass(build, run)
    return builds


def _prepare(spec: registry.KernelSpec, arch: str, run: _Run) -> Build:
    """The build of `spec` for `arch` up to its PTX (`ptx` empty when its row is already final:
    n/a, a tool missing, PTX generation failed)."""
    target = target_for(spec, arch)
    row = _base_row(spec, arch, target)
    if target is None:
        need = f"sm_{spec.min_sm}{spec.arch_suffix_needed}+"
        row.update(status="n/a", message=f"{spec.name} needs {need}")
        return Build(spec, arch, "", row)
    limit = hardware.smem_per_block(target)
    if spec.dynamic_smem_bytes > limit:
        # it cannot launch there: not compiled (one message per target, however many kernels)
        row.update(status="n/a", message=f"blocks of more than {limit // 1024} KiB of shared "
                                         f"memory on {target}")
        return Build(spec, arch, target, row)
    problem = ptxas_problem(target)
    if problem:
        row.update(status="tool", message=problem,
                   needs_ptxas=hardware.arch_limits()[target]["min_ptxas"])
        return Build(spec, arch, target, row)
    build = Build(spec, arch, target, row)
    try:
        ptx = run.ptx(spec, target)
    except ToolMissing as exc:          # e.g. NVRTC for a CUDA C++ family
        row.update(status="tool", message=str(exc))
        return build
    except Exception as exc:            # a family's bug must not sink the other kernels' rows
        row.update(status="error", message=f"PTX generation failed: {type(exc).__name__}: {exc}")
        return build
    build.ptx = ptx
    row["ptx_sha256"] = hashlib.sha256(ptx.encode()).hexdigest()[:16]
    return build


def _assembled(build: Build, asm: toolchain.Assembled | UserError) -> None:
    """Fill the row of `build` from its ptxas result (or the error it gave)."""
    row, target = build.row, build.target
    try:
        if isinstance(asm, UserError):
            raise asm
        build.cubin, build.log, build.code = asm.cubin, asm.log, asm.code
        res = parse_ptxas_log(asm.log, build.spec.entry, target)
    except UserError as exc:
        msg = str(exc)
        problem = _compile_problem(target, msg)
        row.update(status="tool" if problem else "error", message=problem or msg)
        return
    _fill_resources(build, res)


def cubin_of(build: Build) -> bytes:
    """The build's own cubin: a kernel compiled in a batch (toolchain.assemble_many) has none, so
    it is assembled alone (cached) for what needs the whole file (its labelled SASS, the driver)."""
    if not build.cubin and build.ptx:
        own = toolchain.assemble(build.ptx, build.target, tuple(build.spec.ptxas_options))
        build.cubin, build.log = own.cubin, own.log
    return build.cubin


def _fill_resources(build: Build, res) -> None:
    """The row's ptxas resources (`res`) and the theoretical occupancy on the build's target."""
    spec, row = build.spec, build.row
    notes = list(res.notes)
    cap_note = register_cap_overridden(build.ptx, spec.entry, tuple(spec.ptxas_options))
    if cap_note:
        notes.append(cap_note)
    row.update({
        "regs": res.registers, "spill_store_bytes": res.spill_store_bytes,
        "spill_load_bytes": res.spill_load_bytes, "stack_frame_bytes": res.stack_frame_bytes,
        "cumulative_stack_bytes": res.cumulative_stack_bytes,
        "static_smem_bytes": res.static_smem_bytes, "barriers": res.barriers,
        "cmem0_bytes": res.cmem0_bytes, "notes": "; ".join(notes),
        "setmaxnreg": setmaxnreg_values(build.ptx),
    })
    occ = occ_mod.theoretical(build.target, res.registers, spec.threads_per_block,
                              res.static_smem_bytes, spec.dynamic_smem_bytes, res.barriers)
    row.update({
        "blocks_per_sm": occ.blocks_per_sm, "warps_per_sm": occ.warps_per_sm,
        "max_warps_per_sm": occ.max_warps_per_sm, "occupancy": round(occ.fraction, 4),
        "occupancy_limiter": occ.limiter,
        **{f"blocks_limit_{k}": v for k, v in occ.limits.items()},
    })


def reuse_build(source: Build, arch: str, ptx: str, checked_with: str) -> Build:
    """The build of `source`'s kernel for `arch` made of `source` (same code, shared_code): its
    cubin, ptxas log and resources, the occupancy for `arch`'s limits. `ptx`: the kernel's PTX for
    `arch`; `checked_with`: the kernel built for both that showed the code to be the same."""
    row = _base_row(source.spec, arch, arch)
    build = Build(source.spec, arch, arch, row, ptx=ptx, log=source.log, cubin=source.cubin,
                  code=source.code)
    row.update(ptx_sha256=hashlib.sha256(ptx.encode()).hexdigest()[:16],
               code_from=source.target, code_checked_with=checked_with)
    _fill_resources(build, parse_ptxas_log(source.log, source.spec.entry, source.target))
    return build


def add_sass(build: Build, run: _Run) -> None:
    """Disassemble one build's cubin (whole, as ELF) and fill its SASS columns."""
    try:
        build.sass, build.row["sass_tool"] = run.disassemble(cubin_of(build), build.target)
        hist, columns = sass_columns(build.sass, build.spec.entry)
        _fill_sass_columns(build.row, hist, columns, build.spec)
    except ToolMissing as exc:
        build.row["message"] = str(exc)
    except UserError as exc:
        build.row.update(status="error", message=str(exc))


def _fill_sass_columns(row: dict, hist, columns: dict, spec) -> None:
    row.update(columns)
    row["n_instructions"] = sum(hist.values())
    row["sass_histogram"] = json.dumps(dict(sorted(hist.items())))
    # a family without tensor ops names the opcodes its kernels are about (softmax: MUFU.EX2...)
    key = spec.tags.get("key_opcodes")
    if key:
        from mmabench.compiler import sass

        row["key_ops"] = sass.counts_text({op: hist[op] for op in key if hist.get(op)})


def add_sass_batched(builds: list[Build], run: _Run, map_fn=map, workers: int = 1) -> None:
    """The SASS columns of many builds with few nvdisasm starts (sassinfo.raw_summaries); a build
    whose cubin is not one plain code section is disassembled whole (add_sass). `builds` in the
    report's architecture order (which target decodes code shared within a major architecture);
    `workers`: how many calls map_fn runs at once."""
    todo = [b for b in builds if b.row["status"] == "ok" and (b.cubin or b.code)]
    try:
        tool = f"nvdisasm {toolchain.tool_version('nvdisasm')}"
        summaries = raw_summaries([(b.code, b.target) for b in todo], map_fn, workers)
    except ToolMissing:               # cuobjdump only: the per-cubin path
        summaries = [None] * len(todo)
    whole = []
    for build, summary in zip(todo, summaries):
        if summary is None:
            whole.append(build)
            continue
        hist = Counter(summary["hist"])
        build.row["sass_tool"] = tool
        _fill_sass_columns(build.row, hist, columns_of(hist, summary["hfma2"]), build.spec)
    list(map_fn(lambda b: add_sass(b, run), whole))


def attach_sass_text(builds: list[Build], jobs: int | None = None) -> None:
    """The whole SASS text of each built cubin (for --keep-code; the columns do not need it)."""
    run = _Run()
    todo = [b for b in builds if (b.cubin or b.code) and not b.sass]

    def text(b: Build) -> None:
        try:
            b.sass = run.disassemble(cubin_of(b), b.target)[0]
        except UserError:             # ToolMissing included: the row already says so
            pass
    with workers.pool(jobs or default_jobs()) as pool:     # Ctrl-C: nvdisasm killed
        list(pool.map(text, todo))


# ---------------------------------------------------------------- the report

# A KernelSpec with tags["report_default"] = False (e.g. a family's extended grid) is left out
# of the report when no kernel or family is named, to keep the default report quick; naming its
# family or the kernel, or all_kernels=True (--all), includes it.
DEFAULT_TAG = "report_default"
# A KernelSpec with tags["diff_only"] = True is no kernel a benchmark runs, only the f32 twin of
# one at that one's tiles: built for --diff acc (with_twins) or when named, never by --all or
# --family alone (on 2 cores the twins were a tenth of `regs --all`).
DIFF_ONLY_TAG = "diff_only"


def select_kernels(kernels=None, families=None, all_kernels: bool = False) -> list[registry.KernelSpec]:
    """KernelSpecs by name / glob pattern (or the specs themselves), within `families`."""
    import fnmatch

    if families:
        bad = [f for f in families if f not in registry.FAMILIES]
        if bad:
            raise UserError(f"unknown family {bad[0]!r}; accepted: {', '.join(registry.FAMILIES)}")
    pool = registry.all_kernels(list(families) if families else None)
    if kernels is None:
        pool = [s for s in pool if not s.tags.get(DIFF_ONLY_TAG)]
        if families or all_kernels:
            return pool
        return [s for s in pool if s.tags.get(DEFAULT_TAG, True) is not False]
    chosen, names = [], [s.name for s in pool]
    for item in kernels:
        if isinstance(item, registry.KernelSpec):
            chosen.append(item)
            continue
        hits = [s for s in pool if fnmatch.fnmatchcase(s.name, item)]
        if not hits:
            shown = ", ".join(names[:40]) + (f", ... ({len(names)} in all)" if len(names) > 40 else "")
            raise UserError(f"unknown kernel {item!r}; accepted: {shown} "
                            "(or a pattern such as 'mma.*.thr')")
        chosen += [s for s in hits if s not in chosen]
    return chosen


def left_out_of_default() -> list[str]:
    """Names of the registered kernels the default report skips (tagged report_default=False)."""
    return [s.name for s in registry.all_kernels()
            if s.tags.get(DEFAULT_TAG, True) is False and not s.tags.get(DIFF_ONLY_TAG)]


def diff_only_twins(specs: list[registry.KernelSpec]) -> list[str]:
    """Names of the twins (tagged diff_only) of `specs` that are not among them: what --diff acc
    would add."""
    have = {s.name for s in specs}
    diff_only = {s.name for s in registry.all_kernels() if s.tags.get(DIFF_ONLY_TAG)}
    return sorted({s.twin for s in specs if s.twin and s.twin not in have and s.twin in diff_only})


def with_twins(specs: list[registry.KernelSpec]) -> list[registry.KernelSpec]:
    """`specs` plus the accumulator twin of each (for --diff acc); a twin name that is not
    registered is skipped (its kernel then has no diff row)."""
    have = {s.name for s in specs}
    if all(not s.twin or s.twin in have for s in specs):
        return specs
    registered = {s.name: s for s in registry.all_kernels()}
    extra = []
    for s in specs:
        if s.twin and s.twin not in have and s.twin in registered:
            extra.append(registered[s.twin])
            have.add(s.twin)
    return specs + extra


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# The pairs one worker builds at a time: one ptxas start for up to CHUNK_MAX kernels of one
# family and architecture (toolchain.assemble_many). Chunks shrink as the work left does
# ("guided" scheduling: the work left over CHUNKS_PER_WORKER x workers), so that the last ones
# are small and the workers finish together.
CHUNK_MAX = 12
CHUNKS_PER_WORKER = 3


def work_chunks(pairs: list[tuple], jobs: int) -> list[list[tuple]]:
    """`pairs` (spec, arch) in order, cut where the family or architecture changes and into
    chunks of at most CHUNK_MAX, smaller towards the end."""
    chunks: list[list[tuple]] = []
    size = 0
    for i, (spec, arch) in enumerate(pairs):
        last = chunks[-1] if chunks else None
        if last and len(last) < size and (last[0][0].family, last[0][1]) == (spec.family, arch):
            last.append((spec, arch))
            continue
        left = len(pairs) - i
        size = max(1, min(CHUNK_MAX, -(-left // (CHUNKS_PER_WORKER * max(1, jobs)))))
        chunks.append([(spec, arch)])
    return chunks


def compile_builds(kernels=None, archs=None, jobs: int | None = None, families=None,
                   all_kernels: bool = False, progress: str | None = None,
                   share_code: bool = True) -> list[Build]:
    """Every selected kernel x architecture, compiled in parallel; Builds in kernel, arch order.
    `progress`: a label to show a progress line on stderr with (None: silent). `share_code`: an
    architecture whose code ptxas writes the same as another's reuses its builds once a check
    build has shown it (shared_code); False compiles each."""
    if isinstance(kernels, (str, registry.KernelSpec)):
        kernels = [kernels]
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",")]
    specs = select_kernels(kernels, families, all_kernels)
    if isinstance(archs, str):
        archs = [archs]
    arch_list = hardware.parse_archs(",".join(archs)) if archs else list(hardware.DEFAULT_ARCHS)
    toolchain.find_tool("ptxas")            # no ptxas at all: one line, nothing to report
    try:
        toolchain.find_tool("nvdisasm")
        sass_ok = True
    except ToolMissing:
        try:
            toolchain.find_tool("cuobjdump")
            sass_ok = True
        except ToolMissing:
            sass_ok = False
    # Architecture-major order: parallel workers start on different kernels, so a kernel's PTX
    # (an NVRTC compile for CUDA C++ families) is made once, before its other targets need it.
    pairs = [(s, a) for a in arch_list for s in specs]
    arch_order = {(s.name, a): i for i, (s, a) in enumerate(pairs)}
    run = _Run(sass_ok)
    jobs = jobs or default_jobs()
    bar = Progress(len(pairs), progress) if progress else None
    order = {(s.name, a): i for i, (s, a) in enumerate((s, a) for s in specs for a in arch_list)}
    reusable = shared_code.reuse_plan(specs, arch_list, target_for) if share_code else {}
    built: list[Build] = []

    def done(build: Build) -> Build:        # called by this thread only
        built.append(build)
        if bar:
            bar.step(f"{build.spec.name} {build.target or build.arch}")
        return build

    serial = jobs <= 1 or len(pairs) <= 1
    try:
        # Ctrl-C in the pool: queued compiles cancelled, ptxas and nvdisasm killed
        with contextlib.nullcontext() if serial else workers.pool(jobs) as pool:
            def compile_all(todo) -> list[Build]:
                absent = [(s, a) for s, a in todo if target_for(s, a) is None]     # a row, no build
                chunks = work_chunks([(s, a) for s, a in todo if target_for(s, a)], jobs)
                listed = [done(b) for b in build_many(absent, run, False)]
                if serial:
                    return listed + [done(b) for chunk in chunks for b in build_many(chunk, run, False)]
                futures = [pool.submit(build_many, chunk, run, False) for chunk in chunks]
                return listed + [done(b) for f in as_completed(futures) for b in f.result()]

            firsts = compile_all([(s, a) for s, a in pairs if (s.name, a) not in reusable])
            if reusable:
                _build_or_reuse(reusable, specs, firsts, run, compile_all, done)
            if sass_ok:
                # one pass after the compiles (nvdisasm as a third process beside them gained nothing)
                built.sort(key=lambda b: arch_order[(b.spec.name, b.arch)])
                add_sass_batched(built, run, *(() if serial else (pool.map, jobs)))
    except KeyboardInterrupt:
        for b in built:   # interrupted while the SASS was being read: say so in the row
            if sass_ok and b.row["status"] == "ok" and "sass_histogram" not in b.row:
                b.row["message"] = "interrupted before its SASS was read"
        raise Interrupted(sorted(built, key=lambda b: order[(b.spec.name, b.arch)])) from None
    return sorted(built, key=lambda b: order[(b.spec.name, b.arch)])


def _build_or_reuse(reusable: dict, specs, sources: list[Build], run: _Run, compile_all,
                    record) -> list[Build]:
    """The builds `reusable` names (shared_code.reuse_plan), made once their source builds
    (among `sources`) exist: per family and architecture, the kernel with the most code is built
    (the check); if its code and resources equal its source build's, the family's other kernels
    reuse theirs, else they are compiled too. A kernel whose PTX differs between the two
    architectures is compiled. `compile_all(pairs)` builds (and records) them, `record(build)`
    records a reused one; returns the new builds."""
    spec_of = {s.name: s for s in specs}
    source_of = {(b.spec.name, b.arch): b for b in sources}
    groups: dict[tuple, list] = {}      # (family, arch) -> [(spec, source build, PTX for arch)]
    compile_now = []
    for (name, arch), source_arch in reusable.items():
        spec, source = spec_of[name], source_of[(name, source_arch)]
        try:
            ptx = run.ptx(spec, arch) if source.row["status"] == "ok" else ""
        except Exception:               # build_one makes the row that says what failed
            ptx = ""
        if ptx and shared_code.same_ptx(source.ptx, ptx):
            groups.setdefault((spec.family, arch), []).append((spec, source, ptx))
        else:
            compile_now.append((spec, arch))
    checks = {key: shared_code.check_kernel([(s, source) for s, source, _ in group])
              for key, group in groups.items()}
    new = compile_all(compile_now + [(spec, arch) for (_, arch), (spec, _) in checks.items()])
    checked = {(b.spec.name, b.arch): b for b in new}
    compile_later = []
    for (family, arch), group in groups.items():
        check, check_source = checks[(family, arch)]
        same = shared_code.agree(checked[(check.name, arch)], check_source)
        for spec, source, ptx in group:
            if spec is check:
                continue
            if same:
                new.append(record(reuse_build(source, arch, ptx, check.name)))
            else:
                compile_later.append((spec, arch))
    return new + compile_all(compile_later)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during compile_builds, with the builds finished by then (`builds`, in report
    order; their SASS columns may be missing), so that the caller can keep their rows."""

    def __init__(self, builds: list[Build]):
        super().__init__()
        self.builds = builds


def compile_report(kernels=None, archs=None, jobs: int | None = None, families=None,
                   all_kernels: bool = False) -> list[dict]:
    """Rows (one per kernel x arch) of registers, spills, stack, shared memory, barriers,
    occupancy and SASS counts. `kernels`: names, glob patterns or KernelSpecs (default: every
    registered kernel not tagged report_default=False; all_kernels=True for those too);
    `families`: e.g. ['mma']; `archs`: e.g. ['sm_80', 'sm_90'] (default archs.DEFAULT);
    `jobs`: parallel compiles (default: the CPUs available)."""
    return [b.row for b in compile_builds(kernels, archs, jobs, families, all_kernels)]


def tool_messages(rows: list[dict]) -> list[str]:
    """The distinct 'install this' lines: one for all architectures the ptxas found is too old
    for, one per other tool problem."""
    too_old: dict[str, str] = {}
    lines: list[str] = []
    for r in rows:
        msg = r.get("message") or ""
        if r.get("status") == "tool" and r.get("needs_ptxas"):
            too_old[r["target"]] = r["needs_ptxas"]
        elif (r.get("status") == "tool" or "install" in msg) and msg not in lines:
            lines.append(msg)
    if too_old:
        which = ", ".join(f"{t} (needs {v}+)" for t, v in too_old.items())
        lines.insert(0, f"ptxas {toolchain.tool_version('ptxas')} ({toolchain.find_tool('ptxas')}) "
                        f"is too old for {which}; those are left out, the other architectures "
                        f"are reported. Install a newer one: pip install -U {WHEEL_PTXAS} "
                        "(or put a newer ptxas first on PATH / in CUDA_HOME)")
    return lines


# ---------------------------------------------------------------- --diff acc

def _is_f16(acc: str) -> bool:
    return "f16" in acc


def has_acc_pairs(specs: list[registry.KernelSpec]) -> bool:
    """Whether --diff acc has anything to show: an f16-accumulate kernel whose twin is among
    `specs` (checked before compiling)."""
    names = {s.name for s in specs}
    return any(_is_f16(s.acc) and s.twin in names for s in specs)


def diff_acc(rows: list[dict]) -> list[dict]:
    """Each f16-accumulate kernel beside its twin (the same kernel with f32 accumulation), per
    architecture: registers, spills and occupancy, and the change (f16 minus f32)."""
    by_key = {(r["kernel"], r["arch"]): r for r in rows}
    out = []
    for r in rows:
        if not (_is_f16(r.get("acc", "")) and r.get("twin")):
            continue
        t = by_key.get((r["twin"], r["arch"]))
        # the side with more f16 accumulators is the one listed (each pair once)
        if t is None or t.get("acc", "").count("f16") >= r["acc"].count("f16"):
            continue
        d = {"kernel": r["kernel"], "twin": t["kernel"], "arch": r["arch"],
             "acc": r["acc"], "twin_acc": t["acc"]}
        if r["status"] != "ok" or t["status"] != "ok":
            d.update(status="n/a" if "n/a" in (r["status"], t["status"]) else "error",
                     message=r["message"] or t["message"])
            out.append(d)
            continue
        d["status"] = "ok"
        for key in ("regs", "spill_store_bytes", "spill_load_bytes", "stack_frame_bytes",
                    "blocks_per_sm", "warps_per_sm", "occupancy"):
            a, b = r.get(key), t.get(key)
            d[f"{key}_f16"], d[f"{key}_f32"] = a, b
            d[f"{key}_delta"] = (round(a - b, 4) if isinstance(a, (int, float))
                                 and isinstance(b, (int, float)) else None)
        out.append(d)
    return out
