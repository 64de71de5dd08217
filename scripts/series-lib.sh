# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the companion series kept as git format-patch output (SLOF,
# libvirt, ...): a git tree whose tag 'upstream' is the pinned source, plus
# one commit per patch. Source after lib.sh; every function takes the tree
# and the patch directory explicitly.

# series_patch_files DIR: the series in file-name order, without the cover
series_patch_files() {
    local p
    for p in "$1"/[0-9][0-9][0-9][0-9]-*.patch; do
        [ -f "$p" ] || continue
        case "$(basename "$p")" in 0000-*) continue ;; esac
        printf '%s\n' "$p"
    done
}

# series_apply TREE DIR WHAT: git am every patch of DIR onto TREE
series_apply() {
    local tree=$1 dir=$2 what=$3 p n=0
    while read -r p; do
        if ! GIT_COMMITTER_DATE="$(sed -n 's/^Date: //p' "$p" | head -1)" \
             git -C "$tree" am -q --committer-date-is-author-date "$p"; then
            git -C "$tree" am --abort 2>/dev/null || true
            die "patch $(basename "$p") does not apply on $what (tag 'upstream')"
        fi
        n=$((n + 1))
    done < <(series_patch_files "$dir")
    log "applied $n patch(es) from $(basename "$dir")/"
}

# series_unexported TREE DIR: how many commits of TREE are not in DIR
series_unexported() {
    local tree=$1 dir=$2 tmp
    tmp=$(mktemp -d)
    git -C "$tree" rev-list --reverse upstream..HEAD | while read -r c; do
        git -C "$tree" show "$c" | git patch-id --stable | cut -d' ' -f1
    done | sort >"$tmp/tree"
    series_patch_files "$dir" | while read -r p; do git patch-id --stable <"$p" | cut -d' ' -f1; done |
        sort >"$tmp/exported"
    comm -23 "$tmp/tree" "$tmp/exported" | wc -l
    rm -rf "$tmp"
}

# series_verify TREE DIR WHAT [HINT]: DIR applies on TREE's 'upstream' (in
# a temporary worktree) and gives exactly TREE's HEAD; HINT says what to do
# when it does not
series_verify() {
    local tree=$1 dir=$2 what=$3 hint=${4:-export the tree or recreate it} wt want have
    [ -d "$tree/.git" ] || die "$tree missing"
    wt=$tree-verify-tree
    git -C "$tree" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
    git -C "$tree" worktree prune
    git -C "$tree" worktree add -q --detach "$wt" upstream
    series_apply "$wt" "$dir" "$what"
    want=$(git -C "$wt" rev-parse 'HEAD^{tree}')
    have=$(git -C "$tree" rev-parse 'HEAD^{tree}')
    git -C "$tree" worktree remove --force "$wt"
    [ "$want" = "$have" ] ||
        die "$tree HEAD differs from upstream + $(basename "$dir")/: $hint"
    log "$(basename "$dir")/ applies cleanly on 'upstream' and matches $tree HEAD"
}

# series_export TREE DIR: format-patch upstream..HEAD into DIR with stable
# output (zero hashes, no version trailer); DIR/cover-letter.txt (first
# line: subject, then the blurb) becomes DIR/0000-cover-letter.patch;
# DIR/version, if there, holds the series' revision: "[PATCH vN x/y]"
series_export() {
    local tree=$1 dir=$2 n tmp subject date
    [ -d "$tree/.git" ] || die "$tree missing"
    [ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
        warn "$tree has uncommitted changes: they are not exported"
    n=$(git -C "$tree" rev-list --count upstream..HEAD)
    tmp=$(mktemp -d)
    local prefix=PATCH
    [ -s "$dir/version" ] && prefix="PATCH v$(cat "$dir/version")"
    local fp=(--zero-commit --no-signature --no-numbered --subject-prefix="$prefix"
              --full-index -N --no-renames --no-base --output-directory "$tmp")
    if [ "$n" -gt 0 ]; then
        local cover=()
        [ -f "$dir/cover-letter.txt" ] && cover=(--cover-letter --numbered)
        git -C "$tree" -c core.abbrev=12 -c diff.noprefix=false -c format.signOff=false \
            format-patch "${fp[@]}" "${cover[@]}" upstream..HEAD >/dev/null
    fi
    if [ -f "$tmp/0000-cover-letter.patch" ]; then
        subject=$(head -1 "$dir/cover-letter.txt")
        date=$(git -C "$tree" log -1 --format=%aD HEAD)
        python3 - "$tmp/0000-cover-letter.patch" "$dir/cover-letter.txt" "$subject" "$date" <<'PY'
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
    mkdir -p "$dir"
    rm -f "$dir"/[0-9][0-9][0-9][0-9]-*.patch
    cp "$tmp"/*.patch "$dir/" 2>/dev/null || true
    rm -rf "$tmp"
    log "exported $n patch(es) from $tree (upstream..HEAD) to $(basename "$dir")/"
}

# series_reset_guard TREE DIR: refuse (unless FORCE=1) to throw TREE away
# while it holds uncommitted changes or commits not exported to DIR
series_reset_guard() {
    local tree=$1 dir=$2
    [ -d "$tree/.git" ] && [ -z "${FORCE:-}" ] || return 0
    [ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
        die "$tree has uncommitted changes (FORCE=1 overrides)"
    [ "$(series_unexported "$tree" "$dir")" -eq 0 ] ||
        die "$tree has commits not exported to $(basename "$dir")/ (FORCE=1 overrides)"
}

# tarball_verify FILE SIZE SHA256: FILE exists with that size and checksum
tarball_verify() {
    local f=$1 want_size=$2 want_sum=$3 size sum
    [ -f "$f" ] || return 1
    size=$(stat -c %s "$f")
    [ "$size" = "$want_size" ] || { warn "$f: size $size, expected $want_size"; return 1; }
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$sum" = "$want_sum" ] || { warn "$f: sha256 $sum, expected $want_sum"; return 1; }
}

# download URL OUT: curl, or wget where curl is missing (failure: no OUT)
download() {
    if command -v curl >/dev/null; then
        curl -fsSL -o "$2" "$1" || rm -f "$2"
    else
        wget -q -O "$2" "$1" || rm -f "$2"
    fi
}
