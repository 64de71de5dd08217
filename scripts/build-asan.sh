#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The patched tree built with AddressSanitizer and UndefinedBehaviorSanitizer
# into build/qemu-build-asan: only the binaries the sanitizer runs need
# (qemu-system-ppc64, qemu-img, spapr-pcie-test, qos-test). Cold: ~40 min on
# 2 cores, so it belongs to the long mode (make check-long), not make check.
. "$(dirname "$0")/lib.sh"

export QEMU_BUILD_DIR=$BUILD/qemu-build-asan
# -Werror off: GCC's warnings change under the sanitizers' instrumentation.
export QEMU_CONFIGURE_EXTRA="--enable-asan --enable-ubsan --disable-docs --disable-werror"
# (and the device trees firmware.sh installs next to the binary)
export QEMU_NINJA_TARGETS="qemu-system-ppc64 qemu-img tests/qtest/spapr-pcie-test
    tests/qtest/qos-test pc-bios/dtb/bamboo.dtb pc-bios/dtb/canyonlands.dtb
    pc-bios/dtb/pegasos1.dtb pc-bios/dtb/pegasos2.dtb"
bash "$TOP/scripts/build.sh"
bash "$TOP/scripts/firmware.sh" "$QEMU_BUILD_DIR"
