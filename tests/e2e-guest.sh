#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: Debian ppc64el guests (bookworm 6.1, trixie 6.12, newest sid;
# E2E_KERNELS picks some, E2E_RUNS=pcie-slof,... some runs) on pseries-pcie
# (SLOF and VOF, MSI-X and INTx, native hotplug) and on legacy pseries, see
# tests/e2e_guest.py.
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check'"
kernels=()
for k in ${E2E_KERNELS:-$GUEST_KERNELS}; do
    GUEST_KERNEL=$k bash "$TOP/scripts/guest.sh" || die "cannot build the $k guest"
    make_disks "$(guest_dir "$k")"
    kernels+=("$k=$(guest_dir "$k")")
done
exec "$PYTHON" "$TOP/tests/e2e_guest.py" "$OBJ/qemu-system-ppc64" \
    "$TOP/scripts/topology-args.sh" "$BUILD/e2e" "${kernels[@]}"
