#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The patched tree built for coverage-guided fuzzing into
# build/qemu-build-fuzz: Debian's clang-16 with libFuzzer, AddressSanitizer,
# UndefinedBehaviorSanitizer and LLVM source-based coverage (for the
# llvm-cov summary 'make fuzz' prints).  Only qemu-fuzz-ppc64 and (for the topology fuzzer) qemu-system-ppc64
# are built.
# Not position-independent: the sanitizer and coverage tables (__sancov_pcs,
# __llvm_prf_data, .data.rel.ro) then need no relocation at start-up and stay
# clean pages of the binary, which fork() does not copy for every input.
# ccache caches it like the other builds (a separate compiler, so separate
# entries).  Cold: ~35 min on 2 cores; after a change to the fuzzers or a
# few device files, a minute or two (mostly the link).
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
export QEMU_BUILD_DIR=$BUILD/qemu-build-fuzz
export QEMU_CONFIGURE_EXTRA="--cc=clang --cxx=clang++ --objcc=clang
    --enable-fuzzing --enable-asan --enable-ubsan --disable-docs --disable-werror
    --disable-pie --extra-ldflags=-no-pie
    --extra-cflags=-fprofile-instr-generate --extra-cflags=-fcoverage-mapping
    --extra-ldflags=-fprofile-instr-generate --extra-ldflags=-fuse-ld=lld"
# (and the device trees firmware.sh installs next to the binaries)
export QEMU_NINJA_TARGETS="qemu-fuzz-ppc64 qemu-system-ppc64 pc-bios/dtb/bamboo.dtb
    pc-bios/dtb/canyonlands.dtb pc-bios/dtb/pegasos1.dtb pc-bios/dtb/pegasos2.dtb"
bash "$TOP/scripts/build.sh"
bash "$TOP/scripts/firmware.sh" "$QEMU_BUILD_DIR"
