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
