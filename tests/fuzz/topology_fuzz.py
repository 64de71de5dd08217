#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seeded QMP/topology fuzzer for the pseries and pseries-pcie machines.

Each case draws a random topology (root ports, switches, PCIe-to-PCI and
SHPC bridges, a second PHB, endpoints in random slots and functions, now
and then an invalid option) for one of the two families, starts QEMU with
the qtest accelerator, then runs a random sequence of:

  - device_add (random type, bus, slot, function, multifunction) and
    device_del (of anything with an id, ports and bridges included);
  - system_reset;
  - what a guest does, through the qtest socket: firmware-like bus
    numbering through RTAS, configuration writes (command, BARs, bridge
    registers, PCIe Slot Control power-off/on, SHPC commands through the
    SHPC capability), and the DR connector RTAS calls (set-indicator,
    get-sensor-state, ibm,configure-connector loops).

Every step must end in success or a clean error.  QEMU must never die,
abort, assert or print a sanitizer report; and after each case's final
reset and quit, no device or DR connector is leaked: every device QEMU
reported deleted is gone from the QOM tree, every device still in
/machine/peripheral is one QEMU did not report deleted, every DR connector
the DRC container lists resolves, and QEMU exits 0.

A case is reproduced by its seed: --seed S --case N --cases 1.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from qmp_client import QMP, QMPError, connect_unix  # noqa: E402

BAD = ("AddressSanitizer", "runtime error:", "Assertion", "assertion failed",
       "Aborted", "core dumped", "LeakSanitizer", "Segmentation fault",
       "qemu: hardware error", "Bail out!")

ENDPOINTS = ["virtio-net-pci", "e1000e", "e1000", "virtio-rng-pci",
             "nvme", "virtio-blk-pci", "virtio-scsi-pci", "pci-testdev"]
BRIDGES = ["pcie-root-port", "pci-bridge", "pcie-pci-bridge",
           "x3130-upstream", "xio3130-downstream"]

BUID = [0x800000020000000, 0x800000020000001]
ARGS, RETS, WORK = 0x8000000, 0x8001000, 0x8002000
SPAPR_PCI_BASE = 1 << 45    # PHB 0's windows: PCI address + this


class Qtest:
    """The qtest protocol, just what a guest's RTAS and config calls need."""

    def __init__(self, path, timeout=30):
        self.sock = connect_unix(path, timeout, "qtest")
        self.sock.settimeout(60)
        self.buf = b""

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise EOFError("QEMU closed the qtest socket")
                self.buf += data
            resp, self.buf = self.buf.split(b"\n", 1)
            resp = resp.decode()
            if resp.startswith("IRQ"):
                continue
            if not resp.startswith("OK"):
                raise QMPError("qtest: %s -> %s" % (line, resp))
            return resp.split()[1:]

    def rtas(self, name, args, nret):
        for i, a in enumerate(args):
            self.cmd("writel 0x%x 0x%x" % (ARGS + 4 * i, a & 0xffffffff))
        self.cmd("rtas %s %d 0x%x %d 0x%x" % (name, len(args), ARGS, nret, RETS))
        return [int(self.cmd("readl 0x%x" % (RETS + 4 * i))[0], 16)
                for i in range(nret)]


def cfgaddr(bus, devfn, off):
    return (bus << 16) | (devfn << 8) | (off & 0xff) | ((off & 0xf00) << 20)


class Case:
    def __init__(self, args, seed, n, workdir):
        self.rng = random.Random("%d:%d" % (seed, n))
        self.name = "%d:%d" % (seed, n)
        self.args = args
        self.dir = workdir
        self.ids = {}           # id -> (type, bus id it provides or None)
        self.deleted = set()    # ids QEMU reported deleted
        self.next_id = 0
        self.log = []
        self.places = []        # (bus, "slot.fn") that held a device

    # -- topology ---------------------------------------------------------
    def topology(self):
        r = self.rng
        self.family = r.choice(self.args.family.split(","))
        root = "pcie.0" if self.family == "pseries-pcie" else "pci.0"
        self.buses = [root]        # buses devices can go on
        self.phbs = 1
        devs, chassis = [], [0]

        def add(typ, bus, extra="", provides=False):
            self.next_id += 1
            i = "d%d" % self.next_id
            devs.append("-device %s,id=%s,bus=%s%s" % (typ, i, bus, extra))
            self.ids[i] = (typ, i if provides else None)
            if provides:
                self.buses.append(i)
            return i

        def ch():
            chassis[0] += 1
            return chassis[0]

        if self.family == "pseries-pcie":
            if r.random() < 0.3:
                devs.append("-device spapr-pcie-host-bridge,index=1,id=phb1")
                self.ids["phb1"] = ("spapr-pcie-host-bridge", None)
                self.buses.append("phb1.0")
                self.phbs = 2
            for _ in range(r.randint(0, 4)):
                bus = r.choice([b for b in self.buses if b.endswith(".0")])
                add("pcie-root-port", bus, ",chassis=%d,slot=1" % ch(), True)
            ports = [b for b in self.buses if not b.endswith(".0")]
            if ports and r.random() < 0.5:
                up = add("x3130-upstream", r.choice(ports), "", True)
                c = ch()
                for s in range(r.randint(1, 2)):
                    add("xio3130-downstream", up, ",chassis=%d,slot=%d" % (c, s), True)
            ports = [b for b in self.buses if not b.endswith(".0")]
            if ports and r.random() < 0.4:
                add("pcie-pci-bridge", r.choice(ports), "", True)
        if r.random() < 0.5:
            add("pci-bridge", root, ",chassis_nr=%d" % ch(), True)
        for _ in range(r.randint(0, 5)):
            typ = r.choice(ENDPOINTS)
            self.cur_bus = r.choice(self.buses)
            add(typ, self.cur_bus, self.endpoint_opts(typ))
        if r.random() < 0.05:   # now and then, an invalid option
            devs.append(r.choice(["-device pcie-root-port,bus=nosuch",
                                  "-device e1000,addr=0x20",
                                  "-device pci-bridge,chassis_nr=0",
                                  "-device xio3130-downstream,bus=%s" % root]))
        return ["-M", self.family, "-nodefaults"] + " ".join(devs).split()

    def endpoint_opts(self, typ):
        r = self.rng
        o = ""
        if r.random() < 0.5:
            o += ",addr=%d.%d" % (r.randint(0, 31) if r.random() < 0.2 else r.randint(0, 3),
                                  r.choice([0, 0, 0, 1, 2, 7]))
            self.places.append((self.cur_bus, o.split("addr=")[1]))
        if r.random() < 0.2:
            o += ",multifunction=on"
        if typ == "nvme":
            o += ",serial=f%d" % self.next_id
        if typ == "virtio-blk-pci":
            o += ",drive=nd,share-rw=on"
        return o

    # -- the steps --------------------------------------------------------
    def device_add(self):
        r = self.rng
        typ = r.choice(ENDPOINTS + BRIDGES)
        self.next_id += 1
        i = "h%d" % self.next_id
        args = {"driver": typ, "id": i, "bus": r.choice(self.buses + ["nosuch.0"])}
        if self.places and r.random() < 0.4:
            # where a device is or was: taken functions, stale connectors
            args["bus"], args["addr"] = r.choice(self.places)
        elif r.random() < 0.6:
            args["addr"] = "%d.%d" % (r.randint(0, 3) if r.random() < 0.8 else r.randint(0, 31),
                                      r.choice([0, 0, 1, 2, 7]))
        if r.random() < 0.3:
            args["multifunction"] = True
        if typ == "nvme":
            args["serial"] = i
        if typ == "virtio-blk-pci":
            args["drive"] = "nd"
            args["share-rw"] = True
        if typ in ("pcie-root-port", "xio3130-downstream"):
            args["chassis"] = 50 + self.next_id
            args["slot"] = 1
        if typ == "pci-bridge":
            args["chassis_nr"] = 50 + self.next_id
        try:
            self.qmp.cmd("device_add", **args)
            if "addr" in args:
                self.places.append((args["bus"], args["addr"]))
            self.ids[i] = (typ, i if typ in BRIDGES else None)
            if typ in BRIDGES:
                self.buses.append(i)
            return "device_add %s ok" % json.dumps(args)
        except QMPError as e:
            return "device_add %s: %s" % (json.dumps(args), e)

    def device_del(self):
        alive = [i for i in self.ids if i not in self.deleted]
        if not alive:
            return "device_del: nothing"
        i = self.rng.choice(alive)
        try:
            self.qmp.cmd("device_del", id=i)
            return "device_del %s ok" % i
        except QMPError as e:
            return "device_del %s: %s" % (i, e)

    def numbering(self):
        """What SLOF does first: secondary/subordinate bus numbers."""
        last = [0]

        def bus_devices(phb, busnr):
            for b in self.qmp.cmd("query-pci")[-1:]:
                if b["bus"] == busnr:
                    return b["devices"]
                for d in walk(b["devices"]):
                    pb = d.get("pci_bridge")
                    if pb and pb["bus"]["secondary"] == busnr and "devices" in pb:
                        return pb["devices"]
            return []

        def walk(devs):
            for d in devs:
                yield d
                pb = d.get("pci_bridge")
                if pb and "devices" in pb:
                    yield from walk(pb["devices"])

        def enum(phb, busnr):
            for d in bus_devices(phb, busnr):
                if "pci_bridge" not in d or last[0] >= 255:
                    continue
                devfn = d["slot"] << 3 | d["function"]
                last[0] += 1
                sec = last[0]
                w = (0xff << 16) | (sec << 8) | busnr
                self.cfg_write(phb, busnr, devfn, 0x18, 4, w)
                enum(phb, sec)
                self.cfg_write(phb, busnr, devfn, 0x1a, 1, last[0])

        # the first PHB (query-pci lists it last); the second one's
        # bridges are numbered the same way by a guest, not needed here
        enum(0, 0)
        return "bus numbering up to %d" % last[0]

    def cfg_write(self, phb, bus, devfn, off, size, val):
        b = BUID[phb]
        return self.qt.rtas("ibm,write-pci-config",
                            [cfgaddr(bus, devfn, off), b >> 32, b & 0xffffffff, size, val], 1)

    def cfg_read(self, phb, bus, devfn, off, size):
        b = BUID[phb]
        return self.qt.rtas("ibm,read-pci-config",
                            [cfgaddr(bus, devfn, off), b >> 32, b & 0xffffffff, size], 2)[1]

    def find_cap(self, phb, bus, devfn, cap_id):
        pos = self.cfg_read(phb, bus, devfn, 0x34, 1) & 0xfc
        for _ in range(48):
            if pos < 0x40:
                return None
            if self.cfg_read(phb, bus, devfn, pos, 1) == cap_id:
                return pos
            pos = self.cfg_read(phb, bus, devfn, pos + 1, 1) & 0xfc
        return None

    def pci_devices(self):
        out = []

        def walk(devs, phb):
            for d in devs:
                out.append((phb, d))
                pb = d.get("pci_bridge")
                if pb and "devices" in pb:
                    walk(pb["devices"], phb)
        # QEMU lists the host bridges last created first
        roots = self.qmp.cmd("query-pci")
        for n, b in enumerate(roots):
            walk(b["devices"], len(roots) - 1 - n)
        return out

    def guest_config(self):
        r = self.rng
        devs = self.pci_devices()
        if not devs:
            return "config: no device"
        bridges = [x for x in devs if "pci_bridge" in x[1]]
        phb, d = r.choice(bridges if bridges and r.random() < 0.5 else devs)
        bus, devfn = d["bus"], d["slot"] << 3 | d["function"]
        # the slots of the devices behind a bridge, for its slot commands
        behind = [x["slot"] for x in d.get("pci_bridge", {}).get("devices", [])] or [1]
        what = r.random()
        if "pci_bridge" in d and what < 0.5:
            exp = self.find_cap(phb, bus, devfn, 0x10)
            shpc = self.find_cap(phb, bus, devfn, 0x0c)
            if exp is not None and (shpc is None or r.random() < 0.5):
                val = r.choice([0x0000, 0x0400, 0x0700, 0x07c0, 0x05c0, 0x0100,
                                0x1000, r.getrandbits(16)])
                if r.random() < 0.3:   # also enable hotplug interrupts
                    val |= 0x0038
                self.cfg_write(phb, bus, devfn, exp + 0x18, 2, val)
                return "pciehp %02x:%02x.%d SLTCTL=%#x" % (bus, devfn >> 3, devfn & 7, val)
            if shpc is not None and phb == 0 and r.random() < 0.5:
                # through the SHPC BAR, as Linux's shpchp does: map BAR 0
                # (256 bytes) in the PHB's 32-bit window, enable memory
                pci = 0x80000000 + (bus << 16) + (devfn << 8)
                self.cfg_write(phb, bus, devfn, 0x10, 4, pci)
                self.cfg_write(phb, bus, devfn, 0x04, 2, 0x0006)
                reg = r.choice([0x14, 0x14, 0x14, r.randrange(0, 0x100, 2)])
                val = (r.choice([0x03, 0x03, 0x01, 0x02, 0x13, r.getrandbits(8)]) |
                       r.choice(behind) << 8) if reg == 0x14 else r.getrandbits(16)
                # qtest writes in the guest's (big-endian) byte order
                swapped = ((val & 0xff) << 8) | (val >> 8)
                self.qt.cmd("writew 0x%x 0x%x" % (SPAPR_PCI_BASE + pci + reg, swapped))
                return "shpc-bar %02x:%02x.%d [%#x]=%#x" % (bus, devfn >> 3, devfn & 7, reg, val)
            if shpc is not None:
                sel = r.choice([5, 5, 5, 2, 3, 4, 8, 9, r.randint(0, 0x40)])
                val = (r.choice([0x03, 0x03, 0x01, 0x02, 0x13, r.getrandbits(8)]) |
                       r.choice(behind) << 8) if sel == 5 else r.getrandbits(32)
                self.cfg_write(phb, bus, devfn, shpc + 2, 1, sel)
                self.cfg_write(phb, bus, devfn, shpc + 4, 4, val)
                return "shpc %02x:%02x.%d dword %#x=%#x" % (bus, devfn >> 3, devfn & 7, sel, val)
        off = r.choice([0x04, 0x04, 0x10, 0x14, 0x18, 0x19, 0x1a, 0x1c, 0x20, 0x24,
                        0x3c, 0x3e, r.randint(0, 0xfff)])
        size = r.choice([1, 2, 4])
        off &= ~(size - 1)
        val = r.choice([0, 0xffffffff, 0x7, r.getrandbits(32)])
        self.cfg_write(phb, bus, devfn, off, size, val)
        return "config %02x:%02x.%d [%#x]/%d=%#x" % (bus, devfn >> 3, devfn & 7, off, size, val)

    def drc_index(self):
        r = self.rng
        if r.random() < 0.1:
            return r.getrandbits(32)
        return 0x40000000 | (r.randrange(self.phbs) << 16) | \
            (r.choice([0, 0, 1, 2, 3, 4]) << 8) | r.randint(0, 31) << 3 | \
            r.choice([0, 0, 0, 1, 7])

    def guest_drc(self):
        r = self.rng
        idx = self.drc_index()
        what = r.randrange(4)
        if what == 0:
            typ, state = r.choice([9001, 9002, 9003]), r.choice([0, 1, 2, 3])
            ret = self.qt.rtas("set-indicator", [typ, idx, state], 1)
            return "set-indicator %d %#x %d -> %d" % (typ, idx, state, ret[0])
        if what == 1:
            ret = self.qt.rtas("get-sensor-state", [9003, idx], 2)
            return "get-sensor-state %#x -> %s" % (idx, ret)
        if what == 2:   # what a guest does to add: unisolate, configure
            self.qt.rtas("set-indicator", [9003, idx, 1], 1)
            self.qt.rtas("set-indicator", [9001, idx, 1], 1)
            self.qt.cmd("writel 0x%x 0x%x" % (WORK, idx))
            self.qt.cmd("writel 0x%x 0" % (WORK + 4))
            rcs = []
            for _ in range(200):
                rc = self.qt.rtas("ibm,configure-connector", [WORK, 0], 1)[0]
                rcs.append(rc)
                if rc not in (1, 2, 3, 5):
                    break
            return "configure-connector %#x -> %d calls, last %d" % (idx, len(rcs), rcs[-1])
        # what a guest does to remove: isolate, unallocate
        self.qt.rtas("set-indicator", [9001, idx, 0], 1)
        ret = self.qt.rtas("set-indicator", [9003, idx, 0], 1)
        return "isolate+unallocate %#x -> %d" % (idx, ret[0])

    def step(self):
        r = self.rng.random()
        if r < 0.3:
            return self.device_add()
        if r < 0.5:
            return self.device_del()
        if r < 0.55:
            self.qmp.cmd("system_reset")
            return "system_reset"
        if r < 0.65:
            return self.numbering()
        if r < 0.85:
            return self.guest_config()
        return self.guest_drc()

    def collect_events(self):
        for ev in self.qmp.events:
            if ev["event"] == "DEVICE_DELETED" and ev["data"].get("device"):
                self.deleted.add(ev["data"]["device"])
        self.qmp.events = [e for e in self.qmp.events if e["event"] != "DEVICE_DELETED"]

    # -- the run ----------------------------------------------------------
    def run(self):
        qmp_path = os.path.join(self.dir, "qmp.sock")
        qt_path = os.path.join(self.dir, "qtest.sock")
        topo = self.topology()
        cmd = [self.args.qemu, "-accel", "qtest", "-display", "none", "-m", "512M",
               "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
               "-qtest", "unix:%s,server=on,wait=off" % qt_path, "-qtest-log", "/dev/null",
               "-blockdev", "null-co,node-name=nd", ] + topo
        self.log.append(" ".join(cmd))
        # QEMU's exit paths leak by design: as in make check-long, only
        # other sanitizer reports count
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        err = open(os.path.join(self.dir, "stderr"), "w+")
        p = subprocess.Popen(cmd, stdout=err, stderr=err, stdin=subprocess.DEVNULL, env=env)
        ok, why = True, ""
        try:
            try:
                self.qmp = QMP(qmp_path, timeout=60)
            except Exception:
                p.wait(timeout=60)
                err.seek(0)
                text = err.read()
                if p.returncode == 1 and text.strip() and \
                        not any(b in text for b in BAD):
                    return True, "start-up refused cleanly: " + text.strip().splitlines()[-1]
                return False, "QEMU did not start (rc %s): %s" % (p.returncode, text[-2000:])
            self.qt = Qtest(qt_path)
            for _ in range(self.rng.randint(10, self.args.steps)):
                self.log.append(self.step())
                self.qmp.cmd("query-status")
                self.collect_events()
            # the final reset completes every unplug the guest left pending
            self.qmp.cmd("system_reset")
            self.qmp.cmd("query-status")
            self.collect_events()
            why = self.check_leaks()
            ok = not why
            self.qmp.cmd("quit")
            p.wait(timeout=60)
            if p.returncode != 0:
                ok, why = False, "quit: exit code %d" % p.returncode
        except Exception as e:  # noqa: BLE001 - anything is a failure
            ok, why = False, "%s: %s" % (type(e).__name__, e)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            err.seek(0)
            text = err.read()
            err.close()
            if p.returncode is not None and p.returncode < 0 and \
                    p.returncode != -signal.SIGKILL:
                ok, why = False, "QEMU died of signal %d" % -p.returncode
            for b in BAD:
                if b in text:
                    ok, why = False, "stderr: " + text[-3000:]
                    break
        return ok, why

    def check_leaks(self):
        present = {x["name"] for x in self.qmp.cmd("qom-list", path="/machine/peripheral")
                   if x["type"].startswith("child<")}
        for i in sorted(self.deleted):
            if i in present:
                return "device %s reported deleted but still in the QOM tree" % i
        for i in sorted(present):
            if i not in self.ids:
                return "unknown device %s in the QOM tree" % i
        # every DR connector the container lists must still exist (the
        # first of each bus's 256 is enough: they come and go together)
        for x in self.qmp.cmd("qom-list", path="/dr-connector"):
            if not x["type"].startswith("link<") or int(x["name"], 16) & 0xff:
                continue
            try:
                self.qmp.cmd("qom-get", path="/dr-connector/" + x["name"], property="index")
            except QMPError as e:
                return "DR connector %s listed but gone: %s" % (x["name"], e)
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qemu", required=True)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--case", type=int, default=0, help="first case number")
    ap.add_argument("--cases", type=int, default=0, help="number of cases (0: until --seconds)")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--family", default="pseries-pcie,pseries",
                    help="machine families to draw from (comma-separated)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="topology-fuzz.")
    os.makedirs(out, exist_ok=True)
    start = time.time()
    deadline = start + args.seconds
    n = args.case
    runs = fails = steps = 0
    running = {}
    # --jobs cases at a time, each its own process
    while True:
        while len(running) < args.jobs and \
                (args.cases == 0 and time.time() < deadline or
                 args.cases and n < args.case + args.cases):
            pid = os.fork()
            if pid == 0:
                wd = tempfile.mkdtemp(prefix="case.", dir=out)
                c = Case(args, args.seed, n, wd)
                ok, why = c.run()
                with open(os.path.join(wd, "log"), "w") as f:
                    f.write("\n".join(c.log) + "\n" + ("PASS" if ok else "FAIL: " + why) + "\n")
                if ok:
                    shutil.rmtree(wd, ignore_errors=True)
                else:
                    print("FAIL case %d:%d after %ds (--seed %d --case %d --cases 1): %s [%s]" %
                          (args.seed, n, time.time() - start, args.seed, n,
                           why.strip()[-1500:], wd), flush=True)
                os._exit((0 if ok else 1) | min(len(c.log), 120) << 1)
            running[pid] = n
            n += 1
        if not running:
            break
        pid, status = os.wait()
        running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        runs += 1
        steps += max(code >> 1, 1) - 1
        if code & 1 or code < 0:
            fails += 1
    print("%d topology cases, %d steps, %d failed (seed %d)" % (runs, steps, fails, args.seed))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
