#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make check: from nothing to a tested series.
#   deps -> fetch+verify -> tree -> series applies + checkpatch -> build
#   (patched and pristine) -> firmware -> QEMU's qtest-ppc64 suite -> the
#   project's own tests (tests/*.sh). Ends with 'N passed, N failed'.
#
# CHECK_SKIP_QTEST=1 skips QEMU's suite (for quick iterations); CI never sets it.
. "$(dirname "$0")/lib.sh"

PASSED=0 FAILED=0 SKIPPED=0
FAILURES=()
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL: %s\n' "$1"; }

summary() {
    echo
    echo "== stage times (this run) =="
    sed -n "$TIMES_START,\$p" "$TIMES" 2>/dev/null || true
    if [ ${#FAILURES[@]} -gt 0 ]; then
        echo "== failures =="
        printf '  %s\n' "${FAILURES[@]}"
    fi
    echo
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
}

checkpatch_series() {
    local p out
    while read -r p; do
        checkpatch_patch "$p" && pass "checkpatch $(basename "$p")" ||
            fail "checkpatch $(basename "$p")"
    done < <(patch_files)
    # The series must also be bisectable: that is checked by 'make bisect-check'
    # (one build per patch), too slow for every run.
}

qtest_suite() {
    local log=$BUILD/qtest-ppc64.log rc=0
    meson test -C "$OBJ" --suite qtest-ppc64 --num-processes "$(nproc)" \
        --print-errorlogs >"$log" 2>&1 || rc=$?
    grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed 's/^ *//' || true
    local ok fl sk to
    ok=$(sed -n 's/^Ok: *//p' "$log" | tail -1)
    fl=$(sed -n 's/^Fail: *//p' "$log" | tail -1)
    to=$(sed -n 's/^Timeout: *//p' "$log" | tail -1)
    sk=$(sed -n 's/^Skipped: *//p' "$log" | tail -1)
    PASSED=$((PASSED + ${ok:-0}))
    FAILED=$((FAILED + ${fl:-0} + ${to:-0}))
    SKIPPED=$((SKIPPED + ${sk:-0}))
    if [ "$rc" -ne 0 ] || [ "${fl:-0}" -ne 0 ] || [ "${to:-0}" -ne 0 ] || [ -z "$ok" ]; then
        FAILURES+=("qtest-ppc64 (see $log)")
        [ -n "$ok" ] || FAILED=$((FAILED + 1))
        grep -B2 -A30 -E 'FAIL|TIMEOUT' "$log" | tail -80
        return 1
    fi
    return 0
}

project_tests() {
    local t rc
    for t in "$TOP"/tests/*.sh; do
        [ -f "$t" ] || continue
        rc=0
        bash "$t" || rc=$?
        case $rc in
            0) pass "tests/$(basename "$t")" ;;
            77) SKIPPED=$((SKIPPED + 1)); printf 'SKIP: tests/%s\n' "$(basename "$t")" ;;
            *) fail "tests/$(basename "$t")" ;;
        esac
    done
}

main() {
    mkdir -p "$BUILD"
    TIMES_START=$(( $( { [ -f "$TIMES" ] && wc -l <"$TIMES"; } || echo 0) + 1 ))
    trap summary EXIT
    local t0; t0=$(date +%s)
    stage deps bash "$TOP/scripts/deps.sh" || { fail "deps"; exit 1; }
    stage fetch bash "$TOP/scripts/fetch.sh" || { fail "fetch+verify"; exit 1; }
    pass "fetch: $QEMU_ORIG_TARBALL sha256 verified"
    stage tree bash "$TOP/scripts/tree.sh" || { fail "tree"; exit 1; }
    if stage series-applies bash "$TOP/scripts/tree.sh" --verify; then
        pass "series applies on 'upstream' and matches build/qemu"
    else
        fail "series applies on 'upstream' and matches build/qemu"; exit 1
    fi
    stage checkpatch checkpatch_series || true
    # The SLOF series (slof-patches/): applies on the tarball's roms/SLOF,
    # matches build/slof, passes the style check; built by the firmware stage.
    if stage slof-series bash -c "bash '$TOP/scripts/slof.sh' tree && bash '$TOP/scripts/slof.sh' tree --verify"; then
        pass "SLOF series applies on roms/SLOF and matches build/slof"
    else
        fail "SLOF series applies on roms/SLOF and matches build/slof"; exit 1
    fi
    if stage slof-checkpatch bash "$TOP/scripts/slof.sh" checkpatch; then
        pass "SLOF series style (slof.sh checkpatch)"
    else
        fail "SLOF series style (slof.sh checkpatch)"
    fi
    stage build bash "$TOP/scripts/build.sh" || { fail "build (patched)"; exit 1; }
    stage upstream-tree bash "$TOP/scripts/tree.sh" --upstream || { fail "upstream tree"; exit 1; }
    stage upstream-build bash "$TOP/scripts/build.sh" --upstream || { fail "build (pristine)"; exit 1; }
    stage firmware bash "$TOP/scripts/firmware.sh" || { fail "firmware"; exit 1; }
    if [ -z "${CHECK_SKIP_QTEST:-}" ]; then
        stage qtest-ppc64 qtest_suite || true
    else
        SKIPPED=$((SKIPPED + 1)); echo "SKIP: qtest-ppc64 (CHECK_SKIP_QTEST set)"
    fi
    stage project-tests project_tests || true
    printf '%-28s %5ds\n' total $(( $(date +%s) - t0 )) | tee -a "$TIMES"
    [ "$FAILED" -eq 0 ]
}

main "$@"
