#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Throughput of the generic-fuzz-pseries* targets, one core, side by side:
#   reset    each input in the fuzzer's own process, with a machine reset
#            and the topology programmed again after it (QEMU_FUZZ_FORK=0,
#            what every input paid before);
#   fork     each input in a child forked from the machine programmed once
#            (QEMU_FUZZ_RESTORE=0);
#   restore  the inputs in one child that restores the memory each input
#            wrote, from a frozen copy of itself (the default on sPAPR).
# Same seeds, same libFuzzer seed, same time.
#
#   fuzz-bench.sh [SECONDS]    (default 20 per target and mode)
#
# Prints executions per second as libFuzzer reports them, and the ratios.
. "$(dirname "$0")/lib.sh"

SECS=${1:-20}
BIN=$BUILD/qemu-build-fuzz/qemu-fuzz-ppc64
OUT=$BUILD/fuzz-bench
[ -x "$BIN" ] || bash "$TOP/scripts/build-fuzz.sh"
export ASAN_OPTIONS=detect_leaks=0 LLVM_PROFILE_FILE=/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"

rate() {    # target mode -> exec/s
    local corpus=$OUT/corpus-$1-$2 fork=1 restore=1
    mkdir -p "$corpus"
    "$PYTHON" "$TOP/tests/fuzz/make_seeds.py" "$corpus" 32
    case $2 in
        reset) fork=0 ;;
        fork) restore=0 ;;
    esac
    QEMU_FUZZ_FORK=$fork QEMU_FUZZ_RESTORE=$restore taskset -c 0 \
        "$BIN" --fuzz-target="$1" "$corpus" -seed=1 \
        -max_total_time="$SECS" -print_final_stats=1 -detect_leaks=0 -max_len=4096 \
        -timeout=30 >"$OUT/$1-$2.log" 2>&1 || true
    sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$1-$2.log" | tail -1
}

targets=$(LLVM_PROFILE_FILE=/dev/null "$BIN" 2>&1 | grep -oE 'generic-fuzz-pseries[a-z0-9-]*' | sort -u)
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "?" }'; }
printf '%-36s %8s %8s %8s %9s %9s\n' target reset fork restore "vs reset" "vs fork"
for t in $targets; do
    r=$(rate "$t" reset) f=$(rate "$t" fork) x=$(rate "$t" restore)
    printf '%-36s %8s %8s %8s %9s %9s\n' "$t" "${r:-?}" "${f:-?}" "${x:-?}" \
        "$(ratio "$x" "$r")" "$(ratio "$x" "$f")"
done
