#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Live migration of running guests (issue 5, items 1 and 2).

usage: migration.py QEMU UPSTREAM_QEMU GUEST_DIR TOPO_SCRIPT WORKDIR ROUND_TRIPS

1. pseries-pcie-10.2 with the demo topology (scripts/topology.sh, its NVMe
   replaced by a virtio-blk-pci since QEMU cannot migrate NVMe) and a
   virtio-net-pci hot-plugged into the empty root port rp4: ROUND_TRIPS
   round trips between two QEMU processes over a UNIX socket, then a save
   to a file and a restore in a fresh process.  After every migration the
   guest must be running, see the same PCI functions (ids, config sizes,
   port types, drivers), read the same disk contents and get a DHCP lease
   on virtio-net.
2. pseries-10.2 (legacy) from the unpatched QEMU to the patched one and
   back, with the same checks.
Migration times and counts are printed; nothing is timed.
"""

import os
import sys
import time

from live_guest import LiveGuest, GuestError, demo_topology

FAILURES = []
MIGRATIONS = 0


def check(cond, what):
    print("%s: %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        FAILURES.append(what)
    return cond


def topology(script, machine, guest_dir):
    """The demo topology, with its NVMe replaced by a virtio-blk-pci at the
    same place (below the switch, or on pci.0): QEMU's nvme device blocks
    migration ("State blocked by non-migratable device")."""
    args = demo_topology(script, machine, guest_dir)
    return [a.replace("nvme,serial=nvme0,", "virtio-blk-pci,")
            if a.startswith("nvme,") else a for a in args]


def snapshot(g):
    """What the guest sees: functions, disk contents, a DHCP lease."""
    return g.fns(), g.disks(), bool(g.dhcp())


def verify(g, ref, what):
    fns, disks, lease = snapshot(g)
    ok = check(fns == ref[0], "%s: the guest sees the same %d PCI functions" %
               (what, len(ref[0])))
    if not ok:
        for bdf in sorted(set(fns) | set(ref[0])):
            if fns.get(bdf) != ref[0].get(bdf):
                print("   %s: before %s, now %s" %
                      (bdf, ref[0].get(bdf), fns.get(bdf)))
    check(disks == ref[1] and len(disks) >= 1,
          "%s: disk contents read back (%s)" % (what, ", ".join(sorted(disks))))
    check(lease, "%s: DHCP lease on virtio-net" % what)
    bad = g.health_problems()
    check(not bad, "%s: guest kernel healthy%s" %
          (what, " (%s)" % "; ".join(bad) if bad else ""))


def migrate(src, qemu, guest_dir, workdir, name, args, uri):
    """Start NAME with -incoming URI, migrate SRC to it; return it."""
    global MIGRATIONS
    dst = LiveGuest(qemu, guest_dir, workdir, name, args, incoming=uri)
    t0 = time.time()
    src.qmp.cmd("migrate", uri=uri)
    wait_migration(src, "%s -> %s: live migration over %s" %
                   (src.name, name, uri.split(":")[0]))
    dst.wait_status("running")
    MIGRATIONS += 1
    print("   migrated in %.1fs (%s)" % (time.time() - t0, uri), flush=True)
    rc = src.stop()
    check(rc == 0, "%s: source QEMU exited cleanly after migration (%s)" %
          (src.name, rc))
    return dst


def wait_migration(g, what):
    deadline = time.time() + 120
    while True:
        st = g.qmp.cmd("query-migrate").get("status")
        if st in ("completed", "failed", "cancelled") or time.time() > deadline:
            break
        time.sleep(0.1)
    if not check(st == "completed", "%s (status %s)" % (what, st)):
        raise GuestError("%s failed: %s" % (what, g.stderr()))


def save_restore(src, qemu, guest_dir, workdir, name, args, state):
    """Save SRC's state to the file STATE, quit it, restore in NAME."""
    global MIGRATIONS
    if os.path.exists(state):
        os.unlink(state)
    t0 = time.time()
    src.qmp.cmd("migrate", uri="file:" + state)
    wait_migration(src, "%s: state saved to a file" % src.name)
    print("   saved in %.1fs, %d bytes" % (time.time() - t0,
                                          os.path.getsize(state)))
    check(src.stop() == 0, "%s: QEMU exited cleanly after the save" %
          src.name)
    dst = LiveGuest(qemu, guest_dir, workdir, name, args,
                    incoming="file:" + state)
    dst.wait_status("running")
    MIGRATIONS += 1
    return dst


def pcie_family(qemu, guest_dir, topo_script, workdir, round_trips):
    args = topology(topo_script, "pseries-pcie-10.2", guest_dir)
    args += ["-netdev", "user,id=n2"]
    g = LiveGuest(qemu, guest_dir, workdir, "mig-pcie-0", args)
    print("   booted in %.1fs" % g.wait_serving(), flush=True)
    # Hot-plug a NIC into the empty root port; the destinations get it on
    # their command line, as management software does.
    g.qmp.cmd("device_add", driver="virtio-net-pci", id="hp1", bus="rp4",
              netdev="n2")
    deadline = time.time() + 60
    while time.time() < deadline:
        fns = g.fns()
        if any(f[0] == "0x1af4:0x1041" and f[3] == "virtio-pci"
               for b, f in fns.items() if b.startswith("0000:07:")):
            break
        time.sleep(1)
    check(any(f[0] == "0x1af4:0x1041" and f[3] == "virtio-pci"
              for b, f in fns.items() if b.startswith("0000:07:")),
          "pseries-pcie: the guest brought up the NIC hot-plugged into rp4, "
          "virtio-pci bound")
    args_hp = args + ["-device", "virtio-net-pci,id=hp1,bus=rp4,netdev=n2"]
    ref = snapshot(g)
    check(ref[2], "pseries-pcie: DHCP lease before migration")
    sock = os.path.join(workdir, "mig.sock")
    n = 0
    for trip in range(round_trips):
        for leg in ("there", "back"):
            n += 1
            if os.path.exists(sock):
                os.unlink(sock)
            g = migrate(g, qemu, guest_dir, workdir, "mig-pcie-%d" % n,
                        args_hp, "unix:" + sock)
            verify(g, ref, "pseries-pcie round trip %d %s" % (trip + 1, leg))
    # Save to a file, restore in a fresh process
    state = os.path.join(workdir, "pseries-pcie.state")
    if os.path.exists(state):
        os.unlink(state)
    g = save_restore(g, qemu, guest_dir, workdir, "mig-pcie-restored",
                     args_hp, state)
    verify(g, ref, "pseries-pcie restored from a file")
    g.stop()


def legacy(qemu, upstream, guest_dir, topo_script, workdir):
    args = topology(topo_script, "pseries-10.2", guest_dir)
    g = LiveGuest(upstream, guest_dir, workdir, "mig-legacy-0", args)
    print("   booted (unpatched QEMU) in %.1fs" % g.wait_serving(), flush=True)
    ref = snapshot(g)
    check(ref[2], "pseries-10.2: DHCP lease before migration")
    sock = os.path.join(workdir, "mig-legacy.sock")
    for n, (binary, what) in enumerate(((qemu, "unpatched -> patched"),
                                        (upstream, "patched -> unpatched")),
                                       1):
        if os.path.exists(sock):
            os.unlink(sock)
        g = migrate(g, binary, guest_dir, workdir, "mig-legacy-%d" % n, args,
                    "unix:" + sock)
        verify(g, ref, "pseries-10.2 %s" % what)
    g.stop()


def main():
    qemu, upstream, guest_dir, topo_script, workdir = sys.argv[1:6]
    round_trips = int(sys.argv[6])
    os.makedirs(workdir, exist_ok=True)
    t0 = time.time()
    try:
        pcie_family(qemu, guest_dir, topo_script, workdir, round_trips)
        legacy(qemu, upstream, guest_dir, topo_script, workdir)
    except GuestError as e:
        check(False, str(e))
    finally:
        LiveGuest.stop_all()
    print("%d migrations, %.0fs" % (MIGRATIONS, time.time() - t0))
    if FAILURES:
        print("FAILED: %d checks" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
