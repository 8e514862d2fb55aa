"""A form's kernel assembled offline (ptxas + nvdisasm, no GPU): does the loop hold the tensor
opcode we meant, as many times as we meant, and no other tensor opcode?

An opcode of the other accumulator, or a native opcode where an emulation was recorded (or the
reverse), means the catalogue's record is stale; a short count means ptxas dropped a chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmabench.compiler import sass, toolchain
from mmabench.instructions.form import Lowering


@dataclass
class SassCheck:
    lowering: Lowering
    expected_per_trip: int              # PTX instructions of the form per loop trip, as rendered
    per_trip: int                       # as read from the SASS (0: no loop holds the opcode)
    tensor_ops: dict[str, int]          # every tensor opcode in the SASS, with its count
    helpers: dict[str, int]             # the lowering's helper opcodes in that loop
    sass: str
    log: str                            # ptxas -v
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def opcodes(self) -> str:
        return sass.counts_text(self.tensor_ops)


def check(ptx: str, arch: str, lowering: Lowering, expected_per_trip: int) -> SassCheck:
    asm = toolchain.assemble(ptx, arch)
    text = toolchain.disassemble(asm.cubin)
    tensor = sass.tensor_ops(sass.histogram(text))
    per_trip, problem = lowering.loop_check(text, expected_per_trip)
    helpers = {}
    if lowering.helpers:
        loop = next((lp for lp in sass.loops(text) if lp.count(lowering.opcode)), None)
        body = loop.body if loop else ()
        helpers = {h: sum(1 for i in body if i.opcode == h) for h in lowering.helpers}
    foreign = sorted(op for op in tensor if op != lowering.opcode)
    problems = [problem] if problem else []
    if foreign:
        problems.append(f"other tensor opcodes beside {lowering.opcode}: {', '.join(foreign)}")
    return SassCheck(lowering, expected_per_trip, per_trip, tensor, helpers, text, asm.log, problems)


def check_on_targets(forms, arch_list, check_form, shown: tuple[str, ...], label: str, folder,
                     common: dict):
    """Each form on each target: assembled and checked by `check_form(form, arch)` (a row dict
    with 'ok', 'sass_per_trip', 'expected_per_trip'), or marked n/a where the form needs a newer
    SM. Returns (table rows: form, arch, per-trip count, check, then the row's `shown` keys;
    mismatches); every row also goes to `folder` with `common`."""
    from mmabench.reporting.progress import Progress

    body, bad = [], 0
    bar = Progress(len(forms) * len(arch_list), label)
    for form in forms:
        for arch in arch_list:
            if not form.runs_on(arch):
                note = f"not on {arch} (needs sm_{form.min_sm}+)"
                body.append([form.name, arch, "-", "-", note] + [""] * (len(shown) - 1))
                row = {"form": form.name, "arch": arch, "status": "n/a", "message": note}
            else:
                r = check_form(form, arch)
                bad += not r["ok"]
                body.append([form.name, arch, f"{r['sass_per_trip']}/{r['expected_per_trip']}",
                             "ok" if r["ok"] else "MISMATCH", *(r[k] for k in shown)])
                row = {**r, "status": "ok" if r["ok"] else "mismatch"}
            folder.add({**row, **common})
            bar.step(f"{form.name} {arch}")
    return body, bad
