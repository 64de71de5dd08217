#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configure and build qemu-system-ppc64 (and its qtests) out of tree.
#
#   build.sh              the patched tree build/qemu -> build/qemu-build
#   build.sh --upstream   the pristine tarball        -> build/upstream/qemu-build
#
# Extra configure options can be passed in QEMU_CONFIGURE_EXTRA; a different
# build directory in QEMU_BUILD_DIR (e.g. for a sanitizer build); another
# target in QEMU_TARGET (default ppc64-softmmu; the benchmark's q35 anchor
# builds x86_64-softmmu, without docs: QEMU_DOCS=0).
. "$(dirname "$0")/lib.sh"

src=$TREE obj=${QEMU_BUILD_DIR:-$OBJ}
target=${QEMU_TARGET:-ppc64-softmmu}
docs=--enable-docs
[ "${QEMU_DOCS:-1}" = 0 ] && docs=--disable-docs
if [ "${1:-}" = "--upstream" ]; then
    src=$UP_TREE obj=$UP_OBJ docs=--disable-docs
fi
[ -f "$src/configure" ] || die "$src missing: run 'make tree'"

CONFIGURE_OPTS=(
    --python="$PYTHON"
    --target-list="$target"
    --disable-install-blobs     # the +ds tarball has no firmware: see firmware.sh
    --enable-fdt=system
    --enable-slirp
    --enable-werror             # also makes Sphinx warnings fatal
    "$docs"
)
# shellcheck disable=SC2206
CONFIGURE_OPTS+=(${QEMU_CONFIGURE_EXTRA:-})

# The +ds tarball has no edk2 blobs, but for an x86 (or arm, riscv,
# loongarch) target meson unpacks them whenever it finds bzip2, and fails.
# For such a target, configure and build with a PATH in which bzip2 is not
# found: /usr/bin replaced by a copy of its symlinks without bzip2.
if [ "$target" != ppc64-softmmu ] && [ ! -f "$src/pc-bios/edk2-x86_64-code.fd.bz2" ]; then
    nobz=$BUILD/.path-without-bzip2
    if [ ! -d "$nobz" ]; then
        mkdir -p "$nobz.tmp"
        for f in /usr/bin/*; do
            case ${f##*/} in bzip2|bunzip2|bzcat) continue ;; esac
            ln -s "$f" "$nobz.tmp/${f##*/}"
        done
        mv "$nobz.tmp" "$nobz"
    fi
    PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx -e /usr/bin -e /bin | tr '\n' ':')$nobz
    export PATH
fi

want="${CONFIGURE_OPTS[*]}"
if [ ! -f "$obj/build.ninja" ] || [ "$(cat "$obj/.configure-opts" 2>/dev/null)" != "$want" ]; then
    rm -rf "$obj"
    mkdir -p "$obj"
    log "configuring $src in $obj"
    (cd "$obj" && "$src/configure" "${CONFIGURE_OPTS[@]}") >"$obj.configure.log" 2>&1 ||
        { tail -30 "$obj.configure.log" >&2; die "configure failed (see $obj.configure.log)"; }
    printf '%s' "$want" >"$obj/.configure-opts"
fi
log "building in $obj ($(nproc) jobs)"
ccache -z >/dev/null 2>&1 || true
# shellcheck disable=SC2086
ninja -C "$obj" -j "$(nproc)" ${QEMU_NINJA_TARGETS:-} >"$obj.ninja.log" 2>&1 ||
    { grep -E 'error|FAILED' "$obj.ninja.log" | head -30 >&2; die "build failed (see $obj.ninja.log)"; }
log "built $obj/qemu-system-${target%-softmmu}"
ccache -s 2>/dev/null | grep -iE 'hits|misses' | head -3 || true
