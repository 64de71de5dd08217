#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SLOF, the pseries firmware, built from source: the roms/SLOF of the pinned
# QEMU tarball (20251026, newer than Debian's prebuilt 20230918) plus the
# SLOF series in slof-patches/ (an NVMe boot driver), with Debian's
# powerpc64 cross compiler. firmware.sh installs the result as slof.bin.
#
#   slof.sh [build]        build/slof (created if missing) -> build/slof/boot_rom.bin
#   slof.sh tree --verify  slof-patches/ applies on 'upstream' and equals build/slof HEAD
#   slof.sh tree --reset   recreate build/slof (refused if it holds unexported work; FORCE=1)
#   slof.sh export         format-patch upstream..HEAD of build/slof into slof-patches/
#   slof.sh checkpatch     style of slof-patches/ (SLOF's conventions, see cmd_checkpatch)
#   slof.sh baseline       build/slof-base/boot_rom.bin: the series without its
#                          word-lookup patch (find-hash), what make bench
#                          compares the series' SLOF with, in the same run
#
# Work on SLOF in build/slof (tag 'upstream' = the tarball's roms/SLOF),
# commit there, then 'slof.sh export'. A build is skipped when the tree and
# the compiler are those of the last one.
. "$(dirname "$0")/lib.sh"

SLOF_TREE=$BUILD/slof
SLOF_PATCHES=$TOP/slof-patches
SLOF_CROSS=${SLOF_CROSS:-powerpc64-linux-gnu-}
SLOF_NAME="pseries-pcie tree"
SLOF_EMAIL="tree@pseries-pcie.invalid"

# The SLOF source of the verified tarball, as extracted in build/qemu
# (our QEMU series does not touch roms/: checked here).
slof_source() {
    [ -d "$TREE/roms/SLOF" ] || die "$TREE/roms/SLOF missing: run 'make tree'"
    git -C "$TREE" diff --quiet upstream HEAD -- roms/SLOF ||
        die "the QEMU series changes roms/SLOF; SLOF changes belong in slof-patches/"
    echo "$TREE/roms/SLOF"
}

# slof_import DIR: the tarball's roms/SLOF as a git tree, tag 'upstream'
slof_import() {
    local dir=$1 src; src=$(slof_source)
    log "creating $dir from $src (SLOF $(cat "$src/VERSION"))"
    cp -a "$src" "$dir"
    git -C "$dir" init -q -b master
    git -C "$dir" config user.name "$SLOF_NAME"
    git -C "$dir" config user.email "$SLOF_EMAIL"
    git -C "$dir" add -A -f .
    GIT_AUTHOR_NAME="SLOF upstream" GIT_AUTHOR_EMAIL="slof@lists.ozlabs.org" \
    GIT_COMMITTER_NAME="$SLOF_NAME" GIT_COMMITTER_EMAIL="$SLOF_EMAIL" \
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git -C "$dir" commit -q --no-verify -m "Import SLOF $(cat "$src/VERSION") (roms/SLOF of $QEMU_ORIG_TARBALL)"
    git -C "$dir" tag upstream
}

slof_create() {
    [ -e "$SLOF_TREE" ] && die "$SLOF_TREE exists; use 'slof.sh tree --reset' to recreate it"
    slof_import "$SLOF_TREE"
    series_apply "$SLOF_TREE" "$SLOF_PATCHES" "SLOF $(cat "$SLOF_TREE/VERSION")"
}

cmd_tree() {
    case "${1:-}" in
        "") if [ -d "$SLOF_TREE/.git" ]; then log "$SLOF_TREE exists"; else slof_create; fi ;;
        --verify) series_verify "$SLOF_TREE" "$SLOF_PATCHES" "SLOF $(cat "$SLOF_TREE/VERSION")" ;;
        --reset)
            series_reset_guard "$SLOF_TREE" "$SLOF_PATCHES"
            rm -rf "$SLOF_TREE"
            slof_create ;;
        *) die "usage: slof.sh tree [--verify|--reset]" ;;
    esac
}

# SLOF has no checkpatch of its own. QEMU's (--no-tree) checks whitespace,
# line length, C style and the Signed-off-by; its SPDX and MAINTAINERS
# warnings do not apply (SLOF files carry the BSD licence block, SLOF has no
# MAINTAINERS file), so every new file must carry that block instead.
cmd_checkpatch() {
    local p out bad=0 f
    [ -x "$TREE/scripts/checkpatch.pl" ] || die "$TREE/scripts/checkpatch.pl missing: run 'make tree'"
    while read -r p; do
        out=$("$TREE/scripts/checkpatch.pl" --no-tree "$p" 2>&1 |
              awk '/^(ERROR|WARNING): Does new file .* need .SPDX-License-Identifier/ {skip=1; next}
                   /^WARNING: added, moved or deleted file/ {skip=1; next}
                   /^(ERROR|WARNING|CHECK):/ {skip=0}
                   /^total:/ {skip=0}
                   skip && /^$/ {skip=0; next}
                   !skip' | grep -E -A4 '^(ERROR|WARNING)' || true)
        # The file's own part of the patch, whole, before any test: a
        # "grep -q" reading from a pipe exits at its first match and, under
        # pipefail, the writer's SIGPIPE made the pipeline fail at random.
        local part
        for f in $(sed -n 's|^+++ b/||p' "$p"); do
            part=$(awk -v f="$f" '/^diff --git/ {on = ($0 == "diff --git a/" f " b/" f)} on' "$p")
            if grep -q '^--- /dev/null' <<<"$part" &&
               ! grep -q 'under the terms of the BSD License' <<<"$part"; then
                out+=$'\n'"ERROR: new file $f lacks SLOF's BSD licence block"
            fi
        done
        grep -q '^Signed-off-by: ' "$p" || out+=$'\n'"ERROR: no Signed-off-by"
        if [ -n "$out" ]; then
            printf '== %s\n%s\n' "$(basename "$p")" "$out"
            bad=1
        else
            log "$(basename "$p"): no style problems"
        fi
    done < <(series_patch_files "$SLOF_PATCHES")
    return $bad
}

cmd_build() {
    command -v "${SLOF_CROSS}gcc" >/dev/null ||
        die "${SLOF_CROSS}gcc missing: run 'make deps' (package gcc-powerpc64-linux-gnu)"
    [ -d "$SLOF_TREE/.git" ] || slof_create
    local key
    key=$( { git -C "$SLOF_TREE" rev-parse 'HEAD^{tree}'
             git -C "$SLOF_TREE" status --porcelain --untracked-files=no
             git -C "$SLOF_TREE" diff
             "${SLOF_CROSS}gcc" --version | head -1; } | sha256sum | cut -d' ' -f1)
    if [ -f "$SLOF_TREE/.built-key" ] && [ "$(cat "$SLOF_TREE/.built-key")" = "$key" ] &&
       [ -s "$SLOF_TREE/boot_rom.bin" ]; then
        log "SLOF up to date: $SLOF_TREE/boot_rom.bin ($(git -C "$SLOF_TREE" describe --tags --always))"
        return 0
    fi
    rm -f "$SLOF_TREE/.built-key"
    slof_make "$SLOF_TREE" slof-build.log
    echo "$key" >"$SLOF_TREE/.built-key"
}

# slof_make TREE LOG: build TREE/boot_rom.bin
slof_make() {
    local tree=$1 logf=$BUILD/$2
    log "building SLOF $(cat "$tree/VERSION") + $(git -C "$tree" rev-list --count upstream..HEAD) patch(es) with ${SLOF_CROSS}gcc in $tree"
    make -C "$tree" CROSS="$SLOF_CROSS" -j"$(nproc)" qemu >"$logf" 2>&1 ||
        { tail -20 "$logf" >&2; die "SLOF build failed (see $logf)"; }
    [ -s "$tree/boot_rom.bin" ] || die "SLOF build produced no boot_rom.bin"
    log "SLOF built: $tree/boot_rom.bin ($(stat -c %s "$tree/boot_rom.bin") bytes)"
}

# The series without its word-lookup patch, in build/slof-base: rebuilt
# when the other patches or the compiler change.
SLOF_BASE=$BUILD/slof-base
SLOF_LOOKUP_PATCH='[0-9][0-9][0-9][0-9]-find-hash-*.patch'
cmd_baseline() {
    command -v "${SLOF_CROSS}gcc" >/dev/null ||
        die "${SLOF_CROSS}gcc missing: run 'make deps' (package gcc-powerpc64-linux-gnu)"
    local tmp p n=0 all=0 key
    tmp=$(mktemp -d)
    while read -r p; do
        all=$((all + 1))
        # shellcheck disable=SC2254
        case $(basename "$p") in $SLOF_LOOKUP_PATCH) continue ;; esac
        cp "$p" "$tmp/"
        n=$((n + 1))
    done < <(series_patch_files "$SLOF_PATCHES")
    [ "$n" -lt "$all" ] || { rm -rf "$tmp"; die "no word-lookup patch ($SLOF_LOOKUP_PATCH) in $SLOF_PATCHES"; }
    key=$( { cat "$tmp"/*.patch; "${SLOF_CROSS}gcc" --version | head -1; } | sha256sum | cut -d' ' -f1)
    if [ -f "$SLOF_BASE/.built-key" ] && [ "$(cat "$SLOF_BASE/.built-key")" = "$key" ] &&
       [ -s "$SLOF_BASE/boot_rom.bin" ]; then
        rm -rf "$tmp"
        log "baseline SLOF up to date: $SLOF_BASE/boot_rom.bin"
        return 0
    fi
    rm -rf "$SLOF_BASE"
    slof_import "$SLOF_BASE"
    series_apply "$SLOF_BASE" "$tmp" "SLOF $(cat "$SLOF_BASE/VERSION")"
    rm -rf "$tmp"
    slof_make "$SLOF_BASE" slof-base-build.log
    echo "$key" >"$SLOF_BASE/.built-key"
}

case "${1:-build}" in
    build) cmd_build ;;
    tree) shift; cmd_tree "$@" ;;
    export) series_export "$SLOF_TREE" "$SLOF_PATCHES" ;;
    checkpatch) cmd_checkpatch ;;
    baseline) cmd_baseline ;;
    *) die "usage: slof.sh [build]|tree [--verify|--reset]|export|checkpatch|baseline" ;;
esac
