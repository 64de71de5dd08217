#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Export the commits upstream..HEAD of build/qemu to patches/, with stable
# output: no commit hashes (--zero-commit), no git version trailer
# (--no-signature). patches/cover-letter.txt (first line: subject; then the
# blurb) becomes patches/0000-cover-letter.patch with the shortlog and diffstat.
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || die "$TREE missing: run 'make tree'"
git -C "$TREE" rev-parse -q --verify upstream >/dev/null || die "$TREE has no tag 'upstream'"
if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
    warn "$TREE has uncommitted changes: they are not exported (commit them first)"
fi

n=$(git -C "$TREE" rev-list --count upstream..HEAD)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
FP_OPTS=(--zero-commit --no-signature --no-numbered --subject-prefix=PATCH
         --full-index -N --no-renames --no-base --output-directory "$tmp")
if [ "$n" -gt 0 ]; then
    cover=()
    if [ -f "$TOP/patches/cover-letter.txt" ]; then
        cover=(--cover-letter --numbered)
    fi
    git -C "$TREE" -c core.abbrev=12 -c diff.noprefix=false -c format.signOff=false \
        format-patch "${FP_OPTS[@]}" "${cover[@]}" upstream..HEAD >/dev/null
fi

if [ -f "$tmp/0000-cover-letter.patch" ]; then
    subject=$(head -1 "$TOP/patches/cover-letter.txt")
    # Date of the cover: that of the last patch, so the output is stable.
    date=$(git -C "$TREE" log -1 --format=%aD HEAD)
    python3 - "$tmp/0000-cover-letter.patch" "$TOP/patches/cover-letter.txt" "$subject" "$date" <<'PY'
import re, sys
path, blurb_file, subject, date = sys.argv[1:]
text = open(path).read()
blurb = open(blurb_file).read().split('\n', 1)[1].strip('\n')
text = text.replace('*** SUBJECT HERE ***', subject)
text = text.replace('*** BLURB HERE ***', blurb)
text = re.sub(r'^Date: .*$', 'Date: ' + date, text, count=1, flags=re.M)
open(path, 'w').write(text)
PY
fi

# Replace the numbered patches; keep cover-letter.txt and anything else.
rm -f "$TOP"/patches/[0-9][0-9][0-9][0-9]-*.patch
mkdir -p "$TOP/patches"
cp "$tmp"/*.patch "$TOP/patches/" 2>/dev/null || true
log "exported $n patch(es) from $TREE (upstream..HEAD) to patches/"
git -C "$TOP" status --short -- patches/ || true
