#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# libvirt 11.3.0 + libvirt-patches/ (pseries-pcie support in the QEMU driver):
# the series applies and matches build/libvirt, it builds, and libvirt's own
# qemucapabilitiestest and qemuxmlconftest pass, including the series' cases
# (capabilities probed from our QEMU, '+pseriespcie' variant), without any
# change to upstream's expected output files, and libvirt's syntax-check
# flags none of the files the series touches. Exits 0 or 1.
. "$(dirname "$0")/../scripts/lib.sh"
. "$TOP/libvirt.lock"

LV=(bash "$TOP/scripts/libvirt.sh")
rc=0
step() { "$@" || { warn "failed: ${*:2}"; rc=1; return 1; }; }

step "${LV[@]}" deps &&
step "${LV[@]}" fetch &&
step "${LV[@]}" tree &&
step "${LV[@]}" tree --verify || exit 1

# The series adds test data; it must not modify upstream's expected outputs.
changed=$(git -C "$BUILD/libvirt" diff --name-only --diff-filter=MD upstream HEAD -- \
          tests/qemuxmlconfdata tests/qemucapabilitiesdata tests/domaincapsdata \
          tests/qemucaps2xmloutdata | grep -v '\.rst$' || true)
if [ -n "$changed" ]; then
    warn "the series changes upstream's expected test files:"; printf '  %s\n' "$changed" >&2
    rc=1
fi
# The probed capabilities carry the QMP member the series relies on.
replies=$BUILD/libvirt/tests/qemucapabilitiesdata/caps_10.2.0_ppc64+pseriespcie.replies
if ! grep -q '"pci-root-bus"' "$replies" 2>/dev/null; then
    warn "$replies has no 'pci-root-bus' member"; rc=1
fi

# The two derived capability variants are what scripts/libvirt-caps-variants.py
# makes of the probed replies, byte for byte.
capsdir=$BUILD/libvirt/tests/qemucapabilitiesdata
for v in nobus kvm; do
    if ! "$PYTHON" "$TOP/scripts/libvirt-caps-variants.py" "$replies" $v |
            cmp -s - "$capsdir/caps_10.2.0_ppc64+pseriespcie$v.replies"; then
        warn "caps_10.2.0_ppc64+pseriespcie$v.replies is not what libvirt-caps-variants.py makes"
        rc=1
    fi
done

step "${LV[@]}" build || exit 1
step "${LV[@]}" unit || true
# libvirt's syntax-check rules on the files the series touches (cached per tree)
step stage libvirt-syntax-check "${LV[@]}" syntax-check || true
if [ $rc -eq 0 ]; then log "libvirt unit tests passed"; else warn "libvirt unit tests FAILED"; fi
exit $rc
