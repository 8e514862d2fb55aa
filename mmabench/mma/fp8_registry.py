"""Registry family `mma_fp8`: the FP8 mma.sync forms (sm_89+), latency and throughput kernels.

A family of its own because their SASS opcode depends on the architecture (native QMMA on
sm_89/sm_120, unpack + f16 HMMA on sm_90/sm_100): `tags["sass_by_arch"]` says which. Left out of
the default `regs` report (its cold-cache time budget); `regs --family mma_fp8` shows them.
"""

from __future__ import annotations

from mmabench.mma.catalogue import FP8_FORMS
from mmabench.mma.registry import family_specs


def kernel_specs():
    return family_specs(FP8_FORMS, "mma_fp8", report_default=False)
