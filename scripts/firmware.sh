#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Firmware for the built QEMU: SLOF built from source (scripts/slof.sh:
# the tarball's roms/SLOF + slof-patches/), the rest from Debian's
# arch-independent packages.
# The +ds tarball carries no blobs; QEMU run from its build directory looks
# in <build>/qemu-bundle/<prefix>/share/qemu, so the blobs go there and the
# binary finds SLOF, VOF, skiboot, VGA BIOSes, NIC ROMs and the device
# trees compiled by the build without -L.
#
#   firmware.sh [BUILD_DIR...]   (default: build/qemu-build, build/upstream/qemu-build)
. "$(dirname "$0")/lib.sh"

# package/suite: qemu-system-data from bookworm-backports is close to 10.2
# (SLOF, VOF, skiboot); vgabios from seabios; NIC ROMs from ipxe-qemu.
FW_PKGS="qemu-system-data/bookworm-backports seabios ipxe-qemu"
DEBS=$DL/firmware

fetch() {
    if [ -f "$FIRMWARE/.stamp" ] && [ -f "$FIRMWARE/slof.bin" ] &&
       [ -f "$FIRMWARE/bios-256k.bin" ]; then
        return 0
    fi
    rm -rf "$DEBS" "$FIRMWARE"
    mkdir -p "$DEBS" "$FIRMWARE"
    chmod 755 "$DEBS"
    # shellcheck disable=SC2086
    (cd "$DEBS" && apt-get download -q $FW_PKGS) >"$DEBS.log" 2>&1 ||
        { tail -5 "$DEBS.log" >&2
          die "cannot download the firmware packages ($FW_PKGS); run 'make deps' (it adds bookworm-backports)"; }
    local d root=$DEBS/root
    for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$root"; done
    find "$root/usr/share/qemu" -maxdepth 1 \( -type f -o -type l \) \
        -exec cp -L {} "$FIRMWARE/" \;
    cp "$root"/usr/share/seabios/vgabios*.bin "$FIRMWARE/"
    # SeaBIOS itself, for the benchmark's x86_64 (q35) anchor build
    cp "$root"/usr/share/seabios/bios*.bin "$FIRMWARE/"
    cp "$root"/usr/lib/ipxe/qemu/*.rom "$FIRMWARE/"
    # Blobs that the tarball itself carries.
    cp "$TREE/pc-bios/pnv-pnor.bin" "$TREE/pc-bios/vof-nvram.bin" "$FIRMWARE/"
    # QEMU 10.2 names the sam460ex U-Boot image u-boot-sam460.bin; the
    # Debian package still ships it under its dated name.
    if [ ! -e "$FIRMWARE/u-boot-sam460.bin" ] &&
       [ -e "$FIRMWARE/u-boot-sam460-20100605.bin" ]; then
        cp "$FIRMWARE/u-boot-sam460-20100605.bin" "$FIRMWARE/u-boot-sam460.bin"
    fi
    local f
    for f in slof.bin vof.bin skiboot.lid openbios-ppc u-boot.e500 pnv-pnor.bin \
             vgabios-stdvga.bin efi-virtio.rom u-boot-sam460.bin; do
        [ -s "$FIRMWARE/$f" ] || die "firmware $f missing from the Debian packages ($FW_PKGS)"
    done
    (cd "$DEBS" && ls ./*.deb) >"$FIRMWARE/.stamp"
    rm -rf "$root"
    log "firmware from: $(tr '\n' ' ' <"$FIRMWARE/.stamp")"
}

install_into() {
    local obj=$1 dest
    [ -d "$obj/qemu-bundle" ] || { warn "$obj/qemu-bundle missing (build first)"; return 0; }
    dest=$(find "$obj/qemu-bundle" -path '*/share/qemu' -type d | head -1)
    [ -n "$dest" ] || die "no share/qemu directory in $obj/qemu-bundle"
    cp -f "$FIRMWARE"/* "$dest/"
    # Device trees that the build compiles from pc-bios/dtb/*.dts (pegasos,
    # bamboo, ...): --disable-install-blobs keeps them out of the bundle too.
    if compgen -G "$obj/pc-bios/dtb/*.dtb" >/dev/null; then
        mkdir -p "$dest/dtb"
        cp -f "$obj"/pc-bios/dtb/*.dtb "$dest/dtb/"
    elif [ ! -e "$obj/qemu-system-ppc64" ]; then
        :   # another target's build (the benchmark's x86_64 anchor): no ppc dtbs
    else
        die "no compiled device trees in $obj/pc-bios/dtb (is dtc installed?)"
    fi
    log "firmware installed in $dest"
}

fetch
# SLOF from source replaces Debian's prebuilt slof.bin (20230918, no NVMe).
bash "$TOP/scripts/slof.sh" build
cp -f "$BUILD/slof/boot_rom.bin" "$FIRMWARE/slof.bin"
if [ $# -eq 0 ]; then
    set -- "$OBJ"
    [ -d "$UP_OBJ" ] && set -- "$@" "$UP_OBJ"
fi
for o in "$@"; do install_into "$o"; done
