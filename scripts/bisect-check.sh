#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every patch of the series must build on its own: check out each commit of
# build/qemu (upstream..HEAD) in turn and build it incrementally in the
# normal build directory (ccache keeps this cheap), then return to HEAD.
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "$TREE missing: run 'make tree'"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
    die "$TREE has uncommitted changes; commit or stash them first"
head=$(git -C "$TREE" symbolic-ref -q --short HEAD || git -C "$TREE" rev-parse HEAD)
trap 'git -C "$TREE" checkout -q "$head"' EXIT

n=0
for c in $(git -C "$TREE" rev-list --reverse upstream..HEAD); do
    n=$((n + 1))
    git -C "$TREE" checkout -q "$c"
    subject=$(git -C "$TREE" log -1 --format=%s "$c")
    if ninja -C "$OBJ" -j "$(nproc)" qemu-system-ppc64 >"$OBJ.bisect.log" 2>&1; then
        log "patch $n builds: $subject"
    else
        grep -E 'error|FAILED' "$OBJ.bisect.log" | head -20 >&2
        die "patch $n does not build: $subject (see $OBJ.bisect.log)"
    fi
done
log "all $n patches build on their own"
