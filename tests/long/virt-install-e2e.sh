#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# virt-install end to end (see tests/long/virt_install_e2e.py): the patched
# virt-install from build/virt-manager, the patched libvirt daemons with the
# storage driver and our QEMU create a pseries-pcie-10.2 guest from a boot
# disk, SLOF boots it through a root port, three devices are hot-added and
# removed; the same on pseries-10.2; stock virt-install 4.1.0 recorded.
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/scripts/topology.sh"

[ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make check' (or make run) first"

# VIRT_INSTALL_KERNEL picks the boot disk's kernel (default bookworm)
K=${VIRT_INSTALL_KERNEL:-bookworm}
GUEST_KERNEL=$K bash "$TOP/scripts/bootdisk.sh"
case $K in bookworm) export VIRT_INSTALL_BOOTDISK=$BUILD/bootdisk/boot-serve.img ;;
           *) export VIRT_INSTALL_BOOTDISK=$BUILD/bootdisk-$K/boot-serve.img ;; esac
# the data disks the flows hot-add (made by 'make check' too)
make_disks "$(guest_dir bookworm)"
# the daemons, virsh and the drivers, run from the build directory
bash "$TOP/scripts/libvirt.sh" prepare-e2e
VM=(bash "$TOP/scripts/virt-manager.sh")
"${VM[@]}" deps
"${VM[@]}" fetch
"${VM[@]}" tree
"${VM[@]}" tree --verify
"${VM[@]}" stock

stage "virt-install-e2e-$K" "$PYTHON" "$TOP/tests/long/virt_install_e2e.py"
