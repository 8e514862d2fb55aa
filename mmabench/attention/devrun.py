"""Development runs on a lent GPU: one script per call, logs to $OUT (not part of the CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

OUT = Path(os.environ.get("OUT", "/tmp/attn_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()


def log(*a):
    msg = " ".join(str(x) for x in a)
    print(msg, flush=True)
    with open(OUT / "log.txt", "a") as fh:
        fh.write(msg + "\n")


def elapsed():
    return time.time() - T0


def phase(name, fn, budget_left_s):
    if elapsed() > budget_left_s:
        log(f"== skip {name}: {elapsed():.0f}s used")
        return
    log(f"== {name} at {elapsed():.0f}s")
    try:
        fn()
    except Exception:
        log(traceback.format_exc())


def env():
    import cupy
    log(subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout)
    try:
        import torch
        log("torch", torch.__version__, torch.version.cuda)
    except Exception as exc:
        log("torch missing", exc)
    log("cupy", cupy.__version__, "driver", cupy.cuda.runtime.driverGetVersion())
    from mmabench import toolchain
    log(toolchain.describe())
    for tool in ("compute-sanitizer", "ncu", "nvdisasm", "ptxas"):
        log(tool, subprocess.run(["bash", "-lc", f"command -v {tool}"], capture_output=True, text=True).stdout.strip())


def correctness(dims=(64, 128, 256), seqs=(1, 17, 128, 1000, 4096)):
    from mmabench.attention import selfcheck, variants
    rows = selfcheck.correctness(variants.all_variants(dims=dims), seqs=seqs, log=log)
    log(selfcheck.correctness_table(rows))
    (OUT / "correctness.json").write_text(json.dumps(rows, indent=1, default=str))
    bad = [r for r in rows if r["status"] != "ok"]
    log(f"correctness: {len(rows) - len(bad)}/{len(rows)} ok")


def baseline(dims=(64, 128), seqs=(2048, 4096, 8192)):
    from mmabench.attention import bench, variants
    from mmabench.attention.cli import summary
    vl = [variants.variant(d, s, o, "delayed") for d in dims for s, o in
          (("f32", "f32"), ("f16q", "f32"), ("f32", "f16"), ("f16q", "f16"), ("f16q", "f16f32"))]
    cases = bench.cases(dims, seqs, (False, True))
    folder, rows = bench.run(vl, cases, results_root=str(OUT / "results"), save_code=False)
    log(summary(rows))


def tune(cand_file, dims=(64, 128, 256), write=False):
    from mmabench.attention import bench, tune as T, variants
    data = json.loads(Path(cand_file).read_text())
    var_list = [variants.variant(d, s, o, "delayed") for d in dims for s in ("f32", "f16q")
                for o in ("f32", "f16", "f16f32")]
    cand_lists = {}
    for v in var_list:
        cand_lists[v.base_name] = [(v.with_tiles(variants.Tiles(**t)), None) for t in data.get(v.base_name, [])]
    cases = bench.cases(dims, [4096], (False, True))
    res = T.tune(var_list, cases, np.random.default_rng(1), log=log, cand_lists=cand_lists)
    log(T.tuned_table_source(res, var_list))
    if write:
        from mmabench import record
        T.write_tuned(res, var_list, record.gpu_context()["gpu_name"], cases)
        (OUT / "tuned.json").write_text(variants.TUNED_FILE.read_text())
        log("tuned.json written;", len(variants.TUNED), "entries")
    out = {k: [{**{kk: vv for kk, vv in r.items() if kk != "tiles"}, "tiles": r["tiles"].__dict__}
               for r in rows] for k, (_, rows) in res.items()}
    (OUT / "tune.json").write_text(json.dumps(out, indent=1))


def sanitize(names, tools=("memcheck", "racecheck"), timeout=300, workers=8):
    from concurrent.futures import ThreadPoolExecutor

    def one(job):
        name, tool = job
        t = time.time()
        p = subprocess.run(["compute-sanitizer", "--tool", tool, "--error-exitcode", "9",
                            sys.executable, "-m", "mmabench.attention.selfcheck", "--sanitize", name],
                           capture_output=True, text=True, timeout=timeout)
        tail = (p.stdout + p.stderr).strip().splitlines()[-2:]
        return f"sanitize {tool} {name}: rc={p.returncode} {time.time() - t:.1f}s | " + " | ".join(tail)

    jobs = [(n, t) for n in names for t in tools]
    with ThreadPoolExecutor(workers) as ex:
        results = list(ex.map(one, jobs))
    for r in results:
        log(r)
    bad = [r for r in results if "rc=0 " not in r]
    log(f"sanitizer: {len(results) - len(bad)}/{len(results)} clean")


def full_bench(dims=(64, 128, 256), seqs=(1024, 2048, 4096, 8192, 16384)):
    from mmabench.attention import bench, variants
    from mmabench.attention.cli import summary
    vl = variants.all_variants(dims=dims)
    cases = bench.cases(dims, seqs, (False, True))
    folder, rows = bench.run(vl, cases, results_root=str(OUT / "results"))
    (OUT / "bench_summary.txt").write_text(summary(rows))
    log(f"bench: {sum(r['status'] == 'ok' for r in rows)}/{len(rows)} ok; {folder.path}")


def numerics(dim=128):
    from mmabench.attention import numerics as N
    folder, rows, text = N.run(dim, results_root=str(OUT / "results"), log=log)
    log(text)


def pytest_gpu():
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "tests/test_attention_gpu.py"],
                       capture_output=True, text=True, timeout=400)
    log((p.stdout + p.stderr)[-3000:])


if __name__ == "__main__":
    what = sys.argv[1:]
    budget = float(os.environ.get("BUDGET_S", "500"))
    if "env" in what:
        phase("env", env, budget)
    if "correct" in what:
        phase("correctness", correctness, budget)
    if "baseline" in what:
        phase("baseline", baseline, budget)
    if "tune" in what:
        phase("tune", lambda: tune(os.environ.get("CANDS", ".cache/attn_candidates.json")), budget)
    if "tune2" in what:
        phase("tune2", lambda: tune(os.environ.get("CANDS", ".cache/attn_candidates.json"), write=True), budget)
    if "correct2" in what:
        phase("correctness", correctness, budget)
    if "bench" in what:
        phase("bench", full_bench, budget)
    if "numerics" in what:
        phase("numerics", numerics, budget)
    if "sanitize" in what:
        names = [n for n in os.environ.get("SAN", "").split(",") if n]
        if not names:
            from mmabench.attention import variants
            names = [v.name for v in variants.all_variants()]
        phase("sanitize", lambda: sanitize(names), budget)
    if "pytest" in what:
        phase("pytest", pytest_gpu, budget)
    log(f"done at {elapsed():.0f}s")
