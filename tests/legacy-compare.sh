#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Legacy unchanged, proven: pseries-10.2, 9.2, 8.0 and 5.0 have the same
# device tree, QOM composition tree, 'info qtree' and vmstate description
# with and without the series (see tests/legacy_compare.py).
. "$(dirname "$0")/../scripts/lib.sh"

for b in "$UP_OBJ/qemu-system-ppc64" "$OBJ/qemu-system-ppc64"; do
    [ -x "$b" ] || die "$b is missing: run 'make check' (it builds both)"
done
command -v dtc >/dev/null || die "dtc is missing: run 'make deps'"

exec "$PYTHON" "$TOP/tests/legacy_compare.py" \
    "$UP_OBJ/qemu-system-ppc64" "$OBJ/qemu-system-ppc64" "$BUILD/legacy-compare"
