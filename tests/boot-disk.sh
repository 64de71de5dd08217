#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot from disk through SLOF (built from source, NVMe driver) -> GRUB ->
# Linux: virtio-blk, virtio-scsi and NVMe behind root ports and switches,
# NVMe on legacy pci.0, bootindex, fall-through. See tests/boot_disk.py.
. "$(dirname "$0")/../scripts/lib.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check'"
# Every case on the newest kernel (sid) and on bookworm's; BOOT_DISK_KERNELS
# picks others.
rc=0
for k in ${BOOT_DISK_KERNELS:-bookworm sid}; do
    GUEST_KERNEL=$k bash "$TOP/scripts/bootdisk.sh" || die "cannot build the $k boot disks"
    case $k in bookworm) d=$BUILD/bootdisk ;; *) d=$BUILD/bootdisk-$k ;; esac
    echo "== boot from disk, $k kernel $(cat "$(guest_dir "$k")/kernel-version")"
    "$PYTHON" "$TOP/tests/boot_disk.py" "$OBJ/qemu-system-ppc64" "$d" \
        "$BUILD/boot-disk-$k" "$(guest_dir "$k")" || rc=1
done
exit $rc
