"""The TMA warp-specialized GEMM and its Hopper building blocks without a GPU: the tensor maps'
encoder arguments and the shapes they refuse, the kernel's SASS (TMA loads, mbarriers,
setmaxnreg), and the ptxas advisories that fail its build."""

import pytest

from mmabench.compiler import toolchain
from mmabench.compiler.resources import parse_ptxas_log
from mmabench.core.errors import UserError
from mmabench.gemm import build, offline, variants
from mmabench.gemm.tma import grid_size
from mmabench.hopper.tensor_map import Tile2D, encode

TMA = [v for v in variants.all_variants() if v.tma]


def test_an_operand_tile_gives_the_encoder_innermost_first_arguments():
    args = Tile2D("f16", rows=8192, cols=4096, row_stride=4096, box_rows=128, box_cols=64).encoder_args()
    assert args["dtype"] == "CU_TENSOR_MAP_DATA_TYPE_FLOAT16" and args["rank"] == 2
    assert args["global_dims"] == (4096, 8192)               # innermost (K) first
    assert args["global_strides_bytes"] == (8192,)           # the innermost stride is implied
    assert args["box_dims"] == (64, 128) and args["element_strides"] == (1, 1)
    assert args["swizzle"] == "CU_TENSOR_MAP_SWIZZLE_128B"
    assert args["oob_fill"] == "CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE"   # zeros past the end


@pytest.mark.parametrize("tile, says", [
    (Tile2D("f16", 100, 1001, 1001, 128, 64), "multiple of 16 bytes (8 f16"),
    (Tile2D("e4m3", 100, 1000, 1000, 128, 64), "multiple of 16 bytes (16 e4m3"),
    (Tile2D("f16", 100, 1024, 1024, 300, 64), "each side 1..256"),
    (Tile2D("f16", 100, 1024, 1024, 128, 128), "exceed the 128b swizzle's 128 bytes"),
    (Tile2D("f32", 100, 1024, 1024, 128, 32), "accepted f16, bf16, e4m3, e5m2"),
    (Tile2D("f16", 100, 1024, 512, 128, 64), "stride >= the columns"),
])
def test_a_shape_tma_cannot_read_is_a_one_line_error(tile, says):
    with pytest.raises(UserError, match=says.replace("(", r"\(").replace(".", r"\.")):
        tile.encoder_args()


def test_a_misaligned_tensor_is_refused_before_the_driver_is_asked():
    with pytest.raises(UserError, match="16-byte-aligned"):
        encode(Tile2D("f16", 64, 64, 64, 64, 64), 0x1008)


@pytest.mark.parametrize("shape, says", [((128, 255, 64), "N=255 .even"),
                                         ((128, 256, 100), "K=100 .a multiple of 8"),
                                         ((0, 256, 64), "M=0")])
def test_the_tma_gemm_names_the_shapes_it_takes(shape, says):
    with pytest.raises(UserError, match=says):
        variants.check_tma_shape(*shape)


def test_tiles_cover_shapes_that_are_not_tile_multiples_and_persistent_ctas_fill_the_sms():
    v = variants.Variant("f32", "tma", 4, 128)
    assert grid_size(v, 1000, 1000) == 8 * 4
    assert grid_size(variants.Variant("f16", "tma", 3, 256), 8192, 8192) == 32 * 32
    persistent = variants.Variant("f32", "tma", 4, 128, persistent=True)
    assert grid_size(persistent, 8192, 8192, sms=132) == 132
    assert grid_size(persistent, 1000, 1000, sms=132) == 32      # fewer tiles than SMs
    assert persistent.defines()["TMA_PERSISTENT"] == 1 and "persistent" in persistent.name


@pytest.mark.parametrize("v", TMA, ids=lambda v: v.name)
def test_tma_kernel_builds_warp_specialized_with_no_spill_and_no_fatal_advisory(v):
    r = offline.report(v)
    assert r["ok"], r
    assert r["spill_store_bytes"] == r["spill_load_bytes"] == 0
    assert not r["wgmma_serialized"] and not r["setmaxnreg_ignored"]
    assert r["setmaxnreg"] == "inc 232, dec 40"
    assert r["n_tma_load"] > 0 and r["n_setmaxreg"] == 2        # UTMALDG; one dec, one inc
    assert r["hgmma"].startswith(v.wgmma_opcode)
    assert (r["n_f2fp_pack"] > 0) == (v.acc == "f32")
    # the 256-row tile holds two m64 slabs per consumer: twice the wgmma per K tile
    assert r["smem_bytes"] <= 227 * 1024
    ptx = build.ptx_for(v)
    assert ".maxntid 384, 1, 1" in ptx and "cp.async.bulk.tensor.2d" in ptx
    assert "mbarrier.try_wait.parity" in ptx and "mbarrier.arrive.expect_tx" in ptx
    build.require_clean(build.assemble(v)[1], v.name)


def test_setmaxnreg_without_a_register_cap_fails_the_build():
    ptx = (".version 8.0\n.target sm_90a\n.address_size 64\n.visible .entry k(.param .u64 p)\n"
           "{\n.reg .b32 r<2>;\n.reg .b64 rd<2>;\nsetmaxnreg.inc.sync.aligned.u32 232;\n"
           "ld.param.u64 rd1, [p];\nmov.u32 r1, %tid.x;\nst.global.u32 [rd1], r1;\nret;\n}\n")
    res = parse_ptxas_log(toolchain.assemble(ptx, "sm_90a").log, "k", "sm_90a")
    assert res.advised("setmaxnreg ignored")
    with pytest.raises(toolchain.CompileError, match="C7508"):
        build.require_clean(res, "k")


def test_the_256_row_tile_issues_two_slabs_of_wgmma_per_k_tile():
    small = offline.report(variants.Variant("f16", "tma", 4, 128))
    large = offline.report(variants.Variant("f16", "tma", 3, 256))
    count = lambda r: int(r["hgmma"].rsplit("x", 1)[1])      # 'HGMMA.64x256x16.F16 x12'
    assert count(large) == 2 * count(small)


@pytest.mark.parametrize("shapes, says", [
    (((128, 64), (256, 72), (128, 256)), "b .256, 72."),
    (((128, 64), (256, 64), (128, 128)), "c .128, 128."),
])
def test_operands_that_do_not_fit_the_tensor_maps_are_refused(shapes, says):
    import numpy as np

    from mmabench.gemm.tma import check_operands

    a, b, c = (np.zeros(s, np.float16) for s in shapes)
    with pytest.raises(UserError, match=says):
        check_operands(a, b, c)
    with pytest.raises(UserError, match="not contiguous"):
        check_operands(np.zeros((64, 128), np.float16).T, np.zeros((256, 64), np.float16),
                       np.zeros((128, 256), np.float16))
    with pytest.raises(UserError, match="float32"):
        check_operands(np.zeros((128, 64), np.float32), b, c)


def test_a_local_include_is_inlined_with_a_trailing_comment_and_a_cycle_is_an_error(tmp_path):
    from mmabench.compiler import cuda_source

    (tmp_path / "h.cuh").write_text("int from_header;\n")
    (tmp_path / "k.cu").write_text('#include "h.cuh"  // the building blocks\nint after;\n')
    text = cuda_source.render(tmp_path / "k.cu", "k", {})
    assert "int from_header;" in text and '#line 2 "k.cu"' in text
    (tmp_path / "loop.cuh").write_text('#include "loop.cuh"\n')
    with pytest.raises(toolchain.CompileError, match="includes itself"):
        cuda_source.render(tmp_path / "loop.cuh", "loop", {})


def test_regs_reports_the_setmaxnreg_values_of_the_warp_specialized_kernels(tmp_path, capsys):
    from mmabench.cli import main
    from mmabench.compiler import report

    rows = report.compile_report(["gemm.tma.128x256.s4.acc_f32", "gemm.wgmma.pipelined.acc_f32"],
                                 ["sm_90a"], all_kernels=True)
    values = {r["kernel"]: r["setmaxnreg"] for r in rows}
    assert values == {"gemm.tma.128x256.s4.acc_f32": "inc 232, dec 40",
                      "gemm.wgmma.pipelined.acc_f32": ""}
    assert main(["regs", "--family", "gemm", "--results", str(tmp_path)]) == 0
    assert "setmaxnreg (regs is the count at entry" in capsys.readouterr().out


def test_tma_store_and_fp8_variants_are_named_sized_and_shaped_as_their_kernels_need():
    from mmabench.core.errors import UserError

    store = [v for v in variants.all_variants() if v.store_c]
    assert {v.name for v in store} >= {"gemm.tma.128x256.ctma.acc_f32",
                                       "gemm.tma.128x256.ctma.persistent.acc_f16"}
    for v in store:   # 3 stages of A + B, and C staged: one 64 x 256 fp16 slab per consumer
        assert v.bm == 128 and v.smem_bytes == 3 * (128 + 256) * 128 + 1024 + 128 * 256 * 2 + 16 * 3
        assert v.smem_bytes <= 227 * 1024 and v.defines()["TMA_STORE_C"] == 1
        assert v.twin is not None and v.twin.store_c
    variants.check_tma_shape(77, 514, 72)                       # pairs of C suffice ...
    with pytest.raises(UserError, match="N=514 .a multiple of 8: 16-byte C rows"):
        variants.check_tma_shape(77, 514, 72, store_c=True)      # ... the TMA store writes 16-byte rows
    with pytest.raises(UserError, match="K=72 .a multiple of 16: 16-byte e4m3 rows"):
        variants.check_tma_shape(77, 512, 72, inputs="e4m3")
    fp8 = {v.name: v for v in variants.all_variants() if v.fp8}
    promoted = fp8["gemm.tma.e4m3.128x128.s6.promote.acc_f32"]
    assert promoted.bk == 128 and promoted.twin is None
    assert promoted.wgmma_opcode == "QGMMA.64x128x32.F32.E4M3.E4M3"
    assert fp8["gemm.tma.e4m3.128x256.s4.acc_f16"].twin.name == "gemm.tma.e4m3.128x256.s4.acc_f32"


def test_ping_pong_variants_own_whole_tiles_per_consumer():
    ping = {v.acc: v for v in variants.all_variants() if v.pingpong}
    assert set(ping) == {"f16", "f32"} and all(v.persistent and not v.store_c for v in ping.values())
    # f16: 2 slabs of 64 accumulator registers per consumer; f32: one slab of 128
    assert (ping["f16"].bm, ping["f32"].bm) == (128, 64)
    assert ping["f16"].defines()["TMA_PINGPONG"] == 1 and ping["f16"].twin is None
    assert ping["f32"].smem_bytes == 5 * (64 + 256) * 128 + 1024 + 16 * 5 <= 227 * 1024


def test_cluster_variants_multicast_half_of_b_and_launch_whole_clusters():
    from mmabench.gemm.tma import grid_size

    mc = {v.name: v for v in variants.all_variants() if v.cluster > 1}
    assert set(mc) == {"gemm.tma.128x256.s4.mc2.acc_f32", "gemm.tma.128x256.s4.mc2.acc_f16",
                       "gemm.tma.128x256.ctma.mc2.acc_f32", "gemm.tma.128x256.ctma.mc2.acc_f16"}
    v = mc["gemm.tma.128x256.s4.mc2.acc_f32"]
    assert v.defines()["TMA_CLUSTER"] == 2 and not v.persistent
    assert v.twin.name == "gemm.tma.128x256.s4.mc2.acc_f16"
    # 3 tiles of M: two clusters, the last CTA's tile past M (it loads zeros, stores nothing)
    assert grid_size(v, 300, 512) == 4 * 2
    assert grid_size(variants.Variant("f32", "tma", 4, 128), 300, 512) == 3 * 2
    ptx = build.ptx_for(v)
    assert ".reqnctapercluster 2, 1, 1" in ptx or ".explicitcluster" in ptx
    assert "multicast::cluster" in ptx and "mapa.shared::cluster" in ptx and "barrier.cluster" in ptx


def test_a_shape_the_tma_store_cannot_write_is_an_unsupported_row_not_an_error():
    """N even but not a multiple of 8: the direct-store kernels take it, the TMA store cannot."""
    import numpy as np

    from mmabench.gemm import bench, validate

    inputs = validate.Inputs(np.zeros((256, 64), np.float16), np.zeros((8194, 64), np.float16),
                             np.arange(4))
    store = next(v for v in variants.all_variants() if v.store_c)
    c = bench._ready(bench.Contender("k", "tma tma-store", "f32", "f32", "", None, None), store,
                     inputs, "sm_90")
    assert c.status == "unsupported" and "N=8194" in c.error and c.launch is None


def test_triton_evidence_that_cannot_be_read_is_a_column_not_a_failed_row():
    from mmabench.gemm import bench

    facts = bench._triton_facts({"ttgir": "", "ptx": "", "cubin": b"not a cubin"})
    assert set(facts) == {"evidence_error"} and facts["evidence_error"]
