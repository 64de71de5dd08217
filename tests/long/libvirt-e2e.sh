#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt end to end (see tests/long/libvirt_e2e.py): the patched libvirt
# (libvirt-patches/ on 11.3.0) runs a pseries-pcie-10.2 domain with no PCI
# addresses on our QEMU and the Debian guest; stock libvirt 11.3.0 from
# bookworm-backports (unpacked, never installed) fails with the same XML.
. "$(dirname "$0")/../../scripts/lib.sh"
. "$TOP/libvirt.lock"

for f in "$OBJ/qemu-system-ppc64" "$BUILD/guest/vmlinux" "$BUILD/guest/initramfs.gz" "$BUILD/guest/disk-a.img"; do
    [ -e "$f" ] || die "$f is missing: run 'make check' (or make run) first"
done

# the daemons, virsh and the drivers, run from the build directory
bash "$TOP/scripts/libvirt.sh" prepare-e2e

# Stock libvirt: Debian's binary packages, unpacked with dpkg-deb -x.
stock=$BUILD/libvirt-stock
if [ ! -x "$stock/root/usr/sbin/libvirtd" ]; then
    need_root "fetching stock libvirt"
    mkdir -p "$stock/debs"
    chmod 755 "$stock/debs"
    (cd "$stock/debs" && apt-get download -q \
        "libvirt0=$LIBVIRT_STOCK_VERSION" "libvirt-common=$LIBVIRT_STOCK_VERSION" \
        "libvirt-daemon=$LIBVIRT_STOCK_VERSION" "libvirt-daemon-common=$LIBVIRT_STOCK_VERSION" \
        "libvirt-daemon-driver-qemu=$LIBVIRT_STOCK_VERSION" "libvirt-daemon-log=$LIBVIRT_STOCK_VERSION" \
        "libvirt-daemon-lock=$LIBVIRT_STOCK_VERSION" "libvirt-clients=$LIBVIRT_STOCK_VERSION" \
        libssh-4)
    rm -rf "$stock/root"
    mkdir -p "$stock/root"
    for d in "$stock"/debs/*.deb; do dpkg-deb -x "$d" "$stock/root"; done
fi

stage libvirt-e2e "$PYTHON" "$TOP/tests/long/libvirt_e2e.py"
