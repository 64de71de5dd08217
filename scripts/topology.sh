# SPDX-License-Identifier: GPL-2.0-or-later
# The demo topology, shared by 'make run' and the end-to-end tests.
# topology MACHINE DISK_A DISK_B fills the array TOPO with QEMU arguments.
#
# pseries-pcie:
#   pcie.0 --- rp1 (root port) --- virtio-net-pci         (01:00.0)
#          +-- rp2 (root port) --- virtio-blk-pci DISK_A  (02:00.0)
#          +-- rp3 (root port) --- x3130-upstream --- xio3130-downstream
#          |                                             `-- nvme DISK_B (05:00.0)
#          +-- pcie-pci-bridge --- e1000 (conventional PCI)
#          +-- virtio-rng-pci (integrated endpoint)
#          `-- rp4 (root port), empty: for hotplug
# pseries: the same endpoints on pci.0, the e1000 behind a pci-bridge.
topology() {
    local machine=$1 a=$2 b=$3
    TOPO=(-M "$machine" -m 1G -smp 1 -nodefaults
          -netdev user,id=n0
          -drive "if=none,id=da,format=raw,file=$a"
          -drive "if=none,id=db,format=raw,file=$b")
    case $machine in
        pseries-pcie*)
            TOPO+=(-device pcie-root-port,id=rp1,chassis=1,slot=1,addr=1.0
                   -device virtio-net-pci,netdev=n0,bus=rp1
                   -device pcie-root-port,id=rp2,chassis=1,slot=2,addr=2.0
                   -device virtio-blk-pci,drive=da,bus=rp2
                   -device pcie-root-port,id=rp3,chassis=1,slot=3,addr=3.0
                   -device x3130-upstream,id=up,bus=rp3
                   -device xio3130-downstream,id=dn1,bus=up,chassis=2,slot=1
                   -device nvme,serial=nvme0,drive=db,bus=dn1
                   -device pcie-pci-bridge,id=pb,addr=4.0
                   -device e1000,netdev=n1,bus=pb,addr=1.0 -netdev user,id=n1
                   -device virtio-rng-pci,addr=5.0
                   -device pcie-root-port,id=rp4,chassis=1,slot=4,addr=6.0) ;;
        *)
            TOPO+=(-device virtio-net-pci,netdev=n0,addr=1.0
                   -device virtio-blk-pci,drive=da,addr=2.0
                   -device nvme,serial=nvme0,drive=db,addr=3.0
                   -device pci-bridge,id=pb,chassis_nr=1,addr=4.0
                   -device e1000,netdev=n1,bus=pb,addr=1.0 -netdev user,id=n1
                   -device virtio-rng-pci,addr=5.0) ;;
    esac
}

# Small disk images with known, deterministic contents (disk-c: for hot-adding).
make_disks() {
    local dir=$1
    mkdir -p "$dir"
    [ -s "$dir/disk-a.img" ] && [ -s "$dir/disk-b.img" ] && [ -s "$dir/disk-c.img" ] && return 0
    "$PYTHON" - "$dir" <<'PY'
import hashlib, sys
for name in ("disk-a", "disk-b", "disk-c"):
    out, block = bytearray(), hashlib.sha256(name.encode()).digest()
    while len(out) < 4 << 20:
        block = hashlib.sha256(block).digest()
        out += block
    open("%s/%s.img" % (sys.argv[1], name), "wb").write(out)
PY
}
