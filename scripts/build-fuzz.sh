#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The patched tree built for coverage-guided fuzzing with Debian's clang-16,
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, twice:
#   build/qemu-build-fuzz       qemu-fuzz-ppc64, what 'make fuzz' fuzzes with;
#   build/qemu-build-fuzz-cov   the same with LLVM source-based coverage:
#                               qemu-fuzz-ppc64 to replay the corpora and
#                               qemu-system-ppc64 for the topology fuzzer,
#                               for the llvm-cov summary 'make fuzz' prints.
# The profile counters cost every input ~15-20% (one counter increment per
# block, and the child's faults on their pages), so the fuzzing binary has
# none, as OSS-Fuzz does it.
# Not position-independent: the sanitizer and coverage tables (__sancov_pcs,
# __llvm_prf_data, .data.rel.ro) then need no relocation at start-up and stay
# clean pages of the binary, which fork() does not copy for every input.
# ccache caches them like the other builds (a separate compiler, so separate
# entries).  Cold: ~7 min each on 2 cores with a warm ccache, ~35 min
# without; after a change to the fuzzers or a few device files, a minute or
# two each (mostly the link).
. "$(dirname "$0")/lib.sh"

FUZZ_PKGS="clang-16 libclang-rt-16-dev llvm-16 lld-16"
LLVM_BIN=/usr/lib/llvm-16/bin

install_clang() {
    local p miss=
    for p in $FUZZ_PKGS; do
        dpkg -s "$p" >/dev/null 2>&1 || miss="$miss $p"
    done
    [ -z "$miss" ] && return 0
    need_root "installing$miss"
    log "installing$miss"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $miss \
        >"$BUILD/apt-install-fuzz.log" 2>&1 ||
        { tail -5 "$BUILD/apt-install-fuzz.log" >&2; die "cannot install$miss (see $BUILD/apt-install-fuzz.log)"; }
}

install_clang
# ccache's masquerade 'clang' first, then LLVM 16's clang/lld, then the rest
export PATH=/usr/lib/ccache:$LLVM_BIN:$PATH
FUZZ_CONFIGURE="--cc=clang --cxx=clang++ --objcc=clang
    --enable-fuzzing --enable-asan --enable-ubsan --disable-docs --disable-werror
    --disable-pie --extra-ldflags=-no-pie --extra-ldflags=-fuse-ld=lld"
# (and the device trees firmware.sh installs next to the binaries)
DTBS="pc-bios/dtb/bamboo.dtb pc-bios/dtb/canyonlands.dtb pc-bios/dtb/pegasos1.dtb
    pc-bios/dtb/pegasos2.dtb"

QEMU_BUILD_DIR=$BUILD/qemu-build-fuzz QEMU_CONFIGURE_EXTRA="$FUZZ_CONFIGURE" \
    QEMU_NINJA_TARGETS="qemu-fuzz-ppc64 $DTBS" bash "$TOP/scripts/build.sh"
bash "$TOP/scripts/firmware.sh" "$BUILD/qemu-build-fuzz"

QEMU_BUILD_DIR=$BUILD/qemu-build-fuzz-cov QEMU_CONFIGURE_EXTRA="$FUZZ_CONFIGURE
    --extra-cflags=-fprofile-instr-generate --extra-cflags=-fcoverage-mapping
    --extra-ldflags=-fprofile-instr-generate" \
    QEMU_NINJA_TARGETS="qemu-fuzz-ppc64 qemu-system-ppc64 $DTBS" bash "$TOP/scripts/build.sh"
bash "$TOP/scripts/firmware.sh" "$BUILD/qemu-build-fuzz-cov"
