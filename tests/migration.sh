#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live migration of running guests, see tests/migration.py. Round trips:
# MIGRATION_ROUND_TRIPS (2 in make check; the long mode sets 20).
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

QEMU=${QEMU_UNDER_TEST:-$OBJ/qemu-system-ppc64}
[ -x "$QEMU" ] || die "$QEMU is missing: run 'make check'"
[ -x "$UP_OBJ/qemu-system-ppc64" ] || die "$UP_OBJ/qemu-system-ppc64 is missing: run 'make upstream'"
bash "$TOP/scripts/guest.sh" || die "cannot build the guest"
make_disks "$BUILD/guest"
exec "$PYTHON" "$TOP/tests/migration.py" "$QEMU" "$UP_OBJ/qemu-system-ppc64" \
    "$BUILD/guest" "$TOP/scripts/topology-args.sh" "$BUILD/migration" \
    "${MIGRATION_ROUND_TRIPS:-2}"
