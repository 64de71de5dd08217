#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Prove that the series leaves the legacy pseries-X.Y machines unchanged.

For each machine, start the pristine and the patched qemu-system-ppc64 with
the same devices and compare, between the two:
  - the device tree (QMP system_reset, then dumpdtb; decompiled with dtc,
    without /chosen/rng-seed, which is random on every reset),
  - the QOM composition tree (every child<> path with its type),
  - 'info qtree',
  - the -dump-vmstate description of every device type the pristine binary
    has (the patched binary may only add new types; they are listed).
Any difference fails, with a diff.

The series' fixes to pre-existing bugs change legacy machines only where
they were broken; each has a configuration here whose differences must be
exactly those of the fix (FIX_CASES), and nothing else may differ.

usage: legacy_compare.py PRISTINE_BINARY PATCHED_BINARY WORKDIR
"""

import difflib
import json
import os
import re
import subprocess
import sys

from qmp_client import QMP

MACHINES = ["pseries-10.2", "pseries-9.2", "pseries-8.0", "pseries-5.0"]

# A few devices of each kind the sPAPR PHB code handles: endpoints on the
# root bus, an express device on a conventional bus, a bridge with a device
# behind it, a second PHB, VIO devices and the defaults (VGA, USB, ...).
DEVICES = [
    "-netdev", "user,id=n0",
    "-device", "virtio-net-pci,netdev=n0,addr=2.0",
    "-drive", "if=none,id=d0,driver=null-co",
    "-device", "virtio-blk-pci,drive=d0,addr=3.0",
    "-device", "e1000e,addr=4.0",
    "-device", "pci-bridge,id=br1,chassis_nr=1,addr=5.0",
    "-device", "virtio-rng-pci,bus=br1,addr=1.0",
    "-device", "spapr-pci-host-bridge,index=1,id=phb1",
    "-device", "virtio-serial-pci,bus=phb1.0",
    "-device", "spapr-vscsi",
]


# The fixes at the front of the series that change what a legacy machine
# looks like, each with a configuration that shows it, and the device tree
# nodes the difference must stay under (everything else identical).
FIX_CASES = [
    ("hw/ppc/spapr_pci: number the buses of multifunction bridges",
     ["-device", "pci-bridge,id=mb0,chassis_nr=3,bus=pci.0,addr=6.0,"
      "multifunction=on",
      "-device", "pci-bridge,id=mb1,chassis_nr=4,bus=pci.0,addr=6.1",
      "-device", "virtio-rng-pci,bus=mb0,addr=1.0",
      "-device", "virtio-rng-pci,bus=mb1,addr=1.0"],
     ("/pci@800000020000000/pci@6/", "/pci@800000020000000/pci@6,1/"),
     # 'info qtree' shows the bus numbers of the devices (all of them
     # behind bridges: those behind the pci-bridge br1 move up by one)
     re.compile(r"^[-+]\s*(busnr = \d+ |class .*, addr [0-9a-f]{2}:)")),
]


def dts_paths(dts):
    """(node path, line) for every line of a decompiled device tree."""
    out, stack = [], []
    for ln in dts:
        t = ln.strip()
        if t.endswith("{"):
            stack.append(t[:-1].strip())
            out.append(("/".join(stack).replace("//", "/") + "/", t))
        elif t == "};":
            out.append(("/".join(stack).replace("//", "/") + "/", t))
            stack.pop()
        else:
            out.append(("/".join(stack).replace("//", "/") + "/", t))
    return out


def qom_tree(qmp, path):
    lines = []
    for prop in sorted(qmp.cmd("qom-list", path=path),
                       key=lambda p: p["name"]):
        if prop["type"].startswith("child<"):
            child = path.rstrip("/") + "/" + prop["name"]
            lines.append("%s %s" % (child, prop["type"]))
            lines += qom_tree(qmp, child)
    return lines


def snapshot(binary, machine, workdir, tag, devices=None):
    devices = DEVICES if devices is None else devices
    sock = os.path.join(workdir, "%s-%s.qmp" % (tag, machine))
    dtb = os.path.join(workdir, "%s-%s.dtb" % (tag, machine))
    for f in (sock, dtb):
        if os.path.exists(f):
            os.unlink(f)
    proc = subprocess.Popen([binary, "-M", machine, "-S", "-display", "none",
                             "-qmp", "unix:%s,server=on,wait=off" % sock,
                             "-serial", "none", "-monitor", "none"]
                            + devices,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        qmp = QMP(sock)
        qmp.cmd("system_reset")
        qmp.cmd("dumpdtb", filename=dtb)
        qom = qom_tree(qmp, "/machine")
        qtree = qmp.cmd("human-monitor-command", **{"command-line":
                                                    "info qtree"})
        qmp.cmd("quit")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dts = subprocess.run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb],
                         check=True, capture_output=True, text=True).stdout
    dts = [ln for ln in dts.splitlines() if "rng-seed" not in ln]

    vmstate_file = os.path.join(workdir, "%s-%s.vmstate" % (tag, machine))
    subprocess.run([binary, "-M", machine, "-display", "none",
                    "-dump-vmstate", vmstate_file], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(vmstate_file) as f:
        vmstate = json.load(f)
    return {"device tree": dts, "QOM tree": qom,
            "info qtree": qtree.splitlines(), "vmstate": vmstate}


def compare(machine, old, new):
    failures = 0
    for what in ("device tree", "QOM tree", "info qtree"):
        a, b = old[what], new[what]
        if a == b:
            print("  %-12s identical (%d lines)" % (what, len(a)))
            continue
        failures += 1
        print("  %-12s DIFFERS:" % what)
        for ln in list(difflib.unified_diff(a, b, "pristine", "patched",
                                            lineterm=""))[:40]:
            print("    " + ln)
    a, b = old["vmstate"], new["vmstate"]
    added = sorted(set(b) - set(a))
    common = sorted(set(a) & set(b))
    removed = sorted(set(a) - set(b))
    changed = [k for k in common if a[k] != b[k]]
    if removed or changed:
        failures += 1
        print("  %-12s DIFFERS: removed %s, changed %s" %
              ("vmstate", removed, changed))
        for k in changed[:3]:
            for ln in list(difflib.unified_diff(
                    json.dumps(a[k], indent=1, sort_keys=True).splitlines(),
                    json.dumps(b[k], indent=1, sort_keys=True).splitlines(),
                    "pristine", "patched", lineterm=""))[:30]:
                print("    " + ln)
    else:
        print("  %-12s identical for all %d device types of the pristine "
              "binary (new in the patched one: %s)" %
              ("vmstate", len(common), ", ".join(added) or "none"))
    return failures


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    pristine, patched, workdir = sys.argv[1:]
    os.makedirs(workdir, exist_ok=True)
    failures = 0
    for machine in MACHINES:
        print("%s:" % machine)
        old = snapshot(pristine, machine, workdir, "pristine")
        new = snapshot(patched, machine, workdir, "patched")
        failures += compare(machine, old, new)
    # The fixes: only what they fix differs
    for fix, devices, under, qtree_ok in FIX_CASES:
        print("fix \"%s\", pseries-10.2:" % fix)
        old = snapshot(pristine, "pseries-10.2", workdir, "fix-pristine",
                       DEVICES + devices)
        new = snapshot(patched, "pseries-10.2", workdir, "fix-patched",
                       DEVICES + devices)
        a = ["%s %s" % pl for pl in dts_paths(old["device tree"])]
        b = ["%s %s" % pl for pl in dts_paths(new["device tree"])]
        diff = [d for d in difflib.unified_diff(a, b, n=0, lineterm="")
                if d[:1] in "+-" and d[:3] not in ("---", "+++")]
        outside = [d for d in diff if not d[1:].startswith(tuple(under))]
        if not diff or outside:
            failures += 1
            print("  FAIL: the device tree must differ below %s only; %s" %
                  (" ".join(under), "it is identical" if not diff else
                   "also: %s" % outside[:5]))
        else:
            print("  device tree: %d lines differ, all below %s, as the fix "
                  "means" % (len(diff), " ".join(under)))
            for d in diff[:12]:
                print("    " + d)
        qdiff = [d for d in difflib.unified_diff(old["info qtree"],
                                                 new["info qtree"], n=0,
                                                 lineterm="")
                 if d[:1] in "+-" and d[:3] not in ("---", "+++")]
        other = [d for d in qdiff if not qtree_ok.match(d)]
        if other:
            failures += 1
            print("  FAIL: info qtree differs beyond bus numbers: %s" %
                  other[:5])
        else:
            print("  info qtree: %d lines differ, bus numbers only" %
                  len(qdiff))
        old["device tree"] = new["device tree"] = []
        old["info qtree"] = new["info qtree"] = []
        failures += compare("pseries-10.2", old, new)
    # The comparison must be able to see a difference: the same checks on
    # pseries-pcie against pseries-10.2 of the patched binary must differ.
    print("self-check: pseries-pcie-10.2 vs pseries-10.2 (patched binary):")
    legacy = snapshot(patched, "pseries-10.2", workdir, "selfcheck")
    DEVICES[DEVICES.index("spapr-pci-host-bridge,index=1,id=phb1")] = \
        "spapr-pcie-host-bridge,index=1,id=phb1"
    pcie = snapshot(patched, "pseries-pcie-10.2", workdir, "selfcheck")
    if pcie["device tree"] == legacy["device tree"] or \
       pcie["QOM tree"] == legacy["QOM tree"]:
        print("  FAIL: the comparison does not see the PCIe root bus")
        failures += 1
    else:
        print("  differs, as it must")
    print("legacy comparison: %s" % ("FAILED" if failures else "identical"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
