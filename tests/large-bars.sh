#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Large 64-bit BARs (8 and 4 GiB) behind root ports and switches, under SLOF
# and VOF, on bookworm's 6.1 and the newest sid kernel (LARGE_BARS_KERNELS
# picks others), see tests/large_bars.py.
. "$(dirname "$0")/../scripts/lib.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check'"
kernels=()
for k in ${LARGE_BARS_KERNELS:-bookworm sid}; do
    GUEST_KERNEL=$k bash "$TOP/scripts/guest.sh" || die "cannot build the $k guest"
    kernels+=("$k=$(guest_dir "$k")")
done
exec "$PYTHON" "$TOP/tests/large_bars.py" "$OBJ/qemu-system-ppc64" \
    "$BUILD/large-bars" "${kernels[@]}"
