#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot from disk: SLOF (built from source with the NVMe series in
slof-patches/) -> GRUB -> Linux, no -kernel, on the patched QEMU.

usage: boot_disk.py QEMU BOOTDISK_DIR WORKDIR [GUEST_DIR]

With GUEST_DIR (the guest whose kernel the disks hold), each case is
labelled with the kernel and checks that GRUB booted that kernel.

The disks (scripts/bootdisk.sh) are GPT with a PReP partition holding
GRUB and an ext2 /boot; boot-a and boot-b differ in the ext2 label and in
guest.bootdisk=a|b on the kernel command line. Each case asserts the device
SLOF loaded from ("Trying to load: from: PATH ... Successfully loaded"),
that GRUB started the kernel of the expected disk (@@ bootdisk), that
Linux reads back the first MiB of each disk as the host has it, and a
healthy guest (no Oops/BUG/WARNING/panic/hung task, modules loaded):
  1. pseries-pcie: virtio-blk behind a root port;
  2. pseries-pcie: virtio-scsi behind a switch downstream port;
  3. pseries-pcie: NVMe behind a root port;
  4. pseries-pcie: NVMe behind a switch downstream port;
  5. pseries (legacy): NVMe on pci.0;
  6. pseries-pcie: two NVMe disks, bootindex picks the second (disk b);
  7. pseries-pcie: fall-through, never a hang: bootindex 1 is an NVMe
     controller without a namespace, 2 an NVMe disk whose partition table
     is garbage, 3 a virtio-blk disk; SLOF says why each of the first two
     is not bootable and boots the third;
  8. pseries-pcie: two namespaces on one controller (nvme-ns devices), no
     bootindex: SLOF lists both and boots namespace 1 (the "disk" alias).
     (bootindex on an nvme-ns is not usable on any machine: QEMU reparents
     the namespace to its nvme-subsys, which has no bus, so its boot path is
     "/nvme-ns".)
  8a. two PHBs with a bridge each, the disk behind the second PHB's
     bridge: pseries (pci-bridges) and pseries-pcie (a root port on a
     spapr-pcie-host-bridge), SLOF's merge of QEMU's tree after CAS;
  8b. pseries-pcie: one namespace with NSID 20 (sparse NSIDs, as on real
     or shared subsystems): found through the active namespace list, it
     boots as namespace@14,0.
Then boot-gi.img, laid out as grub-install and grub-mkconfig lay a disk
out (prefix "(,gpt2)/boot/grub": GRUB takes the disk from
/chosen/bootpath; grub.cfg clears grub-reboot's next_entry with save_env),
each case on its own writable copy whose grubenv says next_entry=1: GRUB
must boot entry 1 (disk "gi-once") and the host must then find
"next_entry=" cleared in the copy's grubenv:
  9. NVMe behind a root port, bootindex (what libvirt's <boot order/>
     becomes); booted a second time, GRUB takes entry 0 (disk "gi");
     QEMU's nvme trace events show that every time the controller was
     stopped it had been shut down normally first (CC.SHN, by SLOF after
     its probe and at quiesce, and by Linux), and no access the NVMe
     spec leaves undefined (pci_nvme_ub_*);
 10. NVMe behind a switch downstream port, bootindex;
 11. NVMe behind a root port, no bootindex (the "disk" alias);
 12. NVMe behind a root port, boot-device set to the controller's path
     (as typed at the prompt or set in NVRAM);
 13. legacy pseries, NVMe on pci.0, bootindex;
 14. virtio-blk behind a root port, bootindex (the reference).
Runs two guests at a time (TCG, one vCPU each).
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_guest                                    # noqa: E402
from e2e_guest import check                         # noqa: E402

PHB = "/pci@800000020000000"
PORT = ["-device", "pcie-root-port,id=rp1,chassis=1,slot=1"]
PORT2 = ["-device", "pcie-root-port,id=rp2,chassis=2,slot=2"]
PORT3 = ["-device", "pcie-root-port,id=rp3,chassis=3,slot=3"]
SWITCH = PORT + ["-device", "x3130-upstream,id=up1,bus=rp1",
                 "-device", "xio3130-downstream,id=dn1,bus=up1,chassis=4,slot=0"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def drive(ident, path):
    # snapshot=on: one image serves every case, unchanged on the host
    return ["-drive", "if=none,id=%s,file=%s,format=raw,snapshot=on" % (ident, path)]


def drive_rw(ident, path):
    # the guest's writes (GRUB's save_env) reach the host file
    return ["-drive", "if=none,id=%s,file=%s,format=raw" % (ident, path)]


GRUBENV = b"# GRUB Environment Block\n"
NVME_TRACE = ["-trace", "pci_nvme_mmio_start_success", "-trace",
              "pci_nvme_mmio_stopped", "-trace", "pci_nvme_mmio_shutdown_set",
              "-trace", "pci_nvme_ub_*"]


def check_nvme_stops(g):
    """From QEMU's trace: the controller was stopped (CC.EN 1 -> 0) at
    least twice (SLOF's probe, SLOF's quiesce), each time after a normal
    shutdown (CC.SHN) since it was last enabled; no undefined access"""
    ev = re.findall(r"pci_nvme_(mmio_start_success|mmio_stopped|"
                    r"mmio_shutdown_set|ub_\w+)", g.stderr or "")
    unsafe, stops, shn = 0, 0, False
    for e in ev:
        if e == "mmio_start_success":
            shn = False
        elif e == "mmio_shutdown_set":
            shn = True
        elif e == "mmio_stopped":
            stops += 1
            unsafe += 0 if shn else 1
    check(stops >= 2 and unsafe == 0,
          "%s: each of the %d controller stops came after a normal shutdown "
          "(CC.SHN) (%d without; events %s)" % (g.name, stops, unsafe, ev))
    ub = [e for e in ev if e.startswith("ub_")]
    check(not ub, "%s: no undefined NVMe register access (%s)" % (g.name, ub))


def grubenv(path):
    """The variables of the one GRUB environment block in a disk image:
    the 1 KiB grubenv file, found by its header at the start of a sector
    and its "#" padding (GRUB's loadenv module holds the header too)"""
    with open(path, "rb") as f:
        data = f.read()
    found = []
    at = data.find(GRUBENV)
    while at >= 0:
        if at % 512 == 0 and data[at + 1023:at + 1024] == b"#":
            found.append(at)
        at = data.find(GRUBENV, at + 1)
    if len(found) != 1:
        return None
    block = data[found[0]:found[0] + 1024].decode(errors="replace")
    return dict(ln.split("=", 1) for ln in block.split("\n")[1:]
                if "=" in ln and not ln.startswith("#"))


class DiskGuest:
    def __init__(self, qemu, workdir, name, machine, args):
        self.name = name
        self.log = os.path.join(workdir, name + ".console.log")
        if os.path.exists(self.log):
            os.unlink(self.log)
        self.cmd = [qemu, "-M", machine, "-m", "1G", "-nodefaults",
                    "-display", "none", "-monitor", "none",
                    "-serial", "file:" + self.log] + args
        self.rc = None
        self.seconds = None

    def run(self, timeout=300):
        t0 = time.time()
        try:
            p = subprocess.run(self.cmd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               timeout=timeout)
            self.rc, self.stderr = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            self.rc, self.stderr = "timeout", ""
        self.seconds = time.time() - t0
        return self

    def console(self):
        try:
            with open(self.log, errors="replace") as f:
                return ANSI.sub("", f.read().replace("\r", ""))
        except FileNotFoundError:
            return ""

    def lines(self):
        return [ln[ln.index("@@"):] for ln in self.console().split("\n")
                if "@@" in ln]

    def loaded_from(self):
        """Every device SLOF tried, and the one it loaded from."""
        text = self.console()
        tried = re.findall(r"Trying to load: .*? from: (\S+) \.\.\.", text)
        ok = re.search(r"from: (\S+) \.\.\. +Successfully loaded", text)
        return tried, ok.group(1) if ok else None

    def dump(self):
        print("---- console of %s (%s) ----" % (self.name, self.log))
        print("\n".join(self.console().split("\n")[-60:]))
        print("---- end of console ----")


def head_sum(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(1 << 20)).hexdigest()


def check_boot(g, want_path, want_disk, disks):
    """disks: {linux name: image path} whose first MiB Linux must read."""
    tried, loaded = g.loaded_from()
    check(g.rc == 0, "%s: QEMU exited 0 after the guest powered off (%s)" %
          (g.name, g.rc))
    check(loaded is not None and re.fullmatch(want_path, loaded) is not None,
          "%s: SLOF loaded from %s (%s; tried %s)" %
          (g.name, want_path, loaded, tried))
    bd = [ln.split()[-1] for ln in g.lines() if ln.startswith("@@ bootdisk")]
    check(bd == [want_disk], "%s: GRUB booted the kernel of disk %s (%s)" %
          (g.name, want_disk, bd))
    heads = {ln.split()[2]: ln.split()[3] for ln in g.lines()
             if ln.startswith("@@ disk-head ")}
    for dev, img in disks.items():
        check(heads.get(dev) == head_sum(img),
              "%s: Linux reads %s back (first MiB, sha256)" % (g.name, dev))
    e2e_guest.check_health(g)
    check("@@ done" in g.lines(), "%s: guest reached the end of its checks" % g.name)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    qemu, disks, workdir = sys.argv[1:4]
    kver = short = ""
    if len(sys.argv) == 5:
        with open(os.path.join(sys.argv[4], "kernel-version")) as f:
            kver = f.read().strip()
        short = "[%s]" % e2e_guest.short_version(sys.argv[4])
    os.makedirs(workdir, exist_ok=True)
    a = os.path.join(disks, "boot-a.img")
    b = os.path.join(disks, "boot-b.img")
    # A disk whose protective MBR and GPT are garbage, GRUB's PReP intact
    broken = os.path.join(workdir, "broken.img")
    shutil.copyfile(a, broken)
    with open(broken, "r+b") as f:
        junk = b""
        seed = b"broken"
        while len(junk) < 34 * 512:
            seed = hashlib.sha256(seed).digest()
            junk += seed
        f.write(junk[:34 * 512])

    nvme_port = r"%s/pci@0/mass-storage@0(/namespace@1,0)?" % PHB
    gi = os.path.join(disks, "boot-gi.img")
    env = grubenv(gi)
    check(env is not None and env.get("next_entry") == "1",
          "boot-gi.img: grubenv says next_entry=1 (%s)" % env)
    copies = {}

    def gi_copy(name):
        copies[name] = os.path.join(workdir, name + ".gi.img")
        shutil.copyfile(gi, copies[name])
        return copies[name]
    cases = [
        ("pcie-virtio-blk-port", "pseries-pcie",
         PORT + drive("d1", a) + ["-device", "virtio-blk-pci,bus=rp1,drive=d1"],
         r"%s/pci@0/scsi@0" % PHB, "a", {"vda": a}),
        ("pcie-virtio-scsi-switch", "pseries-pcie",
         SWITCH + drive("d1", a) +
         ["-device", "virtio-scsi-pci,id=scsi1,bus=dn1",
          "-device", "scsi-hd,bus=scsi1.0,drive=d1"],
         r"%s/pci@0/pci@0/pci@0/scsi@0/disk@[0-9a-f]+" % PHB, "a", {"sda": a}),
        ("pcie-nvme-port", "pseries-pcie",
         PORT + drive("d1", b) + ["-device", "nvme,bus=rp1,drive=d1,serial=boot1"],
         nvme_port, "b", {"nvme0n1": b}),
        ("pcie-nvme-switch", "pseries-pcie",
         SWITCH + drive("d1", a) + ["-device", "nvme,bus=dn1,drive=d1,serial=boot1"],
         r"%s/pci@0/pci@0/pci@0/mass-storage@0(/namespace@1,0)?" % PHB, "a",
         {"nvme0n1": a}),
        ("legacy-nvme-pci0", "pseries",
         drive("d1", b) + ["-device", "nvme,drive=d1,serial=boot1,addr=5.0"],
         r"%s/mass-storage@5(/namespace@1,0)?" % PHB, "b", {"nvme0n1": b}),
        ("pcie-nvme-bootindex", "pseries-pcie",
         PORT + PORT2 + drive("d1", a) + drive("d2", b) +
         ["-device", "nvme,bus=rp1,drive=d1,serial=boot1,bootindex=2",
          "-device", "nvme,bus=rp2,drive=d2,serial=boot2,bootindex=1"],
         r"%s/pci@1/mass-storage@0" % PHB, "b", {"nvme0n1": a, "nvme1n1": b}),
        ("pcie-fall-through", "pseries-pcie",
         PORT + PORT2 + PORT3 + drive("d2", broken) + drive("d3", b) +
         ["-device", "nvme,bus=rp1,serial=empty,bootindex=1",
          "-device", "nvme,bus=rp2,drive=d2,serial=broken,bootindex=2",
          "-device", "virtio-blk-pci,bus=rp3,drive=d3,bootindex=3"],
         r"%s/pci@2/scsi@0" % PHB, "b", {"vda": b}),
        ("pcie-nvme-two-namespaces", "pseries-pcie",
         PORT + drive("d1", a) + drive("d2", b) +
         ["-device", "nvme,id=nv1,bus=rp1,serial=ns",
          "-device", "nvme-ns,bus=nv1,drive=d1,nsid=1",
          "-device", "nvme-ns,bus=nv1,drive=d2,nsid=2"],
         r"%s/pci@0/mass-storage@0/namespace@1,0" % PHB, "a",
         {"nvme0n1": a, "nvme0n2": b}),
        ("pcie-nvme-nsid-20", "pseries-pcie",
         PORT + drive("d1", b) +
         ["-device", "nvme,id=nv1,bus=rp1,serial=ns20",
          "-device", "nvme-ns,bus=nv1,drive=d1,nsid=20"],
         r"%s/pci@0/mass-storage@0/namespace@14,0" % PHB, "b",
         {"nvme0n20": b}),
        # Two PHBs with a bridge each: SLOF must look the nodes below the
        # second PHB's bridge up with the bus number QEMU gave them when it
        # merges QEMU's tree after CAS, or it resets the machine forever
        # ("Cannot handle FDT update for the scsi@1 node, rebooting")
        ("legacy-two-phbs-bridges", "pseries",
         ["-device", "pci-bridge,id=br0,chassis_nr=1,addr=3.0",
          "-device", "spapr-pci-host-bridge,index=1,id=phb1",
          "-device", "pci-bridge,id=br1,bus=phb1.0,chassis_nr=2,addr=1.0"] +
         drive("d1", a) + ["-device", "virtio-blk-pci,bus=br1,addr=1.0,drive=d1"],
         r"/pci@800000020000001/pci@1/scsi@1", "a", {"vda": a}),
        ("pcie-second-phb-port", "pseries-pcie",
         PORT + ["-device", "spapr-pcie-host-bridge,index=1,id=pcie.1",
                 "-device", "pcie-root-port,id=rp11,bus=pcie.1.0,chassis=11,slot=1"] +
         drive("d1", b) + ["-device", "virtio-blk-pci,bus=rp11,drive=d1"],
         r"/pci@800000020000001/pci@0/scsi@0", "b", {"vda": b}),
        ("gi-nvme-port-bootindex", "pseries-pcie",
         PORT + drive_rw("d1", gi_copy("gi-nvme-port-bootindex")) +
         ["-device", "nvme,bus=rp1,drive=d1,serial=gi1,bootindex=1"] +
         NVME_TRACE,
         r"%s/pci@0/mass-storage@0" % PHB, "gi-once", {}),
        ("gi-nvme-switch-bootindex", "pseries-pcie",
         SWITCH + drive_rw("d1", gi_copy("gi-nvme-switch-bootindex")) +
         ["-device", "nvme,bus=dn1,drive=d1,serial=gi1,bootindex=1"],
         r"%s/pci@0/pci@0/pci@0/mass-storage@0" % PHB, "gi-once", {}),
        ("gi-nvme-port-disk-alias", "pseries-pcie",
         PORT + drive_rw("d1", gi_copy("gi-nvme-port-disk-alias")) +
         ["-device", "nvme,bus=rp1,drive=d1,serial=gi1"],
         r"%s/pci@0/mass-storage@0/namespace@1,0" % PHB, "gi-once", {}),
        ("gi-nvme-port-boot-device", "pseries-pcie",
         PORT + drive_rw("d1", gi_copy("gi-nvme-port-boot-device")) +
         ["-device", "nvme,bus=rp1,drive=d1,serial=gi1",
          "-prom-env", "boot-device=%s/pci@0/mass-storage@0" % PHB],
         r"%s/pci@0/mass-storage@0" % PHB, "gi-once", {}),
        ("gi-legacy-nvme-bootindex", "pseries",
         drive_rw("d1", gi_copy("gi-legacy-nvme-bootindex")) +
         ["-device", "nvme,drive=d1,serial=gi1,addr=5.0,bootindex=1"],
         r"%s/mass-storage@5" % PHB, "gi-once", {}),
        ("gi-virtio-blk-port-bootindex", "pseries-pcie",
         PORT + drive_rw("d1", gi_copy("gi-virtio-blk-port-bootindex")) +
         ["-device", "virtio-blk-pci,bus=rp1,drive=d1,bootindex=1"],
         r"%s/pci@0/scsi@0" % PHB, "gi-once", {}),
    ]
    guests = [DiskGuest(qemu, workdir, name + short, machine, args)
              for name, machine, args, *_ in cases]
    args_of = {c[0]: c[2] for c in cases}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda g: g.run(), guests))

    before = 0
    for g, (name, _, _, path, disk, want) in zip(guests, cases):
        print(g.name + ":")
        check_boot(g, path, disk, want)
        if kver:
            uname = [ln.split()[2] for ln in g.lines()
                     if ln.startswith("@@ uname ")]
            check(uname == [kver], "%s: GRUB booted the kernel %s (%s)" %
                  (g.name, kver, uname))
        if name == "pcie-fall-through":
            text = g.console()
            check("NVMe: no usable namespace, not a boot device" in text and
                  "NVMe: no namespace to boot from" in text,
                  "%s: SLOF says the NVMe controller without a namespace is "
                  "not a boot device" % g.name)
            tried, _ = g.loaded_from()
            check(len(tried) >= 3 and "pci@1/mass-storage@0" in tried[1],
                  "%s: SLOF tried the broken NVMe disk before the virtio "
                  "disk (%s)" % (g.name, tried))
        if name == "pcie-nvme-two-namespaces":
            text = g.console()
            check("NVMe namespace 1: " in text and "NVMe namespace 2: " in text,
                  "%s: SLOF lists both namespaces" % g.name)
        if NVME_TRACE[1] in args_of[name]:
            check_nvme_stops(g)
        if name in copies:
            env = grubenv(copies[name])
            check(env is not None and env.get("next_entry") == "",
                  "%s: GRUB's save_env cleared next_entry in grubenv on the "
                  "disk (%s)" % (g.name, env))
        if len(e2e_guest.FAILURES) > before:
            g.dump()
        before = len(e2e_guest.FAILURES)
    # The grub-reboot entry is gone: the same disk boots entry 0 now
    name = "gi-nvme-port-bootindex"
    i = [c[0] for c in cases].index(name)
    g = DiskGuest(qemu, workdir, name + "-again" + short, cases[i][1],
                  cases[i][2]).run()
    guests.append(g)
    print(g.name + ":")
    check_boot(g, cases[i][3], "gi", {})
    if len(e2e_guest.FAILURES) > before:
        g.dump()
    print("SLOF -> GRUB -> Linux to power-off (TCG, wall clock, two at a time):")
    for g in guests:
        print("  %-26s %5.1f s" % (g.name, g.seconds))
    print("boot-from-disk tests: %s" %
          ("%d FAILED" % len(e2e_guest.FAILURES) if e2e_guest.FAILURES
           else "all passed"))
    return 1 if e2e_guest.FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
