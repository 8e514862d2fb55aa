"""The kernel registry: every kernel the suite knows, as data.

A family (the mma instruction catalogue, the attention variants, ...) contributes `KernelSpec`s;
the compiler report, the tests and the benchmarks all iterate over `all_kernels()`, so adding a
kernel to its family's list adds it everywhere.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

# Families, by module; each module exposes `kernel_specs() -> list[KernelSpec]`.
FAMILIES = {
    "mma": "mmabench.mma.registry",
    "mma_fp8": "mmabench.mma.fp8_registry",
    "gemm": "mmabench.gemm.registry",
    "attention": "mmabench.attention.registry",
    "wgmma": "mmabench.wgmma.registry",
    "softmax": "mmabench.softmax.registry",
    "demo": "mmabench.compiler.demo_kernels",
}


@dataclass(frozen=True)
class KernelSpec:
    name: str                       # unique, stable: used in reports, tests and CLI filters
    family: str                     # key of FAMILIES
    entry: str                      # PTX .entry name
    ptx: Callable[[str], str]       # target arch ('sm_90', 'sm_90a', ...) -> PTX text
    threads_per_block: int          # launch shape, for occupancy
    dynamic_smem_bytes: int = 0
    min_sm: int = 80                # oldest architecture the kernel exists on (80 = sm_80)
    arch_suffix_needed: str = ""    # 'a' if it needs e.g. sm_90a
    acc: str = ""                   # accumulator label: 'f16', 'f32', or 'S=f16,O=f32' ...
    twin: str | None = None         # the kernel that differs only in accumulator(s), for --diff acc
    ptxas_options: tuple[str, ...] = ()
    tags: dict = field(default_factory=dict, compare=False, hash=False)  # family-specific facts

    def supports(self, arch: str) -> bool:
        """True if this kernel can be built for `arch` ('sm_86', 'sm_90a', ...)."""
        digits = "".join(ch for ch in arch.split("_", 1)[-1] if ch.isdigit())
        if int(digits) < self.min_sm:
            return False
        return not self.arch_suffix_needed or arch.endswith(self.arch_suffix_needed)


def all_kernels(families: list[str] | None = None) -> list[KernelSpec]:
    """Every registered kernel, family by family (families not yet installed are skipped)."""
    specs: list[KernelSpec] = []
    for fam in families or list(FAMILIES):
        try:
            module = importlib.import_module(FAMILIES[fam])
        except ModuleNotFoundError as exc:
            if exc.name and FAMILIES[fam].startswith(exc.name):
                continue  # family not present in this checkout
            raise
        specs.extend(module.kernel_specs())
    names = [s.name for s in specs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RuntimeError(f"duplicate kernel names in registry: {sorted(dup)}")
    return specs
