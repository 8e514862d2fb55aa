"""SASS of a cubin for the report: disassembly de-duplicated across builds, and the SASS columns.

The whole disassembly of a cubin is toolchain.disassemble_with_tool (nvdisasm -c -ndf, cached,
cuobjdump as the fallback); builds whose code sections are byte-identical (sm_86 and sm_89
usually are) are disassembled once, and the second copy says so in its first line.

Each nvdisasm start costs ~0.35 s of CPU whatever its input, more than ptxas for most kernels, so
the report's columns (opcode counts, which need no labels or symbols) come from raw_summaries:
the distinct instruction words of many kernels decoded in one raw-mode call (`nvdisasm -b`),
each kernel's counts made from its words and cached by code. The columns are the same either
way (tests/test_regs_parallel.py).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

from mmabench import hardware
from mmabench.core import atomic_file
from mmabench.compiler import sass, toolchain
from mmabench.compiler.cubin import code_digest, text_digest

# Base opcodes counted in their own columns (the whole histogram goes to CSV/JSON).
KEY_OPCODES = ("LDL", "STL", "LDS", "STS", "LDSM", "LDG", "STG", "MUFU", "FFMA", "HFMA2", "BAR")
# HFMA2 with a zero product (`HFMA2.MMA R3, -RZ, RZ, 0, c`) is how ptxas materialises a
# constant: a move, not half-precision arithmetic. It stays in the histogram, not in the column.
_HFMA2_MOVE = re.compile(r"^[^,]+,\s*-?RZ\s*,\s*-?RZ\s*,")


class Disassembler:
    """toolchain.disassemble_with_tool for one report run, sharing the work between builds with
    identical code."""

    def __init__(self):
        self._lock = threading.Lock()
        self._keys: dict[tuple, threading.Lock] = {}
        self._done: dict[tuple, tuple[str, str, str]] = {}

    def __call__(self, cubin: bytes, target: str) -> tuple[str, str]:
        digest = text_digest(cubin)
        if digest is None:
            return toolchain.disassemble_with_tool(cubin)
        key = (hardware.arch_number(target) // 10, digest)     # same major architecture, same bytes
        with self._lock:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:
            if key in self._done:
                text, tool, first = self._done[key]
                if first != target:
                    return (f"// {target}: code sections byte-identical to the {first} build; "
                            f"its SASS follows\n{text}", tool)
                return text, tool
            text, tool = toolchain.disassemble_with_tool(cubin)
            self._done[key] = (text, tool, target)
            return text, tool


def sass_columns(sass_text: str, entry: str) -> tuple[Counter, dict]:
    """The full-opcode histogram of the entry (and the device functions it may call) and the
    report's SASS columns: n_<OPCODE> per base opcode of KEY_OPCODES (n_HFMA2: the arithmetic
    ones only), and the tensor ops."""
    return instruction_columns(sass.instructions(sass_text, entry))


def instruction_columns(mine: list[sass.Instr]) -> tuple[Counter, dict]:
    """sass_columns of an instruction list."""
    hist, arithmetic_hfma2 = opcode_counts([(i.opcode, i.operands) for i in mine])
    return hist, columns_of(hist, arithmetic_hfma2)


def opcode_counts(pairs: list[tuple[str, str]]) -> tuple[Counter, int]:
    """The full-opcode histogram of (opcode, operands) pairs, and how many are HFMA2 arithmetic
    (not a constant move)."""
    hist = Counter(opcode for opcode, _ in pairs)
    arithmetic_hfma2 = sum(1 for opcode, operands in pairs
                           if opcode.split(".", 1)[0] == "HFMA2" and not _HFMA2_MOVE.match(operands))
    return hist, arithmetic_hfma2


def columns_of(hist: Counter, arithmetic_hfma2: int) -> dict:
    """The report's SASS columns from a full-opcode histogram and the count of HFMA2 that are not
    constant moves."""
    base = Counter()
    for opcode, n in hist.items():
        base[opcode.split(".", 1)[0]] += n
    out = {f"n_{op}": base.get(op, 0) for op in KEY_OPCODES}
    out["n_HFMA2"] = arithmetic_hfma2
    tensor = sass.tensor_ops(hist)
    out["tensor_ops"] = sass.counts_text(tensor)
    out["n_tensor"] = sum(tensor.values())
    return out


# ---------------------------------------------------------------- many kernels, few nvdisasm starts

# Code per nvdisasm call. Each start costs ~0.25 s of CPU, so calls are few and large, yet about
# CHUNKS_PER_WORKER per worker, of near-equal size and largest first, so that the workers end
# together; the upper bound keeps one call's text (~4.5 bytes per byte of code) modest.
RAW_CHUNK_MIN_BYTES = 1 << 18
RAW_CHUNK_MAX_BYTES = 1 << 22
CHUNKS_PER_WORKER = 3
WORD = 16                   # bytes per instruction (Volta and later: each one whole in 128 bits)


def chunk_limit(total_bytes: int, workers: int) -> int:
    """The most code one nvdisasm call gets, for `total_bytes` of code shared by `workers`."""
    share = total_bytes // (CHUNKS_PER_WORKER * max(1, workers)) + 1
    return max(RAW_CHUNK_MIN_BYTES, min(RAW_CHUNK_MAX_BYTES, share))


def _raw_key(decoder: str, digest: str) -> str:
    return toolchain._key("nvdisasm-raw-summary", toolchain.tool_version("nvdisasm"), decoder, digest)


def _summary_from(pairs: list[tuple[str, str]]) -> dict:
    hist, arithmetic_hfma2 = opcode_counts(pairs)
    return {"hist": dict(hist), "hfma2": arithmetic_hfma2}


def _words(code: bytes) -> list[bytes]:
    return [code[i:i + WORD] for i in range(0, len(code), WORD)]


def _decode_words(decoder: str, words: list[bytes]) -> dict[bytes, tuple[str, str]] | None:
    """One nvdisasm start for distinct instruction words: word -> (opcode, operands). None if
    the call fails or does not give one instruction per word (those kernels then go the
    per-cubin way, which reports the error)."""
    try:
        text = toolchain.disassemble_raw(b"".join(words), decoder)
    except toolchain.CompileError:
        return None
    instrs = sass.fields(text)
    if [address for address, _, _ in instrs] != list(range(0, WORD * len(words), WORD)):
        return None
    return {word: (opcode, operands) for word, (_, opcode, operands) in zip(words, instrs)}


def raw_summaries(items: list[tuple[bytes | None, str]], map_fn=map, workers: int = 1
                  ) -> list[dict | None]:
    """For each (code, target), `code` the bytes of a kernel's one code section: {'hist':
    full-opcode counts, 'hfma2': arithmetic HFMA2}, decoded with nvdisasm's raw mode (`-b`) in a
    few calls, cached by code. None where `code` is None or not whole instructions (the caller
    disassembles that cubin whole).

    Only distinct instruction words are decoded: a third to a half of the words of the
    registry's kernels on one target are distinct (unrolled loops), and a word decodes to the
    same opcode and operands wherever it sits (the one exception, a branch's target, is not
    counted). The columns are those of decoding every kernel whole (tests/test_regs_parallel.py).

    Code byte-identical within one major architecture is decoded by the first `items` target
    that has it (as Disassembler does): pass `items` in the report's architecture order, so the
    rows do not depend on which worker got there first. `workers`: how many calls `map_fn` runs
    at once (it sizes the calls)."""
    decoder_of: dict[tuple, tuple[str, str]] = {}     # (major, digest) -> (decoder, digest)
    code_of: dict[tuple, bytes] = {}
    keys: list[tuple | None] = []
    for code, target in items:
        if not code or len(code) % WORD:
            keys.append(None)
            continue
        key = (hardware.arch_number(target) // 10, code_digest(code))
        decoder_of.setdefault(key, (target, key[1]))
        code_of.setdefault(key, code)
        keys.append(key)
    summaries: dict[tuple, dict | None] = {}
    missing: dict[str, list[tuple]] = {}
    for key, (decoder, digest) in decoder_of.items():
        path = toolchain.cache_dir() / f"{_raw_key(decoder, digest)}.json"
        if path.exists():
            summaries[key] = json.loads(path.read_text())
        else:
            missing.setdefault(decoder, []).append(key)
    distinct = {decoder: list(dict.fromkeys(w for k in ks for w in _words(code_of[k])))
                for decoder, ks in missing.items()}
    limit = chunk_limit(WORD * sum(map(len, distinct.values())), workers)
    jobs = [(decoder, piece) for decoder, words in distinct.items()
            for piece in _pieces(words, limit // WORD)]
    jobs.sort(key=lambda job: -len(job[1]))    # longest first
    decoded: dict[str, dict[bytes, tuple[str, str]]] = {decoder: {} for decoder in distinct}
    for (decoder, _), table in zip(jobs, map_fn(lambda job: _decode_words(*job), jobs)):
        decoded[decoder].update(table or {})
    for decoder, ks in missing.items():
        table = decoded[decoder]
        for key in ks:
            words = _words(code_of[key])
            if not all(w in table for w in words):
                summaries[key] = None           # its words' call failed
                continue
            summaries[key] = _summary_from([table[w] for w in words])
            path = toolchain.cache_dir() / f"{_raw_key(decoder, key[1])}.json"
            atomic_file.write(path, json.dumps(summaries[key], sort_keys=True))  # another run may read it now
    return [summaries.get(k) if k else None for k in keys]


def _pieces(items: list, most: int) -> list[list]:
    """`items` in order, in the fewest pieces of at most `most` items, of near-equal size."""
    if not items:
        return []
    count = -(-len(items) // max(1, most))
    size = -(-len(items) // count)
    return [items[i:i + size] for i in range(0, len(items), size)]
