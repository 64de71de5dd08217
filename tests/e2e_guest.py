#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests: a real Debian ppc64el guest on the patched QEMU.

usage: e2e_guest.py QEMU GUEST_DIR TOPOLOGY_ARGS_SCRIPT WORKDIR

Boots the demo topology (scripts/topology.sh) and asserts what the guest
reports (scripts/guest-init.sh, lines starting with "@@"):
  1. pseries-pcie, SLOF: the exact PCI topology (bus numbers, port types
     from the PCIe capability, 4096-byte config space for PCIe functions,
     AER, bound drivers), disk contents through virtio-blk behind a root
     port and NVMe behind a switch, a DHCP lease on virtio-net, and native
     hotplug of a two-function device into the empty root port (device_add
     of function 1, then 0: pciehp brings both up with their driver and
     MSI-X; device_del: the guest releases both, DEVICE_DELETED);
  2. pseries-pcie, VOF: the same topology, disks, the hotplug of 1.;
  3. pseries-pcie with INTx only (pci=nomsi), SLOF and VOF, plus an e1000
     behind a root port: every function without MSI-X, disks read back,
     a DHCP lease on each of the three NICs (virtio-net behind a root port,
     the e1000s, which need their I/O BAR, behind the PCIe-to-PCI bridge
     and behind a root port), and the hot-add of 1. with INTx (no unplug:
     see hotplug());
  4. pseries (legacy), SLOF: the same endpoints on pci.0, drivers, disks.
Every run also fails on a guest kernel Oops, BUG, WARNING, panic, hung
task or bad access (the guest greps its whole kernel log: "@@ health"),
and on a module that failed to load.
Failures print the guest console. Boot times are printed, not asserted.
"""

import hashlib
import os
import re
import subprocess
import sys
import time

from qmp_client import QMP

FAILURES = []

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


def check(cond, what):
    print("  %s %s" % ("ok  " if cond else "FAIL", what))
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


class Guest:
    running = []

    def __init__(self, qemu, guest, topo_script, workdir, name, machine,
                 checks, extra_args=(), append=""):
        self.name = name
        self.log = os.path.join(workdir, name + ".console.log")
        self.qmp_path = os.path.join(workdir, name + ".qmp")
        for f in (self.log, self.qmp_path):
            if os.path.exists(f):
                os.unlink(f)
        args = subprocess.run(
            ["bash", topo_script, machine,
             os.path.join(guest, "disk-a.img"),
             os.path.join(guest, "disk-b.img")],
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
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        Guest.running.append(self.proc)
        self.qmp = QMP(self.qmp_path)

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
        with open(self.log, errors="replace") as f:
            text = f.read().replace("\r", "")
        print("---- guest console (%s) ----" % self.log)
        print("\n".join(text.split("\n")[-80:]))
        print("---- end of guest console ----")


def disk_sums(guest_dir):
    sums = {}
    for name in ("disk-a", "disk-b"):
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


def hotplug(g, msix=True, unplug=True):
    """Native hotplug of a two-function device into the empty root port rp4
    (bus 7): function 1 first, then function 0, as PCI Express wants.
    Without MSI-X the device's INTA is the port's own INTx line (the swizzle
    of slot 0 behind a port is the port's slot), and Linux 6.1 deadlocks
    removing it: pciehp's IRQ thread frees the IRQ it runs on (hung task
    "irq/N-pciehp").  INTx runs (unplug=False) stop after the hot-add."""
    ready = g.wait_line("@@ hotplug-ready", 240)
    if not check(ready is not None, "%s: guest booted and is ready for "
                 "hotplug" % g.name):
        return
    g.qmp.cmd("device_add", driver="virtio-net-pci", id="hp1b", bus="rp4",
              addr="0.1")
    g.qmp.cmd("device_add", driver="virtio-net-pci", id="hp1", bus="rp4",
              addr="0.0", multifunction=True)
    every = g.wait_line("@@ hotplug-added-all", 60)
    check(every is not None and
          every.split()[2:] == ["0000:07:00.0", "0000:07:00.1"],
          "%s: device_add of a two-function device into the empty root "
          "port: the guest finds 07:00.0 and 07:00.1 (%s)" %
          (g.name, every or "nothing"))
    added = [ln for ln in g.lines() if ln.startswith("@@ hotplug-added ")]
    for bdf in ("0000:07:00.0", "0000:07:00.1"):
        ln = next((a for a in added if a.split()[2] == bdf), None)
        check(ln is not None and "driver=virtio-pci" in ln and
              'type="Endpoint"' in ln and "config=4096" in ln and
              ("msix=%s" % ("yes" if msix else "no")) in ln,
              "%s: pciehp brings up %s with virtio-pci bound, MSI-X %s (%s)" %
              (g.name, bdf, "on" if msix else "off", ln or "nothing"))
    if not unplug:
        return
    g.qmp.cmd("device_del", id="hp1")
    for bdf in ("0000:07:00.0", "0000:07:00.1"):
        removed = g.wait_line("@@ hotplug-removed " + bdf, 60)
        check(removed is not None,
              "%s: device_del: the guest releases %s" % (g.name, bdf))
    for dev in ("hp1", "hp1b"):
        ev = g.qmp.wait_event("DEVICE_DELETED",
                              lambda d, dev=dev: d.get("device") == dev, 30)
        check(ev is not None, "%s: QEMU emits DEVICE_DELETED for %s" %
              (g.name, dev))


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


def run_pcie_slof(args, sums):
    g = Guest(*args, "pcie-slof", "pseries-pcie", ["disks", "dhcp", "hotplug"])
    hotplug(g)
    check(g.finish(), "pcie-slof: guest powered off")
    check_topology(g, PCIE_TOPOLOGY)
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    lease = g.wait_line("@@ dhcp-lease", 1)
    check(lease is not None and lease.split()[-1] == "10.0.2.15",
          "pcie-slof: virtio-net behind a root port gets a DHCP lease "
          "(%s)" % (lease or "none"))
    check_health(g)
    return g


def run_pcie_vof(args, sums):
    g = Guest(*args, "pcie-vof", "pseries-pcie,x-vof=on", ["disks", "hotplug"])
    hotplug(g)
    check(g.finish(), "pcie-vof: guest booted and powered off")
    check_topology(g, PCIE_TOPOLOGY)
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    check_health(g)
    return g


def run_intx(args, sums, name, machine):
    g = Guest(*args, name, machine, ["disks", "nics", "hotplug"],
              INTX_EXTRA_ARGS, "pci=nomsi guest.hotplug=add-only")
    hotplug(g, msix=False, unplug=False)
    check(g.finish(), "%s: guest booted and powered off" % name)
    check_topology(g, INTX_TOPOLOGY)
    msix = sorted(b for b, f in g.functions().items() if f["msix"] != "no")
    check(not msix, "%s: no function uses MSI-X%s" %
          (name, " (%s do)" % msix if msix else ""))
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    leases = {ln.split()[3] for ln in g.lines()
              if ln.startswith("@@ nic-lease") and ln.split()[-1] == "10.0.2.15"}
    nics = [ln for ln in g.lines() if ln.startswith("@@ nic-")]
    check(len([ln for ln in nics if ln.startswith("@@ nic-lease")]) == 3 and
          leases == {"virtio_net", "e1000"},
          "%s: the three NICs (virtio-net, two e1000) get a DHCP lease over "
          "INTx (%s)" % (name, "; ".join(nics) or "none"))
    check_health(g)
    return g


def run_pcie_slof_intx(args, sums):
    return run_intx(args, sums, "pcie-slof-intx", "pseries-pcie")


def run_pcie_vof_intx(args, sums):
    return run_intx(args, sums, "pcie-vof-intx", "pseries-pcie,x-vof=on")


def run_legacy(args, sums):
    g = Guest(*args, "legacy-slof", "pseries", ["disks"])
    check(g.finish(), "legacy-slof: guest booted and powered off")
    fns = g.functions()
    endpoints = {(f["id"], f["driver"]) for f in fns.values()
                 if f["type"] != "PCI bridge" and
                 not f["id"].startswith("0x1b36:0x0001")}
    check(endpoints == LEGACY_ENDPOINTS,
          "legacy-slof: the same endpoints on pci.0, drivers bound (%s)" %
          sorted(endpoints))
    check_topology(g, LEGACY_TOPOLOGY)
    check_disks(g, sums, {"vda": "disk-a", "nvme0n1": "disk-b"})
    check_health(g)
    return g


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    qemu, guest, topo_script, workdir = sys.argv[1:]
    os.makedirs(workdir, exist_ok=True)
    args = (qemu, guest, topo_script, workdir)
    sums = disk_sums(guest)
    guests = []
    runs = [run_pcie_slof, run_pcie_vof, run_pcie_slof_intx,
            run_pcie_vof_intx, run_legacy]
    for run in runs:
        before = len(FAILURES)
        print(run.__name__ + ":")
        try:
            g = run(args, sums)
        except Exception as e:          # a crash is a failure, not a hang
            check(False, "%s: %s: %s" % (run.__name__, type(e).__name__, e))
            for p in Guest.running:
                p.kill()
            continue
        finally:
            for p in Guest.running:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        guests.append(g)
        if len(FAILURES) > before:
            g.dump_console()
    print("boot to power-off, same kernel and endpoints (TCG, wall clock):")
    for g in guests:
        print("  %-14s %5.1f s" % (g.name, g.seconds))
    print("e2e guest tests: %s" %
          ("%d FAILED" % len(FAILURES) if FAILURES else "all passed"))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
