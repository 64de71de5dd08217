#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make run: build what is missing, then boot a Debian ppc64el guest on the
# patched QEMU (TCG, SLOF) with the demo topology of scripts/topology.sh.
#   run.sh            print the guest's 'lspci -tv' and, per PCI function,
#                     its PCIe port type, config space size and driver;
#                     power the guest off; exit 0
#   run.sh --console  the same guest with an interactive busybox shell
#                     ('poweroff -f' or Ctrl-a x quits)
# RUN_MACHINE selects the machine type (default: pseries-pcie; 'pseries'
# boots the same endpoints on the legacy pci.0), RUN_FIRMWARE=vof boots
# with VOF instead of SLOF. RUN_BOOT=disk boots from disk instead of
# -kernel: the NVMe disk behind the switch (on pci.0 for pseries) holds a
# GPT/PReP/GRUB image (scripts/bootdisk.sh) and has bootindex=1; SLOF's
# NVMe driver (slof-patches/) loads GRUB, GRUB the kernel.
# RUN_KERNEL picks the guest's kernel: bookworm (default, 6.1), trixie
# (6.12) or sid (the newest), see scripts/guest.sh.
. "$(dirname "$0")/lib.sh"
. "$TOP/scripts/topology.sh"

MACHINE=${RUN_MACHINE:-pseries-pcie}
QEMU=$OBJ/qemu-system-ppc64
KERNEL=${RUN_KERNEL:-bookworm}
case " $GUEST_KERNELS " in
    *" $KERNEL "*) ;;
    *) die "RUN_KERNEL=$KERNEL: use one of: $GUEST_KERNELS (default bookworm)" ;;
esac
GUEST=$(guest_dir "$KERNEL")
case $KERNEL in bookworm) BOOTDISKS=$BUILD/bootdisk ;; *) BOOTDISKS=$BUILD/bootdisk-$KERNEL ;; esac

prepare() {
    bash "$TOP/scripts/deps.sh"
    bash "$TOP/scripts/fetch.sh"
    bash "$TOP/scripts/tree.sh"
    bash "$TOP/scripts/build.sh"
    bash "$TOP/scripts/firmware.sh" "$OBJ"
    GUEST_KERNEL=$KERNEL bash "$TOP/scripts/guest.sh"
    make_disks "$GUEST"
    if [ "$BOOT" = disk ]; then GUEST_KERNEL=$KERNEL bash "$TOP/scripts/bootdisk.sh"; fi
}

BOOT=${RUN_BOOT:-kernel}
case $BOOT in
    kernel|disk) ;;
    *) die "RUN_BOOT=$BOOT: use RUN_BOOT=kernel (default) or RUN_BOOT=disk" ;;
esac
[ "$BOOT" = disk ] && [ "${RUN_FIRMWARE:-slof}" = vof ] &&
    die "RUN_BOOT=disk needs SLOF: VOF boots only a kernel given with -kernel (drop RUN_FIRMWARE=vof)"

# boot_args: TOPO with disk B replaced by the boot disk (read-only for the
# run: snapshot=on), or the -kernel/-initrd/-append of the test guest
boot_args() {
    local mode=$1 i
    if [ "$BOOT" = disk ]; then
        topology "$machine" "$GUEST/disk-a.img" "$BOOTDISKS/boot-a.img"
        for i in "${!TOPO[@]}"; do
            case ${TOPO[$i]} in
                if=none,id=db,*) TOPO[$i]+=",snapshot=on" ;;
                nvme,serial=nvme0,drive=db*) TOPO[$i]+=",bootindex=1" ;;
            esac
        done
        BOOT_ARGS=()
    else
        topology "$machine" "$GUEST/disk-a.img" "$GUEST/disk-b.img"
        BOOT_ARGS=(-kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.gz"
                   -append "console=hvc0 quiet guest.mode=$mode")
    fi
}

machine=$MACHINE
[ "${RUN_FIRMWARE:-slof}" = vof ] && machine=$MACHINE,x-vof=on

demo() {
    local log=$BUILD/run-console.log t0 rc=0
    boot_args report
    log "booting $(cat "$GUEST/kernel-version") on $QEMU -M $machine (TCG, ${RUN_FIRMWARE:-slof}, from ${BOOT})"
    t0=$(date +%s%N)
    timeout 300 "$QEMU" "${TOPO[@]}" -display none -serial "file:$log" -monitor none \
        "${BOOT_ARGS[@]}" || rc=$?
    if [ "$rc" -ne 0 ] || ! grep -q '^@@ done' <(tr -d '\r' <"$log"); then
        tr -d '\r' <"$log" | tail -40 >&2
        die "the guest did not finish (QEMU exit $rc); console log: $log"
    fi
    echo
    echo "== guest: lspci -tv"
    tr -d '\r' <"$log" | sed -n '/^@@ begin lspci-tv/,/^@@ end lspci-tv/p' | sed '1d;$d'
    echo
    echo "== guest: PCI functions (port type from the PCIe capability, config space size, driver)"
    tr -d '\r' <"$log" | sed -n 's/^@@ fn //p' |
        sed 's/ id=\([^ ]*\) class=\([^ ]*\) config=\([0-9]*\) type="\([^"]*\)" driver=\([^ ]*\) aer=\(.*\)/|\1|\3|\4|\5|\6/' |
        awk -F'|' 'BEGIN { printf "%-13s %-14s %6s  %-32s %-11s %s\n", "function", "vendor:device", "config", "type", "driver", "AER" }
                   { printf "%-13s %-14s %6s  %-32s %-11s %s\n", $1, $2, $3, $4, $5, $6 }'
    echo
    if [ "$BOOT" = disk ]; then
        echo "== firmware: $(tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' |
            grep -a -o 'Trying to load: .* Successfully loaded' | head -1 | tr -s ' ')"
        echo "== GRUB: $(tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | grep -a -o 'GRUB: booting.*' | head -1)"
        echo
    fi
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    log "guest $(tr -d '\r' <"$log" | sed -n 's/^@@ uname //p') powered off after $((ms / 1000)).$((ms % 1000 / 100)) s; console log: $log"
}

prepare
case "${1:-}" in
    --console)
        [ "$BOOT" = disk ] &&
            warn "RUN_BOOT=disk: the disk's GRUB boots the guest in report mode (no shell); it powers off when done"
        boot_args shell
        exec "$QEMU" "${TOPO[@]}" -nographic -serial mon:stdio "${BOOT_ARGS[@]}" ;;
    "") demo ;;
    *) die "usage: $0 [--console]" ;;
esac
