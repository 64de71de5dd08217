#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the demo and test guest (busybox). Kernel command line:
#   guest.mode=report  print the PCI topology as the guest sees it, power off
#   guest.mode=shell   an interactive shell on the console
#   guest.mode=serve   report and checks, then commands from the console (serve())
#   guest.checks=a,b   after the report, run these checks (see below)
#   guest.mode=bench   no report: timings for scripts/bench.py (see bench())
#   guest.bench-dmesg=1  bench: also print the initcall_debug timings
#   guest.bench-dt=1     bench: also print a digest of the device tree the
#                        firmware handed over (/proc/device-tree)
# Everything the host parses is on lines starting with "@@".
# The first line may follow an unfinished line of the kernel's: start afresh.
echo
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
case $(cat /proc/cmdline) in
    *guest.mode=bench*) echo "@@ userspace $(cut -d' ' -f1 /proc/uptime)" ;;
esac
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts

arg() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
MODE=$(arg guest.mode)
CHECKS=$(arg guest.checks | tr , ' ')

while read -r m; do insmod "$m" 2>/dev/null || echo "@@ insmod-failed $m"; done </modules

# Wait (10 s at most) until every PCI function that is not a bridge has a
# driver: probing runs asynchronously after insmod.
settle() {
    i=0
    while [ $i -lt 50 ]; do
        n=0
        for d in /sys/bus/pci/devices/*; do
            case $(cat "$d/class") in 0x0604*) continue ;; esac
            [ -e "$d/driver" ] || n=$((n + 1))
        done
        [ "$n" -eq 0 ] && return 0
        i=$((i + 1)); sleep 0.2
    done
}

port_type() {
    lspci -s "$1" -vv 2>/dev/null |
        sed -n 's/.*Express ([^)]*) \([^,(]*\).*/\1/p' | head -1 | sed 's/ *$//'
}

function_line() {
    d=/sys/bus/pci/devices/$1
    size=$(wc -c <"$d/config")
    drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
    type=$(port_type "$1"); [ -n "$type" ] || type=conventional
    aer=no; lspci -s "$1" -vv 2>/dev/null | grep -q "Advanced Error Reporting" && aer=yes
    msix=no; lspci -s "$1" -vv 2>/dev/null | grep -q "MSI-X: Enable+" && msix=yes
    echo "@@ fn $1 id=$(cat "$d/vendor"):$(cat "$d/device") class=$(cat "$d/class") config=$size type=\"$type\" driver=$drv aer=$aer msix=$msix"
}

report() {
    settle
    echo "@@ uname $(uname -r)"
    echo "@@ begin lspci-tv"
    lspci -tv
    echo "@@ end lspci-tv"
    echo "@@ begin functions"
    for d in /sys/bus/pci/devices/*; do function_line "${d##*/}"; done
    echo "@@ end functions"
}

# sha256 of every virtio and NVMe disk
check_disks() {
    for b in /sys/block/vd* /sys/block/nvme*n*; do
        [ -e "$b" ] || continue
        dev=/dev/${b##*/}
        echo "@@ disk ${b##*/} $(sha256sum "$dev" | cut -d' ' -f1)"
    done
}

# The disk the firmware booted (guest.bootdisk= from the disk's own
# grub.cfg) and the sha256 of the first MiB of every virtio, SCSI and NVMe
# disk: what SLOF and GRUB read, as Linux reads it back. An NVMe
# namespace is named nvme<controller>n<NSID>: Linux 6.8 and later scan
# namespaces in parallel, so which one becomes nvme0n1 varies.
check_bootdisk() {
    echo "@@ bootdisk $(arg guest.bootdisk)"
    for b in /sys/block/vd* /sys/block/sd* /sys/block/nvme*n*; do
        [ -e "$b" ] || continue
        name=${b##*/}
        case $name in nvme*) name=${name%n*}n$(cat "$b/nsid") ;; esac
        echo "@@ disk-head $name $(head -c 1048576 "/dev/${b##*/}" | sha256sum | cut -d' ' -f1)"
    done
}

# DHCP on the virtio-net interface
check_dhcp() {
    cat >/tmp/udhcpc.sh <<'EOF'
#!/bin/sh
[ "$1" = bound ] && echo "@@ dhcp-lease $interface $ip" >/dev/console
exit 0
EOF
    chmod +x /tmp/udhcpc.sh
    for n in /sys/class/net/*; do
        [ "$(basename "$(readlink "$n/device/driver" 2>/dev/null)")" = virtio_net ] || continue
        ip link set "${n##*/}" up
        udhcpc -i "${n##*/}" -n -q -t 10 -T 1 -s /tmp/udhcpc.sh >/dev/null 2>&1 ||
            echo "@@ dhcp-failed ${n##*/}"
    done
}

# DHCP on every network interface, whatever its driver:
#   @@ nic-lease IFACE DRIVER IP, or @@ nic-failed IFACE DRIVER
check_nics() {
    printf '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" >"/tmp/lease.$interface"\nexit 0\n' \
        >/tmp/udhcpc-nic.sh
    chmod +x /tmp/udhcpc-nic.sh
    for n in /sys/class/net/*; do
        [ -e "$n/device" ] || continue
        i=${n##*/}
        drv=$(basename "$(readlink "$n/device/driver" 2>/dev/null)")
        ip link set "$i" up
        if udhcpc -i "$i" -n -q -t 10 -T 1 -s /tmp/udhcpc-nic.sh >/dev/null 2>&1 &&
           [ -s "/tmp/lease.$i" ]; then
            echo "@@ nic-lease $i $drv $(cat "/tmp/lease.$i")"
        else
            echo "@@ nic-failed $i $drv"
        fi
    done
}

# The kernel's health: "@@ health ok", or one "@@ health-bad" line per
# kernel message that says something went wrong (Oops, BUG, a WARN() splat,
# panic, hung task, an interrupt nobody handled, bad access), from the whole
# kernel log, whatever the console's log level let through.
check_health() {
    bad=$(dmesg | grep -E 'Oops|BUG:|WARNING: CPU|WARNING: at|cut here|Call Trace|Kernel panic|blocked for more than|hung_task|nobody cared|Unable to handle kernel|segfault' | head -5)
    if [ -n "$bad" ]; then
        echo "$bad" | while read -r l; do echo "@@ health-bad $l"; done
    else
        echo "@@ health ok"
    fi
}

# Every BAR (0-5, 6 the ROM) and bridge window (w0 I/O, w1 memory, w2
# prefetchable) of every function as Linux assigned it, from sysfs
# "resource" ("start end flags"; an unassigned one has start 0 or
# IORESOURCE_UNSET), and what the kernel said when it could not assign
# one.
check_bars() {
    for d in /sys/bus/pci/devices/*; do
        n=0
        while read -r start end flags; do
            case $n in
                [0-6]) name=$n ;;
                13) name=w0 ;; 14) name=w1 ;; 15) name=w2 ;;
                *) name= ;;
            esac
            if [ -n "$name" ] && [ "$end" != 0x0000000000000000 ]; then
                echo "@@ bar ${d##*/} $name $start $end $flags"
            fi
            n=$((n + 1))
        done <"$d/resource"
    done
    dmesg | grep -E "no space for|failed to assign|can't claim|can't assign" |
        while read -r l; do echo "@@ bar-msg $l"; done
}

# Native hotplug: the host plugs a device (one or more functions, function 0
# last) into an empty root port or downstream port; the guest's pciehp must
# bring every function up with a driver (a disk: "@@ hotplug-disk NAME
# SHA256"), then release them all on unplug. guest.checks may name it more
# than once: one device per round.
new_functions() {
    for d in $(ls /sys/bus/pci/devices); do
        echo "$before" | grep -qx "$d" || printf ' %s' "$d"
    done
}
new_disks() {
    for b in $(ls /sys/block); do
        echo "$disks_before" | grep -qx "$b" || printf ' %s' "$b"
    done
}
check_hotplug() {
    before=$(ls /sys/bus/pci/devices)
    disks_before=$(ls /sys/block)
    echo "@@ hotplug-ready"
    i=0; new=
    while [ $i -lt 300 ] && [ -z "$new" ]; do
        new=$(new_functions)
        i=$((i + 1)); sleep 0.2
    done
    [ -n "$new" ] || { echo "@@ hotplug-timeout add"; return; }
    # pciehp adds the functions of a slot together; let them all appear
    sleep 2
    new=$(new_functions)
    for d in $new; do
        i=0
        while [ $i -lt 50 ] && [ ! -e "/sys/bus/pci/devices/$d/driver" ]; do
            i=$((i + 1)); sleep 0.2
        done
        function_line "$d" | sed 's/^@@ fn/@@ hotplug-added/'
    done
    echo "@@ hotplug-added-all$new"
    # A hot-added disk: its contents, as the guest reads them
    case $(cat $(for d in $new; do echo "/sys/bus/pci/devices/$d/class"; done)) in
        *0x01*)
            i=0; blk=
            while [ $i -lt 50 ] && [ -z "$blk" ]; do
                blk=$(new_disks); i=$((i + 1)); sleep 0.2
            done
            for b in $blk; do
                echo "@@ hotplug-disk $b $(sha256sum "/dev/$b" | cut -d' ' -f1)"
            done ;;
    esac
    # guest.hotplug=add-only: the host does not unplug
    [ "$(arg guest.hotplug)" = add-only ] && return
    for d in $new; do
        i=0
        while [ $i -lt 300 ] && [ -e "/sys/bus/pci/devices/$d" ]; do
            i=$((i + 1)); sleep 0.2
        done
        if [ -e "/sys/bus/pci/devices/$d" ]; then
            echo "@@ hotplug-timeout remove $d"
        else
            echo "@@ hotplug-removed $d"
        fi
    done
}

# guest.mode=bench: wait for the virtio drivers, say so (the host samples
# QEMU's memory then), then time sequential reads of /dev/vda if present:
#   @@ bench-ready UPTIME, @@ bench-read BYTES NANOSECONDS [direct|buffered]
now_ns() {
    t=$(sed -n 's/^now at \([0-9]*\) nsecs.*/\1/p;3q' /proc/timer_list 2>/dev/null)
    [ -n "$t" ] || t=$(( $(cut -d' ' -f1 /proc/uptime | tr -d .) * 10000000 ))
    echo "$t"
}
# SLOF's phandles are its nodes' addresses, which move whenever SLOF's own
# code does: each phandle value is replaced by the number of its node in
# path order, in the phandle properties and in those that refer to nodes
# (interrupt-map, interrupt-parent), so two firmware builds that make the
# same tree give the same digest
dt_digest() {
    dt=/proc/device-tree
    i=0
    : >/tmp/ph.sed
    for f in $(find $dt/ -type f -name phandle | sort); do
        i=$((i + 1))
        echo "s/^$(od -An -v -tx1 "$f" | tr -d ' \n')\$/P$i/" >>/tmp/ph.sed
    done
    find $dt/ -type f ! -name rng-seed ! -path '*/openprom/model' | sort >/tmp/dt.list
    while read -r f; do
        case ${f##*/} in
            phandle|linux,phandle|ibm,phandle|interrupt-map|interrupt-parent)
                echo "$f $(od -An -v -tx1 "$f" | tr -d ' \n' | fold -w 8 |
                           sed -f /tmp/ph.sed | sha256sum)" ;;
            *) echo "$f $(sha256sum <"$f")" ;;
        esac
    done </tmp/dt.list >/tmp/dt.sums
    echo "@@ bench-dt $(sha256sum </tmp/dt.sums | cut -c1-16) $(wc -l </tmp/dt.list)"
}

bench() {
    i=0
    while [ $i -lt 50 ]; do
        n=0
        for d in /sys/bus/pci/devices/*; do
            [ "$(cat "$d/vendor")" = 0x1af4 ] || continue
            [ -e "$d/driver" ] || n=$((n + 1))
        done
        [ "$n" -eq 0 ] && break
        i=$((i + 1)); sleep 0.2
    done
    echo "@@ bench-ready $(cut -d' ' -f1 /proc/uptime)"
    # guest.bench-dmesg=1 (with initcall_debug): the kernel's own time for
    # each initcall and each driver probe, for bench.py's breakdown
    if [ "$(arg guest.bench-dmesg)" = 1 ]; then
        dmesg | sed -n 's/^\[ *\([0-9.]*\)\] \(.* returned -*[0-9]* after [0-9]* usecs\)$/@@ dmesg \1 \2/p'
        echo "@@ dmesg-end"
    fi
    # guest.bench-dt=1: every node and property of the device tree the
    # kernel got from the firmware, as one digest, and the number of
    # properties; left out: rng-seed (random per boot) and
    # /openprom/model (SLOF's build, "SLOF,git-<commit>")
    if [ "$(arg guest.bench-dt)" = 1 ]; then
        dt_digest
    fi
    sleep 2
    [ -b /dev/vda ] || return 0
    # How the guest drives the disk: VIRTIO_F_VERSION_1 (feature bit 32,
    # the 33rd character of the negotiated feature string) means modern
    case $(cut -c33 /sys/block/vda/device/features 2>/dev/null) in
        1) mode=modern ;;
        0) mode=legacy ;;
        *) mode=unknown ;;
    esac
    echo "@@ bench-virtio vda $mode"
    bytes=$(( $(cat /sys/block/vda/size) * 512 ))
    flag=direct
    dd if=/dev/vda of=/dev/null bs=1M count=1 iflag=direct 2>/dev/null || flag=buffered
    passes=$(arg guest.bench-passes)
    for pass in $(seq "${passes:-1}"); do
        t0=$(now_ns)
        if [ $flag = direct ]; then
            dd if=/dev/vda of=/dev/null bs=1M iflag=direct 2>/dev/null
        else
            echo 3 >/proc/sys/vm/drop_caches
            dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null
        fi
        t1=$(now_ns)
        echo "@@ bench-read $bytes $((t1 - t0)) $flag"
    done
}

# guest.mode=serve: report, run guest.checks, then run the commands the host
# types on the console, one per line, "COMMAND TOKEN"; each answer ends with
# "@@ ok TOKEN". Commands: fns (every PCI function), fn (one: "fn TOKEN BDF"),
# drivers (each function's driver, cheaper), disks, bootdisk (first MiB of
# each disk), dhcp, nics, health, report, blocked (every task in
# uninterruptible sleep: "@@ blocked NAME FUNCTION,FUNCTION,..." from its
# kernel stack, innermost first).
# For tests that keep one guest alive across migrations and hotplug.
serve() {
    echo "@@ serving"
    while read -r cmd tok arg; do
        case $cmd in
            fns) settle; for d in /sys/bus/pci/devices/*; do function_line "${d##*/}"; done ;;
            fn) case $arg in
                    *[!0-9a-f:.]*|"") echo "@@ bad-bdf $arg" ;;
                    *) [ -e "/sys/bus/pci/devices/$arg" ] && function_line "$arg" ;;
                esac ;;
            drivers)
                for d in /sys/bus/pci/devices/*; do
                    drv=-; [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
                    echo "@@ drv ${d##*/} $drv"
                done ;;
            disks) check_disks ;;
            bootdisk) check_bootdisk ;;
            dhcp) check_dhcp ;;
            nics) check_nics ;;
            bars) check_bars ;;
            health) check_health ;;
            blocked)
                for p in /proc/[0-9]*; do
                    case $(sed -n 's/^State:[[:space:]]*//p' "$p/status" 2>/dev/null) in
                        D*) echo "@@ blocked $(cat "$p/comm") $(sed -n 's/^\[<[0-9a-f]*>\] \([A-Za-z0-9_.]*\)+.*/\1/p' "$p/stack" | tr '\n' ',')" ;;
                    esac
                done ;;
            report) report ;;
            "") continue ;;
            *) echo "@@ unknown-command $cmd" ;;
        esac
        echo "@@ ok $tok"
    done
}

case $MODE in
    bench)
        bench
        ;;
    shell)
        report >/dev/null
        echo "pseries-pcie demo guest: busybox shell; try 'lspci -tv'. 'poweroff -f' quits."
        setsid cttyhack sh
        ;;
    *)
        report
        for c in $CHECKS; do
            case $c in
                disks) check_disks ;;
                dhcp) check_dhcp ;;
                nics) check_nics ;;
                hotplug) check_hotplug ;;
                bootdisk) check_bootdisk ;;
                *) echo "@@ unknown-check $c" ;;
            esac
        done
        check_health
        [ "$MODE" = serve ] && serve
        ;;
esac
echo "@@ done"
poweroff -f
