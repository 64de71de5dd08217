#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: start-up, device-tree, config-space, guest boot, I/O and memory
# costs of pseries-pcie vs pseries (and powernv10, -M none), and what a PCIe
# port costs at boot on q35 vs pseries-pcie (the anchor). Not part of
# 'make check'; nothing here asserts a time. Output in build/bench/:
# results.md (tables), results.json (raw samples), startup.png (plot).
#   BENCH_REPS=N (default 5), BENCH_BOOT_REPS=N (default 3),
#   BENCH_QUICK=1 (smoke run, about 2 minutes), BENCH_NO_PERF=1,
#   BENCH_ONLY=a,b (sections: startup,fdt,config,boot,diskboot,anchor,breakdown,slof),
#   BENCH_ANCHOR_MACHINES=a,b (default q35,q35-ovmf,pseries-pcie)
. "$(dirname "$0")/lib.sh"

need_root "make bench"
QEMU=$OBJ/qemu-system-ppc64

# Build only what is missing.
if [ ! -x "$QEMU" ]; then
    bash "$TOP/scripts/deps.sh"
    bash "$TOP/scripts/fetch.sh"
    bash "$TOP/scripts/tree.sh"
    bash "$TOP/scripts/build.sh"
fi
# SLOF from slof-patches/ (a no-op when build/slof is up to date)
bash "$TOP/scripts/firmware.sh" "$OBJ"
# the guest is rebuilt only when its packages or scripts changed
bash "$TOP/scripts/guest.sh"
# Section 10's "without": the SLOF series minus its find-hash patch
case ",${BENCH_ONLY:-slof}," in
    *,slof,*) bash "$TOP/scripts/slof.sh" baseline ;;
esac

# The q35 anchor (section 8): an x86_64-softmmu build of the same tree in
# its own directory (ccache shares the common objects; ninja makes it a
# no-op once built), its firmware and the amd64 guest. Only when the
# anchor runs.
case ",${BENCH_ONLY:-anchor}," in
    *,anchor,*)
        QEMU_TARGET=x86_64-softmmu QEMU_DOCS=0 QEMU_BUILD_DIR=$BUILD/qemu-build-x86_64 \
            QEMU_NINJA_TARGETS=qemu-system-x86_64 bash "$TOP/scripts/build.sh"
        [ -s "$BUILD/qemu-build-x86_64/qemu-bundle/usr/local/share/qemu/bios-256k.bin" ] ||
            bash "$TOP/scripts/firmware.sh" "$BUILD/qemu-build-x86_64"
        GUEST_ARCH=amd64 bash "$TOP/scripts/guest.sh"
        # Debian's OVMF for the q35-ovmf rows (unpacked, not installed)
        if [ ! -s "$BUILD/ovmf/usr/share/OVMF/OVMF_CODE_4M.fd" ]; then
            rm -rf "$BUILD/ovmf.dl" && mkdir -p "$BUILD/ovmf.dl"
            if (cd "$BUILD/ovmf.dl" && apt-get download -q ovmf) >"$BUILD/ovmf-download.log" 2>&1 &&
               dpkg-deb -x "$BUILD"/ovmf.dl/ovmf_*.deb "$BUILD/ovmf"; then
                log "OVMF unpacked in $BUILD/ovmf"
            else
                warn "no OVMF (see $BUILD/ovmf-download.log): the anchor runs without q35-ovmf"
            fi
            rm -rf "$BUILD/ovmf.dl"
        fi ;;
esac

# matplotlib for the plot, perf for the device-tree build time (optional).
missing=()
"$PYTHON" -c 'import matplotlib' 2>/dev/null || missing+=(python3-matplotlib)
command -v perf >/dev/null || missing+=(linux-perf)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}" \
        >"$BUILD/apt-install-bench.log" 2>&1 ||
        { tail -5 "$BUILD/apt-install-bench.log" >&2
          "$PYTHON" -c 'import matplotlib' 2>/dev/null ||
              die "cannot install python3-matplotlib (see $BUILD/apt-install-bench.log)"
          warn "no perf: the device-tree build time falls back to system_reset timing"; }
fi

mkdir -p "$BUILD/bench"
exec "$PYTHON" "$TOP/scripts/bench.py"
