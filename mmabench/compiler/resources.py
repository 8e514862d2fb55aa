"""Reading the resource report of `ptxas -v`: registers, spills, stack, shared memory, barriers.

Two formats are accepted, both seen from real tools:

standalone ptxas (and nvcc -Xptxas -v)::

    ptxas info    : Compiling entry function 'k' for 'sm_80'
    ptxas info    : Function properties for k
        176 bytes stack frame, 348 bytes spill stores, 348 bytes spill loads
    ptxas info    : Used 32 registers, used 0 barriers, 176 bytes cumulative stack size, 372 bytes cmem[0]

NVRTC's program log with `--ptxas-options=-v` (the property line has a 'ptxas  .' prefix)::

    ptxas info    : Function properties for k
    ptxas         .     144 bytes stack frame, 404 bytes spill stores, 408 bytes spill loads

ptxas also prints coded performance advisories, as 'info' lines before the entry's block::

    ptxas info    : (C7510) Potential Performance Loss: wgmma.mma_async instructions are serialized
                    due to wgmma pipeline crossing function boundary at a function call in the function 'k' ...
    ptxas info    : (C7508) Potential Performance Loss: 'setmaxnreg' ignored; unable to determine ...

A log without the "Compiling entry function" block of the kernel asked for is an error, never
"0 registers, 0 spills": a compile cache that lost the log must not read as a clean kernel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mmabench.compiler.toolchain import CompileError

_PREFIX = re.compile(r"^\s*ptxas\s*(?:info\s*:|warning\s*:|\.)?\s*")
_COMPILING = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
_PROPS = re.compile(r"Function properties for (\S+)")
_STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_USED = re.compile(r"^Used (\d+) registers")
_ADVISORY = re.compile(r"\((C\d{4})\)")
_IN_FUNCTION = re.compile(r"in the function '([^']+)'")
_FIELDS = {
    "barriers": re.compile(r"used (\d+) barriers"),
    "cumulative_stack_bytes": re.compile(r"(\d+) bytes cumulative stack size"),
    "static_smem_bytes": re.compile(r"(\d+) bytes smem"),
    "cmem0_bytes": re.compile(r"(\d+) bytes cmem\[0\]"),
}

# The advisories the suite acts on, by meaning. ptxas gives each cause its own code (C7509 extern
# calls, C7510 a call inside the pipeline, C7515 non-wgmma instructions writing the accumulator,
# ...; C7504/C7508 for setmaxnreg), and new causes get new codes, so the message is matched.
ADVISORIES = {
    "wgmma serialized": "wgmma.mma_async instructions are serialized",
    "setmaxnreg ignored": "'setmaxnreg' ignored",
}


class ResourceLogError(CompileError):
    """The ptxas log does not hold the resource report of the kernel asked for."""


@dataclass(frozen=True)
class Resources:
    entry: str
    arch: str                      # as ptxas names it: 'sm_90a'
    registers: int
    spill_store_bytes: int
    spill_load_bytes: int
    stack_frame_bytes: int
    cumulative_stack_bytes: int    # frame + callees' frames (ptxas prints it only when > 0)
    static_smem_bytes: int
    barriers: int
    cmem0_bytes: int
    log_format: str                # 'ptxas' | 'nvrtc'
    notes: tuple[str, ...] = field(default=())   # ptxas warnings / overrides that concern the entry
    advisories: tuple[str, ...] = field(default=())   # coded lines '(C7510) ...' about the entry

    def advised(self, what: str) -> tuple[str, ...]:
        """The advisories of one kind of ADVISORIES ('wgmma serialized', ...) about the entry."""
        return tuple(a for a in self.advisories if ADVISORIES[what] in a)

    @property
    def spills(self) -> bool:
        return bool(self.spill_store_bytes or self.spill_load_bytes)

    # The short column names of the attention reports (attention/offline.py, attention/tune.py).
    @property
    def spill_stores(self) -> int:
        return self.spill_store_bytes

    @property
    def spill_loads(self) -> int:
        return self.spill_load_bytes

    @property
    def stack(self) -> int:
        return self.stack_frame_bytes


def _clean(line: str) -> str:
    return _PREFIX.sub("", line, count=1).strip()


def parse_ptxas_log(log: str, entry: str, arch: str | None = None) -> Resources:
    """The resource report of `entry` (for `arch`, if given) in a ptxas/NVRTC `-v` log."""
    if not log or not log.strip():
        raise ResourceLogError(f"empty ptxas log for {entry}: no resource report "
                               "(a cache that dropped the log?); refusing to report 0 spills")
    lines = log.replace("\0", "").splitlines()
    fmt = "nvrtc" if any(re.match(r"^\s*ptxas\s+\.", ln) for ln in lines) else "ptxas"

    found = None          # (arch, start line index) of the entry's compile block
    for idx, raw in enumerate(lines):
        m = _COMPILING.search(raw)
        if m and m.group(1) == entry and (arch is None or m.group(2) == arch):
            found = (m.group(2), idx)
            break
    if found is None:
        seen = sorted({f"{m.group(1)} ({m.group(2)})" for m in map(_COMPILING.search, lines) if m})
        raise ResourceLogError(
            f"no 'Compiling entry function' report for {entry!r}"
            + (f" on {arch}" if arch else "") + " in the ptxas log"
            + (f"; it reports: {', '.join(seen)}" if seen else " (no -v output at all?)"))
    log_arch, start = found

    # The entry's block runs until the next entry's "Compiling" line.
    end = next((j for j in range(start + 1, len(lines)) if _COMPILING.search(lines[j])), len(lines))
    block = [_clean(ln) for ln in lines[start + 1:end]]

    stack = used = None
    props_for = None
    for ln in block:
        m = _PROPS.search(ln)
        if m:
            props_for = m.group(1)
            continue
        m = _STACK.search(ln)
        if m and props_for == entry and stack is None:
            stack = tuple(int(g) for g in m.groups())
            continue
        if _USED.search(ln) and used is None:
            used = ln
    if stack is None or used is None:
        missing = "stack/spill line" if stack is None else "'Used N registers' line"
        raise ResourceLogError(f"ptxas log for {entry!r} on {log_arch} lacks its {missing}")

    values = {k: int(m.group(1)) if (m := rx.search(used)) else 0 for k, rx in _FIELDS.items()}
    # Warnings about this entry (or about no entry in particular), and ptxas replacing the
    # -maxrregcount cap with a limit of its own (.maxnreg / launch bounds). Its plain
    # "Overriding maximum register limit 256 ... with 32 of maxrregcount" is the cap working.
    notes = tuple(
        _clean(ln) for ln in lines
        if ("warning" in ln and (f"'{entry}'" in ln or "'" not in ln))
        or "Overriding global maxrregcount" in ln)
    # A coded advisory names the function it concerns, or none (then it is the module's).
    advisories = tuple(
        text for text in map(_clean, lines)
        if _ADVISORY.match(text)
        and ((m := _IN_FUNCTION.search(text)) is None or m.group(1) == entry))
    return Resources(
        entry=entry, arch=log_arch, registers=int(_USED.search(used).group(1)),
        spill_store_bytes=stack[1], spill_load_bytes=stack[2], stack_frame_bytes=stack[0],
        cumulative_stack_bytes=values["cumulative_stack_bytes"] or stack[0],
        static_smem_bytes=values["static_smem_bytes"], barriers=values["barriers"],
        cmem0_bytes=values["cmem0_bytes"], log_format=fmt, notes=notes, advisories=advisories)


# ptxas advisories that undo what a Hopper kernel is built for: a failed build, not a slow figure
FATAL_ADVISORIES = ("wgmma serialized", "setmaxnreg ignored")


def require_clean(res: Resources, name: str) -> Resources:
    """`res` unless ptxas serialized the wgmma pipeline (C7509, C7510, C7511, C7515, ...) or
    ignored setmaxnreg (C7504, C7508, ...); then a CompileError quoting it."""
    bad = [line for what in FATAL_ADVISORIES for line in res.advised(what)]
    if bad:
        raise CompileError(f"{name}: ptxas {bad[0]}")
    return res


_DIRECTIVES = re.compile(r"^\s*\.(maxnreg|maxntid|minnctapersm|reqntid)\b", re.M)
_SETMAXNREG = re.compile(r"setmaxnreg\.(inc|dec)\.sync\.aligned\.u32\s+(\d+)")


def setmaxnreg_values(ptx: str) -> str:
    """'inc 232, dec 40': the register counts a warp-specialized kernel's PTX asks its warpgroup
    roles for, in the order they appear ('' for none). ptxas's own figure is the entry count."""
    return ", ".join(dict.fromkeys(f"{op} {n}" for op, n in _SETMAXNREG.findall(ptx)))


def register_cap_overridden(ptx: str, entry: str, options: tuple[str, ...]) -> str | None:
    """A note when -maxrregcount is given but the entry carries a directive that overrides it.

    Checked against ptxas 13: `.maxnreg N` wins over -maxrregcount, and so does any of
    `.maxntid` / `.reqntid` / `.minnctapersm` (what __launch_bounds__ becomes): ptxas then
    derives its own limit from the thread count, silently unless .minnctapersm is present.
    """
    if not any(o.startswith(("-maxrregcount", "--maxrregcount")) for o in options):
        return None
    m = re.search(r"\.entry\s+" + re.escape(entry) + r"\s*\(", ptx)
    if not m:
        return None
    body_start = ptx.find("{", m.end())
    header = ptx[m.end():body_start if body_start > 0 else None]
    close = header.rfind(")")
    found = sorted(set(_DIRECTIVES.findall(header[close + 1:] if close >= 0 else header)))
    if found:
        return ("-maxrregcount ignored: the entry has " + ", ".join("." + d for d in found)
                + " (launch bounds); ptxas sets its own register limit")
    return None
