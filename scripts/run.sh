#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make run: build what is missing, then start the patched QEMU.
#   run.sh            boot the machine to the SLOF firmware, show what QEMU
#                     built (machine, PCI topology), power off, exit 0
#   run.sh --console  the same machine with an interactive serial console
#                     (Ctrl-a x quits QEMU)
# RUN_MACHINE selects the machine type (default: pseries-pcie, where the
# devices sit behind PCI Express root ports; on pseries they sit on pci.0).
. "$(dirname "$0")/lib.sh"

MACHINE=${RUN_MACHINE:-pseries-pcie}
QEMU=$OBJ/qemu-system-ppc64

prepare() {
    bash "$TOP/scripts/deps.sh"
    bash "$TOP/scripts/fetch.sh"
    bash "$TOP/scripts/tree.sh"
    bash "$TOP/scripts/build.sh"
    bash "$TOP/scripts/firmware.sh" "$OBJ"
}

ARGS=(-M "$MACHINE" -m 1G -smp 1 -nographic -nodefaults
      -netdev user,id=n0
      -drive if=none,id=d0,format=raw,file=null-co://,file.size=64M)
case $MACHINE in
    pseries-pcie*)
        ARGS+=(-device pcie-root-port,id=rp1,chassis=1,slot=1
               -device virtio-net-pci,netdev=n0,bus=rp1
               -device pcie-root-port,id=rp2,chassis=1,slot=2
               -device virtio-blk-pci,drive=d0,bus=rp2) ;;
    *)
        ARGS+=(-device virtio-net-pci,netdev=n0
               -device virtio-blk-pci,drive=d0) ;;
esac

demo() {
    local dir; dir=$(mktemp -d)
    trap 'rm -rf "$dir"' RETURN
    log "starting $QEMU -M $MACHINE (SLOF firmware, TCG)"
    "$QEMU" "${ARGS[@]}" -serial "file:$dir/console.log" \
        -qmp "unix:$dir/qmp.sock,server=on,wait=off" &
    local pid=$! i
    for i in $(seq 1 600); do
        grep -q 'Trying to load' "$dir/console.log" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || die "QEMU exited early"
        sleep 0.1
    done
    echo "---- firmware console ----"
    tr -d '\r' <"$dir/console.log" | grep -v '^\s*$' | head -40
    echo "---- QEMU: info pci (via QMP human-monitor-command) ----"
    "$PYTHON" - "$dir/qmp.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
def cmd(c, **a):
    f.write(json.dumps({'execute': c, 'arguments': a}) + '\n'); f.flush()
    while True:
        r = json.loads(f.readline())
        if 'return' in r or 'error' in r:
            return r
json.loads(f.readline()); cmd('qmp_capabilities')
print(cmd('human-monitor-command', **{'command-line': 'info pci'})['return'])
cmd('quit')
PY
    wait $pid || true
    log "QEMU exited; binary: $QEMU"
}

prepare
case "${1:-}" in
    --console) exec "$QEMU" "${ARGS[@]}" -serial mon:stdio ;;
    "") demo ;;
    *) die "usage: $0 [--console]" ;;
esac
