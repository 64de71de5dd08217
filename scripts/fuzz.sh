#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make fuzz: coverage-guided fuzzing of what a pseries guest or user can
# reach, under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   - every generic-fuzz-pseries* libFuzzer target of qemu-fuzz-ppc64
#     (config space and BARs of ports, bridges, SHPC and endpoints through
#     RTAS; the guest's RTAS calls for PCI, MSI, EEH, DDW and hotplug),
#     FUZZ_SECONDS each, FUZZ_JOBS (2) at a time, corpus kept in
#     build/fuzz/corpus/<target> (seeded by tests/fuzz/make_seeds.py);
#   - the seeded QMP/topology fuzzer (tests/fuzz/topology_fuzz.py) for
#     FUZZ_SECONDS on each of the FUZZ_JOBS cores, against the coverage
#     build's qemu-system-ppc64 (also ASan/UBSan);
#   - each corpus replayed once with QEMU_FUZZ_RESTORE_CHECK=1: after every
#     input, all the memory of the child that runs the inputs is compared
#     with the frozen copy it restores from (a page that differs fails);
#   - a table per target (executions, exec/s, new corpus units, coverage
#     features, restoring children forked, inputs checked, crashes) and
#     llvm-cov's line coverage of the sPAPR PCI,
#     DRC, PCIe, SHPC and bridge code and of the endpoint models, over the
#     corpora (replayed through the coverage build's qemu-fuzz-ppc64) and
#     the topology fuzzer.
#
# FUZZ_SECONDS defaults to 360: the whole run, 8 targets and the topology
# fuzzer on 2 cores, is about 40 minutes after a warm build.  A crash,
# sanitizer report or topology failure fails the run; its reproducer is in
# build/fuzz/artifacts/<target>/.
. "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-360}
FUZZ_JOBS=${FUZZ_JOBS:-2}
FUZZ_SEED=${FUZZ_SEED:-$(date +%s)}
# the fuzzing binary, and the coverage build's (scripts/build-fuzz.sh)
BIN=$BUILD/qemu-build-fuzz/qemu-fuzz-ppc64
COVBIN=$BUILD/qemu-build-fuzz-cov/qemu-fuzz-ppc64
QEMU=$BUILD/qemu-build-fuzz-cov/qemu-system-ppc64
OUT=$BUILD/fuzz
LLVM_BIN=/usr/lib/llvm-16/bin

COV_FILES="hw/ppc/spapr_pci.c hw/ppc/spapr_pcie.c hw/ppc/spapr_drc.c
           hw/pci/pcie.c hw/pci/pcie_port.c hw/pci/pcie_aer.c hw/pci/pcie_sriov.c
           hw/pci/shpc.c hw/pci-bridge/*.c"
# The endpoint models of the configurations, whose DMA goes through the PHB's
# TCE table (hw/ppc/spapr_iommu.c), and functions that only DMA reaches
COV_DMA_FILES="hw/ppc/spapr_iommu.c hw/virtio/virtio.c hw/virtio/virtio-pci.c
               hw/net/virtio-net.c hw/block/virtio-blk.c hw/nvme/ctrl.c
               hw/net/e1000.c hw/net/e1000e_core.c"
COV_DMA_FUNCS="spapr_tce_translate_iommu virtqueue_pop virtio_blk_handle_request
               nvme_map_prp nvme_process_sq e1000e_start_xmit e1000e_receive_internal
               start_xmit"

export ASAN_OPTIONS=detect_leaks=0:print_summary=1
# An input that runs longer is a finding: the fork server stops it (with a
# stack trace) and the input is kept.  libFuzzer's -timeout, passed too,
# cannot fire in QEMU's fuzzers (QEMU's main loop blocks SIGALRM).
export QEMU_FUZZ_TIMEOUT=${QEMU_FUZZ_TIMEOUT:-30000}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_target() {
    local t=$1 corpus=$OUT/corpus/$1 art=$OUT/artifacts/$1/
    mkdir -p "$corpus" "$art"
    # generated seeds (tests/fuzz/make_seeds.py), kept with the corpus
    "$PYTHON" "$TOP/tests/fuzz/make_seeds.py" "$corpus" 32
    "$BIN" --fuzz-target="$t" "$corpus" -max_total_time="$FUZZ_SECONDS" \
        -artifact_prefix="$art" -print_final_stats=1 -timeout=30 \
        -rss_limit_mb=6144 -detect_leaks=0 -seed="$FUZZ_SEED" -max_len=4096 \
        >"$OUT/logs/$t.log" 2>&1 || true
    # The restoring child checked: the corpus replayed once more, every page
    # of the child's memory compared with its frozen copy after each input
    QEMU_FUZZ_RESTORE_CHECK=1 "$BIN" --fuzz-target="$t" "$corpus" -runs=0 \
        -detect_leaks=0 -max_len=4096 -rss_limit_mb=6144 \
        >"$OUT/logs/$t-check.log" 2>&1 || true
    # llvm-cov's view: the corpus (every input that found something new, and
    # the seeds) replayed once through the coverage build
    LLVM_PROFILE_FILE=$OUT/profraw/$t-%p.profraw \
        "$COVBIN" --fuzz-target="$t" "$corpus" -runs=0 -detect_leaks=0 -max_len=4096 \
        -rss_limit_mb=6144 >"$OUT/logs/$t-replay.log" 2>&1 || true
}

# restore-check column: inputs replayed with every page compared, or FAILED
restore_check() {
    local log=$OUT/logs/$1-check.log
    if grep -q 'generic-fuzz: the restored memory differs' "$log" ||
       ! grep -q '^#[0-9]*.*INITED' "$log"; then
        echo FAILED
    else
        sed -n 's/^generic-fuzz: \([0-9]*\) inputs ran in.*/\1/p' "$log" | tail -1
    fi
}

# children column: restoring children forked / inputs (from the fuzzing run)
children() {
    sed -n 's/^generic-fuzz: \([0-9]*\) inputs ran in \([0-9]*\) restoring.*/\2/p' \
        "$OUT/logs/$1.log" | tail -1
}

row() {
    local t=$1 log=$OUT/logs/$1.log execs rate new cov crashes check
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $2 "/" $4}')
    crashes=$(grep -cE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: (Address|Undefined)|deadly signal|Assertion .* failed|ERROR: libFuzzer' "$log" || true)
    check=$(restore_check "$t")
    printf '%-36s %10s %7s %6s %13s %7s %8s %7s\n' "$t" "${execs:-?}" "${rate:-?}" \
        "${new:-?}" "${cov:-?}" "$(children "$t")" "${check:-?}" "$crashes"
    [ "$crashes" -eq 0 ] && [ -n "$execs" ] && [ "$check" != FAILED ]
}

coverage_table() {
    local f files=() objs=()
    for f in $1; do
        for f in "$TREE"/$f; do files+=("$f"); done
    done
    [ -x "$QEMU" ] && objs=(-object "$QEMU")
    "$LLVM_BIN/llvm-cov" report "$COVBIN" "${objs[@]}" -instr-profile="$OUT/merged.profdata" \
        "${files[@]}" >"$2"
    # file, lines, missed, line coverage (llvm-cov's columns 8-10)
    awk -v top="$TREE/" 'NR > 2 && /%/ {
        name = $1; sub(top, "", name)
        printf "  %-34s %6s lines %6s missed %8s\n", name, $8, $9, $10 }' "$2"
}

coverage() {
    local fn objs=()
    rm -f "$OUT/merged.profdata" "$OUT/coverage.txt" "$OUT/coverage-dma.txt"
    "$LLVM_BIN/llvm-profdata" merge -sparse "$OUT"/profraw/*.profraw -o "$OUT/merged.profdata"
    coverage_table "$COV_FILES" "$OUT/coverage.txt"
    echo "== line coverage of the endpoint models behind the PHBs (DMA through TCEs) =="
    coverage_table "$COV_DMA_FILES" "$OUT/coverage-dma.txt"
    [ -x "$QEMU" ] && objs=(-object "$QEMU")
    # how often the corpora and the topology fuzzer ran functions only DMA reaches
    "$LLVM_BIN/llvm-profdata" show -all-functions -counts "$OUT/merged.profdata" \
        >"$OUT/functions.txt" 2>/dev/null || true
    for fn in $COV_DMA_FUNCS; do
        awk -v fn="$fn" '
            $0 ~ ("^  (.*[:;])?" fn ":$") { want = 1; next }
            want && /Function count:/ { n += $3; want = 0 }
            END { printf "  %-34s %10d calls\n", fn, n }' "$OUT/functions.txt"
    done
}

main() {
    need_root "make fuzz"
    stage fuzz-build bash "$TOP/scripts/build-fuzz.sh"
    rm -rf "$OUT/logs" "$OUT/profraw" "$OUT/topology"
    mkdir -p "$OUT/logs" "$OUT/profraw"
    local targets t failed=0
    targets=$(LLVM_PROFILE_FILE=/dev/null "$BIN" 2>&1 | grep -oE 'generic-fuzz-pseries[a-z0-9-]*' | sort -u)
    [ -n "$targets" ] || die "no generic-fuzz-pseries targets in $BIN"
    log "fuzzing $(echo "$targets" | wc -w) targets for ${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time (seed $FUZZ_SEED)"
    export -f run_target
    export BIN COVBIN OUT FUZZ_SECONDS FUZZ_SEED TOP PYTHON
    # shellcheck disable=SC2016
    stage fuzz-targets xargs -P "$FUZZ_JOBS" -n 1 bash -c 'run_target "$1"' _ <<<"$targets"
    # %2m: the QEMU processes merge their profiles online into two files
    stage fuzz-topology env LLVM_PROFILE_FILE="$OUT/profraw/topology-%2m.profraw" \
        "$PYTHON" "$TOP/tests/fuzz/topology_fuzz.py" --qemu "$QEMU" --seed "$FUZZ_SEED" \
        --seconds "$FUZZ_SECONDS" --jobs "$FUZZ_JOBS" --out "$OUT/topology" \
        >"$OUT/logs/topology.log" 2>&1 || failed=1
    echo
    echo "== make fuzz (FUZZ_SECONDS=$FUZZ_SECONDS, seed $FUZZ_SEED) =="
    printf '%-36s %10s %7s %6s %13s %7s %8s %7s\n' target executions exec/s new cov/ft \
        children checked crashes
    for t in $targets; do row "$t" || failed=1; done
    tail -3 "$OUT/logs/topology.log" | sed 's/^/  topology: /'
    echo "== line coverage under hw/ (llvm-cov, everything above) =="
    coverage || warn "llvm-cov failed (see $OUT/coverage.txt)"
    if [ $failed -ne 0 ]; then
        echo "FAILED: see $OUT/logs and $OUT/artifacts"
        return 1
    fi
    echo "no crash, sanitizer report or topology failure"
}

main "$@"
