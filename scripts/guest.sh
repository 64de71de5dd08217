#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The demo/test guest, from Debian's archive only: a Debian ppc64el kernel,
# busybox-static and pciutils with the libraries lspci needs, fetched with
# apt-get download and unpacked with dpkg-deb -x (never installed).
#
# GUEST_KERNEL picks the kernel (the userland is bookworm's in every guest):
#   bookworm (default)  bookworm's kernel (linux-image-powerpc64le, 6.1),
#                       through the host's apt  -> build/guest/
#   trixie              the newest trixie kernel (6.12) that downloads,
#                       from trixie, trixie-updates and trixie-security
#                                               -> build/guest-trixie/
#   sid                 the newest sid kernel that downloads
#                                               -> build/guest-sid/
# trixie and sid come from a private apt configuration in build/apt/KERNEL
# (ppc64el only; the host's sources are left alone). A listed version can
# answer 404 on the mirror: the kernels of the suite are tried newest first.
# sid splits a kernel into linux-image (meta), linux-binary, linux-modules
# and linux-base packages; all of them are fetched.
#
# Output (cached; rebuilt only when the candidate packages or the
# init/assembly scripts change):
#   DIR/vmlinux         the kernel (an ELF vmlinux)
#   DIR/initramfs.gz    busybox, lspci, modules (decompressed, in
#                       modules.dep order), scripts/guest-init.sh
#   DIR/kernel-version, DIR/kernel-package
# GUEST_ARCH=amd64 makes the same guest for x86_64 (the benchmark's q35
# anchor): Debian's bookworm amd64 kernel (linux-image-amd64) and the same
# packages, in build/guest-amd64/ (kernel: vmlinuz).
. "$(dirname "$0")/lib.sh"

ARCH=${GUEST_ARCH:-ppc64el}
KERNEL=${GUEST_KERNEL:-bookworm}
GUEST=$(guest_dir "$KERNEL" "$ARCH") || exit 1
case $ARCH in
    ppc64el) KMETA=linux-image-powerpc64le FLAVOUR=powerpc64le KIMG=vmlinux ;;
    amd64) KMETA=linux-image-amd64 FLAVOUR=amd64 KIMG=vmlinuz ;;
    *) die "GUEST_ARCH=$ARCH: ppc64el or amd64" ;;
esac
case $KERNEL in
    bookworm) KSUITES= ;;
    trixie) KSUITES="trixie trixie-updates trixie-security" ;;
    sid) KSUITES="sid" ;;
    *) die "GUEST_KERNEL=$KERNEL: bookworm, trixie or sid" ;;
esac
[ "$ARCH" = ppc64el ] || [ "$KERNEL" = bookworm ] ||
    die "GUEST_KERNEL=$KERNEL is for the ppc64el guest only"
GUEST_DEBS=$DL/$(basename "$GUEST")
# Libraries: what lspci (pciutils) links, and what those link.
GUEST_PKGS="busybox-static pciutils libpci3 libc6 libkmod2 zlib1g libudev1
            liblzma5 libzstd1 libssl3 libcap2 pci.ids"
# Drivers the tests need; those a kernel builds in (modules.builtin) are
# skipped, the others are loaded with what modules.dep says they need.
GUEST_MODULES="virtio_pci virtio_blk virtio_net nvme e1000 virtio_scsi sd_mod"

arch_ok() {
    [ "$ARCH" = "$(dpkg --print-architecture)" ] ||
        dpkg --print-foreign-architectures | grep -qx "$ARCH"
}

# The private apt of a kernel suite: kapt apt-get|apt-cache ARGS...
KAPT=$BUILD/apt/$KERNEL
kapt() {
    local tool=$1
    shift
    "$tool" -q -o Dir::Etc::SourceList="$KAPT/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null -o Dir::State="$KAPT/state" \
        -o Dir::Cache="$KAPT/cache" -o Dir::State::status="$KAPT/status" \
        -o APT::Architecture="$ARCH" -o APT::Architectures="$ARCH" "$@"
}

kapt_update() {
    local s uri
    mkdir -p "$KAPT/state/lists/partial" "$KAPT/cache/archives/partial"
    : >"$KAPT/status"
    for s in $KSUITES; do
        case $s in *-security) uri=http://deb.debian.org/debian-security ;;
                   *) uri=http://deb.debian.org/debian ;; esac
        echo "deb [arch=$ARCH signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main"
    done >"$KAPT/sources.list"
    kapt apt-get update >"$KAPT/update.log" 2>&1 ||
        warn "apt-get update for the $KERNEL kernel reported errors (see $KAPT/update.log)"
    touch "$KAPT/.updated"
}

# The suite's kernels, newest first: "PACKAGE VERSION" per line.
kernel_candidates() {
    local p v
    kapt apt-cache pkgnames linux-image- |
        grep -E "^linux-image-[0-9][^ ]*-$FLAVOUR\$" | while read -r p; do
            v=$(kapt apt-cache policy "$p" | sed -n 's/ *Candidate: //p')
            [ -n "$v" ] && [ "$v" != "(none)" ] && echo "$p $v"
        done | sort -k2,2 -V -r
}

# The packages a kernel package brings (sid: linux-binary-, linux-modules-,
# linux-base- of the same ABI), with versions, for apt-get download.
kernel_packages() {
    local p=$1 v=$2 abi
    abi=${p#linux-image-}
    echo "$p=$v"
    kapt apt-cache depends "$p=$v" 2>/dev/null |
        sed -n "s/^ *Depends: \(linux-\(binary\|modules\|base\)-$abi\)\$/\1/p" |
        sort -u | while read -r d; do echo "$d=$v"; done
}

# The bookworm kernel through the host's apt: the package the metapackage
# points to.
host_kernel() {
    local kpkg
    kpkg=$(apt-cache depends "$KMETA:$ARCH" 2>/dev/null |
           sed -n "s/^ *Depends: \(linux-image-[0-9][^:]*\)\(:$ARCH\)\{0,1\}\$/\1/p" | head -1)
    [ -n "$kpkg" ] || die "cannot resolve $KMETA:$ARCH (run 'make deps')"
    echo "$kpkg:$ARCH $(apt-cache policy "$kpkg:$ARCH" | sed -n 's/ *Candidate: //p')"
}

userland() {
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

mkdir -p "$GUEST"
if [ -n "$KSUITES" ]; then
    # A day-old index is good enough to tell whether the guest is current
    [ -n "$(find "$KAPT/.updated" -mmin -1440 2>/dev/null)" ] || kapt_update
    candidates=$(kernel_candidates)
    [ -n "$candidates" ] || { kapt_update; candidates=$(kernel_candidates); }
    [ -n "$candidates" ] ||
        die "no linux-image-*-$FLAVOUR in $KSUITES (see $KAPT/update.log)"
else
    candidates=$(host_kernel)
fi
key=$( { echo "$KERNEL $candidates"
         for p in $(userland); do
             printf '%s=%s\n' "$p" "$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')"
         done
         sha256sum "$TOP/scripts/guest-init.sh" "$TOP/scripts/mkinitramfs.py" \
             "$TOP/scripts/guest.sh" | cut -d' ' -f1
       } | sha256sum | cut -d' ' -f1)
if [ -f "$GUEST/.key" ] && [ "$(cat "$GUEST/.key")" = "$key" ] &&
   [ -s "$GUEST/$KIMG" ] && [ -s "$GUEST/initramfs.gz" ]; then
    log "guest up to date: $GUEST ($(cat "$GUEST/kernel-version"))"
    exit 0
fi

rm -rf "$GUEST_DEBS" "$GUEST/root"
mkdir -p "$GUEST_DEBS"
chmod 755 "$GUEST_DEBS"
# shellcheck disable=SC2046
(cd "$GUEST_DEBS" && apt-get download -q $(userland)) >"$GUEST_DEBS.log" 2>&1 ||
    { tail -5 "$GUEST_DEBS.log" >&2
      die "cannot download the guest packages ($(echo $GUEST_PKGS)); run 'make deps'"; }
kchoice=
while read -r p v; do
    [ -n "$p" ] || continue
    if [ -z "$KSUITES" ]; then
        (cd "$GUEST_DEBS" && apt-get download -q "$p") >>"$GUEST_DEBS.log" 2>&1 &&
            kchoice="$p $v"
        break
    fi
    # shellcheck disable=SC2046
    if (cd "$GUEST_DEBS" && kapt apt-get download $(kernel_packages "$p" "$v")) \
            >>"$GUEST_DEBS.log" 2>&1; then
        kchoice="$p $v"
        break
    fi
    log "$p $v does not download (see $GUEST_DEBS.log); trying the next older one"
    rm -f "$GUEST_DEBS"/linux-*.deb
done <<<"$candidates"
[ -n "$kchoice" ] || { tail -5 "$GUEST_DEBS.log" >&2
                       die "no $KERNEL kernel downloads (tried: $(echo "$candidates" | cut -d' ' -f1 | tr '\n' ' '))"; }
for d in "$GUEST_DEBS"/*.deb; do dpkg-deb -x "$d" "$GUEST/root"; done

# 6.12 and later ship /usr/lib/modules (and sid the image there too):
# depmod -b looks in ROOT/lib/modules.
if [ -d "$GUEST/root/usr/lib/modules" ]; then
    mkdir -p "$GUEST/root/lib/modules"
    mv "$GUEST/root/usr/lib/modules"/* "$GUEST/root/lib/modules/"
fi
kver=$(ls "$GUEST/root/lib/modules" | head -1)
[ -n "$kver" ] || die "no modules in the $KERNEL kernel packages"
img=
for f in "$GUEST/root/boot/$KIMG-$kver" "$GUEST/root/lib/modules/$kver/vmlinuz" \
         "$GUEST/root/lib/modules/$kver/vmlinux"; do
    [ -f "$f" ] && { img=$f; break; }
done
[ -n "$img" ] || die "no kernel image in the $KERNEL kernel packages"
if [ "$ARCH" = ppc64el ]; then
    [ "$(head -c 4 "$img" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] ||
        die "$img is not an ELF vmlinux (QEMU's -kernel needs one on pseries)"
fi
cp "$img" "$GUEST/$KIMG"
command -v depmod >/dev/null || die "depmod is missing: run 'make deps' (package kmod)"
depmod -b "$GUEST/root" "$kver" || die "depmod failed for $kver"
# shellcheck disable=SC2086
"$PYTHON" "$TOP/scripts/mkinitramfs.py" "$GUEST/root" "$kver" \
    "$TOP/scripts/guest-init.sh" "$GUEST/initramfs.gz" $GUEST_MODULES
echo "$kver" >"$GUEST/kernel-version"
echo "$kchoice" >"$GUEST/kernel-package"
rm -rf "$GUEST/root" "$GUEST_DEBS"
echo "$key" >"$GUEST/.key"
log "guest ready: $KERNEL kernel $kver ($kchoice), $GUEST/initramfs.gz"
