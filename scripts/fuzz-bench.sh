#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of the generic-fuzz-pseries* targets, one core, side by side:
# each input in the fuzzer's own process with a machine reset and the
# topology programmed again after it (QEMU_FUZZ_FORK=0, what every input
# paid before), and each input in a child forked from the machine programmed
# once (the default on sPAPR). Same seeds, same libFuzzer seed, same time.
#
#   fuzz-bench.sh [SECONDS]    (default 20 per target and mode)
#
# Prints executions per second as libFuzzer reports them, and the ratio.
. "$(dirname "$0")/lib.sh"

SECS=${1:-20}
BIN=$BUILD/qemu-build-fuzz/qemu-fuzz-ppc64
OUT=$BUILD/fuzz-bench
[ -x "$BIN" ] || bash "$TOP/scripts/build-fuzz.sh"
export ASAN_OPTIONS=detect_leaks=0 LLVM_PROFILE_FILE=/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"

rate() {    # target mode -> exec/s
    local corpus=$OUT/corpus-$1-$2
    mkdir -p "$corpus"
    "$PYTHON" "$TOP/tests/fuzz/make_seeds.py" "$corpus" 32
    QEMU_FUZZ_FORK=$2 taskset -c 0 "$BIN" --fuzz-target="$1" "$corpus" -seed=1 \
        -max_total_time="$SECS" -print_final_stats=1 -detect_leaks=0 -max_len=4096 \
        -timeout=30 >"$OUT/$1-$2.log" 2>&1 || true
    sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$1-$2.log" | tail -1
}

targets=$(LLVM_PROFILE_FILE=/dev/null "$BIN" 2>&1 | grep -oE 'generic-fuzz-pseries[a-z0-9-]*' | sort -u)
printf '%-40s %12s %12s %7s\n' target "reset exec/s" "fork exec/s" ratio
for t in $targets; do
    r=$(rate "$t" 0) f=$(rate "$t" 1)
    printf '%-40s %12s %12s %7s\n' "$t" "${r:-?}" "${f:-?}" \
        "$(awk -v r="${r:-0}" -v f="${f:-0}" 'BEGIN { if (r > 0) printf "%.1f", f / r; else print "?" }')"
done
