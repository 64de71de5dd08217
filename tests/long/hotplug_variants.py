#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Native hotplug below ports, the variants the e2e tests do not use
(long mode), on one guest kernel.

usage: hotplug_variants.py QEMU GUEST_DIR TOPO_SCRIPT WORKDIR

A live guest (guest.mode=serve, SLOF) with the demo topology (its NVMe
replaced by virtio-blk: QEMU cannot migrate NVMe) plus two empty root
ports in one multifunction slot (00:09.0 and 00:09.1):
  1. a virtio-blk disk hot-added into the root port at function 1 of the
     multifunction slot: bound, its disk read back, removed;
  2. after system_reset: an NVMe disk hot-added into the empty root port
     rp4: bound with MSI-X, read back, removed;
  3. after a live migration to a new QEMU process: a virtio-net device
     hot-added into rp4: bound with MSI-X, removed;
  4. VOF with INTx only (pci=nomsi): a virtio-net device hot-added into
     rp4, bound without MSI-X; device_del must either complete or leave
     exactly Linux's own deadlock (6.1, 6.12 and 7.2 have it; see below):
     pciehp's IRQ thread blocked in synchronize_irq(), nothing else.
Each of 1.-3. also needs DEVICE_DELETED and a healthy guest kernel (no Oops,
BUG, WARNING, panic, hung task).
"""

import hashlib
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from live_guest import LiveGuest, demo_topology      # noqa: E402

FAILURES = []
MF_PORTS = ["-device", "pcie-root-port,id=mfa,chassis=5,slot=1,addr=9.0,"
            "multifunction=on",
            "-device", "pcie-root-port,id=mfb,chassis=5,slot=2,addr=9.1"]


def check(cond, what):
    print("%s: %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def plug_cycle(g, what, bdf, driver, add, dev_id, disk=None, msix=True):
    """ADD() a device, wait until BDF has DRIVER (and MSI-X on or off),
    read DISK back if given, device_del DEV_ID; the guest must let it go."""
    before = set(g.fns())
    add()
    g.wait_drivers(lambda f: f.get(bdf) == driver)
    got = g.fns().get(bdf)
    check(got is not None and got[3] == driver and got[1] == "4096" and
          msix_of(g, bdf) is msix,
          "%s: %s bound to %s, MSI-X %s (%s)" %
          (what, bdf, driver, "on" if msix else "off", got))
    if disk:
        deadline = time.time() + 30
        sums = {}
        while time.time() < deadline:
            sums = g.disks()
            if sha(disk) in sums.values():
                break
            time.sleep(1)
        check(sha(disk) in sums.values(),
              "%s: the hot-added disk reads back (%s)" % (what, sums))
    g.qmp.cmd("device_del", id=dev_id)
    ev = g.qmp.wait_event("DEVICE_DELETED",
                          lambda d: d.get("device") == dev_id, 60)
    check(ev is not None, "%s: DEVICE_DELETED for %s" % (what, dev_id))
    fns = g.wait_drivers(lambda f: bdf not in f, 30)
    check(set(fns) == before, "%s: the guest let %s go" % (what, bdf))
    bad = g.health_problems()
    check(not bad, "%s: guest kernel healthy %s" % (what, bad))


def msix_of(g, bdf):
    for ln in g.command("fn", timeout=60, arg=bdf):
        if ln.startswith("@@ fn %s " % bdf):
            return "msix=yes" in ln
    return None


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    qemu, guest_dir, topo, workdir = sys.argv[1:]
    os.makedirs(workdir, exist_ok=True)
    kver = open(os.path.join(guest_dir, "kernel-version")).read().strip()
    disks = {}
    for d in ("disk-a", "disk-b", "disk-c"):
        disks[d] = os.path.join(workdir, d + ".img")
        shutil.copyfile(os.path.join(guest_dir, d + ".img"), disks[d])
    args = demo_topology(topo, "pseries-pcie", guest_dir)
    args = [a.replace(os.path.join(guest_dir, "disk-a.img"), disks["disk-a"])
             .replace(os.path.join(guest_dir, "disk-b.img"), disks["disk-b"])
            for a in args] + MF_PORTS
    # QEMU cannot migrate NVMe (step 3): virtio-blk in its place, as in
    # tests/migration.py
    args = [a.replace("nvme,serial=nvme0,", "virtio-blk-pci,")
            if a.startswith("nvme,") else a for a in args]
    tag = "[%s] " % kver
    try:
        g = LiveGuest(qemu, guest_dir, workdir, "variants", args)
        g.wait_serving()

        def add_blk():
            g.qmp.cmd("blockdev-add", driver="raw", **{"node-name": "c1"},
                      file={"driver": "file", "filename": disks["disk-c"]})
            g.qmp.cmd("device_add", driver="virtio-blk-pci", id="v1",
                      bus="mfb", drive="c1")
        # rp4 (00:06.0) has bus 7, mfa (00:09.0) 8, mfb (00:09.1) 9
        plug_cycle(g, tag + "1. virtio-blk into the root port at 00:09.1",
                   "0000:09:00.0", "virtio-pci", add_blk, "v1",
                   disk=disks["disk-c"])
        g.qmp.cmd("blockdev-del", **{"node-name": "c1"})

        g.qmp.cmd("system_reset")
        g.wait_line("@@ serving", 240, start=len(g.text))

        def add_nvme():
            g.qmp.cmd("blockdev-add", driver="raw", **{"node-name": "c2"},
                      file={"driver": "file", "filename": disks["disk-c"]})
            g.qmp.cmd("device_add", driver="nvme", id="n2", bus="rp4",
                      drive="c2", serial="hp2")
        what = tag + "2. NVMe into rp4 after system_reset"
        plug_cycle(g, what, "0000:07:00.0", "nvme", add_nvme, "n2",
                   disk=disks["disk-c"])
        g.qmp.cmd("blockdev-del", **{"node-name": "c2"})

        uri = "unix:" + os.path.join(workdir, "mig.sock")
        dst = LiveGuest(qemu, guest_dir, workdir, "variants-dst", args,
                        incoming=uri)
        g.qmp.cmd("migrate", uri=uri)
        deadline = time.time() + 120
        while g.qmp.cmd("query-migrate").get("status") not in (
                "completed", "failed") and time.time() < deadline:
            time.sleep(0.2)
        dst.wait_status("running")
        g.stop()
        g = dst

        def add_net():
            g.qmp.cmd("device_add", driver="virtio-net-pci", id="e3",
                      bus="rp4")
        what = tag + "3. virtio-net into rp4 after a migration"
        before = set(g.fns())
        add_net()
        fns = g.wait_drivers(lambda f: f.get("0000:07:00.0") == "virtio-pci")
        check(fns.get("0000:07:00.0") == "virtio-pci" and
              msix_of(g, "0000:07:00.0"),
              "%s: bound with MSI-X" % what)
        g.qmp.cmd("device_del", id="e3")
        check(g.qmp.wait_event("DEVICE_DELETED",
                               lambda d: d.get("device") == "e3", 60)
              is not None, "%s: DEVICE_DELETED" % what)
        check(set(g.wait_drivers(lambda f: "0000:07:00.0" not in f, 30)) ==
              before, "%s: the guest let it go" % what)
        bad = g.health_problems()
        check(not bad, "%s: guest kernel healthy %s" % (what, bad))
        g.stop()

        g = LiveGuest(qemu, guest_dir, workdir, "variants-vof-intx",
                      [a.replace("pseries-pcie", "pseries-pcie,x-vof=on")
                       if a == "pseries-pcie" else a for a in args],
                      append_extra="pci=nomsi")
        g.wait_serving()
        what = tag + "4. VOF, INTx: virtio-net into rp4"
        before = set(g.fns())
        g.qmp.cmd("device_add", driver="virtio-net-pci", id="e4", bus="rp4")
        fns = g.wait_drivers(lambda f: f.get("0000:07:00.0") == "virtio-pci")
        check(fns.get("0000:07:00.0") == "virtio-pci" and
              msix_of(g, "0000:07:00.0") is False,
              "%s: bound without MSI-X" % what)
        # With pci=nomsi pciehp runs on the port's INTx line, which the
        # device in its slot shares (the swizzle of slot 0 behind a port is
        # the port's slot, on any PCI Express machine).  The removal runs
        # in pciehp's IRQ thread, and the driver's remove (virtio's reset:
        # vp_synchronize_vectors) waits in synchronize_irq() for the
        # threads of that interrupt, pciehp's own included.  q35 with
        # "pci=nomsi pcie_ports=native" hangs the same way.
        g.qmp.cmd("device_del", id="e4")
        ev = g.qmp.wait_event("DEVICE_DELETED",
                              lambda d: d.get("device") == "e4", 60)
        left = set(g.wait_drivers(lambda f: "0000:07:00.0" not in f, 5))
        blocked = g.blocked()
        if ev is not None and left == before:
            check(not blocked, "%s: device_del completes, nothing blocked "
                  "(%s)" % (what, blocked))
        else:
            pciehp = {t: fs for t, fs in blocked.items()
                      if t.startswith("irq/") and t.endswith("-pciehp")}
            stack = list(pciehp.values())[0] if len(pciehp) == 1 else []
            known = (len(blocked) == 1 and "pciehp_ist" in stack and
                     any(f in stack for f in ("synchronize_irq",
                                              "__synchronize_irq")))
            check(known, "%s: device_del does not complete, only Linux's "
                  "known deadlock (pciehp's IRQ thread in synchronize_irq) "
                  "is blocked (%s)" % (what, blocked))
            print("RECORD: %s: the guest does not finish removing it "
                  "(Linux deadlock, see docs)" % what, flush=True)
        g.stop()
    except Exception as e:
        check(False, "%s%s: %s" % (tag, type(e).__name__, e))
    finally:
        LiveGuest.stop_all()
    print("hotplug variants on %s: %s" %
          (kver, "%d FAILED" % len(FAILURES) if FAILURES else "all passed"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
