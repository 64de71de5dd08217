#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests: a real Debian ppc64el guest on the patched QEMU.

usage: e2e_guest.py QEMU TOPOLOGY_ARGS_SCRIPT WORKDIR KERNEL=GUEST_DIR...

Boots the demo topology (scripts/topology.sh), plus a second switch whose
downstream port is empty, on each guest kernel given (scripts/guest.sh:
bookworm 6.1, trixie 6.12, the newest sid), and asserts what the guest
reports (scripts/guest-init.sh, lines starting with "@@"):
  1. pseries-pcie, SLOF: the exact PCI topology (bus numbers, port types
     from the PCIe capability, 4096-byte config space for PCIe functions,
     AER, bound drivers), disk contents through virtio-blk behind a root
     port and NVMe behind a switch, a DHCP lease on virtio-net, and native
     hotplug (a) of a two-function device into the empty root port
     (device_add of function 1, then 0: pciehp brings both up with their
     driver and MSI-X; device_del: the guest releases both,
     DEVICE_DELETED), then (b) of an NVMe disk into the empty switch
     downstream port (bound with MSI-X, its disk read back, removed);
  2. pseries-pcie, VOF: the same topology, disks, the hotplugs of 1.;
  3. pseries-pcie with INTx only (pci=nomsi), SLOF and VOF, plus an e1000
     behind a root port: every function without MSI-X, disks read back,
     a DHCP lease on each of the three NICs (virtio-net behind a root port,
     the e1000s, which need their I/O BAR, behind the PCIe-to-PCI bridge
     and behind a root port), and the hot-add of 1. with INTx (no unplug:
     see hotplug());
  4. pseries (legacy), SLOF: the same endpoints on pci.0, drivers, disks.
Every run also checks that the guest ran the kernel it was given, and fails on a guest kernel Oops, BUG, WARNING, panic, hung
task or bad access (the guest greps its whole kernel log: "@@ health"),
and on a module that failed to load.
Every line names the run and the kernel, e.g. "pcie-slof[6.12.113]".
Guests run two at a time; each run's lines are printed together.
Failures print the guest console. Boot times are printed, not asserted.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from qmp_client import QMP

FAILURES = []
# Lines of the run of this thread, printed together when it ends
_OUT = threading.local()

# bdf: (vendor:device, config size, port type, driver, AER)
PCIE_TOPOLOGY = {
    "0000:00:01.0": ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes"),
    "0000:00:02.0": ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes"),
    "0000:00:03.0": ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes"),
    "0000:00:04.0": ("0x1b36:0x000e", 4096,
                     "PCI-Express to PCI/PCI-X Bridge", "-", "yes"),
    "0000:00:05.0": ("0x1af4:0x1005", 256, "conventional", "virtio-pci",
                     "no"),
    "0000:00:06.0": ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes"),
    "0000:01:00.0": ("0x1af4:0x1041", 4096, "Endpoint", "virtio-pci", "no"),
    "0000:02:00.0": ("0x1af4:0x1042", 4096, "Endpoint", "virtio-pci", "no"),
    "0000:03:00.0": ("0x104c:0x8232", 4096, "Upstream Port", "pcieport",
                     "yes"),
    "0000:04:00.0": ("0x104c:0x8233", 4096, "Downstream Port", "pcieport",
                     "yes"),
    "0000:05:00.0": ("0x1b36:0x0010", 4096, "Endpoint", "nvme", "no"),
    "0000:06:01.0": ("0x8086:0x100e", 256, "conventional", "e1000", "no"),
}

# Legacy pseries as the guest sees it today: conventional virtio on pci.0,
# the NVMe an express endpoint with 4 KiB config space (the legacy PHB
# allows extended config space), the e1000 behind a pci-bridge.
LEGACY_TOPOLOGY = {
    "0000:00:01.0": ("0x1af4:0x1000", 256, "conventional", "virtio-pci", "no"),
    "0000:00:02.0": ("0x1af4:0x1001", 256, "conventional", "virtio-pci", "no"),
    "0000:00:03.0": ("0x1b36:0x0010", 4096, "Endpoint", "nvme", "no"),
    "0000:00:04.0": ("0x1b36:0x0001", 256, "conventional", "-", "no"),
    "0000:00:05.0": ("0x1af4:0x1005", 256, "conventional", "virtio-pci", "no"),
    "0000:01:01.0": ("0x8086:0x100e", 256, "conventional", "e1000", "no"),
}

# Legacy pseries: the same endpoints on pci.0 (transitional virtio IDs),
# the e1000 behind a pci-bridge.
LEGACY_ENDPOINTS = {
    ("0x1af4:0x1000", "virtio-pci"), ("0x1af4:0x1001", "virtio-pci"),
    ("0x1b36:0x0010", "nvme"), ("0x8086:0x100e", "e1000"),
    ("0x1af4:0x1005", "virtio-pci"),
}


def say(text):
    buf = getattr(_OUT, "buf", None)
    if buf is None:
        print(text)
    else:
        buf.append(text)


def check(cond, what):
    say("  %s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        FAILURES.append(what)
    return cond


# An INTx-only variant of the demo topology also has an e1000 (I/O BAR)
# behind a root port; the empty root port stays at bus 7.
INTX_EXTRA_ARGS = ["-netdev", "user,id=n2",
                   "-device", "pcie-root-port,id=rp5,chassis=1,slot=5,addr=7.0",
                   "-device", "e1000,netdev=n2,bus=rp5"]
INTX_TOPOLOGY = dict(PCIE_TOPOLOGY)
INTX_TOPOLOGY.update({
    "0000:00:07.0": ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes"),
    "0000:08:00.0": ("0x8086:0x100e", 256, "conventional", "e1000", "no"),
})

# Every pseries-pcie run also has a second switch behind a root port at 8.0
# whose downstream port is empty, for hot-adding below a switch.
SWITCH_EXTRA_ARGS = ["-device", "pcie-root-port,id=rp6,chassis=1,slot=6,addr=8.0",
                     "-device", "x3130-upstream,id=up2,bus=rp6",
                     "-device", "xio3130-downstream,id=dn2,bus=up2,chassis=3,"
                     "slot=1"]


def with_switch(topology, first_bus):
    """TOPOLOGY plus the second switch, whose buses start at FIRST_BUS."""
    t = dict(topology)
    t["0000:00:08.0"] = ("0x1b36:0x000c", 4096, "Root Port", "pcieport", "yes")
    t["0000:%02x:00.0" % first_bus] = ("0x104c:0x8232", 4096, "Upstream Port",
                                       "pcieport", "yes")
    t["0000:%02x:00.0" % (first_bus + 1)] = ("0x104c:0x8233", 4096,
                                             "Downstream Port", "pcieport",
                                             "yes")
    return t


# What the guest kernel must never print (it prints at most errors to the
# console; "@@ health" covers the whole log)
CONSOLE_BAD = re.compile(r"Kernel panic|Oops:|BUG:|WARNING: CPU|Call Trace:|"
                         r"blocked for more than|nobody cared|"
                         r"Unable to handle kernel")


def parse_fn(line):
    # "@@ fn BDF id=V:D class=C config=N type="T" driver=D aer=A msix=M"
    head, rest = line.split(" id=", 1)
    bdf = head.split()[-1]
    fields = {}
    fields["id"] = rest.split()[0]
    fields["config"] = int(rest.split("config=")[1].split()[0])
    fields["type"] = rest.split('type="')[1].split('"')[0]
    fields["driver"] = rest.split("driver=")[1].split()[0]
    fields["aer"] = rest.split("aer=")[1].split()[0]
    fields["msix"] = rest.split("msix=")[1].split()[0]
    return bdf, fields


def short_version(guest_dir):
    """The kernel's upstream version, from the Debian package version in
    GUEST_DIR/kernel-package ("linux-image-... 6.1.192-3" -> "6.1.192"),
    else from its release ("6.12.113+deb13-powerpc64le" -> "6.12.113")."""
    try:
        with open(os.path.join(guest_dir, "kernel-package")) as f:
            return re.split(r"[-+~]", f.read().split()[1])[0]
    except (OSError, IndexError):
        with open(os.path.join(guest_dir, "kernel-version")) as f:
            return re.split(r"[-+]", f.read().strip())[0]


class Kernel:
    """A guest made by scripts/guest.sh: its directory and kernel."""

    def __init__(self, series, guest_dir):
        self.series, self.dir = series, guest_dir
        with open(os.path.join(guest_dir, "kernel-version")) as f:
            self.version = f.read().strip()
        self.short = short_version(guest_dir)


class Guest:
    def __init__(self, ctx, name, machine, checks, extra_args=(), append=""):
        qemu, kernel, topo_script, workdir = ctx
        guest = kernel.dir
        self.kernel = kernel
        self.name = "%s[%s]" % (name, kernel.short)
        fid = "%s-%s" % (name, kernel.series)
        self.log = os.path.join(workdir, fid + ".console.log")
        self.qmp_path = os.path.join(workdir, fid + ".qmp")
        for f in (self.log, self.qmp_path):
            if os.path.exists(f):
                os.unlink(f)
        # Own copies of the disks: guests run side by side, and QEMU locks
        # the images it opens
        self.disk = {}
        for d in ("disk-a", "disk-b", "disk-c"):
            self.disk[d] = os.path.join(workdir, "%s-%s.img" % (fid, d))
            shutil.copyfile(os.path.join(guest, d + ".img"), self.disk[d])
        args = subprocess.run(
            ["bash", topo_script, machine, self.disk["disk-a"],
             self.disk["disk-b"]],
            check=True, capture_output=True, text=True).stdout.split("\0")
        args = [a for a in args if a] + list(extra_args)
        cmd = [qemu] + args + [
            "-display", "none", "-monitor", "none",
            "-serial", "file:" + self.log,
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-kernel", os.path.join(guest, "vmlinux"),
            "-initrd", os.path.join(guest, "initramfs.gz"),
            "-append", "console=hvc0 quiet guest.mode=report guest.checks=" +
            ",".join(checks) + (" " + append if append else "")]
        self.t0 = time.time()
        self.seconds = 0.0
        # job() kills what its run left behind, whatever happened
        getattr(_OUT, "guests", []).append(self)
        self.err_path = os.path.join(workdir, fid + ".stderr")
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=err)
        try:
            self.qmp = QMP(self.qmp_path)
        except Exception as e:
            self.kill()
            with open(self.err_path) as f:
                raise RuntimeError("%s (QEMU: %s)" % (e, f.read().strip()))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def lines(self):
        try:
            with open(self.log, errors="replace") as f:
                text = f.read().replace("\r", "")
        except FileNotFoundError:
            return []
        # The first marker may follow a partial kernel line
        return [ln[ln.index("@@"):] for ln in text.split("\n") if "@@" in ln]

    def wait_line(self, prefix, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ln in self.lines():
                if ln.startswith(prefix):
                    return ln
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        return None

    def finish(self, timeout=240):
        done = self.wait_line("@@ done", timeout)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.seconds = time.time() - self.t0
        return done is not None

    def wait_nth(self, prefix, n, timeout=120):
        """The Nth line starting with PREFIX, or None after TIMEOUT."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [ln for ln in self.lines() if ln.startswith(prefix)]
            if len(found) >= n:
                return found[n - 1]
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        return None

    def functions(self):
        return dict(parse_fn(ln) for ln in self.lines()
                    if ln.startswith("@@ fn "))

    def console(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read().replace("\r", "")
        except FileNotFoundError:
            return ""

    def dump_console(self):
        say("---- guest console (%s) ----" % self.log)
        say("\n".join(self.console().split("\n")[-80:]))
        say("---- end of guest console ----")


def disk_sums(guest_dir):
    sums = {}
    for name in ("disk-a", "disk-b", "disk-c"):
        with open(os.path.join(guest_dir, name + ".img"), "rb") as f:
            sums[name] = hashlib.sha256(f.read()).hexdigest()
    return sums


def check_topology(g, expected):
    fns = g.functions()
    check(sorted(fns) == sorted(expected),
          "%s: the guest sees exactly the functions QEMU was given (%d)" %
          (g.name, len(expected)))
    for bdf, (vid, size, ptype, drv, aer) in sorted(expected.items()):
        f = fns.get(bdf)
        got = f and (f["id"], f["config"], f["type"], f["driver"], f["aer"])
        check(got == (vid, size, ptype, drv, aer),
              "%s: %s %s, %d-byte config, %s, driver %s, AER %s%s" %
              (g.name, bdf, vid, size, ptype, drv, aer,
               "" if got == (vid, size, ptype, drv, aer)
               else " (got %s)" % (got,)))


def check_disks(g, sums, names):
    got = {ln.split()[2]: ln.split()[3] for ln in g.lines()
           if ln.startswith("@@ disk ")}
    for dev, img in names.items():
        check(got.get(dev) == sums[img],
              "%s: /dev/%s reads back %s.img (sha256 %s...)" %
              (g.name, dev, img, sums[img][:12]))


def hotplug_round(g, n, plug, unplug_id, dev_ids, want, msix, unplug,
                  what):
    """Round N of the guest's check_hotplug: PLUG() the device, then check
    that the guest brings up exactly the functions WANT ({bdf: driver})
    with MSI-X on or off, and, if UNPLUG, that device_del of UNPLUG_ID
    makes it release them all and QEMU emit DEVICE_DELETED for DEV_IDS."""
    ready = g.wait_nth("@@ hotplug-ready", n, 240)
    if not check(ready is not None, "%s: guest booted and is ready for "
                 "hotplug %d" % (g.name, n)):
        return False
    plug()
    every = g.wait_nth("@@ hotplug-added-all", n, 60)
    check(every is not None and every.split()[2:] == sorted(want),
          "%s: %s: the guest finds %s (%s)" %
          (g.name, what, " ".join(b[5:] for b in sorted(want)),
           every or "nothing"))
    added = [ln for ln in g.lines() if ln.startswith("@@ hotplug-added ")]
    for bdf, drv in sorted(want.items()):
        ln = next((a for a in reversed(added) if a.split()[2] == bdf), None)
        check(ln is not None and "driver=%s" % drv in ln and
              'type="Endpoint"' in ln and "config=4096" in ln and
              ("msix=%s" % ("yes" if msix else "no")) in ln,
              "%s: pciehp brings up %s with %s bound, MSI-X %s (%s)" %
              (g.name, bdf, drv, "on" if msix else "off", ln or "nothing"))
    if not unplug:
        return True
    g.qmp.cmd("device_del", id=unplug_id)
    for bdf in sorted(want):
        removed = g.wait_nth("@@ hotplug-removed " + bdf, 1, 60)
        check(removed is not None,
              "%s: device_del: the guest releases %s" % (g.name, bdf))
    for dev in dev_ids:
        ev = g.qmp.wait_event("DEVICE_DELETED",
                              lambda d, dev=dev: d.get("device") == dev, 30)
        check(ev is not None, "%s: QEMU emits DEVICE_DELETED for %s" %
              (g.name, dev))
    return True


def hotplug(g, sums, switch_bus=None, msix=True, unplug=True,
            intx_bus=None, intx_bdf=None):
    """Native hotplug below ports, up to three rounds:
    1. a two-function virtio-net device into the empty root port rp4 (bus
       7): function 1 first, then function 0, as PCI Express wants;
    2. (if SWITCH_BUS) an NVMe disk (disk-c.img) into the empty downstream
       port dn2 of the second switch (bus SWITCH_BUS), its disk read back
       by the guest.
    3. (if INTX_BUS) a virtio-blk disk without MSI-X (vectors=0: INTx)
       into the empty port INTX_BUS, its disk (disk-c.img again) read back,
       removed: the device is on INTx while the port's pciehp is on MSI.
    With pci=nomsi (msix=False) pciehp itself is on the port's INTx line,
    which the hot-added device shares (the swizzle of slot 0 behind a port
    is the port's slot), and Linux (6.1, 6.12, 7.2; also on q35 with
    pcie_ports=native) deadlocks removing it: pciehp's IRQ thread runs the
    driver's remove, which waits in synchronize_irq() for the threads of
    that same interrupt, its own included.  Those runs (unplug=False) stop
    after each hot-add (tests/long/hotplug-variants.sh checks that this
    deadlock, and nothing else, is what blocks the removal)."""
    def plug_rp():
        g.qmp.cmd("device_add", driver="virtio-net-pci", id="hp1b",
                  bus="rp4", addr="0.1")
        g.qmp.cmd("device_add", driver="virtio-net-pci", id="hp1",
                  bus="rp4", addr="0.0", multifunction=True)

    if not hotplug_round(g, 1, plug_rp, "hp1", ("hp1", "hp1b"),
                         {"0000:07:00.0": "virtio-pci",
                          "0000:07:00.1": "virtio-pci"}, msix, unplug,
                         "device_add of a two-function device into the "
                         "empty root port"):
        return

    if switch_bus is None:
        return
    disk_c = g.disk["disk-c"]

    def plug_nvme():
        g.qmp.cmd("blockdev-add", driver="raw", **{"node-name": "hpdisk"},
                  file={"driver": "file", "filename": disk_c})
        g.qmp.cmd("device_add", driver="nvme", id="hp2", bus="dn2",
                  drive="hpdisk", serial="hp2")

    bdf = "0000:%02x:00.0" % switch_bus
    if not hotplug_round(g, 2, plug_nvme, "hp2", ("hp2",), {bdf: "nvme"},
                         msix, unplug, "device_add of an NVMe disk into the "
                         "empty switch downstream port"):
        return
    disk = [ln.split()[2:] for ln in g.lines()
            if ln.startswith("@@ hotplug-disk ")]
    check(len(disk) == 1 and disk[0][0].startswith("nvme") and
          disk[0][1] == sums["disk-c"],
          "%s: the hot-added NVMe disk reads back disk-c.img (%s)" %
          (g.name, disk))

    if intx_bus is None:
        return

    def plug_intx():
        # the node "hpdisk" outlives the NVMe device of round 2
        g.qmp.cmd("device_add", driver="virtio-blk-pci", id="hp3",
                  bus=intx_bus, drive="hpdisk", vectors=0)

    if not hotplug_round(g, 3, plug_intx, "hp3", ("hp3",),
                         {intx_bdf: "virtio-pci"}, False, True,
                         "device_add of a virtio-blk disk on INTx "
                         "(vectors=0) into %s" % intx_bus):
        return
    disk = [ln.split()[2:] for ln in g.lines()
            if ln.startswith("@@ hotplug-disk ")]
    check(len(disk) == 2 and disk[1][0].startswith("vd") and
          disk[1][1] == sums["disk-c"],
          "%s: the hot-added INTx virtio-blk disk reads back disk-c.img "
          "(%s)" % (g.name, disk))


def check_health(g):
    """The guest kernel stayed healthy and every module loaded."""
    lines = g.lines()
    bad = [ln for ln in lines if ln.startswith("@@ health-bad")]
    check("@@ health ok" in lines and not bad,
          "%s: guest kernel log free of Oops/BUG/WARNING/panic/hung task%s" %
          (g.name, " (%s)" % bad[0] if bad else ""))
    failed = [ln.split()[-1] for ln in lines
              if ln.startswith("@@ insmod-failed")]
    check(not failed, "%s: every guest module loaded%s" %
          (g.name, " (failed: %s)" % " ".join(failed) if failed else ""))
    m = CONSOLE_BAD.search(g.console())
    check(m is None, "%s: guest console free of kernel errors%s" %
          (g.name, " (%r)" % m.group(0) if m else ""))


def run_pcie_slof(ctx, sums):
    g = Guest(ctx, "pcie-slof", "pseries-pcie",
              ["disks", "dhcp", "hotplug", "hotplug", "hotplug"],
              SWITCH_EXTRA_ARGS)
    hotplug(g, sums, 0x0a, intx_bus="dn2", intx_bdf="0000:0a:00.0")
    check(g.finish(), "%s: guest powered off" % g.name)
    check_topology(g, with_switch(PCIE_TOPOLOGY, 8))
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    lease = g.wait_line("@@ dhcp-lease", 1)
    check(lease is not None and lease.split()[-1] == "10.0.2.15",
          "%s: virtio-net behind a root port gets a DHCP lease "
          "(%s)" % (g.name, lease or "none"))
    return g


def run_pcie_vof(ctx, sums):
    g = Guest(ctx, "pcie-vof", "pseries-pcie,x-vof=on",
              ["disks", "hotplug", "hotplug", "hotplug"], SWITCH_EXTRA_ARGS)
    hotplug(g, sums, 0x0a, intx_bus="rp4", intx_bdf="0000:07:00.0")
    check(g.finish(), "%s: guest booted and powered off" % g.name)
    check_topology(g, with_switch(PCIE_TOPOLOGY, 8))
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    return g


def run_intx(ctx, sums, name, machine):
    # QEMU's xio3130-downstream has MSI and no INTx pin: without MSI the
    # guest has no pciehp on a switch downstream port (as on q35), so the
    # INTx runs hot-add into the root port only
    g = Guest(ctx, name, machine, ["disks", "nics", "hotplug"],
              INTX_EXTRA_ARGS + SWITCH_EXTRA_ARGS,
              "pci=nomsi guest.hotplug=add-only")
    hotplug(g, sums, msix=False, unplug=False)
    check(g.finish(), "%s: guest booted and powered off" % g.name)
    check_topology(g, with_switch(INTX_TOPOLOGY, 9))
    msix = sorted(b for b, f in g.functions().items() if f["msix"] != "no")
    check(not msix, "%s: no function uses MSI-X%s" %
          (g.name, " (%s do)" % msix if msix else ""))
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    leases = {ln.split()[3] for ln in g.lines()
              if ln.startswith("@@ nic-lease") and ln.split()[-1] == "10.0.2.15"}
    nics = [ln for ln in g.lines() if ln.startswith("@@ nic-")]
    check(len([ln for ln in nics if ln.startswith("@@ nic-lease")]) == 3 and
          leases == {"virtio_net", "e1000"},
          "%s: the three NICs (virtio-net, two e1000) get a DHCP lease over "
          "INTx (%s)" % (g.name, "; ".join(nics) or "none"))
    return g


def run_pcie_slof_intx(ctx, sums):
    return run_intx(ctx, sums, "pcie-slof-intx", "pseries-pcie")


def run_pcie_vof_intx(ctx, sums):
    return run_intx(ctx, sums, "pcie-vof-intx", "pseries-pcie,x-vof=on")


def run_legacy(ctx, sums):
    g = Guest(ctx, "legacy-slof", "pseries", ["disks"])
    check(g.finish(), "%s: guest booted and powered off" % g.name)
    fns = g.functions()
    endpoints = {(f["id"], f["driver"]) for f in fns.values()
                 if f["type"] != "PCI bridge" and
                 not f["id"].startswith("0x1b36:0x0001")}
    check(endpoints == LEGACY_ENDPOINTS,
          "%s: the same endpoints on pci.0, drivers bound (%s)" %
          (g.name, sorted(endpoints)))
    check_topology(g, LEGACY_TOPOLOGY)
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    return g


RUNS = [run_pcie_slof, run_pcie_vof, run_pcie_slof_intx, run_pcie_vof_intx,
        run_legacy]


def job(qemu, kernel, topo_script, workdir, run):
    """One run on one kernel, in a thread: its lines are kept and printed
    together."""
    _OUT.buf = []
    _OUT.guests = []
    before = len(FAILURES)
    g = None
    label = "%s[%s]" % (run.__name__[4:].replace("_", "-"), kernel.short)
    try:
        g = run((qemu, kernel, topo_script, workdir),
                disk_sums(kernel.dir))
        uname = g.wait_line("@@ uname", 1)
        check(uname is not None and uname.split()[2] == kernel.version,
              "%s: the guest ran the %s kernel %s (%s)" %
              (g.name, kernel.series, kernel.version, uname))
        check_health(g)
    except Exception as e:          # a crash is a failure, not a hang
        check(False, "%s: %s: %s" % (label, type(e).__name__, e))
    finally:
        for started in _OUT.guests:
            started.kill()
        g = g or (_OUT.guests[0] if _OUT.guests else None)
        if g is not None:
            g.seconds = g.seconds or time.time() - g.t0
    if g is not None and len(FAILURES) > before:
        g.dump_console()
    out, _OUT.buf = _OUT.buf, None
    return label, g, out


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    qemu, topo_script, workdir = sys.argv[1:4]
    kernels = [Kernel(*a.split("=", 1)) for a in sys.argv[4:]]
    os.makedirs(workdir, exist_ok=True)
    # E2E_RUNS=pcie-slof,legacy: only those runs (for development)
    only = os.environ.get("E2E_RUNS", "").split(",") if \
        os.environ.get("E2E_RUNS") else None
    runs = [r for r in RUNS
            if only is None or r.__name__[4:].replace("_", "-") in only]
    if not runs:
        sys.exit("E2E_RUNS=%s: none of %s" % (
            os.environ["E2E_RUNS"],
            ",".join(r.__name__[4:].replace("_", "-") for r in RUNS)))
    jobs = [(k, run) for k in kernels for run in runs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda j: job(qemu, j[0], topo_script, workdir,
                                         j[1]), jobs)
        done = []
        for label, g, out in results:
            print(label + ":")
            print("\n".join(out))
            sys.stdout.flush()
            done.append((label, g))
    print("boot to power-off, same endpoints (TCG, wall clock, two at a "
          "time):")
    for label, g in done:
        print("  %-26s %5.1f s" % (label, g.seconds if g else 0.0))
    print("e2e guest tests on %s: %s" %
          (", ".join("%s %s" % (k.series, k.short) for k in kernels),
           "%d FAILED" % len(FAILURES) if FAILURES else "all passed"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
