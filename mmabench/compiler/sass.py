"""Reading nvdisasm output: instructions, opcode histograms, tensor-core ops, and loop bodies.

Instruction counts that figures are divided by come from here, not from the PTX: ptxas may
unroll, split or drop instructions, so the suite counts what is actually in the loop.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# The opcode may carry a lower-case shape token, as Hopper's warpgroup MMA does:
# HGMMA.64x256x16.F32, QGMMA.64x128x32.F16.E4M3.E4M3.
_OPCODE = r"([A-Z][A-Z0-9_.]*(?:x\d+[A-Z0-9_.]*)*)"
_INSTR = re.compile(r"^\s*/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?" + _OPCODE + r"\s*([^;]*);")
# The same instruction line found in a whole text at once (no line may be crossed), for
# `fields`: a third of the time of `parse` on the megabytes the register report decodes.
_INSTR_LINES = re.compile(r"^[ \t]*/\*([0-9a-f]{4,})\*/[ \t]+(?:@!?U?P\w+[ \t]+)?" + _OPCODE
                          + r"[ \t]*([^;\n]*);", re.M)
_LABEL = re.compile(r"^(\.L_x_\d+|[A-Za-z_$][\w$.]*):\s*$")
_SECTION = re.compile(r"^\s*\.section\s+\.text\.([^,\s]+)")
_TARGET = re.compile(r"`\(([^)]+)\)")
_ENTRY = re.compile(r'\.other\s+(\S+),@"STO_CUDA_ENTRY')

# Tensor-core opcodes, Volta's HMMA to Blackwell's UTC*MMA (an opcode starting with one is one).
TENSOR_PREFIXES = ("HMMA", "HGMMA", "IMMA", "IGMMA", "QMMA", "QGMMA", "OMMA", "UTCHMMA",
                   "UTCQMMA", "UTCOMMA", "UTCIMMA", "BMMA")


@dataclass(frozen=True)
class Instr:
    function: str
    addr: int
    opcode: str          # full, with modifiers: 'HMMA.16816.F32'
    operands: str
    predicate: str = ""

    @property
    def base(self) -> str:
        """Opcode without modifiers: 'HMMA'."""
        return self.opcode.split(".", 1)[0]


@dataclass(frozen=True)
class Loop:
    function: str
    start: int           # address of the loop head
    end: int             # address of the backward branch
    body: tuple[Instr, ...]

    def count(self, opcode: str) -> int:
        """Instructions whose full opcode is exactly `opcode` ('HMMA.16816.F32')."""
        return sum(1 for i in self.body if i.opcode == opcode)


def parse(sass: str) -> tuple[list[Instr], dict[tuple[str, str], int]]:
    """Instructions in order and the address of each (function, label)."""
    instrs: list[Instr] = []
    labels: dict[tuple[str, str], int] = {}
    function, pending = "", []
    for line in sass.splitlines():
        m = _SECTION.match(line)
        if m:
            function = m.group(1)
            continue
        m = _LABEL.match(line.strip())
        if m:
            pending.append(m.group(1))
            continue
        m = _INSTR.match(line)
        if m:
            addr = int(m.group(1), 16)
            for label in pending:
                labels[(function, label)] = addr
            pending = []
            instrs.append(Instr(function, addr, m.group(3), m.group(4).strip(),
                                (m.group(2) or "").strip()))
    return instrs, labels


def fields(sass: str) -> list[tuple[int, str, str]]:
    """(address, opcode, operands) of each instruction, in order: what `parse` finds, without
    functions, labels or predicates (enough for opcode counts of nvdisasm's raw mode, `-b`)."""
    return [(int(addr, 16), opcode, operands.strip())
            for addr, opcode, operands in _INSTR_LINES.findall(sass)]


def instructions(sass: str, entry: str | None = None) -> list[Instr]:
    """The instructions of the whole cubin or, given `entry`, of that entry and the device
    functions it may call (the module's other entries left out)."""
    instrs, _ = parse(sass)
    if entry is None:
        return instrs
    others = set(_ENTRY.findall(sass)) - {entry}
    return [i for i in instrs if i.function not in others]


def histogram(sass: str, entry: str | None = None, full: bool = True) -> Counter:
    """Opcode counts (static, in the code) of the whole cubin or of one entry (`instructions`);
    full opcodes ('HMMA.16816.F32') or, with full=False, base ones ('HMMA')."""
    return Counter(i.opcode if full else i.base for i in instructions(sass, entry))


def tensor_ops(hist: Counter) -> dict[str, int]:
    """The tensor-core opcodes of a histogram, by name: {'HMMA.16816.F32': 64, ...}."""
    return {op: n for op, n in sorted(hist.items()) if op.startswith(TENSOR_PREFIXES)}


def counts_text(counts: dict[str, int]) -> str:
    """{'HMMA.16816.F32': 64, ...} as 'HMMA.16816.F32 x64, ...' (in the dict's order)."""
    return ", ".join(f"{op} x{n}" for op, n in counts.items())


def loops(sass: str) -> list[Loop]:
    """Every backward branch with a non-empty body, innermost (shortest) first."""
    instrs, labels = parse(sass)
    found = []
    for ins in instrs:
        if ins.base not in ("BRA", "JMP"):
            continue
        m = _TARGET.search(ins.operands)
        if not m or (ins.function, m.group(1)) not in labels:
            continue
        start = labels[(ins.function, m.group(1))]
        if start >= ins.addr:
            continue
        body = tuple(i for i in instrs
                     if i.function == ins.function and start <= i.addr < ins.addr)
        found.append(Loop(ins.function, start, ins.addr, body))
    return sorted(found, key=lambda lp: lp.end - lp.start)


def loop_count(sass: str, opcode: str) -> int:
    """How many `opcode` instructions the one loop holding them executes per trip.

    Raises ValueError when no loop, or more than one disjoint loop, holds them: the caller
    would otherwise divide by a guess.
    """
    holding = [lp for lp in loops(sass) if lp.count(opcode)]
    if not holding:
        raise ValueError(f"no loop contains {opcode}")
    inner = holding[0]
    for other in holding[1:]:
        if not (other.start <= inner.start and inner.end <= other.end):
            raise ValueError(f"{opcode} sits in several disjoint loops")
        if other.count(opcode) != inner.count(opcode):
            raise ValueError(f"{opcode} also outside the innermost loop's body")
    return inner.count(opcode)
