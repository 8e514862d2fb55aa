"""`python -m mmabench arith`: the bit-level arithmetic of each tensor-core form.

On a GPU: designed vectors -> features (printed beside the papers' values), the model built from
them checked bit for bit on random vectors, the mma chain checked exactly against the model (and a
deliberately wrong fragment layout shown to fail), the consequence table. Offline: the papers'
features (labelled 'published') and the consequence table of the published H100 model.
"""

from __future__ import annotations

import json
import textwrap
import time
from collections import Counter

import numpy as np

from mmabench.reporting import tables
from mmabench.core import seed
from mmabench.core.errors import UserError, in_range
from mmabench.core.options import Mode, Modes

DEFAULT_VECTORS = 100_000
# bounds that keep one run within memory: 200 trials of the 65536-long dot products take ~1 GB
MAX_TRIALS = 200
MAX_VECTORS = 1_000_000

# Which options each mode reads (mmabench.core.options): one given to a mode that does not read
# it is refused, not ignored.
OPTIONS = Modes(
    common=("--form", "--trials", "--max-k", "--seed", "--markdown"),
    modes=(Mode("the measurements", devices=True, reads=("--vectors", "--results")),
           Mode("--offline", reads=("--fp8-consequence",))))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "arith", help="bit-level arithmetic of each tensor-core form: features, model, checks",
        description="Determine what each mma.sync / wgmma form computes bit for bit (products, fused block "
                    "size, alignment bits, rounding, subnormals, overflow, inf/NaN) from designed "
                    "test vectors, check a NumPy model of it on random vectors, and show what it "
                    "means for long dot products. --offline: the published features only.")
    p.add_argument("--form", help="comma list of forms (names or parts, e.g. acc_f16); default: the f16/bf16 "
                        "mma.sync forms; 'fp8' (or e4m3, e5m2, m16n8k32) for the FP8 mma.sync m16n8k32 "
                        "forms; 'wgmma' for every wgmma type at N=256 (f16, bf16, e4m3, e5m2; sm_90a)")
    p.add_argument("--vectors", type=int,
                   help=f"random dot products per form for the model check (default {DEFAULT_VECTORS})")
    p.add_argument("--trials", type=int, default=24,
                   help=f"dot products per K in the consequence table (1..{MAX_TRIALS})")
    p.add_argument("--max-k", type=int, default=65536,
                   help="largest K of the consequence table, whose K are 16, 64, 256, ..., 65536 "
                        "(16..65536: those up to it are run)")
    p.add_argument("--seed", type=seed.option, default=None,
                   help="seed of the random vectors (default: a fresh one, printed and recorded)")
    p.add_argument("--results", metavar="DIR", help="results root folder (default ./results)")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--offline", action="store_true", help="no GPU: published features only")
    p.add_argument("--fp8-consequence", action="store_true",
                   help="with --offline: also the consequence table of FP8 (e4m3) inputs, wgmma vs "
                        "mma.sync, from the shipped H100 models (slower)")
    p.set_defaults(func=run)


def _value(v):
    if isinstance(v, list):
        return "+".join(map(str, v))
    if v == "":   # core_type / b_type '': the same format as the inputs
        return "as inputs"
    return "-" if v is None else str(v)


FEATURE_ROWS = ("product_exact", "core_type", "block", "blocks", "k_order", "c_join", "extra_bits",
                "alignment_bits", "result_bits", "exponent", "align",
                "rounding", "out_rounding", "inter", "subnormals", "overflow", "specials_ieee")


def feature_table(rows_by_form: dict, gpu: str, markdown: bool) -> str:
    from mmabench.arith.published import reported_for

    out = []
    for name, (form, fi) in rows_by_form.items():
        rep = {}
        for r in reported_for(gpu, form):
            rep.setdefault(r.feature, []).append(r)
        lines = []
        for feat in FEATURE_ROWS:
            if feat not in fi.features:
                continue
            if form.acc == "f32" and feat in ("out_rounding", "inter"):
                continue
            rs = rep.get(feat, [])
            amb = fi.ambiguous.get(feat)
            lines.append([feat, _value(fi.features[feat]) + (f" (or {amb})" if amb else ""),
                          " / ".join(_published(r, form) for r in rs),
                          " / ".join(f"{r.source} ({r.status})" for r in rs)])
        from mmabench.arith.chain import describe
        out.append(f"\n{name}  (designed cases reproduced by the model: "
                   f"{fi.designed_match[0]}/{fi.designed_match[1]})\n  one instruction: "
                   f"{describe(fi.model)}")
        out.append(tables.table(["feature", "measured", "published", "source"], lines, markdown))
        # how each was read: free text, under the table rather than as its widest column
        out += [tables.note(f"  {line[0]}: {fi.evidence[line[0]]}") for line in lines
                if fi.evidence.get(line[0])]
    return "\n".join(out)


def _published(r, form) -> str:
    from mmabench.arith.published import applies
    return _as_applied(r.value, applies(r, form))


def _as_applied(value, here) -> str:
    """A published value, with what it comes to for this form where that differs (a block of
    16 on a k8 instruction)."""
    return _value(value) if here == value else f"{value} (k={here} here)"


def sources_text(rows) -> str:
    from mmabench.arith.published import sources
    used = sorted({r.source for r in rows})
    lines = [textwrap.fill(f"{k}: {sources().get(k, '?')}", 116, initial_indent="  ",
                           subsequent_indent="      ") for k in used]
    return "Sources of 'published' (data/arith_published_sources.csv):\n" + "\n".join(lines)


def measured_vs_published(markdown: bool = False) -> str:
    """The shipped measurements beside every published feature of the same chip."""
    from mmabench.arith import measured
    from mmabench.arith.forms import known_forms

    out = []
    for gpu_name in measured.gpus():
        rows = measured.agreement(known_forms(), gpu_name)
        if not rows:
            continue
        count = Counter(r["agree"] for r in rows)
        out.append(f"\nMeasured on {gpu_name} (shipped data/results) vs published, per form and "
                   f"feature:\n{count[True]} agree, {count[False]} differ, {count['open']} open "
                   f"(the data cannot tell them apart: 'measured' lists the candidates), "
                   f"{count[None]} not measured")
        word = {True: "yes", False: "NO", "open": "open", None: "-"}
        lines = [[r["form"], r["feature"],
                  " / ".join(_value(c) for c in r["candidates"]) if r["candidates"]
                  else _value(r["measured"]),
                  _as_applied(r["published"], r["applies"]),
                  f"{r['source']} ({r['status']})", word[r["agree"]]] for r in rows]
        out.append(tables.table(["form", "feature", "measured", "published", "source", "agree"],
                                lines, markdown))
    return "\n".join(out)


def consequence_text(models: dict, label: str, trials: int, max_k: int, markdown: bool, rng,
                     k_instr=16, promote_every: int | None = None):
    from mmabench.arith.consequence import KS, table

    rows = table(models, k_instr=k_instr, trials=trials, ks=[k for k in KS if k <= max_k], rng=rng,
                 promote_every=promote_every)
    lines = [[r["K"], r["data"], r["acc"], r["method"], f"{r['median_rel_err']:.2e}",
              f"{r['max_rel_err']:.2e}", r["overflowed"]] for r in rows]
    inputs = next(iter(models.values())).in_type
    text = (f"\nRelative error of a length-K dot product ({inputs} inputs; {trials} trials per K; "
            f"hardware = {label})\n" +
            tables.table(["K", "data", "acc", "method", "median", "max", "overflowed"], lines, markdown))
    return rows, text


FP8_PROMOTE_EVERY = 128     # K elements per chain before promotion to f32 (DeepSeek-V3, Sec. 3.3.2)
FP8_CONSEQUENCE = (("wgmma.m64n256k32.e4m3.acc_f32", "wgmma k32"),
                   ("m16n8k32.e4m3.acc_f32", "mma.sync m16n8k32"))


def fp8_consequence_models(model_of) -> dict:
    """e4m3 inputs, f32 accumulator: the wgmma and the mma.sync model where measured
    (`model_of(form name)` -> Model or None), labelled by instruction."""
    return {label: m for name, label in FP8_CONSEQUENCE if (m := model_of(name)) is not None}


def _fp8_k() -> dict:
    """The instruction k of each FP8_CONSEQUENCE label, from its form."""
    from mmabench.arith.forms import by_names
    return {label: by_names(name)[0].mnk[2] for name, label in FP8_CONSEQUENCE}


def run_offline(args) -> int:
    from mmabench.arith.forms import by_names
    from mmabench.arith import measured
    from mmabench.arith.published import reported

    forms = by_names(args.form)
    rng = np.random.default_rng(seed.chosen(args.seed))   # a bad seed: before any output
    rows = [[r.gpu, r.instruction, r.inputs, r.acc, r.feature, _value(r.value), r.source, r.status]
            for r in reported()]
    print("Published features (labelled 'published'; data/arith_published.csv, where each was "
          "read in its\n'where' column; status: code = the authors' model code, text = the "
          "paper's text, suite = a test\nsuite's README, secondary = a third party's "
          "transcription)")
    print(tables.table(["gpu", "instr", "inputs", "acc", "feature", "value", "source", "status"],
                        rows, args.markdown))
    print(sources_text(reported()))
    print(measured_vs_published(args.markdown))
    f16in = [f for f in forms if f.ab_type == "f16" and f.shape == "m16n8k16"]
    h100 = "NVIDIA H100 80GB HBM3"
    models = {f.acc: m for f in f16in if (m := measured.model(f.name, h100)) is not None}
    if models:
        _, text = consequence_text(models, "the H100 model\nshipped in "
                                           "data/results/h100-sxm5/arith",
                                   args.trials, args.max_k, args.markdown, rng)
        print(text)
    fp8 = fp8_consequence_models(lambda name: measured.model(name, h100))
    if fp8 and args.fp8_consequence:
        # each chain also promoted to f32 every 128 elements (DeepSeek-V3): what it buys back
        _, text = consequence_text(fp8, "the H100 models\nshipped in "
                                        "data/results/h100-sxm5/arith-wgmma and arith-fp8-mma",
                                   args.trials, args.max_k, args.markdown, rng, k_instr=_fp8_k(),
                                   promote_every=FP8_PROMOTE_EVERY)
        print(text)
    return 0


def _hex(bits) -> str:
    return f"{int(bits):0{8 if bits.dtype == np.uint32 else 4}x}"


def _designed_rows(form, cs, d, bits, fi) -> list[dict]:
    from mmabench.arith.designed import vectors
    from mmabench.arith.formats import same

    with np.errstate(invalid="ignore"):
        model_d = fi.model.dot(*vectors(cs))
    ok = same(model_d, d, form.acc)
    rows = []
    for c, v, bt, m, good in zip(cs, d, bits, model_d, ok):
        nz = np.nonzero((c.a != 0) | (c.b != 0))[0]
        rows.append({"form": form.name, "family": c.family, "params": json.dumps(c.params),
                     "terms": ";".join(f"{i}:{c.a[i]!r}*{c.b[i]!r}" for i in nz), "c": repr(c.c),
                     "exact": repr(c.exact()), "hw": repr(float(v)), "hw_hex": _hex(bt),
                     "model": repr(float(m)), "model_matches": bool(good)})
    return rows


def chain_check(form, model, rng, iters: int = 512) -> dict:
    """The mma chain kernel (ILP 2, 1 warp) against the model, and with two A registers swapped."""
    import cupy

    from mmabench.mma.bench import POISON, build, make_inputs
    from mmabench.arith.chain import check_chain, swap_registers, values_from_inputs

    built = build(form, 2)
    steps = 1 + iters * built.unroll
    out = {}
    for label, swap in (("layout as in fragments.py", False), ("A registers 0,1 swapped", True)):
        inputs = make_inputs(form, 2, rng)
        a, b, c = values_from_inputs(form, inputs)
        if swap:
            inputs.a = cupy.asarray(swap_registers(cupy.asnumpy(inputs.a)))
        d = cupy.full((1, 2, 32, form.c_regs), POISON, dtype=cupy.uint32)
        t = cupy.zeros((1, 4), dtype=cupy.uint64)
        built.kernel.function((1,), (32,), (inputs.a, inputs.b, inputs.c, d, t, np.uint32(iters)))
        out[label] = check_chain(form, cupy.asnumpy(d), a, b, c, steps, model)
    return out


class _NotRun:
    ok = False

    def __init__(self, detail: str):
        self.detail = detail


def check_counts(args) -> None:
    """The consequence table's sizes, before any work: no trials or no K is no table."""
    from mmabench.arith.consequence import KS

    in_range(args.trials, "--trials", 1, MAX_TRIALS)
    in_range(args.max_k, "--max-k", KS[0], KS[-1])


def run(args) -> int:
    check_counts(args)
    if args.offline:
        return run_offline(args)
    n_vectors = in_range(DEFAULT_VECTORS if args.vectors is None else args.vectors, "--vectors", 1, MAX_VECTORS)
    from mmabench import record, hardware
    from mmabench.hardware import arch_number as number
    from mmabench.arith.batch import pick, run as run_designed
    from mmabench.arith.device import Gpu
    from mmabench.arith.formats import FP8
    from mmabench.arith.forms import by_names, family_of
    from mmabench.arith.inference import infer
    from mmabench.arith.published import gpu_key, published_model
    from mmabench.arith.validate import validate

    forms = by_names(args.form)
    hardware.require_gpu()
    args.seed = seed.chosen(args.seed)   # said, and recorded in the rows and the context
    arch = hardware.device_arch()
    forms = [f for f in forms if number(arch) >= f.min_sm
             and (family_of(f) != "wgmma" or number(arch) == 90)]  # sm_90a only
    if not forms:
        raise UserError(f"none of the chosen forms runs on {arch}")
    ctx = record.gpu_context()
    ctx.update(record.software_context(), seed=args.seed)
    key = gpu_key(ctx["gpu_name"])
    folder = record.RunFolder("arith", ctx["gpu_name"], args.results)
    folder.save_context(ctx)
    rng = np.random.default_rng(args.seed)
    results, all_designed, features = {}, [], {}
    t0 = time.time()
    for form in forms:
        dev = Gpu(form)
        folder.save_text(f"ptx/{form.name}.ptx", dev.probe.ptx)
        cs, d = run_designed(form, dev)
        bits = pick(form, dev.last_bits, len(cs))
        fi = infer(form, cs, d, device=dev, rng=rng)
        results[form.name] = (form, fi)
        all_designed += _designed_rows(form, cs, d, bits, fi)
        val = validate(form, fi.model, dev, n_vectors, rng)
        pub = published_model(form, key) if key else None
        val_pub = validate(form, pub, dev, min(n_vectors, 20_000), rng) if pub else None
        plain = form.ab_type not in FP8 and family_of(form) == "mma"
        chains = chain_check(form, fi.model, rng) if plain else {
            k: _NotRun("not run for FP8 or wgmma (the chain check is mma.sync's, 16-bit)")
            for k in ("layout as in fragments.py", "A registers 0,1 swapped")}
        features[form.name] = {"model": fi.model.features(), "features": fi.features,
                               "ambiguous": fi.ambiguous, "evidence": fi.evidence}
        row = dict(ctx, form=form.name, designed_cases=len(cs), designed_matched=fi.designed_match[0],
                   random_vectors=val.total, random_matched=val.matched, match_rate=val.rate,
                   published_model_match_rate=val_pub.rate if val_pub else None,
                   mismatch_classes=json.dumps(dict(val.classes)),
                   by_regime=json.dumps(val.by_regime),
                   chain_check=chains["layout as in fragments.py"].detail,
                   chain_check_wrong_layout=chains["A registers 0,1 swapped"].detail,
                   **{f"feature_{k}": json.dumps(v) for k, v in fi.model.features().items()})
        folder.add(row)
        print(f"{form.name}: model matches {val.matched}/{val.total} random vectors "
              f"({100 * val.rate:.3f}%)"
              + (f"; published {key} model: {100 * val_pub.rate:.2f}%" if val_pub else "")
              + f"; chain: {chains['layout as in fragments.py'].detail}"
              + ("" if isinstance(chains["A registers 0,1 swapped"], _NotRun) else
                 "; wrong layout: " + ('rejected' if not chains['A registers 0,1 swapped'].ok
                                       else 'NOT REJECTED')))
        for cls, n in val.classes.most_common(6):
            print(f"    mismatch  {n:7d}  {cls}")
        if val.examples:
            folder.save_json(f"mismatches_{form.name}.json", val.examples)
    import pandas as pd
    folder.save_frame("designed_vectors", pd.DataFrame(all_designed), with_json=False)
    folder.save_json("features.json", features)
    print(f"\n{ctx['gpu_name']} ({arch}); published values: {key or 'no paper studied this GPU'}")
    print(feature_table(results, key, args.markdown))
    from mmabench.arith.published import reported_for
    print(sources_text([r for f, _ in results.values() for r in reported_for(key, f)]))
    fp8 = [(f, fi) for n, (f, fi) in results.items() if f.ab_type in FP8]
    if fp8:
        print("\nFP8 accumulation width (DeepSeek-V3 reports about 14 bits for FP8 GEMM on H800): "
              "bits a fused sum keeps below and at its largest term (alignment) and bits of the "
              "result, measured here:")
        for f, fi in fp8:
            print(f"  {f.name}: alignment {_value(fi.features.get('alignment_bits'))} bits, "
                  f"result {_value(fi.features.get('result_bits'))} bits, blocks "
                  f"{_value(fi.features.get('blocks'))} in order {fi.model.k_order}, C joins "
                  f"{fi.model.c_join}" + (" (an IEEE add after the products: sm_90's two-HMMA "
                                         "lowering)" if fi.model.c_join == "add" else ""))
    f16 = {f.acc: fi.model for n, (f, fi) in results.items()
           if f.ab_type == "f16" and f.shape == "m16n8k16"}
    if f16:
        rows, text = consequence_text(f16, f"model measured on {ctx['gpu_name']}", args.trials,
                                      args.max_k, args.markdown, rng)
        folder.save_frame("consequence", pd.DataFrame(rows).assign(seed=args.seed), with_json=False)
        print(text)
    fp8_models = fp8_consequence_models(lambda name: results[name][1].model if name in results else None)
    if fp8_models:
        rows, text = consequence_text(fp8_models, f"models measured on {ctx['gpu_name']}",
                                      args.trials, args.max_k, args.markdown, rng, k_instr=_fp8_k())
        folder.save_frame("consequence_fp8", pd.DataFrame(rows).assign(seed=args.seed), with_json=False)
        print(text)
    print(f"\n{time.time() - t0:.0f} s; results: {folder.path}")
    # a wrong layout that passes means the check is blind: that is a failure of this run
    return 0 if all(not r["chain_check_wrong_layout"].startswith("bit-exact") for r in folder.rows) else 1
