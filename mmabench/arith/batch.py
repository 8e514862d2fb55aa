"""Designed cases into the problems of one device call, and their outputs back out.

mma.sync runs one warp per problem, so each case has a problem of its own, at output (0,0).
wgmma runs one launch per problem: min(m, n) cases share it on the diagonal, case t at row t of A,
column t of B and output (t,t), so the cases stay independent.
"""

from __future__ import annotations

import numpy as np

from mmabench.arith.designed import Case, cases
from mmabench.arith.forms import family_of


def per_problem(form) -> int:
    """Designed cases per problem: 1 for mma.sync, min(m, n) for wgmma."""
    m, n, _ = form.mnk
    return min(m, n) if family_of(form) == "wgmma" else 1


def problems(form, cs: list[Case]):
    """Cases -> (a [P,m,k], b [P,k,n], c [P,m,n]): case i in problem i // per, at output (t,t),
    t = i % per (per = per_problem(form))."""
    m, n, k = form.mnk
    per = per_problem(form)
    count = -(-len(cs) // per)
    a = np.zeros((count, m, k))
    b = np.zeros((count, k, n))
    c = np.zeros((count, m, n))
    for i, cs_ in enumerate(cs):
        p, t = divmod(i, per)
        a[p, t] = cs_.a
        b[p, :, t] = cs_.b
        c[p, t, t] = cs_.c
    return a, b, c


def pick(form, out: np.ndarray, count: int) -> np.ndarray:
    """The designed cases' outputs [count] from device outputs [P, m, n] laid out by `problems`."""
    per = per_problem(form)
    i = np.arange(count)
    return out[i // per, i % per, i % per]


def run(form, device) -> tuple[list[Case], np.ndarray]:
    """Every designed case of `form` run on `device`: (cases, outputs [N])."""
    cs = cases(form)
    a, b, c = problems(form, cs)
    d = device(a, b, c)
    return cs, pick(form, d, len(cs))
