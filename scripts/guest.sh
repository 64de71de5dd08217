#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo/test guest, from Debian's archive only: the bookworm ppc64el
# kernel (resolved through linux-image-powerpc64le), busybox-static and
# pciutils with the libraries lspci needs, fetched with apt-get download and
# unpacked with dpkg-deb -x. Output (cached; rebuilt only when the resolved
# package versions or the init/assembly scripts change):
#   build/guest/vmlinux         the kernel
#   build/guest/initramfs.gz    busybox, lspci, modules, scripts/guest-init.sh
# GUEST_ARCH=amd64 makes the same guest for x86_64 (the benchmark's q35
# anchor): Debian's bookworm amd64 kernel (linux-image-amd64) and the same
# packages, in build/guest-amd64/ (kernel: vmlinuz).
. "$(dirname "$0")/lib.sh"

ARCH=${GUEST_ARCH:-ppc64el}
case $ARCH in
    ppc64el) GUEST=$BUILD/guest GUEST_DEBS=$DL/guest KMETA=linux-image-powerpc64le KIMG=vmlinux ;;
    amd64) GUEST=$BUILD/guest-amd64 GUEST_DEBS=$DL/guest-amd64 KMETA=linux-image-amd64 KIMG=vmlinuz ;;
    *) die "GUEST_ARCH=$ARCH: ppc64el or amd64" ;;
esac
# Libraries: what lspci (pciutils) links, and what those link.
GUEST_PKGS="busybox-static pciutils libpci3 libc6 libkmod2 zlib1g libudev1
            liblzma5 libzstd1 libssl3 libcap2 pci.ids"
# Drivers that are modules in Debian's kernel (pcieport, pciehp and AER are
# built in).
GUEST_MODULES="virtio_pci virtio_blk virtio_net nvme e1000 virtio_scsi sd_mod"

arch_ok() {
    [ "$ARCH" = "$(dpkg --print-architecture)" ] ||
        dpkg --print-foreign-architectures | grep -qx "$ARCH"
}

resolve() {
    # The kernel package the metapackage points to, then every package's
    # candidate version: together they are the cache key.
    local kpkg
    kpkg=$(apt-cache depends "$KMETA:$ARCH" 2>/dev/null |
           sed -n "s/^ *Depends: \(linux-image-[0-9][^:]*\)\(:$ARCH\)\{0,1\}\$/\1/p" | head -1)
    [ -n "$kpkg" ] || die "cannot resolve $KMETA:$ARCH (run 'make deps')"
    echo "$kpkg:$ARCH"
    local p
    for p in $GUEST_PKGS; do
        case $p in pci.ids) echo "$p" ;; *) echo "$p:$ARCH" ;; esac
    done
}

if ! arch_ok; then
    need_root
    dpkg --add-architecture "$ARCH"
    apt-get update -q >"$BUILD/apt-update-$ARCH.log" 2>&1 ||
        warn "apt-get update reported errors (see $BUILD/apt-update-$ARCH.log)"
fi

mkdir -p "$GUEST" "$GUEST_DEBS"
pkgs=$(resolve)
key=$( { for p in $pkgs; do
             printf '%s=%s\n' "$p" "$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')"
         done
         sha256sum "$TOP/scripts/guest-init.sh" "$TOP/scripts/mkinitramfs.py" | cut -d' ' -f1
       } | sha256sum | cut -d' ' -f1)
if [ -f "$GUEST/.key" ] && [ "$(cat "$GUEST/.key")" = "$key" ] &&
   [ -s "$GUEST/$KIMG" ] && [ -s "$GUEST/initramfs.gz" ]; then
    log "guest up to date: $GUEST ($(cat "$GUEST/kernel-version"))"
    exit 0
fi

rm -rf "$GUEST_DEBS" "$GUEST/root"
mkdir -p "$GUEST_DEBS"
chmod 755 "$GUEST_DEBS"
# shellcheck disable=SC2086
(cd "$GUEST_DEBS" && apt-get download -q $pkgs) >"$GUEST_DEBS.log" 2>&1 ||
    { tail -5 "$GUEST_DEBS.log" >&2
      die "cannot download the guest packages ($(echo $pkgs)); run 'make deps'"; }
for d in "$GUEST_DEBS"/*.deb; do dpkg-deb -x "$d" "$GUEST/root"; done
kver=$(ls "$GUEST/root/lib/modules" | head -1)
[ -f "$GUEST/root/boot/$KIMG-$kver" ] || die "no $KIMG in the kernel package"
cp "$GUEST/root/boot/$KIMG-$kver" "$GUEST/$KIMG"
# shellcheck disable=SC2086
"$PYTHON" "$TOP/scripts/mkinitramfs.py" "$GUEST/root" "$kver" \
    "$TOP/scripts/guest-init.sh" "$GUEST/initramfs.gz" $GUEST_MODULES
echo "$kver" >"$GUEST/kernel-version"
rm -rf "$GUEST/root"
echo "$key" >"$GUEST/.key"
log "guest ready: kernel $kver, $GUEST/initramfs.gz"
