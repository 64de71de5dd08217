#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Native hotplug variants the e2e tests do not use (long mode): a port in a
# multifunction slot, after system_reset, after a migration, VOF with INTx;
# on each of HOTPLUG_VARIANT_KERNELS (default: all three guest kernels).
# See tests/long/hotplug_variants.py.
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

QEMU=${QEMU_UNDER_TEST:-$OBJ/qemu-system-ppc64}
[ -x "$QEMU" ] || die "$QEMU is missing: run 'make check'"
rc=0
for k in ${HOTPLUG_VARIANT_KERNELS:-$GUEST_KERNELS}; do
    GUEST_KERNEL=$k bash "$TOP/scripts/guest.sh" || die "cannot build the $k guest"
    make_disks "$(guest_dir "$k")"
    "$PYTHON" "$TOP/tests/long/hotplug_variants.py" "$QEMU" "$(guest_dir "$k")" \
        "$TOP/scripts/topology-args.sh" "$BUILD/hotplug-variants-$k" || rc=1
done
exit $rc
