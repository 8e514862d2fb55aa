"""SASS parsing on real ptxas output, and the fragment tables against the PTX ISA's layout."""

import numpy as np
import pytest

from mmabench.compiler import sass, toolchain
from mmabench.mma import catalogue
from mmabench.mma import fragments as fr
from mmabench.mma.render import render

LOOPLESS = """
.version 7.0
.target sm_80
.address_size 64
.visible .entry k(.param .u64 p)
{
    .reg .u64 %a; .reg .f32 %f;
    ld.param.u64 %a, [p];
    cvta.to.global.u64 %a, %a;
    ld.global.f32 %f, [%a];
    add.f32 %f, %f, %f;
    st.global.f32 [%a], %f;
    ret;
}
"""


def test_loop_body_count_on_real_sass():
    form = catalogue.by_name("m16n8k8.f16.acc_f16")
    text = toolchain.disassemble(toolchain.assemble(render(form, 2, unroll=6), "sm_86").cubin)
    loops = sass.loops(text)
    assert loops and loops[0].count(form.sass) == 12
    # the prologue step of each chain sits outside the loop
    assert sass.histogram(text)[form.sass] == 14
    assert sass.histogram(text, full=False)["HMMA"] == 14


def test_no_loop_is_an_error_not_a_zero():
    text = toolchain.disassemble(toolchain.assemble(LOOPLESS, "sm_80").cubin)
    with pytest.raises(ValueError, match="no loop"):
        sass.loop_count(text, "HMMA.16816.F32")
    assert sass.histogram(text)["STG.E"] == 1


def test_parse_reads_predicates_and_labels():
    text = """
        .section	.text.k,"ax",@progbits
.L_x_1:
        /*0010*/                   IADD3 R1, R1, 0x1, RZ ;
        /*0020*/              @!P0 BRA `(.L_x_1) ;
"""
    instrs, labels = sass.parse(text)
    assert labels[("k", ".L_x_1")] == 0x10
    assert instrs[1].predicate == "@!P0" and instrs[1].base == "BRA"
    assert sass.loops(text)[0].body[0].opcode == "IADD3"


@pytest.mark.parametrize("form", catalogue.FORMS, ids=lambda f: f.name)
def test_fragments_cover_each_matrix_once_and_round_trip(form):
    m, n, k = form.mnk
    for kind, shape in (("A", (m, k)), ("B", (k, n)), ("C", (m, n))):
        rows, cols = fr._lane_coords(kind, fr._elements(form, kind))
        assert len(set(zip(rows.ravel().tolist(), cols.ravel().tolist()))) == shape[0] * shape[1]
    c = np.random.default_rng(0).standard_normal((2, m, n))
    words = np.stack([fr.to_fragments(form, "C", x) for x in c])
    np.testing.assert_array_equal(fr.from_fragments_batch(form, words), fr.quantize(c, form.acc))


def test_fragment_layout_matches_the_ptx_isa_examples():
    form = catalogue.by_name("m16n8k16.f16.acc_f32")
    rows, cols = fr._lane_coords("A", 8)
    # PTX ISA: lane 5 (group 1, t 1) holds a0,a1 at row 1, cols 2,3 and a6,a7 at row 9, cols 10,11
    assert (rows[5, 0], cols[5, 0], rows[5, 7], cols[5, 7]) == (1, 2, 9, 11)
    rows, cols = fr._lane_coords("B", 4)
    assert (rows[5, 3], cols[5, 3]) == (11, 1)
    rows, cols = fr._lane_coords("C", 4)
    assert (rows[31, 3], cols[31, 3]) == (15, 7)
    assert form.a_regs * 2 == 8


def test_bf16_rounding_is_to_nearest_even():
    x = np.array([1.0, 1.00390625, 1.01171875, -2.5, 3.0e38])
    q = fr.quantize(x, "bf16")
    assert q[0] == 1.0 and q[1] == 1.0 and q[2] == 1.015625 and q[3] == -2.5
