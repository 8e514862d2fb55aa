#!/usr/bin/env bash
# Everything that needs a GPU, in one go (one call on a lent machine): the GPU tests, the
# instruction and attention benchmarks, the numerics sweep, the register cross-check, attention
# correctness on every variant and compute-sanitizer (memcheck + racecheck) on every variant.
# Result folders and logs are packed into $OUT/results.tgz; each step's log is in $OUT/*.log.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/mmabench-validate}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export MMABENCH_RESULTS=$WORK/results PYTHONUNBUFFERED=1
start=$SECONDS

step() {  # step NAME COMMAND...: run, keep the log, print its last lines
    local name=$1; shift
    echo "== $name ($((SECONDS - start)) s): $*"
    "$@" > "$WORK/$name.log" 2>&1
    local rc=$?
    grep -v '^\(mma\|regs\|attention\) \[' "$WORK/$name.log" | tail -n "${TAIL:-4}"
    echo "   rc=$rc"
}

step info python3 -m mmabench info
step pytest-gpu python3 -m pytest -m gpu -q -p no:cacheprovider
TAIL=14 step mma python3 -m mmabench mma
TAIL=30 step attention python3 -m mmabench attention --dim 64,128 --seq 2048,4096,8192,16384
step numerics python3 -m mmabench attention --numerics
step regs-crosscheck python3 -m mmabench regs --crosscheck
step attn-correct-sanitize python3 -m mmabench.attention.selfcheck --sanitize --json "$WORK/attn-selfcheck.json"

cp "$WORK"/*.log "$OUT"/ 2>/dev/null
tar czf "$OUT/results.tgz" -C "$WORK" --exclude='ptx' --exclude='sass' --exclude='ptxas' . 2>/dev/null
echo "== done in $((SECONDS - start)) s; logs and results.tgz in $OUT"
