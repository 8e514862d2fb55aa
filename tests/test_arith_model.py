"""The arithmetic model against hand-worked cases (no GPU)."""

import numpy as np
import pytest

from mmabench.arith.formats import FORMATS, round_to
from mmabench.arith.model import Model, ieee_dot


def dot(model, terms, c=0.0, k=16):
    a, b = np.zeros(k), np.zeros(k)
    for i, (x, y) in enumerate(terms):
        a[i], b[i] = x, y
    return float(model.dot(a, b, np.array(c)))


def test_round_to_modes_by_hand():
    f32 = FORMATS["f32"]
    x = np.array([1 + 2.0 ** -24 + 2.0 ** -26, -(1 + 2.0 ** -24 + 2.0 ** -26), 1 + 2.0 ** -24])
    assert list(round_to(x, f32, "rz")) == [1.0, -1.0, 1.0]
    assert list(round_to(x, f32, "rn")) == [1 + 2.0 ** -23, -(1 + 2.0 ** -23), 1.0]  # tie -> even
    f16 = FORMATS["f16"]
    assert round_to(np.array([65520.0]), f16, "rn")[0] == np.inf
    assert round_to(np.array([65520.0]), f16, "rz")[0] == 65504.0
    assert round_to(np.array([2.0 ** -25]), f16, "rn")[0] == 0.0            # half of min subnormal: tie -> 0
    assert round_to(np.array([3 * 2.0 ** -26]), f16, "rn")[0] == 2.0 ** -24
    assert round_to(np.array([2.0 ** -20]), f16, "rn", subnormals=False)[0] == 0.0


def test_truncation_vs_nearest():
    # 4 + 0.75 ulp(4): rz keeps 4, rn goes up one ulp (terms on the 2^-23 grid: no alignment loss)
    terms = [(1.0, 1.0)] * 4 + [(1.5 * 2.0 ** -11, 2.0 ** -11)]
    assert dot(Model(rounding="rz"), terms) == 4.0
    assert dot(Model(rounding="rn"), terms) == 4.0 + 2.0 ** -21
    neg = [(x, -y) for x, y in terms]
    assert dot(Model(rounding="rz"), neg) == -4.0
    assert dot(Model(rounding="rn"), neg) == -(4.0 + 2.0 ** -21)


def test_alignment_loss_large_term_swallows_small_ones():
    # X - X + 2^(30-23-j): kept on the grid 2^(30-23-extra) iff j <= extra
    for extra in (0, 1, 3):
        m = Model(extra_bits=extra)
        for j in range(6):
            got = dot(m, [(2.0 ** 15, 2.0 ** 15), (2.0 ** 15, -(2.0 ** 15)), (2.0 ** (7 - j), 1.0)])
            assert got == (2.0 ** (7 - j) if j <= extra else 0.0), (extra, j)
    # floor alignment rounds a dropped negative term down to one grid unit
    got = dot(Model(extra_bits=0, align="floor"),
              [(2.0 ** 15, 2.0 ** 15), (2.0 ** 15, -(2.0 ** 15)), (2.0 ** 3, -1.0)])
    assert got == -(2.0 ** 7)
    # the Fasi et al. case: 1 - (1 - 2^-24) needs one extra bit
    assert dot(Model(extra_bits=0), [(1.0, 1.0)], c=-(1 - 2.0 ** -24)) == 2.0 ** -23
    assert dot(Model(extra_bits=1), [(1.0, 1.0)], c=-(1 - 2.0 ** -24)) == 2.0 ** -24


def test_many_small_terms_lost_against_a_large_one():
    # 1 + 8 * 2^-26: IEEE-exact 1 + 2^-23; a fused block aligned to 1 with 0 extra bits drops all
    terms = [(1.0, 1.0)] + [(2.0 ** -13, 2.0 ** -13)] * 8
    assert dot(Model(extra_bits=0), terms) == 1.0
    assert dot(Model(extra_bits=3), terms) == 1 + 2.0 ** -23


def test_block_size_effects():
    # +X at 0, -X at 1, tiny at r: the tiny term survives only in a later block
    big, tiny = (2.0 ** 15, 2.0 ** 15), (2.0 ** -14, 2.0 ** -14)
    for block in (4, 8, 16):
        for r in range(2, 16):
            got = dot(Model(block=block), [big, (2.0 ** 15, -(2.0 ** 15))] + [(0.0, 0.0)] * (r - 2) + [tiny])
            assert got == (2.0 ** -28 if r >= block else 0.0), (block, r)


def test_products_are_exact_and_c_joins_first_block():
    x = 1 - 2.0 ** -11
    assert dot(Model(), [(x, x)]) == x * x            # 22-bit product kept
    # product rounded to the f16 accumulator when product_exact=False
    # exact: (1 - 2^-10 + 2^-22) + 2^-12 lies 2^-22 above an f16 midpoint -> rounds up;
    # with the product first rounded to f16 the sum is the midpoint -> ties to even (down)
    terms = [(x, x), (2.0 ** -12, 1.0)]
    assert dot(Model(acc="f16"), terms) == 1 - 2.0 ** -11
    assert dot(Model(acc="f16", product_exact=False), terms) == 1 - 2.0 ** -10


def test_subnormals_in_and_out():
    m, flush = Model(acc="f16"), Model(acc="f16", subnormals=False)
    assert dot(m, [(2.0 ** -14, 0.5)]) == 2.0 ** -15
    assert dot(flush, [(2.0 ** -14, 0.5)]) == 0.0
    assert dot(Model(), [(2.0 ** -24, 16.0)]) == 2.0 ** -20             # subnormal f16 input
    assert dot(Model(subnormals=False), [(2.0 ** -24, 16.0)]) == 0.0
    assert dot(Model(), [], c=2.0 ** -149) == 2.0 ** -149
    assert dot(Model(in_type="bf16"), [(2.0 ** -100, 2.0 ** -30)]) == 2.0 ** -130


def test_f16_overflow_inf_or_saturate():
    assert dot(Model(acc="f16"), [(60000.0, 1.0), (10000.0, 1.0)]) == np.inf
    assert dot(Model(acc="f16", overflow="saturate"), [(60000.0, 1.0), (10000.0, 1.0)]) == 65504.0
    assert dot(Model(acc="f16"), [(60000.0, -1.0), (10000.0, -1.0)]) == -np.inf
    # no intermediate f16 overflow inside one instruction's f32-wide sum
    assert dot(Model(acc="f16"), [(65504.0, 1.0), (65504.0, 1.0), (65504.0, -1.0)]) == 65504.0


def test_inf_and_nan():
    m = Model()
    assert dot(m, [(np.inf, 1.0)]) == np.inf
    assert np.isnan(dot(m, [(np.inf, 0.0)]))
    assert np.isnan(dot(m, [(np.inf, 1.0), (np.inf, -1.0)]))
    assert np.isnan(dot(m, [], c=np.nan))
    assert dot(m, [(1.0, 1.0)], c=-np.inf) == -np.inf


def test_zero_sign():
    assert np.signbit(dot(Model(), [(1.0, -0.0)], c=-0.0, k=1))     # every term -0: -0
    assert not np.signbit(dot(Model(), [(1.0, -0.0)], c=0.0, k=1))
    assert not np.signbit(dot(Model(), [(1.0, 1.0), (1.0, -1.0)]))


def test_mma_batches_match_dot():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3, 16, 16)).astype(np.float16).astype(float)
    b = rng.uniform(-1, 1, (3, 16, 8)).astype(np.float16).astype(float)
    c = rng.uniform(-1, 1, (3, 16, 8)).astype(np.float32).astype(float)
    m = Model(block=8, extra_bits=2)
    d = m.mma(a, b, c)
    assert d[1, 3, 5] == m.dot(a[1, 3], b[1, :, 5], c[1, 3, 5])
    assert np.abs(d - (c + a @ b)).max() < 1e-5


def test_ieee_reference_rounds_each_step():
    a = np.array([[1.0, 2.0 ** -11, 2.0 ** -11]])
    b = np.ones((1, 3))
    assert ieee_dot(a, b, np.zeros(1), "f16")[0] == 1.0                 # each 2^-11 lost (tie -> even)
    assert Model(acc="f16").dot(a, b, np.zeros(1))[0] == 1 + 2.0 ** -10  # fused: kept


@pytest.mark.parametrize("bad", [dict(extra_bits=-21), dict(extra_bits=21), dict(block=0),
                                 dict(rounding="up"), dict(c_join="middle")])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        Model(**bad)


def test_f16_result_rounded_from_the_aligned_sum_and_underflow_sign():
    """Hand-worked on the H100's f16 accumulator (k16, 2 extra bits, truncation):
    1 + 2^-11 + 2^-25: the 24-bit truncation is the tie 1 + 2^-11 (-> 1 by nearest-even), the
    aligned sum (2^-25 kept) is above it (-> 1 + 2^-10); 1 - 1 - 2^-25 rounds to zero: -0 by
    IEEE, +0 on the H100."""
    m = Model(in_type="f16", acc="f16", block=16, extra_bits=2, exponent="raw")
    a, b = np.zeros(16), np.zeros(16)
    a[:3], b[:3] = (1.0, 2.0 ** -11, 2.0 ** -12), (1.0, 1.0, 2.0 ** -13)
    assert m.dot(a, b, np.array(0.0)) == 1.0
    assert m.with_(out_from="aligned").dot(a, b, np.array(0.0)) == 1.0 + 2.0 ** -10
    a[:3], b[:3] = (1.0, 2.0 ** -12, 0.0), (-1.0, -(2.0 ** -13), 0.0)
    z = m.dot(a, b, np.array(1.0))
    assert z == 0 and np.signbit(z)
    z = m.with_(zero_sign="plus").dot(a, b, np.array(1.0))
    assert z == 0 and not np.signbit(z)
    # an exact cancellation is +0 either way (IEEE round to nearest)
    a[:3], b[:3] = (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)
    assert not np.signbit(m.dot(a, b, np.array(1.0)))
