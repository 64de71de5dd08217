#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fetch the pinned QEMU orig tarball from Debian's archive and verify it.
. "$(dirname "$0")/lib.sh"

TARBALL=$DL/$QEMU_ORIG_TARBALL

verify() {
    local f=$1 size sum
    [ -f "$f" ] || return 1
    size=$(stat -c %s "$f")
    if [ "$size" != "$QEMU_ORIG_SIZE" ]; then
        warn "$f: size $size, expected $QEMU_ORIG_SIZE"
        return 1
    fi
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    if [ "$sum" != "$QEMU_ORIG_SHA256" ]; then
        warn "$f: sha256 $sum, expected $QEMU_ORIG_SHA256"
        return 1
    fi
    return 0
}

# try_version V: apt-get source --download-only the package at version V.
try_version() {
    local v=$1 tmp
    tmp=$(mktemp -d "$DL/apt.XXXXXX")
    chmod 755 "$tmp"
    log "apt-get source --download-only $QEMU_SOURCE_PACKAGE=$v"
    if (cd "$tmp" && apt-get source -q --download-only "$QEMU_SOURCE_PACKAGE=$v") \
        >"$DL/apt-source.log" 2>&1 && verify "$tmp/$QEMU_ORIG_TARBALL"; then
        mv "$tmp/$QEMU_ORIG_TARBALL" "$TARBALL"
        mv "$tmp"/*.dsc "$DL/" 2>/dev/null || true
        rm -rf "$tmp"
        log "fetched $QEMU_ORIG_TARBALL from Debian source package $QEMU_SOURCE_PACKAGE $v"
        return 0
    fi
    tail -3 "$DL/apt-source.log" >&2 || true
    rm -rf "$tmp"
    return 1
}

main() {
    mkdir -p "$DL"
    if verify "$TARBALL" 2>/dev/null; then
        log "$QEMU_ORIG_TARBALL present and verified (sha256 $QEMU_ORIG_SHA256)"
        return 0
    fi
    rm -f "$TARBALL"
    command -v apt-get >/dev/null || die "apt-get not found: this project runs on Debian"
    if try_version "$QEMU_DEBIAN_VERSION"; then
        return 0
    fi
    # The pinned Debian revision may have left the archive: any revision of
    # the same upstream release whose orig tarball has the pinned sha256 will do.
    warn "$QEMU_SOURCE_PACKAGE $QEMU_DEBIAN_VERSION not available; trying other revisions of ${QEMU_ORIG_TARBALL%.orig.tar.xz}"
    local upver=${QEMU_ORIG_TARBALL#"$QEMU_SOURCE_PACKAGE"_}
    upver=${upver%.orig.tar.xz}
    local v
    for v in $(apt-cache showsrc "$QEMU_SOURCE_PACKAGE" 2>/dev/null |
               sed -n 's/^Version: //p' | sort -u); do
        [ "$v" = "$QEMU_DEBIAN_VERSION" ] && continue
        case "${v#*:}" in "$upver"-*) try_version "$v" && return 0 ;; esac
    done
    die "cannot fetch $QEMU_ORIG_TARBALL (sha256 $QEMU_ORIG_SHA256) from Debian's archive.
  None of the deb-src suites configured ($QEMU_SOURCE_SUITES, written by scripts/deps.sh
  to /etc/apt/sources.list.d/pseries-pcie.sources) carries a revision of $QEMU_SOURCE_PACKAGE
  $upver whose orig tarball has the pinned checksum.
  What to do: add a deb-src entry for a suite that carries it (set QEMU_SOURCE_SUITES in
  upstream.lock and run 'make deps'), or copy a tarball with that sha256 to $TARBALL.
  Moving to another QEMU release means changing upstream.lock and rebasing patches/."
}

main "$@"
