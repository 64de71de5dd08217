#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bootable ppc64el disk images from Debian packages only, for booting the
# test guest from disk through SLOF -> GRUB -> Linux (no -kernel):
#   GPT: partition 1 PReP boot (type 4100) holding GRUB's powerpc-ieee1275
#   core image (grub-mkimage from grub-common, modules from
#   grub-ieee1275-bin:ppc64el unpacked with dpkg-deb -x), partition 2 ext2
#   /boot with the guest kernel, its initramfs and grub.cfg. Assembled with
#   sgdisk, mke2fs -d and dd: no loop mounts, no root-only tools.
#
#   bootdisk.sh   -> build/bootdisk/boot-a.img, boot-b.img, boot-serve.img,
#                    boot-gi.img (raw)
#   GUEST_KERNEL=trixie|sid bootdisk.sh -> the same with that guest's kernel,
#                    in build/bootdisk-trixie/ or build/bootdisk-sid/
# The images differ in their ext2 label (GRUB searches for its own) and in
# guest.bootdisk=a|b|serve on the kernel command line, so a test can tell
# which one the firmware booted. a and b run the guest in guest.mode=report
# (report, checks, power off); serve in guest.mode=serve (stays up and takes
# commands on its console, for hotplug after booting from disk).
# boot-gi is laid out the way grub-install lays a disk out instead: its
# core image has no embedded config and the hard-coded prefix
# "(,gpt2)/boot/grub" (grub-install's choice when /boot is on the disk it
# installs to), so GRUB takes the disk from /chosen/bootpath; the modules
# live in /boot/grub/powerpc-ieee1275; grub.cfg is shaped like
# grub-mkconfig's (search --fs-uuid, load_env, and grub-reboot's one-time
# entry cleared with save_env next_entry); grubenv starts with
# next_entry=1, so the first boot runs entry 1 (guest.bootdisk=gi-once)
# and, if GRUB could write the disk, every later one entry 0
# (guest.bootdisk=gi). Cached: rebuilt when the guest, the GRUB package
# or this script change.
. "$(dirname "$0")/lib.sh"

KERNEL=${GUEST_KERNEL:-bookworm}
GUEST=$(guest_dir "$KERNEL") || exit 1
case $KERNEL in bookworm) OUT=$BUILD/bootdisk ;; *) OUT=$BUILD/bootdisk-$KERNEL ;; esac
GRUB_DEBS=$DL/grub-$KERNEL
GRUB_PKG=grub-ieee1275-bin:ppc64el

for tool in grub-mkimage grub-editenv sgdisk mke2fs; do
    command -v "$tool" >/dev/null ||
        die "$tool is missing: run 'make deps' (packages grub-common, gdisk, e2fsprogs)"
done
GUEST_KERNEL=$KERNEL bash "$TOP/scripts/guest.sh" >/dev/null || die "cannot build the $KERNEL guest"

grub_ver=$(apt-cache policy "$GRUB_PKG" | sed -n 's/ *Candidate: //p')
[ -n "$grub_ver" ] && [ "$grub_ver" != "(none)" ] ||
    die "no candidate for $GRUB_PKG (run 'make deps': it adds the ppc64el architecture)"
key=$( { echo "$grub_ver"; grub-mkimage --version; cat "$GUEST/.key"
         sha256sum "$0" | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/.key" ] && [ "$(cat "$OUT/.key")" = "$key" ] &&
   [ -s "$OUT/boot-a.img" ] && [ -s "$OUT/boot-b.img" ] && [ -s "$OUT/boot-serve.img" ] &&
   [ -s "$OUT/boot-gi.img" ]; then
    log "boot disks up to date: $OUT"
    exit 0
fi

rm -rf "$OUT" "$GRUB_DEBS"
mkdir -p "$OUT" "$GRUB_DEBS"
chmod 755 "$GRUB_DEBS"
(cd "$GRUB_DEBS" && apt-get download -q "$GRUB_PKG") >"$GRUB_DEBS.log" 2>&1 ||
    { tail -5 "$GRUB_DEBS.log" >&2; die "cannot download $GRUB_PKG"; }
dpkg-deb -x "$GRUB_DEBS"/*.deb "$GRUB_DEBS/root"
MODDIR=$GRUB_DEBS/root/usr/lib/grub/powerpc-ieee1275
[ -f "$MODDIR/moddep.lst" ] || die "no powerpc-ieee1275 modules in $GRUB_PKG"

# make_image NAME MODE: boot-NAME.img booting the guest in guest.mode=MODE
make_image() {
    local name=$1 mode=$2 label=pcieboot-$1 w=$OUT/work-$1
    mkdir -p "$w/root/boot/grub"
    cat >"$w/early.cfg" <<EOF
search --no-floppy --label --set=root $label
set prefix=(\$root)/boot/grub
configfile \$prefix/grub.cfg
EOF
    cat >"$w/root/boot/grub/grub.cfg" <<EOF
set timeout=0
echo "GRUB: booting the test guest from disk $name (label $label)"
menuentry "Debian test guest, disk $name" {
    linux /boot/vmlinux console=hvc0 quiet guest.mode=$mode guest.checks=bootdisk guest.bootdisk=$name
    initrd /boot/initramfs.gz
}
EOF
    cp "$GUEST/vmlinux" "$GUEST/initramfs.gz" "$w/root/boot/"
    grub-mkimage -d "$MODDIR" -O powerpc-ieee1275 -c "$w/early.cfg" \
        -o "$w/core.elf" -p /boot/grub \
        part_gpt part_msdos ext2 linux normal boot configfile search \
        search_label echo ls
    assemble "$name" "$w" "-L $label"
    log "boot disk $OUT/boot-$name.img: GRUB $grub_ver, kernel $(cat "$GUEST/kernel-version"), ext2 label $label"
}

# make_gi_image: boot-gi.img, as grub-install and grub-mkconfig make a disk
make_gi_image() {
    local w=$OUT/work-gi uuid=5e1f0c2a-9d4b-4c8e-a7f1-0b5e7c3d2f61
    mkdir -p "$w/root/boot/grub/powerpc-ieee1275"
    cp "$MODDIR"/*.mod "$MODDIR"/*.lst "$w/root/boot/grub/powerpc-ieee1275/"
    cp "$GUEST/vmlinux" "$GUEST/initramfs.gz" "$w/root/boot/"
    grub-editenv "$w/root/boot/grub/grubenv" create
    grub-editenv "$w/root/boot/grub/grubenv" set next_entry=1
    cat >"$w/root/boot/grub/grub.cfg" <<EOF
# Shaped like grub-mkconfig's output on Debian (00_header, 10_linux)
if [ -s \$prefix/grubenv ]; then
  set have_grubenv=true
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="0"
fi
set timeout=0
echo "GRUB: booting the test guest from disk gi (entry \$default)"
menuentry 'Debian GNU/Linux' --class debian {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	linux	/boot/vmlinux console=hvc0 quiet guest.mode=report guest.checks=bootdisk guest.bootdisk=gi
	initrd	/boot/initramfs.gz
}
menuentry 'Debian GNU/Linux, once (grub-reboot)' --class debian {
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	linux	/boot/vmlinux console=hvc0 quiet guest.mode=report guest.checks=bootdisk guest.bootdisk=gi-once
	initrd	/boot/initramfs.gz
}
EOF
    # as grub-install: the modules the prefix needs, no config, (,gpt2)
    grub-mkimage -d "$MODDIR" -O powerpc-ieee1275 -o "$w/core.elf" \
        -p '(,gpt2)/boot/grub' part_gpt ext2
    assemble gi "$w" "-U $uuid"
    log "boot disk $OUT/boot-gi.img: grub-install style, prefix (,gpt2)/boot/grub, GRUB $grub_ver, kernel $(cat "$GUEST/kernel-version")"
}

# assemble NAME WORKDIR MKE2FS-OPTS: the GPT disk boot-NAME.img from
# WORKDIR/core.elf (PReP) and WORKDIR/root (ext2 /boot); WORKDIR goes
assemble() {
    local name=$1 w=$2 opts=$3
    # ext2 sized to the files plus a quarter, in MiB
    local kib mib
    kib=$(du -sk "$w/root" | cut -f1)
    mib=$(( (kib * 5 / 4) / 1024 + 8 ))
    # shellcheck disable=SC2086
    mke2fs -q -F -t ext2 $opts -d "$w/root" "$w/boot.ext2" "${mib}M" >/dev/null
    # 1 MiB for the GPT, 8 MiB PReP, the ext2, 1 MiB for the backup GPT
    local img=$OUT/boot-$name.img first
    rm -f "$img"
    truncate -s $(( (1 + 8 + mib + 1) * 1024 * 1024 )) "$img"
    sgdisk -n1:2048:+8M -t1:4100 -c1:PReP -n2:0:0 -t2:8300 -c2:boot "$img" >/dev/null
    first=$(sgdisk -i2 "$img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
    [ -n "$first" ] || die "cannot read partition 2 of $img"
    dd if="$w/core.elf" of="$img" bs=512 seek=2048 conv=notrunc status=none
    dd if="$w/boot.ext2" of="$img" bs=512 seek="$first" conv=notrunc status=none
    rm -rf "$w"
}

make_image a report
make_image b report
make_image serve serve
make_gi_image
rm -rf "$GRUB_DEBS/root"
echo "$key" >"$OUT/.key"
