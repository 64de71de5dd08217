#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install everything the project needs on Debian bookworm (as root, via apt).
. "$(dirname "$0")/lib.sh"

SOURCES=/etc/apt/sources.list.d/pseries-pcie.sources
STAMP=$BUILD/.deps-done

# Build and test dependencies from bookworm. The cross compiler builds
# SLOF (scripts/slof.sh); gdisk, grub-common (grub-mkimage) and e2fsprogs
# assemble the boot disks (scripts/bootdisk.sh).
PKGS="build-essential git make ninja-build pkg-config flex bison ccache
      libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev
      python3-venv device-tree-compiler dpkg-dev xz-utils ca-certificates
      python3-sphinx python3-sphinx-rtd-theme
      gcc-powerpc64-linux-gnu gdisk grub-common e2fsprogs kmod"
# QEMU 10.2 needs meson >= 1.5: bookworm-backports has it.
BPO_PKGS="meson python3-pycotap"

write_sources() {
    local want
    want=$(cat <<SRC
# Added by pseries-pcie scripts/deps.sh
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $QEMU_SOURCE_SUITES
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
)
    if [ ! -f "$SOURCES" ] || [ "$(cat "$SOURCES")" != "$want" ]; then
        log "writing $SOURCES (bookworm-backports, deb-src for: $QEMU_SOURCE_SUITES)"
        printf '%s\n' "$want" > "$SOURCES"
        rm -f "$STAMP"
    fi
}

apt_update() {
    # A transient error on an index we do not need (e.g. a mirror-sync size
    # mismatch) must not fail the build by itself: a missing package will
    # fail the install below, with a clear message.
    if ! apt-get update -q >"$BUILD/apt-update.log" 2>&1; then
        warn "apt-get update reported errors (see $BUILD/apt-update.log); continuing"
        grep -E '^(E|W):' "$BUILD/apt-update.log" | head -5 >&2 || true
    fi
}

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
            printf '%s ' "$p"
    done
}

main() {
    need_root "scripts/deps.sh"
    mkdir -p "$BUILD"
    write_sources
    # shellcheck disable=SC2086
    local miss; miss=$(missing_pkgs $PKGS $BPO_PKGS)
    local mver; mver=$(meson --version 2>/dev/null || echo 0)
    if [ -z "$miss" ] && [ -f "$STAMP" ] && dpkg --compare-versions "$mver" ge 1.5; then
        log "dependencies already installed"
        return 0
    fi
    apt_update
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $PKGS >"$BUILD/apt-install.log" 2>&1 ||
        { tail -20 "$BUILD/apt-install.log" >&2
          die "could not install the build dependencies from bookworm (see $BUILD/apt-install.log)"; }
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends -t bookworm-backports $BPO_PKGS \
        >>"$BUILD/apt-install.log" 2>&1 ||
        { tail -20 "$BUILD/apt-install.log" >&2
          die "could not install '$BPO_PKGS' from bookworm-backports (QEMU needs meson >= 1.5); check that $SOURCES is reachable"; }
    # shellcheck disable=SC2086
    miss=$(missing_pkgs $PKGS $BPO_PKGS)
    [ -z "$miss" ] || die "packages still missing after apt-get install: $miss"
    mver=$(meson --version)
    dpkg --compare-versions "$mver" ge 1.5 ||
        die "meson $mver is too old for QEMU $QEMU_UPSTREAM_VERSION (needs >= 1.5, from bookworm-backports)"
    touch "$STAMP"
    log "dependencies installed (meson $mver)"
}

main "$@"
