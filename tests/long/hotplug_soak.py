#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hotplug soak (issue 5, item 6; long mode).

usage: hotplug_soak.py QEMU GUEST_DIR TOPO_SCRIPT WORKDIR CYCLES

A running pseries-pcie guest with the demo topology and four more empty
root ports.  CYCLES device_add/device_del cycles, four at a time (one per
port), alternating virtio-net-pci and virtio-rng-pci: after each
device_add the guest's pciehp must bring every new function up with
virtio-pci bound; after each device_del QEMU must emit DEVICE_DELETED and
the guest must have let the function go.  At the end: QEMU's RSS has not
grown by more than 10% (and 24 MiB) since the first batches, the guest
still sees exactly the functions it saw at boot, and the QOM tree has the
same peripherals and the same number of DR connectors as before.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from live_guest import LiveGuest, GuestError, demo_topology  # noqa: E402

PORTS = ["soak%d" % i for i in range(4)]
EXTRA = []
for i, p in enumerate(PORTS):
    EXTRA += ["-device", "pcie-root-port,id=%s,chassis=4,slot=%d,addr=%d.0" %
              (p, i + 1, 0x10 + i)]


def count_types(qmp, path, prefix):
    """Objects below PATH whose type starts with PREFIX (QOM children)."""
    n = 0
    for p in qmp.cmd("qom-list", path=path):
        if not p["type"].startswith("child<"):
            continue
        t = p["type"][6:-1]
        if t.startswith(prefix):
            n += 1
        n += count_types(qmp, path.rstrip("/") + "/" + p["name"], prefix)
    return n


def main():
    qemu, guest_dir, topo_script, workdir, cycles = sys.argv[1:6]
    cycles = int(cycles)
    os.makedirs(workdir, exist_ok=True)
    args = demo_topology(topo_script, "pseries-pcie", guest_dir) + EXTRA
    failures = []
    done = 0
    t0 = time.time()
    try:
        g = LiveGuest(qemu, guest_dir, workdir, "soak", args)
        g.wait_serving()
        fns0 = g.fns()
        drv0 = g.drivers()
        periph0 = sorted(p["name"] for p in
                         g.qmp.cmd("qom-list", path="/machine/peripheral"))
        drcs0 = count_types(g.qmp, "/machine", "spapr-drc")
        print("boot: %d PCI functions, %d DR connectors, RSS %d MiB" %
              (len(fns0), drcs0, g.rss_kib() // 1024), flush=True)
        rss = []
        batch = 0
        while done < cycles:
            batch += 1
            n = min(len(PORTS), cycles - done)
            driver = "virtio-net-pci" if batch % 2 else "virtio-rng-pci"
            ids = ["hp%d-%d" % (batch, i) for i in range(n)]
            for i, dev in enumerate(ids):
                g.qmp.cmd("device_add", driver=driver, id=dev, bus=PORTS[i])

            def added(drv):
                new = [d for b, d in drv.items() if b not in drv0]
                return len(new) == n and all(d == "virtio-pci" for d in new)
            t_add = time.time()
            if not added(g.wait_drivers(added)):
                failures.append("batch %d: the guest did not bring up %d %s" %
                                (batch, n, driver))
                break
            t_del = time.time()
            for dev in ids:
                g.qmp.cmd("device_del", id=dev)
            for dev in ids:
                if not g.qmp.wait_event("DEVICE_DELETED",
                                        lambda d: d.get("device") == dev,
                                        timeout=60):
                    failures.append("batch %d: no DEVICE_DELETED for %s" %
                                    (batch, dev))
            if failures:
                break
            drv = g.wait_drivers(lambda d: d == drv0)
            if drv != drv0:
                failures.append("batch %d: the guest still sees %s" %
                                (batch, sorted(set(drv) - set(drv0))))
                break
            if batch == 1:
                print("batch 1: add %.1fs, delete %.1fs" %
                      (t_del - t_add, time.time() - t_del), flush=True)
            done += n
            rss.append(g.rss_kib())
            if batch % 10 == 0:
                print("%d cycles, %.0fs, RSS %d MiB" %
                      (done, time.time() - t0, rss[-1] // 1024), flush=True)
        print("%d device_add/device_del cycles in %.0fs" %
              (done, time.time() - t0))
        if len(rss) > 5:
            warm, last = rss[4], rss[-1]
            print("RSS after batch 5: %d KiB, at the end: %d KiB (%+d KiB), "
                  "max %d KiB" % (warm, last, last - warm, max(rss)))
            if last - warm > max(warm // 10, 24 * 1024):
                failures.append("RSS grew from %d to %d KiB" % (warm, last))
        periph = sorted(p["name"] for p in
                        g.qmp.cmd("qom-list", path="/machine/peripheral"))
        drcs = count_types(g.qmp, "/machine", "spapr-drc")
        if periph != periph0:
            failures.append("peripherals left over: %s" %
                            sorted(set(periph) - set(periph0)))
        if drcs != drcs0:
            failures.append("DR connectors: %d at boot, %d now" %
                            (drcs0, drcs))
        if g.fns() != fns0:
            failures.append("the guest's functions changed")
        bad = g.health_problems()
        if bad:
            failures.append("guest kernel: %s" % "; ".join(bad))
        print("end: %d peripherals, %d DR connectors, guest answers" %
              (len(periph), drcs))
        if g.stop() != 0:
            failures.append("QEMU did not quit cleanly")
    except GuestError as e:
        failures.append(str(e))
    finally:
        LiveGuest.stop_all()
    for f in failures:
        print("FAIL: " + f)
    if not failures and done < cycles:
        print("FAIL: only %d of %d cycles" % (done, cycles))
        return 1
    print("hotplug soak: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
