"""The GEMM bridge: on the same fp16 tensors, our wgmma GEMMs (f16 vs f32 accumulator; smem-resident,
cp.async-pipelined, and TMA warp-specialized), Triton (tl.dot out_dtype f16 vs f32; B as [K, N]
and as [N, K]; four tile configurations), cuBLAS (gemmEx COMPUTE_16F vs 32F; PyTorch matmul with
the fp16 reduced-precision reduction flag off and on) and cuBLASLt's FP8 GEMM on the same values
rounded to e4m3 (torch._scaled_mm, partial sums promoted to f32 or not).

Every contender writes its own poisoned output and is checked against the float64 reference
(validate.py) before it is timed; one that fails gives an error row and no figure. The passing
ones are timed in interleaved rounds (measure.interleaved), so the f16 / f32 ratio of each
implementation is taken within rounds on the same clock and temperature, with its range.
Registers, spills and the tensor instruction each one runs go in the rows; the Triton rows also
carry what Triton built around the wgmma (triton_evidence), which is why its f16 accumulator is
slower while the instruction is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from mmabench import measure, record, hardware
from mmabench.gemm import validate
from mmabench.gemm.variants import BK, BM, BN, Variant, check_shape

POLICY = measure.Policy(warmup_ms=20.0, min_samples=5, max_samples=60, rel_error=0.005,
                        budget_s=0.5, rounds=5, samples_per_round=3, regime="sustained")
QUICK_POLICY = measure.Policy(warmup_ms=10.0, min_samples=3, max_samples=20, rel_error=0.01,
                              budget_s=0.2, rounds=3, samples_per_round=2)
NOT_SUPPORTED = "not supported on this GPU"


@dataclass
class Contender:
    key: str                        # unique: 'wgmma.pipelined.f16'
    impl: str                       # 'wgmma pipelined', 'triton', 'cublas gemmEx', 'torch.matmul'
    acc: str                        # 'f16' | 'f32' (for torch: what the main loop accumulates in)
    pair_role: str                  # 'f16' or 'f32': its side of the implementation's ratio
    setting: str                    # what distinguishes it, in words
    launch: Callable[[], object] | None
    out: object | None              # cupy float16 [M, N]
    reference: str = "fp16"         # its float64 reference: 'fp16' (the inputs), 'resident' (the
                                    # smem-resident kernel's product), 'fp8' (inputs rounded to e4m3)
    bound: str = ""                 # validate.U_ACC model its error bound uses ('': acc)
    slack: float = 2.0
    info: dict = field(default_factory=dict)
    status: str = "ok"
    error: str = ""
    twin_key: str = ""              # the f32 contender its f16/f32 ratio is taken against
                                    # ('': the f32 one of the same implementation)


def _cp_async_launch(loaded, v: Variant, a, b, c):
    """One launch of the cp.async kernel (whole tiles: variants.check_shape) on the current stream."""
    import numpy as np

    m, k = a.shape
    n = b.shape[0]
    check_shape(m, n, k)
    args = (a, b, c, np.int32(m), np.int32(n), np.int32(k))
    grid = ((m // BM) * (n // BN),)
    return lambda: loaded.function(grid, (v.threads,), args, shared_mem=v.smem_bytes)


def _launcher(v: Variant):
    """(loaded, v, a, b, c) -> a callable that launches the variant once."""
    from mmabench.gemm.tma import TmaLaunch

    return TmaLaunch if v.tma else _cp_async_launch


def _ready(c: Contender, v: Variant, inputs, arch: str) -> Contender:
    """`c` with its kernel built and checked (SASS, ptxas advisories), its output poisoned and
    its launch bound; an 'unsupported' or 'error' row instead where that fails."""
    from mmabench.gemm import build

    if arch != "sm_90":
        c.status, c.error = "unsupported", f"{NOT_SUPPORTED} ({arch}; wgmma is sm_90a only)"
        return c
    if v.tma:   # a shape this kernel cannot read (TMA's 16-byte rows) is a row, not a failure
        from mmabench.core.errors import UserError
        from mmabench.gemm.variants import check_tma_shape

        try:
            check_tma_shape(*inputs.shape, v.inputs, v.store_c)
        except UserError as exc:
            c.status, c.error = "unsupported", str(exc)
            return c
    try:
        loaded = build.load(v)
        c.info = _kernel_info(v, loaded)
        c.out = validate.poisoned_output(*inputs.shape[:2])
        c.launch = _launcher(v)(loaded, v, inputs.a, inputs.b, c.out)
    except Exception as exc:
        c.status, c.error = "error", f"{type(exc).__name__}: {exc}"
    return c


def _wgmma_contenders(inputs, modes, accs) -> list[Contender]:
    out = []
    arch = hardware.device_arch()
    m, n, k = inputs.shape
    whole = not (m % BM or n % BN or k % BK)
    for mode in modes:
        if mode == "tma":
            continue
        for acc in accs:
            v = Variant(acc, mode)
            c = Contender(f"wgmma.{mode}.{acc}", f"wgmma {mode}", acc, acc,
                          f"{v.name} ({'K loop re-reads one smem tile' if v.resident else 'cp.async, 4 stages'})",
                          None, None, reference="resident" if v.resident else "fp16")
            if not whole:
                c.status, c.error = "unsupported", f"{m}x{n}x{k}: the cp.async kernel takes whole {BM}x{BN}x{BK} tiles"
            out.append(_ready(c, v, inputs, arch) if whole else c)
    return out


def _kernel_info(v: Variant, loaded) -> dict:
    """Registers, spills and the tensor instruction in the SASS that runs of one of our kernels;
    an error (so an error row, no figure) if the SASS is not the accumulator asked for, or ptxas
    serialized the wgmma pipeline or ignored setmaxnreg (build.require_clean)."""
    from mmabench.compiler import sass, toolchain
    from mmabench.gemm import build

    _, res = build.assemble(v)
    build.require_clean(res, v.name)
    hg = sass.tensor_ops(sass.histogram(toolchain.disassemble(loaded.cubin)))
    if set(hg) != {v.wgmma_opcode}:
        raise RuntimeError(f"SASS holds {sorted(hg)}, expected only {v.wgmma_opcode}")
    return {"registers": loaded.registers, "spill_bytes": res.spill_stores + res.spill_loads,
            "local_bytes": loaded.local_bytes, "blocks_per_sm": loaded.max_blocks_per_sm,
            "tensor_op": sass.counts_text(hg), "load": loaded.how,
            "tile": f"{v.tile}, {v.threads // 32} warps"}


def _tma_contenders(inputs, accs) -> list[Contender]:
    """The TMA warp-specialized kernel (variants.TMA_VARIANTS): f32 and f16 at 128 x 256 (only
    the accumulator differs, impl 'tma'), and f16 at its own 256 x 256 tile ('tma 256-row'), whose
    ratio is taken against the f32 128 x 256 kernel with the same options (persistent, TMA-store
    epilogue, clusters multicasting B); and ping-pong, each accumulator at its own tile."""
    from mmabench.gemm.variants import TMA_VARIANTS

    out = []
    arch = hardware.device_arch()
    for v in TMA_VARIANTS:
        if v.acc not in accs:
            continue
        if v.pingpong:   # each accumulator at its own tile; the f16 ratio against the f32 ping-pong
            c = Contender(f"tma.pingpong.{v.acc}", "tma ping-pong", v.acc, v.acc,
                          f"{v.name} (TMA + mbarriers, {v.stages} stages, one CTA per SM; each consumer "
                          f"owns whole {v.bm}x{v.bn} tiles, in turns on named barriers)", None, None)
            out.append(_ready(c, v, inputs, arch))
            continue
        how = ((" persistent" if v.persistent else "") + (" tma-store" if v.store_c else "")
               + (f" mc{v.cluster}" if v.cluster > 1 else ""))
        flags = (f"{'.persistent' if v.persistent else ''}{'.ctma' if v.store_c else ''}"
                 f"{f'.mc{v.cluster}' if v.cluster > 1 else ''}")
        impl = ("tma" if v.bm == BM else f"tma {v.bm}-row") + how
        c = Contender(f"tma.{v.bm}{flags}.{v.acc}", impl, v.acc, v.acc,
                      f"{v.name} (TMA + mbarriers, {v.stages} stages, producer + 2 consumer "
                      f"warpgroups{', one CTA per SM' if v.persistent else ''}"
                      f"{', C stored by TMA from shared memory' if v.store_c else ''}"
                      f"{f', clusters of {v.cluster} multicasting B' if v.cluster > 1 else ''})",
                      None, None, twin_key=f"tma.{BM}{flags}.f32" if v.acc == "f16" else "")
        out.append(_ready(c, v, inputs, arch))
    return out


def _triton_contenders(inputs, a_t, b_t, accs) -> list[Contender]:
    """Triton with B in both layouts ('nn': [K, N], as `a @ b`; 'nt': [N, K]) at each of the
    puzzle's tile configurations, both accumulators; each row carries what the compiler built
    (triton_evidence: the dot waits in TTGIR, the waits in the SASS loop, ptxas advisories)."""
    from mmabench.gemm import triton_gemm

    why = triton_gemm.unavailable() or (None if a_t is not None else
                                         "torch unavailable (Triton takes torch tensors)")
    if why:   # one row per layout and accumulator says why, not one per configuration
        return [Contender(f"triton-{layout}.{acc}", f"triton-{layout}", acc, acc, "", None, None,
                          status="unavailable", error=why)
                for layout in triton_gemm.LAYOUTS for acc in accs]
    import cupy
    import torch

    # the same values for both layouts; the [K, N] copy is made once, outside the timing
    b_by_layout = {"nt": b_t, "nn": torch.from_dlpack(cupy.ascontiguousarray(inputs.b.T))}
    out = []
    for layout in triton_gemm.LAYOUTS:
        for config in triton_gemm.CONFIGS:
            for acc in accs:
                c = Contender(f"triton-{layout}.{config.key}.{acc}", f"triton-{layout} {config.name}",
                              acc, acc, ("tl.dot(..., out_dtype=tl.float16)" if acc == "f16"
                                         else "tl.dot (f32 default)") + f"; {triton_gemm.LAYOUTS[layout]}",
                              None, None, slack=4.0)
                out.append(c)
                try:
                    triton_gemm.check_shape(*inputs.shape, config)
                except ValueError as exc:
                    c.status, c.error = "unsupported", str(exc)
                    continue
                try:
                    c.out = validate.poisoned_output(*inputs.shape[:2])
                    tg = triton_gemm.TritonGemm(acc, layout, config, a_t, b_by_layout[layout],
                                                torch.from_dlpack(c.out))
                    c.launch, c.info = tg, tg.info()
                    c.info.update(_triton_facts(tg.compiled.asm))
                except Exception as exc:
                    c.status, c.error = "error", f"{type(exc).__name__}: {str(exc)[:300]}"
    return out


def _triton_facts(asm: dict) -> dict:
    """triton_evidence.facts of a compiled kernel, or why there are none (no HGMMA off Hopper, no
    disassembler): the evidence is a column, never a reason not to time the kernel."""
    from mmabench.gemm import triton_evidence

    try:
        return triton_evidence.facts(asm)
    except Exception as exc:
        return {"evidence_error": f"{type(exc).__name__}: {str(exc)[:200]}"}


def _cublas_contenders(inputs, a_t, b_t, accs) -> list[Contender]:
    from mmabench.gemm import cublas

    out = []
    m, n, _ = inputs.shape
    for acc in accs:
        c = Contender(f"cublas.gemmEx.{acc}", "cublas gemmEx", acc, acc,
                      f"cublasGemmEx CUBLAS_COMPUTE_{acc[1:].upper()}F", None, None, slack=4.0)
        try:
            c.out = validate.poisoned_output(m, n)
            c.launch = cublas.gemm_ex(inputs.a, inputs.b, c.out, acc)
        except Exception as exc:
            c.status, c.error = "error", f"{type(exc).__name__}: {exc}"
        out.append(c)
    why = cublas.torch_unavailable()
    for flag in (True, False):
        role = "f16" if flag else "f32"
        c = Contender(f"torch.matmul.rpr_{'on' if flag else 'off'}", "torch.matmul", "f32", role,
                      f"allow_fp16_reduced_precision_reduction={flag}", None, None, slack=4.0,
                      bound="f32")
        if why or a_t is None:
            c.status, c.error = "unavailable", why or "torch unavailable"
            out.append(c)
            continue
        import torch

        c.out = validate.poisoned_output(m, n)
        c.launch = cublas.torch_matmul(a_t, b_t, torch.from_dlpack(c.out), flag)
        out.append(c)
    return out


@dataclass
class Fp8Operands:
    """The fp16 inputs rounded to e4m3, once per run: torch float8 tensors for cuBLASLt, the same
    bytes as CuPy uint8 arrays for our kernel, and the float64 reference of the rounded values
    (every e4m3 value is an fp16 value, so it is exact). B stays [N, K], K-major, as FP8 wgmma
    and cuBLASLt's FP8 path both want: no transpose is made or timed."""
    a8: object
    b8: object
    inputs: validate.Inputs         # CuPy uint8 views of a8, b8 (the sampled rows of `inputs`)
    reference: validate.Reference


def _fp8_operands(inputs, a_t, b_t) -> tuple[Fp8Operands | None, str]:
    """(operands, '') or (None, why not): torch makes the e4m3 rounding."""
    from mmabench.gemm import cublas

    why = cublas.torch_unavailable() if a_t is not None else "torch unavailable"
    if why:
        return None, f"{why} (e4m3 inputs are made with torch)"
    try:
        import cupy
        import torch

        a8, b8, a_rounded, b_rounded = cublas.fp8_operands(a_t, b_t)
        rounded = validate.Inputs(cupy.from_dlpack(a_rounded), cupy.from_dlpack(b_rounded), inputs.rows)
        as_bytes = validate.Inputs(cupy.from_dlpack(a8.view(torch.uint8)),
                                   cupy.from_dlpack(b8.view(torch.uint8)), inputs.rows)
        return Fp8Operands(a8, b8, as_bytes, validate.reference(rounded)), ""
    except Exception as exc:   # no float8 in this torch build
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _cublaslt_fp8_contenders(fp8: Fp8Operands | None, why: str, shape) -> list[Contender]:
    """cuBLASLt's FP8 GEMM ('cublasLt fp8': torch._scaled_mm, e4m3 in, fp16 out) with its
    partial sums promoted to f32 (PyTorch's default) and with fast accumulation (the tensor
    core's 14-bit accumulator over all of K)."""
    from mmabench.gemm import cublas

    m, n, _ = shape
    rows = [Contender(f"cublaslt.fp8.{'fast' if fast else 'promoted'}",
                      f"cublasLt fp8{' fast-accum' if fast else ''}", "f32", "f32",
                      "torch._scaled_mm, use_fast_accum=" + str(fast) +
                      ("" if fast else " (partial sums promoted to f32)") + "; B [N, K], no transpose",
                      None, None, slack=4.0, reference="fp8", bound="fp8") for fast in (False, True)]
    for c, fast in zip(rows, (False, True)):
        if fp8 is None:
            c.status, c.error = "unavailable", why
            continue
        if m % 16 or n % 16:
            c.status, c.error = "unsupported", f"torch._scaled_mm takes M and N multiples of 16 (here {m}, {n})"
            continue
        try:
            import torch

            c.out = validate.poisoned_output(m, n)
            c.launch = cublas.scaled_mm_fp8(fp8.a8, fp8.b8, torch.from_dlpack(c.out), fast)
        except Exception as exc:   # no FP8 GEMM on this GPU or build (sm_89+ only)
            c.status, c.error = "error", f"{type(exc).__name__}: {str(exc)[:300]}"
    return rows


def _tma_fp8_contenders(fp8: Fp8Operands | None, why: str, accs) -> list[Contender]:
    """Our TMA kernel on the e4m3 inputs: f32 and f16 accumulators at 128 x 256 ('tma fp8'), f16
    at 256 x 256 ('tma fp8 256-row'), and f32 with each 128-wide K tile's partial sum promoted
    into f32 registers ('tma fp8 promoted', 128 x 128: two f32 accumulators)."""
    from mmabench.gemm.variants import FP8_VARIANTS

    out = []
    arch = hardware.device_arch()
    for v in FP8_VARIANTS:
        if v.acc not in accs:
            continue
        impl = "tma fp8" + (" promoted" if v.promote else "") + ("" if v.bm == BM else f" {v.bm}-row")
        c = Contender(f"tma.e4m3.{v.bm}x{v.bn}{'.promote' if v.promote else ''}.{v.acc}", impl, v.acc,
                      v.acc, f"{v.name} (e4m3 in; B [N, K], no transpose"
                             f"{'; K tiles of 128 promoted to f32' if v.promote else ''})",
                      None, None, reference="fp8", bound="fp8",
                      twin_key="tma.e4m3.128x256.f32" if v.acc == "f16" else "")
        if fp8 is None:
            c.status, c.error = "unavailable", why
            out.append(c)
            continue
        out.append(_ready(c, v, fp8.inputs, arch))
    return out


def _check(c: Contender, inputs, refs) -> None:
    """Run once into the poisoned output and compare; failures become error rows."""
    import cupy

    try:
        c.launch()
        cupy.cuda.get_current_stream().synchronize()
        _sync_torch()
        c.info.update(validate.check(c.out, inputs, refs[c.reference], c.bound or c.acc, c.slack))
    except validate.CheckFailed as exc:
        c.status, c.error = "error", f"wrong result: {exc}"
    except Exception as exc:
        c.status, c.error = "error", f"{type(exc).__name__}: {str(exc)[:300]}"


def _sync_torch():
    try:
        import torch
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    except Exception:
        pass


def run(size: int = 8192, accs=("f16", "f32"), modes=("resident", "pipelined", "tma"),
        with_triton: bool = True, with_cublas: bool = True, seed: int | None = None,
        policy: measure.Policy = POLICY, results_root=None, profile_cublas: bool = True,
        shapes: list[tuple[int, int, int]] | None = None):
    """Measure every contender on each problem (`shapes`: (M, N, K) each; default M = N = K =
    size), one after the other, into one run folder; returns (folder, rows). Each problem has
    its own inputs and reference, and its contenders are timed in their own interleaved rounds."""
    from mmabench.core.seed import chosen

    hardware.require_gpu()
    shapes = list(shapes or [(size, size, size)])
    for shape in shapes:
        check_problem(*shape)
    seed = chosen(seed)   # said, and recorded in the context of every row
    ctx = {**record.gpu_context(), **record.software_context(), "seed": seed}
    folder = record.RunFolder("gemm", ctx["gpu_name"], results_root)
    folder.save_context(ctx)
    for shape in shapes:    # an interrupted sweep keeps the problems already measured
        _measure_problem(shape, folder, ctx, accs, modes, with_triton, with_cublas, seed, policy,
                         profile_cublas)
        folder.flush()
    return folder, folder.rows


def check_problem(m: int, n: int, k: int) -> None:
    """UserError unless some contender can run M x N x K and it can be checked: N even (C in
    f16 pairs), K a multiple of 16 (the reference's k16 steps, TMA's 16-byte rows)."""
    from mmabench.core.errors import UserError

    if m < 1 or n < 2 or n % 2 or k < 16 or k % 16:
        raise UserError(f"GEMM {m}x{n}x{k}: M >= 1, N even and K a multiple of 16 are accepted")


def _measure_problem(shape, folder, ctx, accs, modes, with_triton, with_cublas, seed, policy,
                     profile_cublas) -> None:
    m, n, k = shape
    inputs = validate.make_inputs(m, n, k, seed)
    a_t = b_t = None
    try:
        import torch
        if torch.cuda.is_available():
            a_t, b_t = torch.from_dlpack(inputs.a), torch.from_dlpack(inputs.b)
    except Exception:
        pass

    contenders = _wgmma_contenders(inputs, modes, accs)
    if "tma" in modes:
        contenders += _tma_contenders(inputs, accs)
    if with_triton:
        contenders += _triton_contenders(inputs, a_t, b_t, accs)
    fp8, fp8_why = _fp8_operands(inputs, a_t, b_t) if "tma" in modes or with_cublas else (None, "")
    if "tma" in modes:
        contenders += _tma_fp8_contenders(fp8, fp8_why, accs)
    if with_cublas:
        contenders += _cublas_contenders(inputs, a_t, b_t, accs)
        contenders += _cublaslt_fp8_contenders(fp8, fp8_why, inputs.shape)

    refs = {"fp16": validate.reference(inputs)}
    if "resident" in modes:
        refs["resident"] = validate.reference(inputs, resident=True)
    if fp8 is not None:
        refs["fp8"] = fp8.reference
    for c in contenders:
        if c.status == "ok":
            _check(c, inputs, refs)
    if profile_cublas:
        from mmabench.gemm.cublas import kernel_names
        cub = [c for c in contenders if c.status == "ok"
               and c.impl.startswith(("cublas gemmEx", "torch.matmul", "cublasLt"))]
        for c, names in zip(cub, kernel_names({c.key: c.launch for c in cub}).values()):
            c.info["kernels"] = names

    timed = {c.key: c.launch for c in contenders if c.status == "ok"}
    result = measure.interleaved(timed, policy) if timed else None
    flops = 2.0 * m * n * k
    sms = ctx.get("sm_count") or hardware.sm_count()
    by_impl: dict[str, dict[str, Contender]] = {}
    for c in contenders:
        by_impl.setdefault(c.impl, {})[c.pair_role] = c
    by_key = {c.key: c for c in contenders}

    for c in contenders:
        row = {"impl": c.impl, "key": c.key, "acc": c.acc, "setting": c.setting, "m": m, "n": n,
               "k": k, "status": c.status, "error": c.error, **c.info}
        if c.status == "ok" and result is not None:
            meas = result.measurements[c.key]
            t = meas.median_ms * 1e-3
            clock = meas.sm_clock_mhz
            row.update(meas.fields())
            row["tflops"] = flops / t / 1e12
            row["flop_per_clk_per_sm"] = flops / (t * clock * 1e6 * sms) if clock else None
            twin = by_key.get(c.twin_key) if c.twin_key else by_impl[c.impl].get("f32")
            if c.pair_role == "f16" and twin is not None and twin.status == "ok":
                row.update(result.ratio(c.key, twin.key).fields("f16_over_f32"))
        folder.add({**row, **ctx, "timestamp": record.timestamp()})


def _summary_row(r: dict) -> list:
    from mmabench.reporting import tables

    acc = r["acc"]
    if r["impl"] == "torch.matmul" and str(r["key"]).endswith("_on"):
        acc += " rpr"   # same f32 main loop; the flag allows f16 split-K sums (see the note)
    ok = r["status"] == "ok"
    return [r["impl"], acc, tables.fmt(tables.number(r.get("tflops"))) if ok else r["status"],
            tables.clock_power(r) if ok else "-", tables.fmt(tables.number(r.get("registers")), 0),
            compact_tensor_op(_text(r.get("tensor_op"))) or _F16_INPUTS.sub("", _text(r.get("ptx_wgmma"))) or "-",
            tables.fmt(tables.number(r.get("rel_rms_err")), 5),
            tables.ratio(r.get("f16_over_f32"), r.get("f16_over_f32_lo"), r.get("f16_over_f32_hi"))]


# Every input here is fp16: a PTX form's input types ('.f16.f16' of 'wgmma m64n256k16.f32.f16.f16')
# say nothing in the table (the row keeps the whole form).
_F16_INPUTS = re.compile(r"(?<=\.f16|\.f32)\.f16\.f16\b")
# likewise QGMMA's '.E4M3.E4M3': the FP8 rows all take e4m3 (their implementation says fp8)
_E4M3_INPUTS = re.compile(r"\.E4M3\.E4M3\b")


def compact_tensor_op(text: str) -> str:
    """A SASS tensor op as the GEMM tables print it: 'QGMMA.64x256x32.F32 x12' (e4m3 inputs are
    the only FP8 ones here; rows and result files keep the whole opcode)."""
    return _E4M3_INPUTS.sub("", text)


def _text(value) -> str:
    """A cell's text, '' for a value the row lacks (None, or NaN read back from a CSV)."""
    return "" if value is None or value != value else str(value)


def summary(rows: list[dict], markdown: bool = False) -> str:
    """One line per implementation and accumulator; spills, library kernels and errors in notes
    under the table (every column stays in gemm.csv); then what Triton built (triton_summary)."""
    from mmabench.reporting import tables

    out = [tables.table(["implementation", "acc", "TFLOP/s", "MHz/W", "regs", "tensor instruction",
                         "RMS err", "f16/f32 speed"], [_summary_row(r) for r in rows], markdown)]
    out += tables.timing_note(rows)
    out.append(tables.clock_power_note(rows))
    out.append(tables.note(tables.RATIO_NOTE[:-1] + "; 'rpr': torch.matmul with "
                           "allow_fp16_reduced_precision_reduction (f16 split-K sums). RMS err: relative to "
                           "the float64 product of the same inputs (the fp8 rows: of the inputs rounded to e4m3)."))
    out += [tables.note(f"{r['key']}: spills {tables.fmt(tables.number(r['spill_bytes']), 0)} B")
            for r in rows if (tables.number(r.get("spill_bytes")) or 0) > 0]
    out += [tables.note(f"{r['key']}: kernels {r['kernels']}") for r in rows if _text(r.get("kernels"))]
    out += [tables.note(f"{r['key']}: {r['status']}: {r['error']}") for r in rows if r["status"] != "ok"]
    triton = triton_summary(rows, markdown)
    return "\n".join(out + ([triton] if triton else []))


def sweep_summary(rows: list[dict], markdown: bool = False) -> str:
    """TFLOP/s of every implementation and accumulator (rows) at every problem (columns), and
    each one over cuBLAS gemmEx f32 at the same problem; the clock, power and error of every cell
    are in the per-problem tables above it and in gemm.csv."""
    from mmabench.reporting import tables

    shapes = list(dict.fromkeys((r["m"], r["n"], r["k"]) for r in rows))
    label = lambda s: str(s[0]) if s[0] == s[1] == s[2] else "x".join(map(str, s))
    cells: dict[tuple[str, str], dict] = {}
    for r in rows:
        acc = r["acc"] + (" rpr" if r["impl"] == "torch.matmul" and str(r["key"]).endswith("_on") else "")
        cells.setdefault((r["impl"], acc), {})[(r["m"], r["n"], r["k"])] = r
    base = {(r["m"], r["n"], r["k"]): tables.number(r.get("tflops")) for r in rows
            if r["key"] == "cublas.gemmEx.f32" and r["status"] == "ok"}

    def cell(r: dict | None, shape) -> str:
        if r is None:
            return "-"
        if r["status"] != "ok":
            return r["status"]
        tf = tables.number(r.get("tflops"))
        ratio = f" ({tf / base[shape]:.2f})" if base.get(shape) and tf else ""
        return tables.fmt(tf) + ratio

    body = [[impl, acc] + [cell(by.get(s), s) for s in shapes] for (impl, acc), by in cells.items()]
    return "\n".join(["TFLOP/s by problem (in brackets: over cuBLAS gemmEx f32 at the same problem)",
                      tables.table(["implementation", "acc"] + [label(s) for s in shapes], body, markdown,
                                   max_width=None)])


def triton_summary(rows: list[dict], markdown: bool = False) -> str:
    """The Triton rows beside what the compiler built around the wgmma: the dot waits Triton put
    in TTGIR, the HGMMAs and wgmma waits (with their depth) per trip of the SASS main loop, and
    ptxas's serialization advisory; '' when no Triton row has them."""
    from mmabench.reporting import tables

    have = [r for r in rows if str(r.get("impl", "")).startswith("triton") and _text(r.get("pipeline"))]
    if not have:
        return ""
    body = [[str(r["impl"]).replace("triton-", "", 1), r["acc"],
             tables.fmt(tables.number(r.get("tflops"))) if r["status"] == "ok" else
             ("-" if r["status"] == "offline" else r["status"]),
             tables.ratio(r.get("f16_over_f32"), r.get("f16_over_f32_lo"), r.get("f16_over_f32_hi")),
             tables.fmt(tables.number(r.get("registers")) or tables.number(r.get("ptxas_registers")), 0),
             _text(r.get("ttgir_dot_wait_pendings")),
             f"{tables.fmt(tables.number(r.get('loop_hgmma')), 0)} / {_text(r.get('loop_wait_depths'))}",
             _text(r.get("pipeline")), _text(r.get("ptxas_advisory")).split(" ")[0] or "-"]
            for r in have]
    return "\n".join([
        "", "Triton: what the compiler built around the wgmma (B as [K, N]: nn; as [N, K]: nt)",
        tables.table(["Triton layout, tile", "acc", "TFLOP/s", "f16/f32 speed", "regs", "TTGIR waits",
                      "HGMMA / waits", "pipeline", "ptxas"], body, markdown),
        tables.note("TTGIR waits: the pendings of each warp_group_dot_wait (0 right after the dot: Triton's "
                    "wgmma pipeliner, pass triton-wgmma-pipeline, did not make the dot async). HGMMA / waits: "
                    "per trip of the SASS main loop, the HGMMAs and the depth of each WARPGROUP.DEPBAR wait. "
                    "pipeline: 'N in flight' keeps N K steps of wgmma running across the loop; 'drained' waits "
                    "for each step's wgmma; 'serialized' waits after every HGMMA (ptxas: its advisory code).")])


def wgmma_once(v: Variant, a, b):
    """C = our kernel's product of CuPy fp16 a [M, K] and b [N, K], into a poisoned output
    (cp.async kernels: whole tiles; the TMA kernel: any M, N, K it takes,
    variants.check_tma_shape)."""
    import cupy

    from mmabench.gemm import build

    c = validate.poisoned_output(a.shape[0], b.shape[0])
    _launcher(v)(build.load(v), v, a, b, c)()
    cupy.cuda.get_current_stream().synchronize()
    return c
