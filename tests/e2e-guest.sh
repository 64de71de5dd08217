#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: a Debian ppc64el guest on pseries-pcie (SLOF and VOF) and on
# legacy pseries, see tests/e2e_guest.py.
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check'"
bash "$TOP/scripts/guest.sh" || die "cannot build the guest"
make_disks "$BUILD/guest"
exec "$PYTHON" "$TOP/tests/e2e_guest.py" "$OBJ/qemu-system-ppc64" "$BUILD/guest" \
    "$TOP/scripts/topology-args.sh" "$BUILD/e2e"
