"""What Triton built around the wgmma, read from its TTGIR, SASS and ptxas log (no GPU): the
facts the `gemm` Triton rows and `gemm --offline --triton` show."""

import subprocess
import sys

import pytest

from mmabench.gemm import triton_evidence as te
from mmabench.gemm import triton_gemm

# The shape of Triton 3.6's TTGIR around the dot (trimmed): f32 keeps one dot in flight.
TTGIR_F32 = """
      %acc_76 = ttng.warp_group_dot %x_74, %y_75, %acc_60 {inputPrecision = 0 : i32, isAsync = true} : a -> b
      %acc_77:3 = ttng.warp_group_dot_wait %acc_76, %x_74, %y_75 {pendings = 1 : i32} : t
    %acc_57 = ttng.warp_group_dot_wait %acc_56#0 {pendings = 0 : i32} : t
"""
TTGIR_F16 = """
      %acc_75 = ttng.warp_group_dot %x_73, %y_74, %acc_59 {inputPrecision = 0 : i32, isAsync = true} : a -> b
      %acc_76:3 = ttng.warp_group_dot_wait %acc_75, %x_73, %y_74 {pendings = 0 : i32} : t
"""


def _sass(loop_body: list[str]) -> str:
    lines = ["        .text.k:", ".L_x_1:"]
    addr = 0x100
    for ins in loop_body + ["@!P1 BRA `(.L_x_1)"]:
        lines.append(f"        /*{addr:04x}*/                   {ins} ;")
        addr += 0x10
    lines.append(f"        /*{addr:04x}*/                   WARPGROUP.DEPBAR.LE gsb0, 0x0 ;")
    lines.append(f"        /*{addr + 16:04x}*/                   EXIT ;")
    return "\n".join(lines) + "\n"


HGMMA = "HGMMA.64x256x16.F32 R24, gdesc[UR8].tnspB, R24"
PIPELINED = _sass(["WARPGROUP.ARRIVE"] + [HGMMA] * 3 + [HGMMA + ", gsb0", "WARPGROUP.DEPBAR.LE gsb0, 0x1", "LDGDEPBAR"])
DRAINED = _sass(["WARPGROUP.ARRIVE"] + [HGMMA] * 3 + [HGMMA + ", gsb0", "WARPGROUP.DEPBAR.LE gsb0, 0x0",
                                                      "WARPGROUP.DEPBAR.LE gsb0, 0x0"])
SERIALIZED = _sass([x for _ in range(4) for x in ("WARPGROUP.ARRIVE", HGMMA + ", gsb0", "WARPGROUP.DEPBAR.LE gsb0, 0x0")])


def test_ttgir_dot_waits_are_read_in_order():
    assert te.ttgir_facts(TTGIR_F32)["ttgir_dot_wait_pendings"] == "1, 0"
    assert te.ttgir_facts(TTGIR_F16)["ttgir_dot_wait_pendings"] == "0"
    assert te.ttgir_facts("no dots")["ttgir_dot_wait_pendings"] == "none"


@pytest.mark.parametrize("sass, depths, verdict", [
    (PIPELINED, "1", "1 in flight"), (DRAINED, "0, 0", "drained"), (SERIALIZED, "0, 0, 0, 0", "serialized")])
def test_the_sass_main_loop_says_how_much_of_the_wgmma_pipeline_survives(sass, depths, verdict):
    facts = te.sass_facts(sass)
    assert facts["loop_hgmma"] == 4 and facts["loop_wait_depths"] == depths
    assert te.pipeline_verdict(facts) == verdict
    # the wait after the loop (the epilogue's drain) is not the loop's
    assert facts["loop_wgmma_waits"] == len(depths.split(","))


def test_a_kernel_without_a_loop_of_hgmma_is_refused():
    with pytest.raises(ValueError, match="no loop holds an HGMMA"):
        te.sass_facts(_sass(["FFMA R1, R2, R3, R4"]))


def test_ptxas_serialization_advisory_and_registers_are_read():
    log = ("ptxas info    : (C7515) Potential Performance Loss: wgmma.mma_async instructions are serialized "
           "due to non wgmma instructions defining accumulator registers of a wgmma between start and end of "
           "the pipeline stage in the function 'matmul'\nptxas info    : Used 175 registers, used 1 barriers\n")
    facts = te.read_ptxas_log(log)
    assert facts["ptxas_advisory"].startswith("C7515 wgmma.mma_async instructions are serialized")
    assert "in the function" not in facts["ptxas_advisory"] and facts["ptxas_registers"] == 175
    assert te.read_ptxas_log("ptxas info    : Used 96 registers")["ptxas_advisory"] == ""


def test_triton_summary_names_layout_tile_and_evidence_within_the_width():
    from mmabench.gemm.bench import triton_summary
    from mmabench.reporting import tables

    rows = []
    for acc, facts in (("f16", te.sass_facts(DRAINED)), ("f32", te.sass_facts(SERIALIZED))):
        rows.append({"impl": "triton-nt 128x256x64 w8 s3", "key": f"k.{acc}", "acc": acc, "status": "ok",
                     "tflops": 503.0, "registers": 175, "ttgir_dot_wait_pendings": "1, 0",
                     "ptxas_advisory": "C7515 wgmma serialized" if acc == "f32" else "",
                     "f16_over_f32": 1.0 if acc == "f16" else None, "f16_over_f32_lo": 0.98,
                     "f16_over_f32_hi": 1.02, **facts, "pipeline": te.pipeline_verdict(facts)})
    text = triton_summary(rows)
    assert "nt 128x256x64 w8 s3" in text and "serialized" in text and "C7515" in text and "drained" in text
    assert max(map(len, text.splitlines())) <= tables.WIDTH
    assert triton_summary([{"impl": "cublas gemmEx", "acc": "f16", "status": "ok"}]) == ""


def test_configurations_are_the_puzzles_four_and_tiles_are_checked():
    assert [c.name for c in triton_gemm.CONFIGS] == ["128x256x64 w8 s3", "128x128x64 w4 s4",
                                                     "128x256x64 w8 s4", "256x128x64 w8 s3"]
    with pytest.raises(ValueError, match="N=1000 is not a multiple of the Triton tile's 256"):
        triton_gemm.check_shape(1024, 1000, 1024, triton_gemm.CONFIGS[0])


@pytest.mark.skipif(triton_gemm.unavailable() is None, reason="Triton is installed here")
def test_offline_triton_without_triton_is_one_clear_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mmabench", "gemm", "--offline", "--triton",
                           "--results", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not proc.stdout.strip()
    assert proc.stderr.startswith("mmabench: gemm --offline --triton needs Triton: triton not importable")
    assert len(proc.stderr.strip().splitlines()) == 1 and "pip install triton" in proc.stderr


@pytest.mark.skipif(triton_gemm.unavailable() is not None, reason="needs Triton (not a GPU)")
def test_triton_builds_an_f16_accumulator_loop_that_drains_its_wgmma():
    """Triton 3.6 on sm_90: the f32 dot stays in flight across K steps, the f16 one is waited for."""
    f16 = te.facts(triton_gemm.compile_offline("f16", "nn", triton_gemm.CONFIGS[0]).asm)
    f32 = te.facts(triton_gemm.compile_offline("f32", "nn", triton_gemm.CONFIGS[0]).asm)
    assert f32["pipeline"] == "1 in flight" and f32["ttgir_dot_wait_pendings"].startswith("1")
    assert f16["pipeline"] == "drained" and f16["ttgir_dot_wait_pendings"] == "0"
