#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the demo and test guest (busybox). Kernel command line:
#   guest.mode=report  print the PCI topology as the guest sees it, power off
#   guest.mode=shell   an interactive shell on the console
#   guest.mode=test    report, then the checks named in guest.checks=a,b,...
# Everything the host parses is on lines starting with "@@".
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts

arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
MODE=$(arg guest.mode)
CHECKS=$(arg guest.checks | tr , ' ')

while read -r m; do insmod "$m" 2>/dev/null || echo "@@ insmod failed: $m"; done </modules
sleep 1

# Wait until the kernel has bound drivers to every device (probing is async)
settle() {
    i=0
    while [ $i -lt 50 ]; do
        n=0
        for d in /sys/bus/pci/devices/*; do [ -e "$d/driver" ] || n=$((n + 1)); done
        [ "$n" -eq 0 ] && return 0
        i=$((i + 1)); sleep 0.2
    done
}

port_type() {
    lspci -s "$1" -vv 2>/dev/null | sed -n 's/.*Express ([^)]*) \([^,(]*\).*/\1/p' | head -1 | sed 's/ *$//'
}

report() {
    settle
    echo "@@ uname $(uname -r)"
    echo "@@ begin lspci-tv"
    lspci -tv
    echo "@@ end lspci-tv"
    echo "@@ begin functions"
    for d in /sys/bus/pci/devices/*; do
        bdf=${d##*/}
        size=$(wc -c <"$d/config")
        drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
        type=$(port_type "$bdf"); [ -n "$type" ] || type="conventional"
        aer=no; lspci -s "$bdf" -vv 2>/dev/null | grep -q "Advanced Error Reporting" && aer=yes
        echo "@@ fn $bdf id=$(cat "$d/vendor"):$(cat "$d/device") class=$(cat "$d/class") config=$size type=\"$type\" driver=$drv aer=$aer"
    done
    echo "@@ end functions"
}

case $MODE in
    shell)
        echo "pseries-pcie demo guest: busybox shell ('poweroff -f' to quit)"
        setsid cttyhack sh
        ;;
    *)
        report
        for c in $CHECKS; do
            [ -x "/checks/$c" ] && "/checks/$c"
        done
        ;;
esac
echo "@@ done"
poweroff -f
