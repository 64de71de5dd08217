#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt with the pseries-pcie series (libvirt-patches/), pinned in libvirt.lock.
#
#   libvirt.sh deps           apt-get install the build dependencies that are missing
#   libvirt.sh fetch          fetch and verify the pinned orig tarball
#   libvirt.sh tree           create build/libvirt: tarball (tag 'upstream') + git am libvirt-patches/
#   libvirt.sh tree --verify  check that libvirt-patches/ applies and equals build/libvirt HEAD
#   libvirt.sh tree --reset   recreate build/libvirt (refused if it holds unexported work; FORCE=1)
#   libvirt.sh export         format-patch upstream..HEAD into libvirt-patches/ (+ cover letter)
#   libvirt.sh build [--e2e]  meson setup + ninja of the targets the unit tests need
#                             (--e2e: also virtqemud, virtlogd, virtstoraged, virsh and
#                             the QEMU and storage drivers)
#   libvirt.sh prepare-e2e    deps, fetch, tree, tree --verify, build --e2e
#   libvirt.sh unit           run qemucapabilitiestest, qemucaps2xmltest, domaincapstest, qemuxmlconftest
#   libvirt.sh syntax-check   libvirt's syntax-check; fails if a rule flags a file the series touches
#   libvirt.sh bisect-check   every patch builds on its own and passes the unit tests
. "$(dirname "$0")/lib.sh"
# shellcheck source=../libvirt.lock
. "$TOP/libvirt.lock"

LV_TREE=$BUILD/libvirt
LV_OBJ=$BUILD/libvirt-build
LV_INST=$BUILD/libvirt-inst
LV_PATCHES=$TOP/libvirt-patches
LV_TARBALL=$DL/$LIBVIRT_ORIG_TARBALL

# Minimal build dependencies of a QEMU-driver build with tests (found from
# meson's errors; compilers, meson and ninja come from scripts/deps.sh).
LIBVIRT_BUILD_DEPS="gcc pkg-config ninja-build ccache libxml2-dev libxml2-utils xsltproc
 libgnutls28-dev libjson-c-dev libtirpc-dev libglib2.0-dev python3-docutils gettext
 libnl-3-dev libnl-route-3-dev"

LV_NAME="Seed 2ba834b7 maintainers"
LV_EMAIL="maintainers@users.noreply.r-seed-2ba834b7.example"

lv_patch_files() { series_patch_files "$LV_PATCHES"; }

cmd_deps() {
    local missing=() p
    for p in $LIBVIRT_BUILD_DEPS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    # meson >= 0.56 is needed; scripts/deps.sh installs it from bookworm-backports.
    command -v meson >/dev/null || missing+=(meson)
    if [ ${#missing[@]} -eq 0 ]; then
        log "libvirt build dependencies present"
        return 0
    fi
    need_root "installing libvirt build dependencies"
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

lv_verify() {
    tarball_verify "$1" "$LIBVIRT_ORIG_SIZE" "$LIBVIRT_ORIG_SHA256"
}

cmd_fetch() {
    mkdir -p "$DL"
    if lv_verify "$LV_TARBALL" 2>/dev/null; then
        log "$LIBVIRT_ORIG_TARBALL present and verified (sha256 $LIBVIRT_ORIG_SHA256)"
        return 0
    fi
    rm -f "$LV_TARBALL"
    local tmp
    tmp=$(mktemp -d "$DL/apt.XXXXXX")
    chmod 755 "$tmp"
    log "apt-get source --download-only $LIBVIRT_SOURCE_PACKAGE=$LIBVIRT_DEBIAN_VERSION"
    if (cd "$tmp" && apt-get source -q --download-only "$LIBVIRT_SOURCE_PACKAGE=$LIBVIRT_DEBIAN_VERSION") \
        >"$DL/libvirt-apt-source.log" 2>&1 && lv_verify "$tmp/$LIBVIRT_ORIG_TARBALL"; then
        mv "$tmp/$LIBVIRT_ORIG_TARBALL" "$LV_TARBALL"
        rm -rf "$tmp"
        log "fetched $LIBVIRT_ORIG_TARBALL with apt-get source"
        return 0
    fi
    rm -rf "$tmp"
    # The .dsc of the pinned revision is not always in the archive; the orig
    # tarball is in the pool as long as any revision of 11.3.0 is.
    log "apt-get source failed (see $DL/libvirt-apt-source.log); downloading $LIBVIRT_POOL_URL"
    download "$LIBVIRT_POOL_URL" "$LV_TARBALL.part"
    if lv_verify "$LV_TARBALL.part"; then
        mv "$LV_TARBALL.part" "$LV_TARBALL"
        log "fetched $LIBVIRT_ORIG_TARBALL from the pool (sha256 verified)"
        return 0
    fi
    rm -f "$LV_TARBALL.part"
    die "cannot fetch $LIBVIRT_ORIG_TARBALL (sha256 $LIBVIRT_ORIG_SHA256); copy a tarball with that checksum to $LV_TARBALL"
}

lv_apply_series() { series_apply "$1" "$LV_PATCHES" "$LIBVIRT_ORIG_TOPDIR"; }

lv_create() {
    [ -e "$LV_TREE" ] && die "$LV_TREE exists; use 'libvirt.sh tree --reset' to recreate it"
    [ -f "$LV_TARBALL" ] || die "$LV_TARBALL missing: run 'libvirt.sh fetch' first"
    log "creating $LV_TREE from $LIBVIRT_ORIG_TARBALL"
    local tmp
    tmp=$(mktemp -d "$BUILD/extract.XXXXXX")
    tar -C "$tmp" --no-same-owner -xf "$LV_TARBALL"
    [ -d "$tmp/$LIBVIRT_ORIG_TOPDIR" ] || die "$LV_TARBALL has no $LIBVIRT_ORIG_TOPDIR/"
    mv "$tmp/$LIBVIRT_ORIG_TOPDIR" "$LV_TREE"
    rmdir "$tmp"
    git -C "$LV_TREE" init -q -b master
    git -C "$LV_TREE" config user.name "$LV_NAME"
    git -C "$LV_TREE" config user.email "$LV_EMAIL"
    git -C "$LV_TREE" config core.autocrlf false
    git -C "$LV_TREE" add -A -f .
    GIT_AUTHOR_NAME="libvirt upstream" GIT_AUTHOR_EMAIL="devel@lists.libvirt.org" \
    GIT_COMMITTER_NAME="pseries-pcie tree" GIT_COMMITTER_EMAIL="tree@pseries-pcie.invalid" \
    GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
        git -C "$LV_TREE" commit -q --no-verify -m "Import libvirt $LIBVIRT_UPSTREAM_VERSION ($LIBVIRT_ORIG_TARBALL)

Orig tarball sha256 $LIBVIRT_ORIG_SHA256."
    git -C "$LV_TREE" tag upstream
    lv_apply_series "$LV_TREE"
}


lv_verify_tree() {
    [ -d "$LV_TREE/.git" ] || die "$LV_TREE missing: run 'libvirt.sh tree'"
    series_verify "$LV_TREE" "$LV_PATCHES" "$LIBVIRT_ORIG_TOPDIR"
    [ -z "$(git -C "$LV_TREE" status --porcelain)" ] ||
        warn "build/libvirt has uncommitted changes; they are built but are not in libvirt-patches/"
}

cmd_tree() {
    case "${1:-}" in
        "") if [ -d "$LV_TREE/.git" ]; then log "$LV_TREE exists"; else lv_create; fi ;;
        --verify) lv_verify_tree ;;
        --reset)
            series_reset_guard "$LV_TREE" "$LV_PATCHES"
            rm -rf "$LV_TREE"
            lv_create ;;
        *) die "usage: libvirt.sh tree [--verify|--reset]" ;;
    esac
}

cmd_export() { series_export "$LV_TREE" "$LV_PATCHES"; }

# The unit tests this project runs, and what they need built: each test, the
# mock libraries its source LD_PRELOADs (VIR_TEST_MAIN_PRELOAD ...
# VIR_TEST_MOCK("name") -> tests/libnamemock.so), and qemucapsprobe with its
# mock for re-probing capabilities. Read from the sources so that a test that
# gains a mock cannot pass only in a tree where a full build left it behind.
LV_UNIT_TESTS=(qemucapabilitiestest qemucaps2xmltest domaincapstest qemuxmlconftest
               qemumemlocktest qemuhotplugtest)
lv_test_targets() {
    local t m
    printf '%s\n' tests/qemucapsprobe tests/libqemucapsprobemock.so
    for t in "${LV_UNIT_TESTS[@]}"; do
        echo "tests/$t"
        for m in $(grep -o 'VIR_TEST_MOCK("[a-z0-9]*")' "$LV_TREE/tests/$t.c" |
                   sed 's/.*("\(.*\)")/\1/'); do
            echo "tests/lib${m}mock.so"
        done
    done | sort -u
}
# The end-to-end test runs the daemons from the build directory (libvirt then
# loads its driver modules from there); state and config live under the
# compiled-in prefix build/libvirt-inst.
LV_E2E_TARGETS=(src/virtqemud src/virtlogd tools/virsh src/libvirt_driver_qemu.so
                src/virtstoraged src/libvirt_driver_storage.so src/libvirt_storage_backend_fs.so)

lv_setup() {
    [ -d "$LV_TREE" ] || die "$LV_TREE missing: run 'libvirt.sh tree'"
    local off=() o key
    for o in apparmor attr audit bash_completion blkid capng curl fuse glusterfs libiscsi \
             libpcap libssh libssh2 netcf nls numactl openwsman pciaccess polkit \
             readline sanlock sasl selinux udev wireshark_dissector \
             driver_bhyve driver_esx driver_hyperv driver_interface driver_libxl driver_lxc \
             driver_ch driver_network driver_openvz driver_secrets driver_test driver_vbox \
             driver_vmware driver_vz secdriver_apparmor apparmor_profiles secdriver_selinux \
             storage_disk storage_fs storage_gluster storage_iscsi \
             storage_iscsi_direct storage_lvm storage_mpath storage_rbd storage_scsi \
             storage_vstorage storage_zfs dtrace firewalld firewalld_zone host_validate \
             login_shell nss numad nbdkit pm_utils ssh_proxy sysctl_config userfaultfd_sysctl \
             expensive_tests; do
        off+=("-D$o=disabled")
    done
    # The storage driver with its directory backend: virt-install resolves
    # --disk path=... through storage pools (virtstoraged). QEMU runs as
    # root: the default on Debian, libvirt-qemu, is a user this machine
    # does not have (the daemons look it up before reading qemu.conf).
    key="${off[*]} storage_dir qemu_user=root"
    if [ -f "$LV_OBJ/build.ninja" ]; then
        [ "$(cat "$LV_OBJ/.lv-options" 2>/dev/null)" = "$key" ] && return 0
        log "libvirt build options changed: configuring $LV_OBJ again"
        rm -rf "$LV_OBJ"
    fi
    meson setup "$LV_OBJ" "$LV_TREE" \
        --prefix="$LV_INST" --localstatedir="$LV_INST/var" --sysconfdir="$LV_INST/etc" \
        -Drunstatedir="$LV_INST/run" -Dinitconfdir="$LV_INST/etc/sysconfig" \
        -Dunitdir="$LV_INST/lib/systemd/system" -Dsysusersdir="$LV_INST/lib/sysusers.d" \
        -Dbuildtype=debug -Doptimization=0 -Dwerror=false -Dgit_werror=disabled \
        -Ddriver_qemu=enabled -Ddriver_remote=enabled -Ddriver_libvirtd=enabled \
        -Dstorage_dir=enabled \
        -Dqemu_user=root -Dqemu_group=root \
        -Djson_c=enabled -Dlibnl=enabled -Ddocs=disabled -Dtests=enabled -Dinit_script=none \
        "${off[@]}" >"$BUILD/libvirt-build.configure.log" 2>&1 ||
        { tail -30 "$BUILD/libvirt-build.configure.log" >&2; rm -rf "$LV_OBJ"; die "meson setup failed"; }
    echo "$key" >"$LV_OBJ/.lv-options"
}

lv_ninja() {
    nice -n 10 ninja -C "$LV_OBJ" -j"${LV_JOBS:-2}" "$@" >"$BUILD/libvirt-build.ninja.log" 2>&1 ||
        { grep -B2 -A12 'error:\|FAILED' "$BUILD/libvirt-build.ninja.log" | head -60 >&2; die "ninja failed"; }
}

cmd_build() {
    stage libvirt-meson-setup lv_setup
    local targets
    mapfile -t targets < <(lv_test_targets)
    stage libvirt-ninja-tests lv_ninja "${targets[@]}"
    if [ "${1:-}" = --e2e ] || [ -n "${LIBVIRT_E2E:-}" ]; then
        stage libvirt-ninja-e2e lv_ninja "${LV_E2E_TARGETS[@]}"
    fi
}

# The environment meson test gives libvirt's tests (tests/meson.build: tests_env).
lv_test_env() {
    env abs_builddir="$LV_OBJ/tests" abs_srcdir="$LV_TREE/tests" \
        abs_top_builddir="$LV_OBJ" abs_top_srcdir="$LV_TREE" \
        LC_ALL=C LIBVIRT_AUTOSTART=0 G_DEBUG=fatal-warnings "$@"
}

cmd_unit() {
    [ -x "$LV_OBJ/tests/qemuxmlconftest" ] || die "run 'libvirt.sh build' first"
    local t rc=0 out
    for t in "${LV_UNIT_TESTS[@]}"; do
        out=$BUILD/libvirt-unit-$t.log
        if (cd "$LV_OBJ/tests" && lv_test_env "./$t") >"$out" 2>&1; then
            log "$t: $(tail -1 "$out" | awk '{print $(NF-1), "tests,", $NF}')"
        else
            rc=1
            warn "$t failed; re-running the failures with VIR_TEST_DEBUG=1 (full log: $out)"
            grep 'FAILED$' "$out" | head -20 >&2 || true
            (cd "$LV_OBJ/tests" && VIR_TEST_DEBUG=1 lv_test_env "./$t") 2>&1 |
                grep -B5 -A30 -i 'FAILED\|error' | head -120 >&2 ||
                tail -20 "$out" >&2   # no test failed: it did not start (a missing mock?)
        fi
    done
    return $rc
}

# libvirt's syntax-check (meson test --suite syntax-check, without building
# anything). It checks every file 'git ls-files' lists, and in a tree imported
# from the tarball that includes subprojects/keycodemapdb (a git submodule
# upstream, excluded there) and the POTFILES of a full build: those fail on
# the pristine tree too. So this fails only if a failing rule names a file
# that the series adds or changes. It is skipped when it already passed for
# the same series (stamp in the build directory).
cmd_syntax_check() {
    [ -f "$LV_OBJ/build-aux/Makefile" ] || die "run 'libvirt.sh build' first"
    local stamp=$LV_OBJ/.syntax-check-ok sum log=$BUILD/libvirt-syntax-check.log
    sum=$(git -C "$LV_TREE" rev-parse 'HEAD^{tree}')
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && [ -z "$(git -C "$LV_TREE" status --porcelain)" ]; then
        log "syntax-check: passed before for this tree ($sum)"
        return 0
    fi
    rm -f "$stamp"
    nice -n 10 meson test -C "$LV_OBJ" --suite syntax-check --no-rebuild --num-processes 2 \
        >"$log" 2>&1 || true
    local tlog=$LV_OBJ/meson-logs/testlog.txt ok failed hits
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -1)
    failed=$(grep -E '^ *[0-9]+/[0-9]+ .*syntax-check / .* FAIL' "$log" | awk '{print $4}' | tr '\n' ' ' || true)
    [ -n "$ok" ] || { tail -20 "$log" >&2; die "syntax-check did not run (see $log)"; }
    # the files the series adds or changes, as the rules print them
    hits=$(git -C "$LV_TREE" diff --name-only upstream HEAD | while read -r f; do
               grep -F -e "$LV_TREE/$f" -e "+$f" "$tlog" | head -3 || true
           done)
    if [ -n "$hits" ]; then
        warn "syntax-check flags files of the series:"
        printf '%s\n' "$hits" >&2
        return 1
    fi
    log "syntax-check: $ok rules OK; failing rules (${failed:-none}) name no file of the series"
    echo "$sum" >"$stamp"
}

# Every patch must build on its own and keep the unit tests passing: check
# out each commit of build/libvirt (upstream..HEAD) in turn, build the test
# targets incrementally in the normal build directory (ccache keeps it
# cheap), run the unit tests, then return to where the tree was.
cmd_bisect_check() {
    [ -d "$LV_TREE/.git" ] || die "$LV_TREE missing: run 'libvirt.sh tree'"
    [ -z "$(git -C "$LV_TREE" status --porcelain --untracked-files=no)" ] ||
        die "$LV_TREE has uncommitted changes; commit or stash them first"
    lv_setup
    local head c n=0 subject
    head=$(git -C "$LV_TREE" symbolic-ref -q --short HEAD || git -C "$LV_TREE" rev-parse HEAD)
    trap 'git -C "$LV_TREE" checkout -q "$head"' EXIT
    for c in $(git -C "$LV_TREE" rev-list --reverse upstream..HEAD); do
        n=$((n + 1))
        git -C "$LV_TREE" checkout -q "$c"
        subject=$(git -C "$LV_TREE" log -1 --format=%s "$c")
        lv_ninja $(lv_test_targets) "${LV_E2E_TARGETS[@]}" ||
            die "patch $n does not build: $subject (see $BUILD/libvirt-build.ninja.log)"
        cmd_unit >"$BUILD/libvirt-bisect-unit.log" 2>&1 ||
            { cat "$BUILD/libvirt-bisect-unit.log" >&2; die "patch $n: unit tests fail: $subject"; }
        log "patch $n builds and passes the unit tests: $subject"
    done
    git -C "$LV_TREE" checkout -q "$head"
    trap - EXIT
    # leave the build matching HEAD again
    lv_ninja $(lv_test_targets) "${LV_E2E_TARGETS[@]}"
    log "all $n libvirt patches build on their own and pass the unit tests"
}

# What the end-to-end tests and scripts/virt-env.sh need: the tree,
# checked against libvirt-patches/, and the daemons built.
cmd_prepare_e2e() {
    cmd_deps
    cmd_fetch
    cmd_tree
    cmd_tree --verify
    cmd_build --e2e
}

case "${1:-}" in
    deps) shift; cmd_deps "$@" ;;
    prepare-e2e) shift; cmd_prepare_e2e "$@" ;;
    bisect-check) shift; cmd_bisect_check "$@" ;;
    syntax-check) shift; cmd_syntax_check "$@" ;;
    fetch) shift; cmd_fetch "$@" ;;
    tree) shift; cmd_tree "$@" ;;
    export) shift; cmd_export "$@" ;;
    build) shift; cmd_build "$@" ;;
    unit) shift; cmd_unit "$@" ;;
    *) die "usage: libvirt.sh deps|fetch|tree [--verify|--reset]|export|build [--e2e]|prepare-e2e|unit|syntax-check|bisect-check" ;;
esac
