#!/usr/bin/env bash
# Everything that needs a GPU, in one go (one call on a lent machine): the GPU tests, the
# instruction and attention benchmarks, the numerics sweep, the register cross-check, attention
# correctness on every variant and compute-sanitizer (memcheck + racecheck) on every variant.
# Every step runs even when an earlier one fails; each step's exit code is recorded, a summary
# is printed at the end, and the script exits 1 if any step failed.
# Result folders and every step's log are packed into $OUT/results.tgz.
# PYTHON picks the interpreter (default python3), which must have this checkout installed.
# Stages (default: all but hopper, in this order) can be named to fit a time limit: tests, runs
# (python -m mmabench five times, timed), instr and attn (every benchmark the README quotes),
# hopper, hopper-tune, hopper-maps (the Hopper attention kernel's GPU tests, its tile search one
# d per step, HOPPER_DIMS="64" to run one; its numerics and ncu), extra
# (register cross-check, attention correctness on every variant + compute-sanitizer,
# SELFCHECK_ARGS=--quick for fewer shapes; the nvbench comparison when its wheels are carried
# in .whl/).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/mmabench-validate}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export MMABENCH_RESULTS=$WORK/results PYTHONUNBUFFERED=1
start=$SECONDS
SUMMARY=()
FAILED=()

step() {  # step NAME COMMAND...: run, keep the log, print its last lines, record its exit code
    local name=$1; shift
    local t0=$SECONDS
    echo "== $name ($((SECONDS - start)) s): $*"
    "$@" > "$WORK/$name.log" 2>&1
    local rc=$?
    grep -v '^\(mma\|regs\|attention\) \[' "$WORK/$name.log" | tail -n "${TAIL:-4}"
    echo "   rc=$rc"
    SUMMARY+=("$(printf '%-24s rc=%-3s %4d s' "$name" "$rc" $((SECONDS - t0)))")
    [ "$rc" -eq 0 ] || FAILED+=("$name (rc=$rc)")
}

# The checkout must be installed in that interpreter (pip install -e .): ptx/, kernels/ and data/
# are found as the packages mmabench.ptx, .kernels and .data, which a bare checkout is not.
if ! "$PY" -c "import mmabench.ptx" > /dev/null 2>&1; then
    echo "$PY does not have this checkout installed; run: $PY -m pip install -e ." >&2
    exit 2
fi

STAGES=${*:-tests runs instr attn extra}
for stage in $STAGES; do
  case $stage in
    tests)
      step info "$PY" -m mmabench info
      step pytest-gpu "$PY" -m pytest -m gpu -q -p no:cacheprovider ;;
    runs)   # the default run: time and exit code of five runs in a row (the first may compile)
      for i in 1 2 3 4 5; do TAIL=2 step "default-run-$i" "$PY" -m mmabench; done ;;
    instr)
      TAIL=16 step mma "$PY" -m mmabench mma
      TAIL=30 step wgmma "$PY" -m mmabench wgmma
      TAIL=20 step gemm "$PY" -m mmabench gemm --size 8192
      TAIL=12 step arith "$PY" -m mmabench arith ;;
    attn)
      TAIL=40 step attention "$PY" -m mmabench attention --dim 64,128 --seq 2048,4096,8192,16384
      step numerics "$PY" -m mmabench attention --numerics
      TAIL=6 step overhead "$PY" -m mmabench attention --overhead ;;
    hopper)   # the Hopper attention kernel's GPU tests (an H100/H200), under a time limit: a
              # ping-pong turn that never comes would hang
      step hopper-tests timeout 500 "$PY" -m pytest -m gpu -q -p no:cacheprovider tests/test_hopper_attention_gpu.py ;;
    hopper-tune)   # its tile search, one head dim per step (HOPPER_DIMS, default all three; one
                   # d fits a 10-minute call), written to the compile cache folder's attention_tuned.json
      for d in ${HOPPER_DIMS:-64 128 256}; do
        TAIL=30 step "hopper-tune-d$d" timeout 540 "$PY" -m mmabench attention --tune --kernel hopper --dim "$d" \
            --seq 8192 --mask full --acc-s f32,f16q,f16p --acc-o f32,f16,f16f32 --norm delayed
      done ;;
    hopper-maps)   # its numerics map and Nsight Compute's view of two variants
      TAIL=20 step hopper-numerics "$PY" -m mmabench attention --numerics --kernel hopper --dim 128 \
          --acc-s f32,f16q,f16p --acc-o f32,f16,f16f32 --norm delayed,inloop
      TAIL=12 step hopper-ncu "$PY" scripts/hopper_attention_ncu.py --out "$WORK/results/hopper-attention-ncu" ;;
    extra)
      step regs-crosscheck "$PY" -m mmabench regs --crosscheck
      step attn-correct-sanitize "$PY" -m mmabench.attention.selfcheck ${SELFCHECK_ARGS:-} --sanitize --json "$WORK/attn-selfcheck.json"
      if ls .whl/cuda_bench-*.whl > /dev/null 2>&1; then   # carried wheels (scripts/nvbench_vs_measure.py)
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$WORK/site" .whl/*.whl > /dev/null 2>&1
        TAIL=30 OUT=$WORK PYTHONPATH="$WORK/site:${PYTHONPATH:-}" step nvbench-vs-measure "$PY" scripts/nvbench_vs_measure.py
      fi ;;
    *) echo "unknown stage $stage; accepted: tests runs instr attn hopper hopper-tune hopper-maps extra"; exit 2 ;;
  esac
done

tar czf "$OUT/results.tgz" -C "$WORK" --exclude='ptx' --exclude='sass' --exclude='ptxas' \
    --exclude='code' . 2>/dev/null
echo "== summary ($((SECONDS - start)) s; logs and results.tgz in $OUT)"
printf '   %s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "== FAILED: ${FAILED[*]}"
    exit 1
fi
echo "== all ${#SUMMARY[@]} steps passed"
