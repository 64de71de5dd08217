#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot from disk through SLOF (built from source, NVMe driver) -> GRUB ->
# Linux: virtio-blk, virtio-scsi and NVMe behind root ports and switches,
# NVMe on legacy pci.0, bootindex, fall-through. See tests/boot_disk.py.
. "$(dirname "$0")/../scripts/lib.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check'"
bash "$TOP/scripts/bootdisk.sh" || die "cannot build the boot disks"
exec "$PYTHON" "$TOP/tests/boot_disk.py" "$OBJ/qemu-system-ppc64" "$BUILD/bootdisk" "$BUILD/boot-disk"
