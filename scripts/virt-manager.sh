#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# virt-manager (virt-install, virtinst) with the pseries-pcie companion
# series (virt-manager-patches/), pinned in virt-manager.lock.
#
#   virt-manager.sh fetch          fetch and verify the pinned orig tarball
#   virt-manager.sh tree           create build/virt-manager: tarball (tag 'upstream') + git am
#   virt-manager.sh tree --verify  virt-manager-patches/ applies and equals build/virt-manager HEAD
#   virt-manager.sh tree --reset   recreate build/virt-manager (FORCE=1 drops unexported work)
#   virt-manager.sh export         format-patch upstream..HEAD into virt-manager-patches/
#   virt-manager.sh test [ARGS]    virtinst's own pytest suite (tests/test_cli.py by default)
#   virt-manager.sh deps           install what virtinst and its tests need (apt)
#   virt-manager.sh stock          unpack Debian's stock virtinst (bookworm) for comparison
#
# Work in build/virt-manager, commit, export: the same workflow as QEMU's.
. "$(dirname "$0")/lib.sh"
# shellcheck source=../virt-manager.lock
. "$TOP/virt-manager.lock"

VM_TREE=$BUILD/virt-manager
VM_PATCHES=$TOP/virt-manager-patches
VM_TARBALL=$DL/$VIRT_MANAGER_ORIG_TARBALL
VM_LIBVIRT0=$DL/virt-manager-libvirt0
# What virtinst and its tests import or run (see virt-manager's INSTALL.md)
VM_TEST_DEPS="python3-pytest python3-libvirt python3-libxml2 python3-gi gir1.2-libosinfo-1.0
 osinfo-db python3-requests genisoimage cpio"

vm_verify() {
    tarball_verify "$1" "$VIRT_MANAGER_ORIG_SIZE" "$VIRT_MANAGER_ORIG_SHA256"
}

cmd_fetch() {
    mkdir -p "$DL"
    if vm_verify "$VM_TARBALL" 2>/dev/null; then
        log "$VIRT_MANAGER_ORIG_TARBALL present and verified"
        return 0
    fi
    rm -f "$VM_TARBALL"
    log "downloading $VIRT_MANAGER_POOL_URL"
    download "$VIRT_MANAGER_POOL_URL" "$VM_TARBALL.part"
    vm_verify "$VM_TARBALL.part" ||
        { rm -f "$VM_TARBALL.part"
          die "cannot fetch $VIRT_MANAGER_ORIG_TARBALL (sha256 $VIRT_MANAGER_ORIG_SHA256); copy a tarball with that checksum to $VM_TARBALL"; }
    mv "$VM_TARBALL.part" "$VM_TARBALL"
    log "fetched $VIRT_MANAGER_ORIG_TARBALL (size and sha256 verified)"
}

vm_create() {
    [ -e "$VM_TREE" ] && die "$VM_TREE exists; use 'virt-manager.sh tree --reset'"
    cmd_fetch
    local tmp
    tmp=$(mktemp -d "$BUILD/extract.XXXXXX")
    tar -C "$tmp" --no-same-owner -xf "$VM_TARBALL"
    [ -d "$tmp/$VIRT_MANAGER_ORIG_TOPDIR" ] || die "$VM_TARBALL has no $VIRT_MANAGER_ORIG_TOPDIR/"
    mv "$tmp/$VIRT_MANAGER_ORIG_TOPDIR" "$VM_TREE"
    rmdir "$tmp"
    git -C "$VM_TREE" init -q -b master
    git -C "$VM_TREE" config user.name "Seed 2ba834b7 maintainers"
    git -C "$VM_TREE" config user.email "maintainers@users.noreply.r-seed-2ba834b7.example"
    git -C "$VM_TREE" add -A -f .
    GIT_AUTHOR_NAME="virt-manager upstream" GIT_AUTHOR_EMAIL="virt-tools-list@redhat.com" \
    GIT_COMMITTER_NAME="pseries-pcie tree" GIT_COMMITTER_EMAIL="tree@pseries-pcie.invalid" \
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git -C "$VM_TREE" commit -q --no-verify -m "Import virt-manager $VIRT_MANAGER_UPSTREAM_VERSION ($VIRT_MANAGER_ORIG_TARBALL)

Orig tarball sha256 $VIRT_MANAGER_ORIG_SHA256."
    git -C "$VM_TREE" tag upstream
    series_apply "$VM_TREE" "$VM_PATCHES" "$VIRT_MANAGER_ORIG_TOPDIR"
}

cmd_tree() {
    case "${1:-}" in
        "") if [ -d "$VM_TREE/.git" ]; then log "$VM_TREE exists"; else vm_create; fi ;;
        --verify) series_verify "$VM_TREE" "$VM_PATCHES" "$VIRT_MANAGER_ORIG_TOPDIR" ;;
        --reset)
            series_reset_guard "$VM_TREE" "$VM_PATCHES"
            rm -rf "$VM_TREE"
            vm_create ;;
        *) die "usage: virt-manager.sh tree [--verify|--reset]" ;;
    esac
}

# The test dependencies (apt) and libvirt0 from bookworm-backports, unpacked
vm_test_deps() {
    local missing=() p
    for p in $VM_TEST_DEPS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        need_root "installing virtinst's test dependencies"
        log "apt-get install ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
            >"$BUILD/apt-install-virt-manager.log" 2>&1 ||
            { tail -5 "$BUILD/apt-install-virt-manager.log" >&2; die "cannot install ${missing[*]}"; }
    fi
    if [ ! -e "$VM_LIBVIRT0/.done" ]; then
        rm -rf "$VM_LIBVIRT0"
        mkdir -p "$VM_LIBVIRT0"
        chmod 755 "$VM_LIBVIRT0"
        (cd "$VM_LIBVIRT0" && apt-get download -q "$VIRT_MANAGER_TEST_LIBVIRT0") \
            >"$VM_LIBVIRT0.log" 2>&1 ||
            { tail -5 "$VM_LIBVIRT0.log" >&2; die "cannot download $VIRT_MANAGER_TEST_LIBVIRT0 (run 'make deps': bookworm-backports)"; }
        dpkg-deb -x "$VM_LIBVIRT0"/*.deb "$VM_LIBVIRT0/root"
        touch "$VM_LIBVIRT0/.done"
    fi
}

cmd_test() {
    [ -d "$VM_TREE/.git" ] || vm_create
    vm_test_deps
    [ $# -gt 0 ] || set -- tests/test_cli.py
    (cd "$VM_TREE" &&
        LD_LIBRARY_PATH="$VM_LIBVIRT0/root/usr/lib/x86_64-linux-gnu" \
        "$PYTHON" -m pytest -q -p no:cacheprovider "$@")
}

# Debian's stock virt-install (bookworm's virtinst), unpacked, never
# installed: build/virtinst-stock/root/usr/share/virt-manager
cmd_stock() {
    local d=$BUILD/virtinst-stock
    [ -e "$d/.done" ] && [ "$(cat "$d/.done")" = "$VIRT_MANAGER_STOCK_VIRTINST" ] && return 0
    rm -rf "$d"
    mkdir -p "$d"
    chmod 755 "$d"
    (cd "$d" && apt-get download -q "$VIRT_MANAGER_STOCK_VIRTINST") >"$d.log" 2>&1 ||
        { tail -5 "$d.log" >&2; die "cannot download $VIRT_MANAGER_STOCK_VIRTINST"; }
    dpkg-deb -x "$d"/*.deb "$d/root"
    [ -d "$d/root/usr/share/virt-manager/virtinst" ] || die "no virtinst in $VIRT_MANAGER_STOCK_VIRTINST"
    echo "$VIRT_MANAGER_STOCK_VIRTINST" >"$d/.done"
    log "stock $VIRT_MANAGER_STOCK_VIRTINST unpacked in $d/root"
}

case "${1:-}" in
    fetch) cmd_fetch ;;
    deps) vm_test_deps ;;
    stock) cmd_stock ;;
    tree) shift; cmd_tree "$@" ;;
    export) series_export "$VM_TREE" "$VM_PATCHES" ;;
    test) shift; cmd_test "$@" ;;
    *) die "usage: virt-manager.sh fetch|deps|stock|tree [--verify|--reset]|export|test [pytest args]" ;;
esac
