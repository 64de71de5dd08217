#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Export the commits upstream..HEAD of build/qemu to patches/, with stable
# output: no commit hashes (--zero-commit), no git version trailer
# (--no-signature). patches/cover-letter.txt (first line: subject; then the
# blurb) becomes patches/0000-cover-letter.patch with the shortlog and diffstat.
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "$TREE missing: run 'make tree'"
git -C "$TREE" rev-parse -q --verify upstream >/dev/null || die "$TREE has no tag 'upstream'"
series_export "$TREE" "$TOP/patches"
git -C "$TOP" status --short -- patches/ || true
