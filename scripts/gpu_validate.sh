#!/usr/bin/env bash
# Everything that needs a GPU, in one go (one call on a lent machine): the GPU tests, the
# instruction and attention benchmarks, the numerics sweep, the register cross-check, attention
# correctness on every variant and compute-sanitizer (memcheck + racecheck) on every variant.
# Every step runs even when an earlier one fails; each step's exit code is recorded, a summary
# is printed at the end, and the script exits 1 if any step failed.
# Result folders and logs are packed into $OUT/results.tgz; each step's log is in $OUT/*.log.
# PYTHON picks the interpreter (default python3).
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

step info "$PY" -m mmabench info
step pytest-gpu "$PY" -m pytest -m gpu -q -p no:cacheprovider
TAIL=14 step mma "$PY" -m mmabench mma
TAIL=30 step attention "$PY" -m mmabench attention --dim 64,128 --seq 2048,4096,8192,16384
step numerics "$PY" -m mmabench attention --numerics
step regs-crosscheck "$PY" -m mmabench regs --crosscheck
step attn-correct-sanitize "$PY" -m mmabench.attention.selfcheck --sanitize --json "$WORK/attn-selfcheck.json"

cp "$WORK"/*.log "$OUT"/ 2>/dev/null
tar czf "$OUT/results.tgz" -C "$WORK" --exclude='ptx' --exclude='sass' --exclude='ptxas' \
    --exclude='code' . 2>/dev/null
echo "== summary ($((SECONDS - start)) s; logs and results.tgz in $OUT)"
printf '   %s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "== FAILED: ${FAILED[*]}"
    exit 1
fi
echo "== all ${#SUMMARY[@]} steps passed"
