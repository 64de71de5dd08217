# SPDX-License-Identifier: GPL-2.0-or-later
# Common helpers for the project's scripts. Source it; do not run it.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$TOP/build
DL=$BUILD/dl
TREE=$BUILD/qemu                   # working tree: tag 'upstream' + our patches
OBJ=$BUILD/qemu-build              # build output of the patched tree
UP_TREE=$BUILD/upstream/qemu       # pristine tarball, for legacy comparisons
UP_OBJ=$BUILD/upstream/qemu-build  # its build output (same relative layout: ccache hits)
FIRMWARE=$BUILD/firmware
TIMES=$BUILD/times.log

# shellcheck source=../upstream.lock
. "$TOP/upstream.lock"

# The pyenv python on these machines breaks QEMU's mkvenv: use Debian's.
PYTHON=/usr/bin/python3

# ccache: share objects between the patched and the pristine build trees.
# Both trees have the same layout relative to $BUILD, so with a base dir
# and no CWD in the hash, unchanged files hit the cache.
export CCACHE_BASEDIR=$BUILD
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# QEMU's configure hands meson an explicit compiler, so meson does not add
# ccache by itself: Debian's ccache symlinks (cc, gcc, ...) come first in
# PATH for configure and for every ninja run.
if [ -d /usr/lib/ccache ]; then
    case ":$PATH:" in *:/usr/lib/ccache:*) ;; *) export PATH=/usr/lib/ccache:$PATH ;; esac
fi

log()  { printf '>>> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# stage NAME CMD...: run CMD, print and record how long it took.
stage() {
    local name=$1 start end rc=0
    shift
    start=$(date +%s)
    log "stage '$name' started"
    "$@" || rc=$?
    end=$(date +%s)
    mkdir -p "$BUILD"
    printf '%-28s %5ds  %s\n' "$name" $((end - start)) \
        "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")" | tee -a "$TIMES"
    return $rc
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (it installs Debian packages with apt-get); run it as root"
}

# Companion-series helpers (series_apply, series_export, ...).
# shellcheck source=series-lib.sh
. "$TOP/scripts/series-lib.sh"

# The guest kernels the tests boot (scripts/guest.sh GUEST_KERNEL=...):
# bookworm (6.1), trixie (6.12), the newest in sid.
GUEST_KERNELS="bookworm trixie sid"

# guest_dir KERNEL [ARCH]: where scripts/guest.sh puts that guest.
guest_dir() {
    case ${2:-ppc64el}/$1 in
        ppc64el/bookworm) echo "$BUILD/guest" ;;
        ppc64el/trixie|ppc64el/sid) echo "$BUILD/guest-$1" ;;
        amd64/bookworm) echo "$BUILD/guest-amd64" ;;
        *) die "no guest for kernel '$1' (${2:-ppc64el}): use one of $GUEST_KERNELS" ;;
    esac
}

# patch_files: the QEMU series in file-name order, without the cover letter.
patch_files() { series_patch_files "$TOP/patches"; }

# checkpatch_patch PATCH: QEMU's scripts/checkpatch.pl on PATCH, in $TREE.
# Prints its findings; fails on any ERROR that patches/checkpatch-exceptions
# does not list for that patch's subject (see there: each has its reason).
checkpatch_patch() {
    local p=$1 out subject err bad=0
    out=$(cd "$TREE" && ./scripts/checkpatch.pl --patch "$p" 2>&1) && return 0
    # The Subject: header, unfolded, without its [PATCH n/m]
    subject=$(awk '/^Subject: / { s = $0; while ((getline l) > 0 && l ~ /^[ \t]/) s = s l
                                  print s; exit }' "$p" |
              sed 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//')
    while IFS= read -r err; do
        if grep -qxF "$subject	$err" <(grep -v '^#' "$TOP/patches/checkpatch-exceptions" 2>/dev/null); then
            printf 'allowed (patches/checkpatch-exceptions): %s\n' "$err"
        else
            printf '%s\n' "$err"
            bad=1
        fi
    done < <(printf '%s\n' "$out" | grep '^ERROR: ')
    # checkpatch failed without an ERROR line: show all of it
    if ! printf '%s\n' "$out" | grep -q '^ERROR: '; then
        printf '%s\n' "$out" | tail -20
        bad=1
    fi
    [ $bad = 0 ] || printf '%s\n' "$out" | grep -E '^#|^\+' | head -20
    return $bad
}
