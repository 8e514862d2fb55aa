"""What runs a batch of problems: the GPU probe, or simulated hardware (a Model) for tests.

A device is a callable (a [N,m,k], b [N,k,n], c [N,m,n]) -> D values float64 [N,m,n]; the GPU one
also keeps the last raw bit patterns so they can be written out in hex.
"""

from __future__ import annotations

import numpy as np

from mmabench.arith import formats
from mmabench.arith.forms import family_of


class Simulated:
    """Hardware simulated by a model with known features (the test of the inference code)."""

    def __init__(self, model):
        self.model = model
        self.last_bits = None

    def __call__(self, a, b, c):
        d = self.model.mma(a, b, c)
        self.last_bits = formats.to_bits(d, self.model.acc)
        return d


class Gpu:
    """The probe kernel of one form on the GPU at hand, CHUNK problems per run at the most."""

    CHUNK = 1 << 16

    def __init__(self, form):
        from mmabench.arith import mma_probe, wgmma_probe

        self.form = form
        self.probe = {"mma": mma_probe, "wgmma": wgmma_probe}[family_of(form)].build(form)
        self.last_bits = None

    def __call__(self, a, b, c):
        step = self.CHUNK
        parts = [self.probe.run(a[i:i + step], b[i:i + step], c[i:i + step])
                 for i in range(0, len(a), step)]
        bits = np.concatenate(parts) if parts else np.zeros((0,) + c.shape[1:], np.uint32)
        self.last_bits = bits
        return formats.from_bits(bits, self.form.acc)

