#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bad-input matrix, see tests/bad_input.py; docs/bad-input.md is its
# table. BAD_INPUT_WRITE_DOC=1 (make bad-input-doc) rewrites the table.
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

QEMU=${QEMU_UNDER_TEST:-$OBJ/qemu-system-ppc64}
[ -x "$QEMU" ] || die "$QEMU is missing: run 'make check'"
bash "$TOP/scripts/guest.sh" || die "cannot build the guest"
make_disks "$BUILD/guest"
exec "$PYTHON" "$TOP/tests/bad_input.py" "$QEMU" "$BUILD/guest" \
    "$TOP/scripts/topology-args.sh" "$BUILD/bad-input" "$TOP/docs/bad-input.md" \
    ${BAD_INPUT_WRITE_DOC:+--write-doc}
