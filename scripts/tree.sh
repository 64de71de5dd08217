#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Create the working tree build/qemu: the pristine tarball as the first
# commit (tagged 'upstream'), then one commit per file in patches/ (git am).
#
#   tree.sh            create build/qemu if it does not exist
#   tree.sh --reset    throw build/qemu away and create it again
#                      (refused if it holds work not exported to patches/)
#   tree.sh --verify   apply patches/ to a scratch worktree at 'upstream' and
#                      check it matches build/qemu's HEAD (used by make check)
#   tree.sh --upstream create build/upstream/qemu, the pristine tree
. "$(dirname "$0")/lib.sh"

TARBALL=$DL/$QEMU_ORIG_TARBALL
# Fixed identities and dates: the same inputs give the same commits.
export GIT_AUTHOR_NAME="QEMU upstream" GIT_AUTHOR_EMAIL="qemu-devel@nongnu.org"
export GIT_COMMITTER_NAME="pseries-pcie tree" GIT_COMMITTER_EMAIL="tree@pseries-pcie.invalid"
export GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z"

extract() {
    local dest=$1 tmp
    tmp=$(mktemp -d "$BUILD/extract.XXXXXX")
    tar -C "$tmp" --no-same-owner -xf "$TARBALL"
    [ -d "$tmp/$QEMU_ORIG_TOPDIR" ] || die "$TARBALL has no $QEMU_ORIG_TOPDIR/ directory"
    mkdir -p "$(dirname "$dest")"
    mv "$tmp/$QEMU_ORIG_TOPDIR" "$dest"
    rmdir "$tmp"
}

apply_series() { series_apply "$1" "$TOP/patches" "$QEMU_ORIG_TOPDIR"; }

create() {
    [ -e "$TREE" ] && die "$TREE exists; use 'make retree' to recreate it"
    [ -f "$TARBALL" ] || die "$TARBALL missing: run 'make fetch' first"
    log "creating $TREE from $QEMU_ORIG_TARBALL"
    extract "$TREE"
    git -C "$TREE" init -q -b master
    git -C "$TREE" config user.name "${DEV_NAME:-$(git -C "$TOP" config user.name || echo developer)}"
    git -C "$TREE" config user.email "${DEV_EMAIL:-$(git -C "$TOP" config user.email || echo developer@localhost)}"
    git -C "$TREE" config core.autocrlf false
    # Everything in the tarball is upstream, including files its .gitignore names.
    git -C "$TREE" add -A -f .
    git -C "$TREE" commit -q --no-verify -m "Import QEMU $QEMU_UPSTREAM_VERSION ($QEMU_ORIG_TARBALL)

Debian source package $QEMU_SOURCE_PACKAGE $QEMU_DEBIAN_VERSION, orig tarball
sha256 $QEMU_ORIG_SHA256."
    git -C "$TREE" tag upstream
    apply_series "$TREE"
}

# unexported: commits in build/qemu whose patch-id is not in patches/.
unexported() { series_unexported "$TREE" "$TOP/patches"; }

reset() {
    if [ -d "$TREE/.git" ]; then
        if [ -z "${FORCE:-}" ]; then
            [ -z "$(git -C "$TREE" status --porcelain)" ] ||
                die "$TREE has uncommitted changes; commit and 'make export' them, or FORCE=1 make retree"
            [ "$(unexported)" -eq 0 ] ||
                die "$TREE has commits not exported to patches/; 'make export' first, or FORCE=1 make retree"
        fi
        rm -rf "$TREE"
    fi
    create
}

verify() {
    [ -d "$TREE/.git" ] || die "$TREE missing: run 'make tree'"
    series_verify "$TREE" "$TOP/patches" "$QEMU_ORIG_TOPDIR" \
        "export your commits ('make export') or recreate the tree ('make retree')"
    [ -z "$(git -C "$TREE" status --porcelain)" ] ||
        warn "build/qemu has uncommitted changes; they are built but are not in patches/"
}

upstream() {
    if [ -f "$UP_TREE/.stamp" ] && [ "$(cat "$UP_TREE/.stamp")" = "$QEMU_ORIG_SHA256" ]; then
        return 0
    fi
    rm -rf "$UP_TREE"
    extract "$UP_TREE"
    echo "$QEMU_ORIG_SHA256" >"$UP_TREE/.stamp"
    log "pristine $QEMU_ORIG_TOPDIR extracted to $UP_TREE"
}

case "${1:-}" in
    "") [ -d "$TREE/.git" ] && { log "$TREE exists (make retree recreates it)"; exit 0; }; create ;;
    --reset) reset ;;
    --verify) verify ;;
    --upstream) upstream ;;
    *) die "usage: $0 [--reset|--verify|--upstream]" ;;
esac
