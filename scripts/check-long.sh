#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check-long: everything 'make check' does, then what is too slow for
# every CI run (about an hour here, most of it the sanitizer build when
# it is cold):
#   - an ASan+UBSan build (build/qemu-build-asan) and, under it:
#     spapr-pcie-test, a 100,000-call RTAS fuzz run, qos-test's
#     pseries-pcie tests, the bad-input matrix with a live guest and a
#     live migration round trip;
#   - a short 'make fuzz' (LONG_FUZZ_SECONDS, 30 s per target);
#   - live migration with LONG_ROUND_TRIPS (20) round trips;
#   - the hotplug soak, SOAK_CYCLES (200) device_add/device_del cycles, and
#     the virt-install end-to-end test, each on bookworm's 6.1 and on sid's
#     newest kernel;
#   - tests/long/*.sh beyond those (the libvirt end-to-end test).
# Every sanitizer report fails the run; their count is printed at the end.
. "$(dirname "$0")/lib.sh"

ASAN_OBJ=$BUILD/qemu-build-asan
LOGS=$BUILD/long
PASSED=0 FAILED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL: %s\n' "$1"; }

# Leak reports from QEMU's exit paths are upstream's and not what these
# runs look for; every other ASan/UBSan report aborts or is printed.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# run NAME CMD...: run CMD with its output in $LOGS/NAME.log, pass/fail.
run() {
    local name=$1 rc=0 f
    shift
    touch "$LOGS/.stamp"
    stage "$name" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    # The stderr of the QEMU processes the guest tests started (sanitizer
    # reports land there), appended to the log the summary counts in
    for f in $(find "$BUILD"/migration "$BUILD"/bad-input "$BUILD"/soak-* \
                   -name '*.stderr' -newer "$LOGS/.stamp" 2>/dev/null); do
        printf '== %s\n' "$f"; cat "$f"
    done >>"$LOGS/$name.log"
    tail -4 "$LOGS/$name.log"
    [ $rc -eq 0 ] && pass "$name" || fail "$name (see $LOGS/$name.log)"
}

asan_qtest() {
    local test=$1
    shift
    QTEST_QEMU_BINARY=$ASAN_OBJ/qemu-system-ppc64 QTEST_QEMU_IMG=$ASAN_OBJ/qemu-img \
        "$ASAN_OBJ/tests/qtest/$test" "$@"
}

# 100,000 RTAS calls; the seed is printed (FUZZ_SEED reproduces a run)
asan_fuzz() {
    SPAPR_PCIE_FUZZ_CALLS=${FUZZ_CALLS:-100000} \
    SPAPR_PCIE_FUZZ_SEED=${FUZZ_SEED:-$(date +%s)} \
        asan_qtest spapr-pcie-test -p /ppc64/spapr-pcie/rtas-fuzz
}

# The generic patches (hw/pci, pci-bridge, SHPC, qdev) change every machine:
# the x86_64 build of the same tree (the one bench.sh makes for its q35
# anchor) runs QEMU's own qtests of PCI and PCI Express devices, hotplug and
# bridges on q35 and pc.
X86_QTESTS=(device-plug-test q35-test i440fx-test drive_del-test qos-test)
x86_qtests() {
    local obj=$BUILD/qemu-build-x86_64 t rc=0 targets="qemu-system-x86_64 qemu-img"
    for t in "${X86_QTESTS[@]}"; do targets="$targets tests/qtest/$t"; done
    QEMU_TARGET=x86_64-softmmu QEMU_DOCS=0 QEMU_BUILD_DIR=$obj \
        QEMU_NINJA_TARGETS=$targets bash "$TOP/scripts/build.sh" || return 1
    [ -s "$obj/qemu-bundle/usr/local/share/qemu/bios-256k.bin" ] ||
        bash "$TOP/scripts/firmware.sh" "$obj" || return 1
    for t in "${X86_QTESTS[@]}"; do
        if QTEST_QEMU_BINARY=$obj/qemu-system-x86_64 QTEST_QEMU_IMG=$obj/qemu-img \
                "$obj/tests/qtest/$t" --tap -k >"$LOGS/x86-$t.tap" 2>&1; then
            echo "ok   $t (x86_64): $(grep -c '^ok' "$LOGS/x86-$t.tap") passed"
        else
            echo "FAIL $t (x86_64):"; grep -E '^not ok|ERROR|Bail out' "$LOGS/x86-$t.tap" | head -20
            rc=1
        fi
    done
    return $rc
}

summary() {
    local reports
    reports=$(cat "$LOGS"/*.log 2>/dev/null |
              grep -cE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' || true)
    echo
    echo "== long mode =="
    sed -n "$TIMES_START,\$p" "$TIMES" 2>/dev/null || true
    grep -h -E '^# [0-9]+ RTAS calls|^[0-9]+ migrations|cycles in|bad inputs tried' \
        "$LOGS"/*.log 2>/dev/null | sed 's/^/  /' || true
    echo "  sanitizer reports: $reports"
    [ "$reports" -eq 0 ] || fail "sanitizer reports: $reports"
    if [ ${#FAILURES[@]} -gt 0 ]; then
        echo "== failures =="
        printf '  %s\n' "${FAILURES[@]}"
    fi
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

main() {
    # CHECK_LONG_SKIP_CHECK=1: only the long part, for a tree that has
    # just passed 'make check' (local iterations; the default runs both)
    if [ "${CHECK_LONG_SKIP_CHECK:-0}" != 1 ]; then
        bash "$TOP/scripts/check.sh" || fail "make check"
    fi
    mkdir -p "$LOGS"
    rm -f "$LOGS"/*.log
    TIMES_START=$(( $(wc -l <"$TIMES") + 1 ))

    if stage asan-build bash "$TOP/scripts/build-asan.sh" >"$LOGS/asan-build.out" 2>&1; then
        run asan-spapr-pcie-test asan_qtest spapr-pcie-test
        run asan-rtas-fuzz asan_fuzz
        # qos-test does not select by -p: all of it, pseries-pcie included
        run asan-qos asan_qtest qos-test
        run asan-bad-input env QEMU_UNDER_TEST="$ASAN_OBJ/qemu-system-ppc64" \
            bash "$TOP/tests/bad-input.sh"
        run asan-migration env QEMU_UNDER_TEST="$ASAN_OBJ/qemu-system-ppc64" \
            MIGRATION_ROUND_TRIPS=1 bash "$TOP/tests/migration.sh"
    else
        tail -20 "$LOGS/asan-build.out"
        fail "asan-build (see $LOGS/asan-build.out)"
    fi
    run x86-qtests x86_qtests
    # a short 'make fuzz': every libFuzzer target and the topology fuzzer
    run fuzz-short env FUZZ_SECONDS="${LONG_FUZZ_SECONDS:-30}" bash "$TOP/scripts/fuzz.sh"
    run migration-long env MIGRATION_ROUND_TRIPS="${LONG_ROUND_TRIPS:-20}" \
        bash "$TOP/tests/migration.sh"
    # the soak and virt-install on bookworm's 6.1 and on the newest kernel
    local t k
    for k in bookworm sid; do
        run "hotplug-soak-$k" env SOAK_CYCLES="${SOAK_CYCLES:-200}" SOAK_KERNEL=$k \
            bash "$TOP/tests/long/hotplug-soak.sh"
        run "long-virt-install-e2e-$k" env VIRT_INSTALL_KERNEL=$k \
            bash "$TOP/tests/long/virt-install-e2e.sh"
    done
    for t in "$TOP"/tests/long/*.sh; do
        case $(basename "$t") in hotplug-soak.sh|virt-install-e2e.sh) continue ;; esac
        run "long-$(basename "$t" .sh)" bash "$t"
    done
}

TIMES_START=1
main "$@"
summary
