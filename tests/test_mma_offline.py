"""The instruction kernels without a GPU: rendering, assembly for every target, SASS content."""

import pytest

from mmabench import hardware
from mmabench.compiler import sass, toolchain
from mmabench.core.errors import UserError
from mmabench.mma import catalogue
from mmabench.mma.offline import check_form
from mmabench.mma.render import DEFAULT_UNROLL, render

TARGETS = ["sm_80", "sm_86", "sm_89", "sm_90", "sm_120"]


@pytest.mark.parametrize("form", catalogue.FORMS, ids=lambda f: f.name)
@pytest.mark.parametrize("arch", TARGETS)
def test_every_form_assembles_with_the_meant_instruction_in_its_loop(form, arch):
    row = check_form(form, arch, ilp=4)
    assert row["ok"], row
    text = toolchain.disassemble(toolchain.assemble(render(form, 4), arch).cubin)
    assert sass.loop_count(text, form.sass) == 4 * DEFAULT_UNROLL
    # f16 accumulation must not hide an f32 HMMA, nor the other way round
    other = form.sass.replace(".F16", ".F32") if ".F16" in form.sass else form.sass.replace(".F32", ".F16")
    assert other not in sass.histogram(text)


def test_accumulator_opcodes_differ_as_documented():
    by = {f.name: f for f in catalogue.FORMS}
    assert by["m16n8k16.f16.acc_f16"].sass == "HMMA.16816.F16"
    assert by["m16n8k16.f16.acc_f32"].sass == "HMMA.16816.F32"
    text16 = toolchain.disassemble(toolchain.assemble(render(by["m16n8k16.f16.acc_f16"], 1), "sm_90").cubin)
    text32 = toolchain.disassemble(toolchain.assemble(render(by["m16n8k16.f16.acc_f32"], 1), "sm_90").cubin)
    assert "HMMA.16816.F16" in text16 and "HMMA.16816.F32" not in text16
    assert "HMMA.16816.F32" in text32


@pytest.mark.parametrize("ilp", [1, 3, 8, 16])
def test_every_chain_is_stored_so_none_is_dead(ilp):
    form = catalogue.by_name("m16n8k16.f16.acc_f32")
    ptx = render(form, ilp)
    assert ptx.count("st.global.f32") == ilp * form.c_regs
    text = toolchain.disassemble(toolchain.assemble(ptx, "sm_90").cubin)
    assert sass.loop_count(text, form.sass) == ilp * DEFAULT_UNROLL


def test_ptx_declares_the_lowest_version_and_target_of_its_form():
    for form in catalogue.FORMS:
        head = render(form, 1)
        assert f".version {form.ptx_version}" in head and f".target sm_{form.min_sm}" in head
        assert '.pragma "nounroll"' in head


def test_render_rejects_bad_ilp_and_odd_unroll():
    form = catalogue.FORMS[0]
    with pytest.raises(UserError, match="accepted: 1..16"):
        render(form, 0)
    with pytest.raises(UserError, match="even"):
        render(form, 1, unroll=3)


def test_form_missing_on_an_arch_is_a_clear_error():
    form = catalogue.by_name("m16n8k16.bf16.acc_f32")
    fake = catalogue.MmaForm("m16n8k16", "f16", "f16", "7.0", 100, 4, 2, 2, "HMMA.16816.F16")
    with pytest.raises(UserError, match="needs sm_100"):
        check_form(fake, "sm_90")
    assert check_form(form, "sm_80")["ok"]


def test_catalogue_selection_and_errors():
    assert {f.acc for f in catalogue.select(accs=["f16"])} == {"f16"}
    with pytest.raises(UserError, match="accepted"):
        catalogue.by_name("m8n8k4.f16.acc_f16")
    assert catalogue.by_name("m16n8k16.f16.acc_f16").twin.name == "m16n8k16.f16.acc_f32"
    assert catalogue.by_name("m16n8k16.bf16.acc_f32").twin is None
    assert catalogue.by_name("m16n8k8.f16.acc_f32").flops == 2 * 16 * 8 * 8


def test_arch_parsing():
    assert hardware.parse_archs("80,sm_90") == ["sm_80", "sm_90"]
    with pytest.raises(UserError, match="accepted: sm_80"):
        hardware.parse_archs("sm_70")


def test_registry_holds_every_form_twice():
    from mmabench.compiler.registry import all_kernels

    mma = [k for k in all_kernels(["mma"])]
    assert len(mma) == 2 * len(catalogue.FORMS)
    names = {k.name for k in mma}
    assert all(k.twin is None or k.twin in names for k in mma)
    assert not mma[0].supports("sm_75") or mma[0].min_sm <= 75
