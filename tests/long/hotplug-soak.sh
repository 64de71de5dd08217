#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hotplug soak (long mode): SOAK_CYCLES (default 200) device_add/device_del
# cycles under root ports of a live guest, see hotplug_soak.py.
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

QEMU=${QEMU_UNDER_TEST:-$OBJ/qemu-system-ppc64}
[ -x "$QEMU" ] || die "$QEMU is missing: run 'make check'"
# SOAK_KERNEL picks the guest kernel (scripts/guest.sh; default bookworm)
K=${SOAK_KERNEL:-bookworm}
GUEST_KERNEL=$K bash "$TOP/scripts/guest.sh" || die "cannot build the $K guest"
make_disks "$(guest_dir "$K")"
exec "$PYTHON" "$TOP/tests/long/hotplug_soak.py" "$QEMU" "$(guest_dir "$K")" \
    "$TOP/scripts/topology-args.sh" "$BUILD/soak-$K" "${SOAK_CYCLES:-200}"
