#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The patched libvirt daemons with virsh, virt-install and virt-xml from the
# patched trees, for using pseries-pcie by hand (README: "With libvirt and
# virt-install"). Nothing is installed: the daemons run from
# build/libvirt-build with their state under build/libvirt-inst, QEMU is
# build/qemu-build/qemu-system-ppc64 (first on the daemons' PATH).
#
#   virt-env.sh start    build what is missing, start virtlogd, virtstoraged
#                        and virtqemud, write build/virt-env/env.sh
#   virt-env.sh stop     destroy the running domains, stop the daemons
#   virt-env.sh status
#
# Then: '. build/virt-env/env.sh' gives the shell LIBVIRT_DEFAULT_URI and
# the functions virsh, virt-install and virt-xml.
. "$(dirname "$0")/lib.sh"

ENVDIR=$BUILD/virt-env
LV_OBJ=$BUILD/libvirt-build
LV_INST=$BUILD/libvirt-inst
RUN=$LV_INST/run/libvirt
SOCK=$RUN/virtqemud-sock
URI="qemu:///system?socket=$SOCK"
DAEMONS=(virtlogd virtstoraged virtqemud)

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

cmd_start() {
    need_root "running the libvirt daemons"
    [ -x "$OBJ/qemu-system-ppc64" ] || die "$OBJ/qemu-system-ppc64 is missing: run 'make run' or 'make check' first"
    local vm=(bash "$TOP/scripts/virt-manager.sh") d
    bash "$TOP/scripts/libvirt.sh" prepare-e2e
    "${vm[@]}" deps && "${vm[@]}" fetch && "${vm[@]}" tree
    bash "$TOP/scripts/bootdisk.sh"
    mkdir -p "$ENVDIR" "$RUN" "$LV_INST/etc/libvirt" "$LV_INST/var"
    # the clients look for a privileged daemon's socket under
    # LOCALSTATEDIR/run, the daemons listen under RUNSTATEDIR
    [ -L "$LV_INST/var/run" ] || { rm -rf "$LV_INST/var/run"; ln -s ../run "$LV_INST/var/run"; }
    cat >"$LV_INST/etc/libvirt/qemu.conf" <<'EOF'
user = "root"
group = "root"
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
remember_owner = 0
EOF
    for d in "${DAEMONS[@]}"; do
        if running "$d"; then
            log "$d already running (pid $(cat "$RUN/$d.pid"))"
            continue
        fi
        rm -f "$RUN/$d-sock"
        PATH="$OBJ:$PATH" setsid "$LV_OBJ/src/$d" --pid-file "$RUN/$d.pid" \
            >"$ENVDIR/$d.log" 2>&1 </dev/null &
        local i=0
        until [ -S "$RUN/$d-sock" ]; do
            i=$((i + 1))
            [ $i -lt 300 ] || { tail -5 "$ENVDIR/$d.log" >&2; die "$d did not start (log: $ENVDIR/$d.log)"; }
            sleep 0.1
        done
        log "$d started (log: $ENVDIR/$d.log)"
    done
    cat >"$ENVDIR/env.sh" <<EOF
# . this file: the patched libvirt, virt-install and virt-xml (scripts/virt-env.sh)
export LIBVIRT_DEFAULT_URI='$URI'
virsh() { LD_LIBRARY_PATH='$LV_OBJ/src' '$LV_OBJ/tools/virsh' "\$@"; }
virt-install() { LD_LIBRARY_PATH='$LV_OBJ/src' /usr/bin/python3 '$BUILD/virt-manager/virt-install' "\$@"; }
virt-xml() { LD_LIBRARY_PATH='$LV_OBJ/src' /usr/bin/python3 '$BUILD/virt-manager/virt-xml' "\$@"; }
EOF
    log "ready: . $ENVDIR/env.sh   (URI $URI)"
}

cmd_stop() {
    local d dom virsh=(env LD_LIBRARY_PATH="$LV_OBJ/src" "$LV_OBJ/tools/virsh" -c "$URI")
    if running virtqemud; then
        for dom in $("${virsh[@]}" list --name 2>/dev/null); do
            "${virsh[@]}" destroy "$dom" >/dev/null && log "destroyed $dom"
        done
    fi
    for d in virtqemud virtstoraged virtlogd; do
        running "$d" || continue
        kill "$(cat "$RUN/$d.pid")"
        log "stopped $d"
    done
}

cmd_status() {
    local d
    for d in "${DAEMONS[@]}"; do
        if running "$d"; then echo "$d: running (pid $(cat "$RUN/$d.pid"))"; else echo "$d: stopped"; fi
    done
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) die "usage: virt-env.sh start|stop|status" ;;
esac
