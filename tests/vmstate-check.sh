#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Legacy migration compatibility, statically: QEMU's own
# scripts/vmstate-static-checker.py between the unpatched and the patched
# build's -dump-vmstate of each legacy machine checked, in both directions.
# It must report nothing. (tests/legacy-compare.sh also requires the dumps
# to be identical; this is the checker migration maintainers run.)
. "$(dirname "$0")/../scripts/lib.sh"

PATCHED=$OBJ/qemu-system-ppc64 UNPATCHED=$UP_OBJ/qemu-system-ppc64
CHECKER=$UP_TREE/scripts/vmstate-static-checker.py
for f in "$PATCHED" "$UNPATCHED" "$CHECKER"; do
    [ -e "$f" ] || die "$f is missing: run 'make check'"
done
dir=$BUILD/vmstate
mkdir -p "$dir"

# checker SRC DEST: what vmstate-static-checker.py reports, minus what it
# reports comparing SRC with itself (QEMU 10.2's dump has two subsections
# named "sd-card/ext_csd_modes-state", which the checker always flags).
checker() {
    comm -23 <("$PYTHON" "$CHECKER" -s "$1" -d "$2" 2>&1 | sort) \
             <("$PYTHON" "$CHECKER" -s "$1" -d "$1" 2>&1 | sort)
}

rc=0
for m in pseries-10.2 pseries-9.2 pseries-8.0 pseries-5.0; do
    rm -f "$dir/$m.unpatched.json" "$dir/$m.patched.json"
    # A dump that fails must fail the test: the checker would report the
    # same error for both comparisons, which compare as "nothing reported"
    if ! "$UNPATCHED" -M "$m" -nodefaults -display none -dump-vmstate "$dir/$m.unpatched.json" 2>/dev/null ||
       ! "$PATCHED" -M "$m" -nodefaults -display none -dump-vmstate "$dir/$m.patched.json" 2>/dev/null ||
       ! "$PYTHON" -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' \
           "$dir/$m.unpatched.json" "$dir/$m.patched.json" 2>/dev/null; then
        echo "FAIL: -dump-vmstate of $m failed or wrote no JSON"; rc=1; continue
    fi
    out=$(checker "$dir/$m.unpatched.json" "$dir/$m.patched.json")
    if [ -n "$out" ]; then
        echo "FAIL: vmstate-static-checker $m, unpatched -> patched:"
        printf '%s\n' "$out" | head -20; rc=1
    else
        echo "ok   vmstate-static-checker $m, unpatched -> patched: nothing reported"
    fi
    # Backwards, the one expected line is the new device type, which a
    # pseries-X.Y guest cannot have on an unpatched destination anyway.
    out=$(checker "$dir/$m.patched.json" "$dir/$m.unpatched.json" |
          grep -vx 'Section "spapr-pcie-host-bridge" does not exist in dest' || true)
    if [ -n "$out" ]; then
        echo "FAIL: vmstate-static-checker $m, patched -> unpatched:"
        printf '%s\n' "$out" | head -20; rc=1
    else
        echo "ok   vmstate-static-checker $m, patched -> unpatched: nothing reported but the new spapr-pcie-host-bridge type"
    fi
done
# The check must be able to fail: a dump with one spapr_pci field removed.
"$PYTHON" - "$dir/pseries-10.2.patched.json" "$dir/broken.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["spapr-pci-host-bridge"]["Description"]["Fields"].pop()
json.dump(d, open(sys.argv[2], "w"))
PY
out=$(checker "$dir/pseries-10.2.patched.json" "$dir/broken.json")
if [ -z "$out" ]; then
    echo "FAIL: vmstate-static-checker did not notice a removed spapr_pci field"
    rc=1
else
    echo "ok   a removed spapr_pci field is noticed: $(printf '%s\n' "$out" | head -1)"
fi
exit $rc
