#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make bench: what the PCI Express root bus costs, pseries-pcie vs pseries.

usage: bench.py            (scripts/bench.sh runs it; see README.md)

Environment:
  BENCH_REPS=N       repetitions of the fast cases (default 5; quick: 2)
  BENCH_BOOT_REPS=N  repetitions of the guest boots (default 3; quick: 1)
  BENCH_QUICK=1      a fast smoke run: N = 1, 8; one boot per case; small disk
  BENCH_NO_PERF=1    do not use perf uprobes for the device-tree build time
  BENCH_ANCHOR_MACHINES=a,b  the anchor's machines (q35,q35-ovmf,pseries-pcie)

Cases (every repetition runs every machine once, in turn, so that drift
hits all machines alike; ratios are taken within one run):
  1. start-up: exec -> QMP greeting + qmp_capabilities reply -> exit after
     'quit' (-S, TCG, -nodefaults), N = 1, 8, 32, 128 pci-testdev endpoints;
  2. device tree: the FDT that spapr builds at machine reset (size and node
     count from QMP dumpdtb; build time from perf uprobes on
     spapr_build_fdt entry/return, and system_reset -> RESET wall time);
  3. guest boot to userspace (exec -> '@@ userspace' on the console), the
     demo topology (scripts/topology.sh);
  4. RTAS ibm,read-pci-config calls per second over qtest;
  5. sequential O_DIRECT read of a virtio-blk disk inside the guest;
  6. QEMU RSS after boot (guest has probed its devices), N = 1 and 128;
  7. boot from disk (SLOF -> GRUB -> Linux, no -kernel): the same GRUB disk
     on NVMe vs virtio-blk, behind a root port and on legacy pci.0;
  8. the q35 anchor: N virtio-blk flat vs behind root ports, on q35
     (x86_64 build, SeaBIOS, amd64 guest; and with OVMF) and on
     pseries-pcie;
  9. where pseries-pcie's time goes with those root ports at N = 128:
     boot phases, SLOF per node, QEMU's RTAS calls and bridge window
     rebuilds (perf uprobes), the guest's initcall_debug times;
 10. SLOF's word lookups: the series' SLOF vs the same series without
     its find-hash patch (scripts/slof.sh baseline), same run: section
     9's topologies, legacy pseries with N devices, disk boots; and
     whether the device tree the kernel got is the same.
Outputs: build/bench/results.md, results.json (raw samples), startup.png.
"""

import datetime
import json
import math
import os
import platform
import re
import resource
import select
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
OUT = os.path.join(BUILD, "bench")
WORK = os.path.join(OUT, "work")
QEMU_BUILT = os.path.join(BUILD, "qemu-build", "qemu-system-ppc64")
# A snapshot of the binary is what runs: a rebuild during the run neither
# mixes two binaries in one table nor breaks the perf uprobes.
QEMU = os.path.join(WORK, "qemu-system-ppc64")
FIRMWARE = os.path.join(BUILD, "firmware")
GUEST = os.path.join(BUILD, "guest")
TOPO_SCRIPT = os.path.join(TOP, "scripts", "topology-args.sh")

QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = int(os.environ.get("BENCH_REPS") or (2 if QUICK else 5))
STARTUP_REPS = 2 * REPS                 # cheap: a few seconds each
CFG_REPS = 3 * REPS
BOOT_REPS = int(os.environ.get("BENCH_BOOT_REPS") or (1 if QUICK else 3))
NS = [1, 8] if QUICK else [1, 8, 32, 128]
RSS_NS = [1, 8] if QUICK else [1, 128]
DISK_MB = 32 if QUICK else 256
READ_PASSES = 2 if QUICK else 12        # the first pass is a warm-up
FDT_RESETS = 3 if QUICK else 5          # system_reset per process
CFG_CALLS = 2000 if QUICK else 20000    # RTAS calls per sample
CFG_BATCH = 250                         # pipelined qtest commands

# The scaling endpoint: pci-testdev, a conventional PCI function with two
# small BARs and no backend, the same device model whatever the bus (unlike
# virtio-*-pci, which turns into a modern-only PCIe endpoint on a PCIe bus).
DEV = "pci-testdev"
DIRECT = 16             # endpoints on the root bus / on root ports first
MACHINES = ["pseries-pcie", "pseries-pcie-flat", "pseries", "powernv10",
            "none"]
LABEL = {
    "pseries-pcie": "pseries-pcie (root ports + switches)",
    "pseries-pcie-flat": "pseries-pcie, pseries' topology (pcie.0 + pci-bridge)",
    "pseries": "pseries (pci.0 + pci-bridge)",
    "powernv10": "powernv10 (6 PHB root ports + switches)",
    "none": "-M none (floor; no devices)",
}
PHB0_BUID = 0x800000020000000

T_START = time.time()


def log(msg):
    print("[%6.1fs] %s" % (time.time() - T_START, msg), flush=True)


# ---------------------------------------------------------------- topology

def topology(machine, n):
    """QEMU arguments: machine + n endpoints (see the table's notes)."""
    base = ["-nodefaults", "-display", "none", "-smp", "1"]
    if machine == "none":
        return ["-M", "none"] + base
    base += ["-m", "1G"]
    a = []
    direct, rest = min(n, DIRECT), n - min(n, DIRECT)
    if machine in ("pseries", "pseries-pcie-flat"):
        # first 16 on the root bus (slots 1-16), then pci-bridges
        # (slots 17..) with up to 31 endpoints each (slots 1-31)
        m = "pseries" if machine == "pseries" else "pseries-pcie"
        for i in range(direct):
            a += ["-device", "%s,addr=%x.0" % (DEV, i + 1)]
        for b in range(math.ceil(rest / 31)):
            a += ["-device", "pci-bridge,id=pb%d,chassis_nr=%d,addr=%x.0" %
                  (b, b + 1, 17 + b)]
            for j in range(min(31, rest - 31 * b)):
                a += ["-device", "%s,bus=pb%d,addr=%x.0" % (DEV, b, j + 1)]
        return ["-M", m] + base + a
    if machine == "pseries-pcie":
        # first 16 behind one root port each (slots 1-16), then root ports
        # (slots 17..) each with an x3130 switch of up to 32 downstream
        # ports, one endpoint per downstream port
        for i in range(direct):
            a += ["-device", "pcie-root-port,id=rp%d,chassis=1,slot=%d,"
                  "addr=%x.0" % (i, i + 1, i + 1),
                  "-device", "%s,bus=rp%d" % (DEV, i)]
        for s in range(math.ceil(rest / 32)):
            a += ["-device", "pcie-root-port,id=srp%d,chassis=1,slot=%d,"
                  "addr=%x.0" % (s, 17 + s, 17 + s),
                  "-device", "x3130-upstream,id=up%d,bus=srp%d" % (s, s)]
            for j in range(min(32, rest - 32 * s)):
                a += ["-device", "xio3130-downstream,id=dp%d_%d,bus=up%d,"
                      "chassis=%d,slot=%d,addr=%x.0" % (s, j, s, s + 2,
                                                        j + 1, j),
                      "-device", "%s,bus=dp%d_%d" % (DEV, s, j)]
        return ["-M", "pseries-pcie"] + base + a
    if machine == "powernv10":
        # the 6 PHB4/5 of chip 0 (what the machine creates without
        # -nodefaults), one root port each; a root port takes one device:
        # n <= 6 endpoints directly, otherwise an x3130 switch behind every
        # root port and the endpoints spread over them
        for i in range(6):
            a += ["-device", "pnv-phb,chip-id=0,index=%d,id=phb%d" % (i, i),
                  "-device", "pnv-phb-root-port,id=prp%d,bus=phb%d" % (i, i)]
        if n <= 6:
            for i in range(n):
                a += ["-device", "%s,bus=prp%d" % (DEV, i)]
        else:
            per = [n // 6 + (1 if i < n % 6 else 0) for i in range(6)]
            for i in range(6):
                a += ["-device", "x3130-upstream,id=up%d,bus=prp%d" % (i, i)]
                for j in range(per[i]):
                    a += ["-device", "xio3130-downstream,id=dp%d_%d,bus=up%d,"
                          "chassis=%d,slot=%d,addr=%x.0" % (i, j, i, i + 10,
                                                            j + 1, j),
                          "-device", "%s,bus=dp%d_%d" % (DEV, i, j)]
        return ["-M", "powernv10"] + base + a
    raise ValueError(machine)


def count_functions(args):
    return sum(1 for x in args if x == "-device")


# ---------------------------------------------------------------- helpers

def qemu_cmd(args):
    return [QEMU, "-L", FIRMWARE] + args


def listener(name):
    path = os.path.join(WORK, name)
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    s.settimeout(120)
    return s, path


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


class QMPConn:
    """QMP over a socket QEMU connected to (QEMU is the client: no polling
    for the socket to appear, the greeting arrives as soon as QEMU has
    created its monitor)."""

    def __init__(self, conn):
        self.f = conn.makefile("rwb", buffering=0)
        self.conn = conn
        self.buf = b""
        self.events = []

    def msg(self):
        while b"\n" not in self.buf:
            data = self.conn.recv(65536)
            if not data:
                raise RuntimeError("QEMU closed QMP")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.conn.sendall(json.dumps(req).encode() + b"\n")
        while True:
            m = self.msg()
            if "event" in m:
                self.events.append(m)
                continue
            if "error" in m:
                raise RuntimeError("%s: %s" % (name, m["error"]))
            return m["return"]

    def wait_event(self, name):
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            m = self.msg()
            if "event" in m:
                self.events.append(m)


def start_qmp(args, name, prefix=()):
    lis, path = listener(name + ".qmp")
    errf = open(os.path.join(WORK, name + ".stderr"), "w")
    t0 = time.perf_counter()
    p = subprocess.Popen(list(prefix) + qemu_cmd(args) +
                         ["-S", "-qmp", "unix:" + path],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=errf)
    try:
        conn, _ = lis.accept()
    except socket.timeout:
        p.kill()
        p.wait()
        raise RuntimeError("QEMU did not connect to QMP: %s" %
                           open(errf.name).read()[-2000:])
    finally:
        lis.close()
    q = QMPConn(conn)
    q.greeting = q.msg()
    t_greet = time.perf_counter()
    q.cmd("qmp_capabilities")
    t_ready = time.perf_counter()
    return p, q, t0, t_greet, t_ready, errf


def finish(p, q, errf, timeout=60):
    try:
        q.cmd("quit")
    except (RuntimeError, OSError):
        pass
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    t = time.perf_counter()
    q.conn.close()
    errf.close()
    if p.returncode != 0:
        raise RuntimeError("QEMU exited %s: %s" %
                           (p.returncode, open(errf.name).read()[-2000:]))
    return t


def stats(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1],
            "n": len(xs)}


# ---------------------------------------------------------------- 1 start-up

def bench_startup(res):
    samples = res.setdefault("startup", {})
    for rep in range(STARTUP_REPS):
        for n in NS:
            for m in MACHINES:
                if m == "none" and n != NS[0]:
                    # the floor does not depend on N: measured once per rep
                    continue
                args = topology(m, n)
                ru = resource.getrusage(resource.RUSAGE_CHILDREN)
                p, q, t0, tg, tr, errf = start_qmp(args, "startup")
                rss = rss_kb(p.pid)
                te = finish(p, q, errf)
                ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (ru2.ru_utime - ru.ru_utime) + (ru2.ru_stime -
                                                      ru.ru_stime)
                samples.setdefault(m, {}).setdefault(str(n), []).append({
                    "greeting": tg - t0, "ready": tr - t0, "total": te - t0,
                    "cpu": cpu, "rss_kb": rss,
                    "functions": count_functions(args)})
        log("start-up: repetition %d/%d done" % (rep + 1, STARTUP_REPS))


# ---------------------------------------------------------------- 2 FDT

def fdt_stats(path):
    with open(path, "rb") as f:
        blob = f.read()
    (magic, total, off_struct, _off_str, _off_rsv, _ver, _comp, _boot,
     _size_str, size_struct) = struct.unpack(">10I", blob[:40])
    assert magic == 0xd00dfeed
    nodes = props = 0
    pos, end = off_struct, off_struct + size_struct
    while pos < end:
        tok = struct.unpack(">I", blob[pos:pos + 4])[0]
        pos += 4
        if tok == 1:                # FDT_BEGIN_NODE
            nodes += 1
            e = blob.index(b"\0", pos)
            pos = (e + 1 + 3) & ~3
        elif tok == 3:              # FDT_PROP
            props += 1
            ln = struct.unpack(">I", blob[pos:pos + 4])[0]
            pos = (pos + 8 + ln + 3) & ~3
        elif tok == 9:              # FDT_END
            break
    return {"bytes": total, "nodes": nodes, "props": props}


# perf probe specs, and the events they make
FDT_PROBES = ("benchfdt_in=spapr_build_fdt",
              "benchfdt_out=spapr_build_fdt%return")
PROBES = ("probe_qemu:benchfdt_in", "probe_qemu:benchfdt_out__return")


def perf_probes_add(specs, without):
    """perf uprobes on the QEMU snapshot; False, and none left, if perf is
    missing or a probe cannot be placed (the log says what is lost)"""
    if os.environ.get("BENCH_NO_PERF") == "1" or not shutil.which("perf"):
        return False
    perf_probes_del(specs)
    for spec in specs:
        r = subprocess.run(["perf", "probe", "-q", "-x", QEMU, "-a", spec],
                           capture_output=True, text=True)
        if r.returncode != 0:
            log("perf probe failed (%s): %s" % (r.stderr.strip()[-200:],
                                                without))
            perf_probes_del(specs)
            return False
    return True


def perf_probes_del(specs):
    if shutil.which("perf"):
        for name in sorted({spec.split("=")[0] for spec in specs}):
            subprocess.run(["perf", "probe", "-q", "-d",
                            "probe_qemu:%s*" % name], capture_output=True)


def perf_durations(data):
    out = subprocess.run(["perf", "script", "-i", data, "--ns", "-F",
                          "time,event"], capture_output=True, text=True).stdout
    durs, t_in = [], None
    for ln in out.splitlines():
        m = re.match(r"\s*([0-9.]+):\s+(\S+?):?\s*$", ln)
        if not m:
            continue
        t, ev = float(m.group(1)), m.group(2)
        if ev.endswith("benchfdt_in"):
            t_in = t
        elif "benchfdt_out" in ev and t_in is not None:
            durs.append(t - t_in)
            t_in = None
    return durs


def bench_fdt(res):
    samples = res.setdefault("fdt", {})
    use_perf = perf_probes_add(FDT_PROBES, "FDT build time from "
                               "system_reset only")
    res["fdt_method"] = "perf-uprobes" if use_perf else "system_reset-only"
    try:
        for rep in range(max(1, REPS - 2)):
            for n in NS:
                for m in ("pseries-pcie", "pseries-pcie-flat", "pseries"):
                    args = topology(m, n)
                    data = os.path.join(WORK, "fdt.perf.data")
                    prefix = (["perf", "record", "-q", "-o", data, "-e",
                               PROBES[0], "-e", PROBES[1], "--"]
                              if use_perf else [])
                    p, q, _t0, _tg, _tr, errf = start_qmp(args, "fdt", prefix)
                    dtb = os.path.join(WORK, "%s-%d.dtb" % (m, n))
                    q.cmd("dumpdtb", filename=dtb)
                    walls = []
                    for _ in range(FDT_RESETS):
                        t = time.perf_counter()
                        q.cmd("system_reset")
                        q.wait_event("RESET")
                        walls.append(time.perf_counter() - t)
                    finish(p, q, errf)
                    d = samples.setdefault(m, {}).setdefault(str(n), {
                        "build_s": [], "reset_wall_s": [], "first_build_s":
                        []})
                    d.update(fdt_stats(dtb))
                    d["reset_wall_s"] += walls
                    if use_perf:
                        durs = perf_durations(data)
                        if durs:
                            # the first build runs at machine creation with
                            # cold caches; the others at each system_reset
                            d["first_build_s"].append(durs[0])
                            d["build_s"] += durs[1:]
            log("device tree: repetition %d done" % (rep + 1))
    finally:
        if use_perf:
            perf_probes_del(FDT_PROBES)


# ---------------------------------------------------------------- 4 config

def cfg_addr(bus, devfn, reg):
    return (bus << 16) | (devfn << 8) | (reg & 0xff) | ((reg & 0xf00) << 20)


def cfg_topology(m):
    base = ["-M", m, "-nodefaults", "-display", "none", "-m", "1G",
            "-smp", "1"]
    if m == "pseries-pcie":
        return base + ["-device", "nvme,serial=r,addr=2.0",
                       "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,"
                       "addr=3.0", "-device", "nvme,serial=p,bus=rp1"], 0
    return base + ["-device", "nvme,serial=r,addr=2.0",
                   "-device", "pci-bridge,id=pb1,chassis_nr=1,addr=3.0",
                   "-device", "nvme,serial=p,bus=pb1,addr=1.0"], 1 << 3


class QTest:
    def __init__(self, args, name):
        lis, path = listener(name + ".qtest")
        self.errf = open(os.path.join(WORK, name + ".stderr"), "w")
        self.p = subprocess.Popen(
            qemu_cmd(args) + ["-accel", "qtest", "-qtest", "unix:" + path,
                              "-qtest-log", "/dev/null"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.errf)
        try:
            self.conn, _ = lis.accept()
        finally:
            lis.close()
        self.buf = b""

    def lines(self, k):
        out = []
        while len(out) < k:
            while b"\n" not in self.buf:
                data = self.conn.recv(1 << 20)
                if not data:
                    raise RuntimeError("qtest: QEMU closed the connection: "
                                       + open(self.errf.name).read()[-500:])
                self.buf += data
            parts = self.buf.split(b"\n")
            self.buf = parts.pop()
            out += [x for x in parts if not x.startswith(b"IRQ")]
        return out

    def cmd(self, line):
        self.conn.sendall(line.encode() + b"\n")
        r = self.lines(1)[0].decode()
        if not r.startswith("OK"):
            raise RuntimeError("qtest %s: %s" % (line, r))
        return r

    def readl(self, addr):
        return int(self.cmd("readl 0x%x" % addr).split()[1], 16)

    def rtas(self, name, args, nret, at):
        for i, a in enumerate(args):
            self.cmd("writel 0x%x 0x%x" % (at + 4 * i, a))
        ret = at + 0x40
        line = "rtas %s %d 0x%x %d 0x%x" % (name, len(args), at, nret, ret)
        self.cmd(line)
        return line, [self.readl(ret + 4 * i) for i in range(nret)]

    def rate(self, line, calls):
        req = (line + "\n").encode() * CFG_BATCH
        done = 0
        t = time.perf_counter()
        while done < calls:
            self.conn.sendall(req)
            for r in self.lines(CFG_BATCH):
                if not r.startswith(b"OK"):
                    raise RuntimeError("qtest: %r" % r)
            done += CFG_BATCH
        return done / (time.perf_counter() - t)

    def close(self):
        self.conn.close()
        self.p.terminate()          # qtest has no 'quit'
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.errf.close()


def bench_config(res):
    samples = res.setdefault("config", {})
    qts, lines = {}, {}
    for m in ("pseries-pcie", "pseries"):
        args, port_devfn = cfg_topology(m)
        qt = QTest(args, "cfg-" + m)
        qts[m] = qt
        hi, lo = PHB0_BUID >> 32, PHB0_BUID & 0xffffffff
        # firmware would number the buses: secondary = subordinate = 1
        _, r = qt.rtas("ibm,write-pci-config",
                       [cfg_addr(0, 3 << 3, 0x18), hi, lo, 4, 0x00010100], 1,
                       0x100000)
        assert r[0] == 0, "cannot program the bridge's bus numbers"
        cases = {"root bus, std (0x00)": (0, 2 << 3, 0x0),
                 "root bus, ext (0x100)": (0, 2 << 3, 0x100),
                 "behind port, std (0x00)": (1, port_devfn, 0x0),
                 "behind port, ext (0x100)": (1, port_devfn, 0x100)}
        at = 0x200000
        for case, (bus, devfn, reg) in cases.items():
            line, r = qt.rtas("ibm,read-pci-config",
                              [cfg_addr(bus, devfn, reg), hi, lo, 4], 2, at)
            ok = r[0] == 0 and (reg or r[1] == 0x00101b36)
            assert ok, "%s %s: status %d value 0x%x" % (m, case, r[0], r[1])
            lines[(m, case)] = line
            at += 0x100
        lines[(m, "qtest floor (readl)")] = "readl 0x%x" % at
    for rep in range(CFG_REPS):
        for case in dict.fromkeys(c for _, c in lines):
            for m in ("pseries-pcie", "pseries"):
                r = qts[m].rate(lines[(m, case)], CFG_CALLS)
                samples.setdefault(m, {}).setdefault(case, []).append(r)
        log("config space: repetition %d/%d done" % (rep + 1, CFG_REPS))
    for qt in qts.values():
        qt.close()


# ---------------------------------------------------------------- boots

def make_disks():
    img = os.path.join(WORK, "bench-disk-%dM.img" % DISK_MB)
    if not os.path.exists(img) or os.path.getsize(img) != DISK_MB << 20:
        with open(img + ".tmp", "wb") as f:
            for _ in range(DISK_MB):
                f.write(os.urandom(1 << 20))
        os.rename(img + ".tmp", img)
    b = os.path.join(WORK, "disk-b.img")          # our own copy: no image
    shutil.copyfile(os.path.join(GUEST, "disk-b.img"), b)   # lock clashes
    with open(img, "rb") as f:                    # host page cache warm
        while f.read(1 << 24):
            pass
    return img, b


def guest_ram_rss_kb(pid):
    """Rss of the guest RAM mapping (the one 1 GiB anonymous mapping)"""
    size = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for ln in f:
                w = ln.split()
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", ln):
                    a, b = (int(x, 16) for x in w[0].split("-"))
                    size = b - a
                elif w[0] == "Rss:" and size is not None and size >= 1 << 30:
                    return int(w[1])
    except OSError:
        pass
    return None


def boot_once(args, append, timeout=300, guest=None, prefix=()):
    """append None: boot from disk (SLOF -> GRUB -> the disk's kernel).
    guest: (argv0 list, kernel, initrd, console) of another guest (the
    q35 anchor); default: ours, ppc64. prefix: a wrapper command (perf)."""
    if guest:
        qemu, kernel, initrd, console = guest
        cmd = qemu + args
    else:
        kernel = os.path.join(GUEST, "vmlinux")
        initrd = os.path.join(GUEST, "initramfs.gz")
        console = "hvc0"
        cmd = qemu_cmd(args)
    cmd = list(prefix) + cmd + ["-monitor", "none", "-serial", "stdio"]
    if append is not None:
        cmd += ["-kernel", kernel, "-initrd", initrd,
                "-append", "console=%s quiet %s" % (console, append)]
    errf = open(os.path.join(WORK, "boot.stderr"), "w")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=errf)
    r = {"reads": [], "t0": t0}     # CLOCK_MONOTONIC, as perf -k monotonic
    buf, console = b"", []
    fd = p.stdout.fileno()
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        data = os.read(fd, 65536)
        if not data:
            break
        now = time.perf_counter() - t0
        buf += data
        *lines, buf = buf.replace(b"\r", b"").split(b"\n")
        for raw in lines:
            ln = raw.decode(errors="replace")
            console.append(ln)
            if ("pci_scan_end_s" not in r and "pci_scan_s" in r and
                    re.search(r"C06[0-9A-F]{2}|client-architecture", ln)):
                r["pci_scan_end_s"] = now       # SLOF's next checkpoint
            if "Populating /pci@" in ln and "pci_scan_s" not in r:
                r["pci_scan_s"] = now           # SLOF starts probing PCI
            if "Preparing to boot Linux" in ln and "prom_init_s" not in r:
                r["prom_init_s"] = now          # the kernel runs (prom_init)
            # the breakdown (section 9): SLOF's banner, the bridges and
            # devices its scan prints, prom_init's client calls into SLOF
            for key, text in (("slof_s", "SLOF"),
                              ("cas_s", "Max number of cores passed"),
                              ("cas_done_s", "client-architecture-support"),
                              ("dt_copy_s", "copying OF device tree"),
                              ("quiesce_s", "Quiescing Open Firmware")):
                if key not in r and text in ln:
                    r[key] = now
            if "pci_scan_s" in r and "pci_scan_end_s" not in r:
                if re.search(r"\(B\) : [0-9a-f]{4} [0-9a-f]{4}", ln):
                    r["slof_bridges"] = r.get("slof_bridges", 0) + 1
                elif re.search(r"\(D\) : [0-9a-f]{4} [0-9a-f]{4}", ln):
                    r["slof_devices"] = r.get("slof_devices", 0) + 1
            if "Trying to load:" in ln and "load_s" not in r:
                r["load_s"] = now               # SLOF opens the boot device
            if "Welcome to GRUB" in ln and "grub_s" not in r:
                r["grub_s"] = now               # GRUB loaded from PReP
            if "GRUB: booting" in ln and "grub_cfg_s" not in r:
                r["grub_cfg_s"] = now           # GRUB read its grub.cfg
            if "@@" not in ln:
                continue
            w = ln[ln.index("@@"):].split()
            if w[1] == "userspace":
                r["userspace_s"] = now
                r["guest_uptime_s"] = float(w[2])
            elif w[1] == "uname":               # report mode: first line
                r.setdefault("userspace_s", now)
            elif w[1] == "bench-ready":
                r["ready_s"] = now
                r["rss_kb"] = rss_kb(p.pid)
                r["guest_ram_rss_kb"] = guest_ram_rss_kb(p.pid)
            elif w[1] == "bench-dt":            # guest.bench-dt=1
                r["dt"] = [w[2], int(w[3])]
            elif w[1] == "bench-virtio":
                r["virtio_mode"] = w[3]         # as the guest drives vda
            elif w[1] == "dmesg":               # guest.bench-dmesg=1
                r.setdefault("dmesg", []).append(ln[ln.index("@@") + 9:])
            elif w[1] == "bench-read":
                r["reads"].append((int(w[2]), int(w[3]), w[4]))
            elif w[1] == "done":
                r["done_s"] = now
    try:
        p.wait(timeout=30)      # EOF on stdout comes just before the exit
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    errf.close()
    r["exit_s"] = time.perf_counter() - t0
    if "done_s" not in r or p.returncode != 0:
        tail = "\n".join(console[-30:])
        raise RuntimeError("guest did not finish (exit %s):\n%s\n%s" %
                           (p.returncode, tail,
                            open(errf.name).read()[-1000:]))
    return r


# (machine, virtio-blk option): the I/O controls of section 5
IO_CONTROLS = (("pseries-pcie", "disable-legacy=off"),
               ("pseries", "disable-legacy=on"))


def demo_args(machine, disk_a, disk_b, blk_opt=None):
    # pseries-pcie-flat: pseries-pcie with the legacy demo topology
    # (endpoints on the root bus, the e1000 behind a pci-bridge)
    flat = machine == "pseries-pcie-flat"
    out = subprocess.run(["bash", TOPO_SCRIPT, "pseries" if flat else machine,
                          disk_a, disk_b],
                         check=True, capture_output=True).stdout
    args = [a.decode() for a in out.split(b"\0") if a]
    if flat:
        args[args.index("-M") + 1] = "pseries-pcie"
    if blk_opt:
        blk = [i for i, a in enumerate(args)
               if a.startswith("virtio-blk-pci,drive=da")]
        if len(blk) != 1:
            raise RuntimeError("no virtio-blk-pci for DISK_A in %s" % args)
        args[blk[0]] += "," + blk_opt
    return args + ["-display", "none"]


def bench_boot(res):
    disk_a, disk_b = make_disks()
    boot = res.setdefault("boot", {})
    io = res.setdefault("io_controls", {})
    rss = res.setdefault("rss_boot", {})
    for rep in range(BOOT_REPS):
        # 3 + 5 (+ 6 at the demo topology): the demo topology, same kernel,
        # same endpoints; virtio-blk (the 256 MiB disk) behind a root port
        # vs on pci.0; pseries-pcie-flat: the pseries topology on pcie.0
        for m in ("pseries-pcie", "pseries-pcie-flat", "pseries"):
            r = boot_once(demo_args(m, disk_a, disk_b),
                          "guest.mode=bench guest.bench-passes=%d" %
                          READ_PASSES)
            boot.setdefault(m, []).append(r)
        # 5, controls: the same disk with the other virtio-pci mode. On a
        # PCI Express slot virtio-pci defaults to modern-only
        # (disable-legacy=auto), on pci.0 to transitional: swapping it
        # tells the machine's part from the virtio mode's.
        for m, mode in IO_CONTROLS:
            r = boot_once(demo_args(m, disk_a, disk_b, mode),
                          "guest.mode=bench guest.bench-passes=%d" %
                          READ_PASSES)
            io.setdefault("%s %s" % (m, mode), []).append(r)
        log("guest boot (demo topology): repetition %d/%d done" %
            (rep + 1, BOOT_REPS))
        # 6: RSS after boot with the scaling topology
        for n in RSS_NS:
            for m in ("pseries-pcie", "pseries"):
                r = boot_once(topology(m, n), "guest.mode=bench")
                rss.setdefault(m, {}).setdefault(str(n), []).append(r)
        # the same at the largest N with VOF instead of SLOF: no firmware
        # PCI scan, QEMU + kernel only
        for m in ("pseries-pcie", "pseries"):
            args = topology(m, RSS_NS[-1])
            args[1] += ",x-vof=on"
            r = boot_once(args, "guest.mode=bench")
            rss.setdefault(m, {}).setdefault("%d-vof" % RSS_NS[-1],
                                             []).append(r)
        log("guest boot (N = %s): repetition %d/%d done" %
            (", ".join(map(str, RSS_NS)), rep + 1, BOOT_REPS))


# ------------------------------------------------- 7 boot from disk

# The same GPT/PReP/GRUB image (scripts/bootdisk.sh) through each path
DISKBOOT_CASES = (
    ("pseries-pcie", "virtio-blk, root port",
     ["-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
      "-device", "virtio-blk-pci,bus=rp1,drive=bd"]),
    ("pseries-pcie", "NVMe, root port",
     ["-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
      "-device", "nvme,bus=rp1,drive=bd,serial=bench"]),
    ("pseries", "virtio-blk, pci.0",
     ["-device", "virtio-blk-pci,drive=bd"]),
    ("pseries", "NVMe, pci.0",
     ["-device", "nvme,drive=bd,serial=bench"]),
)


def bench_diskboot(res):
    subprocess.run(["bash", os.path.join(TOP, "scripts", "bootdisk.sh")],
                   check=True, stdout=subprocess.DEVNULL)
    img = os.path.join(BUILD, "bootdisk", "boot-a.img")
    db = res.setdefault("diskboot", {})
    for rep in range(BOOT_REPS):
        for m, what, dev in DISKBOOT_CASES:
            args = ["-M", m, "-m", "1G", "-nodefaults", "-display", "none",
                    "-drive", "if=none,id=bd,file=%s,format=raw,"
                    "snapshot=on" % img] + dev
            db.setdefault("%s|%s" % (m, what), []).append(
                boot_once(args, None))
        log("boot from disk: repetition %d/%d done" % (rep + 1, BOOT_REPS))


# ------------------------------------------------- 8 the q35 anchor

# What a PCIe port costs at boot on q35 (same QEMU release, x86_64-softmmu
# build, SeaBIOS, Debian's amd64 kernel with an initramfs made like ours)
# and on pseries-pcie: N virtio-blk endpoints (null-co backends) on the
# root bus ("flat", 8 functions per slot) vs each behind its own
# pcie-root-port ("ports", 8 root ports per slot, as libvirt packs them).
QEMU_X86 = os.path.join(BUILD, "qemu-build-x86_64", "qemu-system-x86_64")
GUEST_X86 = os.path.join(BUILD, "guest-amd64")
# q35-ovmf: q35 with Debian's OVMF (UEFI) instead of SeaBIOS, when
# scripts/bench.sh could unpack it
OVMF_DIR = os.path.join(BUILD, "ovmf", "usr", "share", "OVMF")
OVMF_CODE = os.path.join(OVMF_DIR, "OVMF_CODE_4M.fd")
OVMF_VARS = os.path.join(OVMF_DIR, "OVMF_VARS_4M.fd")
ANCHOR_MACHINES = (("q35", "q35-ovmf", "pseries-pcie")
                   if os.path.exists(OVMF_CODE) else ("q35", "pseries-pcie"))
if os.environ.get("BENCH_ANCHOR_MACHINES"):     # e.g. q35-ovmf alone
    ANCHOR_MACHINES = tuple(os.environ["BENCH_ANCHOR_MACHINES"].split(","))


def anchor_topology(machine, n, ports):
    a = ["-M", "q35" if machine == "q35-ovmf" else machine, "-nodefaults",
         "-display", "none", "-smp", "1", "-m", "1G"]
    if machine == "q35-ovmf":
        vars_fd = os.path.join(WORK, "ovmf-vars.fd")     # fresh each boot
        shutil.copyfile(OVMF_VARS, vars_fd)
        a += ["-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
              "-drive", "if=pflash,format=raw,file=" + vars_fd]
    for i in range(n):
        slot, fn = 1 + i // 8, i % 8
        mf = ",multifunction=on" if fn == 0 else ""
        a += ["-blockdev", "driver=null-co,node-name=nb%d,size=67108864" % i]
        if ports:
            a += ["-device", "pcie-root-port,id=rp%d,chassis=1,slot=%d,"
                  "addr=%x.%x%s" % (i, i + 1, slot, fn, mf),
                  "-device", "virtio-blk-pci,drive=nb%d,bus=rp%d" % (i, i)]
        else:
            a += ["-device", "virtio-blk-pci,drive=nb%d,addr=%x.%x%s" %
                  (i, slot, fn, mf)]
    return a


def anchor_guest(machine):
    if machine.startswith("q35"):
        return ([QEMU_X86], os.path.join(GUEST_X86, "vmlinuz"),
                os.path.join(GUEST_X86, "initramfs.gz"), "ttyS0")
    return None


def bench_anchor(res):
    if not os.path.exists(QEMU_X86):
        raise RuntimeError("no %s: scripts/bench.sh builds it" % QEMU_X86)
    an = res.setdefault("anchor", {})
    for rep in range(BOOT_REPS):
        for n in NS:
            for m in ANCHOR_MACHINES:
                for ports in (False, True):
                    r = boot_once(anchor_topology(m, n, ports),
                                  "guest.mode=bench guest.bench-passes=0",
                                  timeout=900, guest=anchor_guest(m))
                    key = "%s|%s|%d" % (m, "ports" if ports else "flat", n)
                    an.setdefault(key, []).append(r)
        log("q35 anchor: repetition %d/%d done" % (rep + 1, BOOT_REPS))


def anchor_section(res):
    an = res.get("anchor")
    if not an:
        return []

    def med(key, f):
        xs = [f(r) for r in an.get(key, []) if f(r) is not None]
        return statistics.median(xs) if xs else None

    def total(r):
        return r.get("userspace_s")

    def entry(r):
        """exec -> the kernel starts: pseries, prom_init's first console
        line; q35 (no console output before userspace with 'quiet'),
        exec -> userspace minus the guest's uptime then"""
        if "prom_init_s" in r:
            return r["prom_init_s"]
        if r.get("userspace_s") is None or r.get("guest_uptime_s") is None:
            return None
        return r["userspace_s"] - r["guest_uptime_s"]

    def kernel(r):
        e = entry(r)
        return None if e is None or r.get("userspace_s") is None else r["userspace_s"] - e

    def ready(r):
        return r.get("ready_s")

    def cell(x):
        return "-" if x is None else "%.2f s" % x

    def rat(a, b):
        return "-" if a is None or not b else "%.2f" % (a / b)

    L = ["", "## 8. What a PCIe port costs at boot: q35 anchor", "",
         "Same run, medians of %d. N virtio-blk endpoints (null-co) on the "
         "root bus, 8 functions per slot (flat), vs each behind its own "
         "pcie-root-port, 8 ports per slot (ports). q35: x86_64-softmmu "
         "build of the same tree, SeaBIOS, Debian's amd64 kernel; "
         "q35-ovmf: the same with Debian's OVMF (UEFI) instead of SeaBIOS; "
         "pseries-pcie: SLOF, the ppc64el kernel; both TCG, `quiet`, the "
         "same initramfs scripts (`guest.mode=bench`). Firmware part: exec "
         "-> the kernel starts (QEMU start-up, firmware, its PCI scan, "
         "loading the kernel): on pseries-pcie up to prom_init's first "
         "console line, on q35 exec -> userspace minus the guest's uptime "
         "at userspace (nothing is printed before). Kernel part: the rest "
         "to userspace (on pseries-pcie it includes prom_init copying the "
         "device tree out of SLOF). Ready: every virtio function has a "
         "driver." % BOOT_REPS, "",
         "| machine | N | flat: exec->userspace | firmware | kernel | "
         "ports: exec->userspace | firmware | kernel | ports/flat total | "
         "ports/flat firmware | ports/flat kernel | ports/flat ready |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in ANCHOR_MACHINES:
        for n in NS:
            f, p = "%s|flat|%d" % (m, n), "%s|ports|%d" % (m, n)
            L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                m, n, cell(med(f, total)), cell(med(f, entry)),
                cell(med(f, kernel)), cell(med(p, total)),
                cell(med(p, entry)), cell(med(p, kernel)),
                rat(med(p, total), med(f, total)),
                rat(med(p, entry), med(f, entry)),
                rat(med(p, kernel), med(f, kernel)),
                rat(med(p, ready), med(f, ready))))
    L += ["", "Ports/flat side by side (the issue's target: pseries-pcie's "
          "kernel ratio no worse than q35's at N = 32 and 128):", "",
          "| N | " + " | ".join("%s: %s" % (part, m) for part in
                               ("kernel", "firmware", "total")
                               for m in ANCHOR_MACHINES) + " |",
          "|---:|" + "---:|" * (3 * len(ANCHOR_MACHINES))]
    for n in NS:
        row = [rat(med("%s|ports|%d" % (m, n), part), med("%s|flat|%d" % (m, n), part))
               for part in (kernel, entry, total) for m in ANCHOR_MACHINES]
        L.append("| %d | %s |" % (n, " | ".join(row)))
    return L


# ------------------------------------------- 9 where the ports' time goes

# pseries-pcie at N = 128 (8 quick), the anchor's two topologies: the boot
# split at the console lines SLOF and prom_init print; SLOF's scan per
# node; QEMU's RTAS calls and bridge window rebuilds per phase (perf
# uprobes, one boot each); the guest kernel's initcall_debug times per
# initcall, port service and driver probe (one boot each).
BD_N = 8 if QUICK else 128
BD_PROBES = ("benchbd_rtas=spapr_rtas_call token",
             "benchbd_remap=pci_bridge_update_mappings")
# QEMU's RTAS tokens (include/hw/ppc/spapr.h)
RTAS_NAME = {0x2012: "NVRAM fetch/store", 0x2013: "NVRAM fetch/store",
             0x2016: "config reads", 0x2017: "config writes",
             0x2018: "MSI source queries", 0x2019: "ibm,change-msi",
             0x2021: "EEH config-addr queries"}
BD_PHASES = (
    ("exec -> SLOF banner (QEMU start-up)", "t0", "slof_s"),
    ("SLOF before its PCI scan (device tree from QEMU)", "slof_s",
     "pci_scan_s"),
    ("SLOF PCI scan", "pci_scan_s", "pci_scan_end_s"),
    ("SLOF after the scan -> prom_init", "pci_scan_end_s", "prom_init_s"),
    ("prom_init -> CAS", "prom_init_s", "cas_s"),
    ("CAS: SLOF merges QEMU's new device tree", "cas_s", "cas_done_s"),
    ("prom_init, CAS -> device-tree copy", "cas_done_s", "dt_copy_s"),
    ("prom_init copies SLOF's device tree (client calls)", "dt_copy_s",
     "quiesce_s"),
    ("kernel: SLOF's hand-over -> userspace", "quiesce_s", "userspace_s"),
    ("userspace -> every virtio function has a driver", "userspace_s",
     "ready_s"),
)
SERVICE = {0x01: "PME", 0x02: "AER", 0x04: "pciehp", 0x08: "DPC",
           0x10: "bandwidth"}


def bd_phase(r, t):
    """the phase a time (seconds from exec) falls into"""
    name = None
    for ph, a, _b in BD_PHASES:
        ta = 0.0 if a == "t0" else r.get(a)
        if ta is not None and t >= ta:
            name = ph
    return name


def bd_counts(r, data):
    """QEMU events per phase of boot r, from perf record -k monotonic"""
    out = subprocess.run(["perf", "script", "-i", data, "-F",
                          "time,event,trace"],
                         capture_output=True, text=True).stdout
    counts = {}
    for ln in out.splitlines():
        m = re.match(r"\s*([0-9.]+):\s+probe_qemu:(benchbd_\w+):?(.*)", ln)
        if not m:
            continue
        if m.group(2) == "benchbd_remap":
            what = "bridge window rebuilds"
        else:
            tok = re.search(r"token=(0x[0-9a-f]+|\d+)", m.group(3))
            tok = int(tok.group(1), 0) if tok else None
            what = RTAS_NAME.get(tok, "other RTAS calls")
        ph = bd_phase(r, float(m.group(1)) - r["t0"])
        c = counts.setdefault(ph or "before", {})
        c[what] = c.get(what, 0) + 1
    return counts


def bd_guest(r, ports):
    """initcall_debug: seconds per initcall of interest and per kind of
    driver probe"""
    g = {}

    def add(k, us):
        n, t = g.get(k, (0, 0.0))
        g[k] = (n + 1, t + us / 1e6)
    for ln in r.pop("dmesg", []):
        m = re.search(r"initcall (\w+)\S*(?: \[\w+\])? returned -?\d+ "
                      r"after (\d+) usecs", ln)
        if m:
            if m.group(1) in ("pcibios_init", "pcie_portdrv_init",
                              "virtio_pci_driver_init", "virtio_blk_init"):
                add("initcall " + m.group(1), int(m.group(2)))
            continue
        m = re.search(r"probe of (\S+) returned -?\d+ after (\d+) usecs", ln)
        if not m:
            continue
        dev, us = m.group(1), int(m.group(2))
        svc = re.search(r":pcie([0-9a-f]+)$", dev)
        bdf = re.match(r"[0-9a-f]{4}:([0-9a-f]{2}):", dev)
        if svc:
            k = "probe: port service " + SERVICE.get(
                int(svc.group(1), 16) & 0xff, svc.group(1))
        elif re.match(r"virtio\d+$", dev):
            k = "probe: virtio_blk (virtio device)"
        elif bdf and ports and bdf.group(1) == "00":
            k = "probe: pcieport (root port)"
        elif bdf:
            k = "probe: virtio-pci (PCI function)"
        else:
            continue
        add(k, us)
    return g


def bench_breakdown(res):
    bd = res.setdefault("breakdown", {"n": BD_N})
    topo = {"flat": anchor_topology("pseries-pcie", BD_N, False),
            "ports": anchor_topology("pseries-pcie", BD_N, True)}
    app = "guest.mode=bench guest.bench-passes=0"
    for rep in range(BOOT_REPS):
        for t in ("flat", "ports"):
            bd.setdefault("boots", {}).setdefault(t, []).append(
                boot_once(topo[t], app, timeout=900))
        log("breakdown: timing boot %d/%d done" % (rep + 1, BOOT_REPS))
    if perf_probes_add(BD_PROBES, "no QEMU counters in the breakdown"):
        try:
            for t in ("flat", "ports"):
                data = os.path.join(WORK, "breakdown.perf.data")
                r = boot_once(topo[t], app, timeout=900,
                              prefix=["perf", "record", "-q", "-k",
                                      "CLOCK_MONOTONIC", "-o", data, "-e",
                                      "probe_qemu:benchbd_rtas", "-e",
                                      "probe_qemu:benchbd_remap", "--"])
                bd.setdefault("counts", {})[t] = bd_counts(r, data)
        finally:
            perf_probes_del(BD_PROBES)
        log("breakdown: QEMU counters done")
    for t in ("flat", "ports"):
        r = boot_once(topo[t], app + " initcall_debug log_buf_len=8M "
                      "guest.bench-dmesg=1", timeout=900)
        bd.setdefault("guest", {})[t] = bd_guest(r, t == "ports")
    log("breakdown: guest initcall_debug done")


def phase_median(boots, a, b):
    """median over boots of the time from console mark a ("t0": exec) to
    mark b, None without a boot that has both"""
    xs = []
    for r in boots:
        ta = 0.0 if a == "t0" else r.get(a)
        if ta is not None and r.get(b) is not None:
            xs.append(r[b] - ta)
    return statistics.median(xs) if xs else None


def breakdown_section(res):
    bd = res.get("breakdown")
    if not bd or "boots" not in bd:
        return []
    n = bd["n"]

    def med(t, a, b):
        return phase_median(bd["boots"].get(t, []), a, b)

    def cell(x):
        return "-" if x is None else "%.2f s" % x

    L = ["", "## 9. Where the ports' time goes: pseries-pcie at N = %d" % n,
         "", "The two topologies of section 8 (N virtio-blk on pcie.0, "
         "flat, vs each behind its own root port), medians of %d boots; "
         "phases cut at the console lines SLOF and prom_init print. CAS "
         "and the device-tree copy are SLOF's work for the kernel's "
         "prom_init (client interface calls), counted in section 8's "
         "kernel part." % len(bd["boots"].get("flat", [])), "",
         "| phase | flat | ports | ports - flat |", "|---|---:|---:|---:|"]
    for ph, a, b in BD_PHASES:
        f, p = med("flat", a, b), med("ports", a, b)
        L.append("| %s | %s | %s | %s |" % (
            ph, cell(f), cell(p),
            "-" if f is None or p is None else "%+.2f s" % (p - f)))
    f, p = med("flat", "t0", "userspace_s"), med("ports", "t0", "userspace_s")
    L.append("| **exec -> userspace** | %s | %s | %s |" % (
        cell(f), cell(p), "-" if f is None or p is None else
        "%+.2f s" % (p - f)))
    fs, ps = (med("flat", "pci_scan_s", "pci_scan_end_s"),
              med("ports", "pci_scan_s", "pci_scan_end_s"))
    nodes = {t: [(r.get("slof_bridges", 0), r.get("slof_devices", 0))
                 for r in bd["boots"].get(t, [])][:1] for t in bd["boots"]}
    if fs and ps:
        L += ["", "SLOF's scan, per node it prints: flat %s bridges + %s "
              "devices, %.0f ms per device; ports %s bridges + %s devices: "
              "each root port adds %.0f ms (ports - flat, over N)." % (
                  *(nodes.get("flat") or [("?", "?")])[0], 1000 * fs / n,
                  *(nodes.get("ports") or [("?", "?")])[0],
                  1000 * (ps - fs) / n)]
    cnt = bd.get("counts")
    if cnt:
        kinds = sorted({k for t in cnt.values() for c in t.values()
                        for k in c})
        L += ["", "QEMU's side, one boot each (perf uprobes on "
              "spapr_rtas_call and pci_bridge_update_mappings): events per "
              "phase, flat / ports.", "",
              "| phase | " + " | ".join(kinds) + " |",
              "|---|" + "---:|" * len(kinds)]
        for ph in ["before"] + [x[0] for x in BD_PHASES]:
            cf, cp = cnt.get("flat", {}).get(ph, {}), cnt.get("ports",
                                                                {}).get(ph, {})
            if not cf and not cp:
                continue
            L.append("| %s | %s |" % (ph, " | ".join(
                "%d / %d" % (cf.get(k, 0), cp.get(k, 0)) for k in kinds)))
    g = bd.get("guest")
    if g:
        keys = sorted({k for t in g.values() for k in t})
        L += ["", "The guest kernel's own times (initcall_debug, one boot "
              "each; probes of the port services and drivers, summed):", "",
              "| initcall / probe | flat: n | flat: total | ports: n | "
              "ports: total | ports - flat |", "|---|---:|---:|---:|---:|---:|"]
        for k in keys:
            nf, tf = g.get("flat", {}).get(k, (0, 0.0))
            np_, tp = g.get("ports", {}).get(k, (0, 0.0))
            L.append("| %s | %d | %.3f s | %d | %.3f s | %+.3f s |" % (
                k, nf, tf, np_, tp, tp - tf))
    return L


# ------------------------------------------------- 10 SLOF's word lookups

# The series' SLOF (build/firmware/slof.bin) against the same series
# without its find-hash patch (scripts/slof.sh baseline, built by
# bench.sh), in one run, boots alternating between the two: section 9's
# topologies at the same N, legacy pseries with N virtio-blk on pci.0,
# and section 7's disk from NVMe (root port, pci.0) and virtio-blk.
SLOF_BASE = os.path.join(BUILD, "slof-base", "boot_rom.bin")
SLOF_FW = (("without", SLOF_BASE),
           ("with", os.path.join(FIRMWARE, "slof.bin")))
SLOF_TOPOS = (("pseries-pcie, N root ports + virtio-blk", "pseries-pcie", True),
              ("pseries-pcie, N virtio-blk flat", "pseries-pcie", False),
              ("pseries, N virtio-blk on pci.0", "pseries", False))
SLOF_DISK = ("NVMe, root port", "NVMe, pci.0", "virtio-blk, root port")


def bench_slof(res):
    if not os.path.exists(SLOF_BASE):
        raise RuntimeError("no %s: scripts/bench.sh builds it" % SLOF_BASE)
    subprocess.run(["bash", os.path.join(TOP, "scripts", "bootdisk.sh")],
                   check=True, stdout=subprocess.DEVNULL)
    sl = res.setdefault("slof", {"n": BD_N})
    img = os.path.join(BUILD, "bootdisk", "boot-a.img")
    app = "guest.mode=bench guest.bench-passes=0 guest.bench-dt=1"
    for rep in range(BOOT_REPS):
        for what, m, ports in SLOF_TOPOS:
            for fw, path in SLOF_FW:
                r = boot_once(anchor_topology(m, BD_N, ports) +
                              ["-bios", path], app, timeout=900)
                sl.setdefault("%s|%s" % (what, fw), []).append(r)
        for m, what, dev in DISKBOOT_CASES:
            if what not in SLOF_DISK or (m == "pseries") != ("pci.0" in what):
                continue
            for fw, path in SLOF_FW:
                args = ["-M", m, "-m", "1G", "-nodefaults", "-display",
                        "none", "-bios", path, "-drive",
                        "if=none,id=bd,file=%s,format=raw,snapshot=on" % img
                        ] + dev
                sl.setdefault("disk: %s, %s|%s" % (m, what, fw), []).append(
                    boot_once(args, None))
        log("SLOF lookups: repetition %d/%d done" % (rep + 1, BOOT_REPS))


def slof_section(res):
    sl = res.get("slof")
    if not sl:
        return []
    n = sl["n"]

    def med(key, a, b):
        return phase_median(sl.get(key, []), a, b)

    def cell(x):
        return "-" if x is None else "%.2f s" % x

    def pair(key, a, b):
        x, y = med(key + "|without", a, b), med(key + "|with", a, b)
        return [cell(x), cell(y), "-" if x is None or y is None or not x
                else "%.2f" % (y / x)]

    L = ["", "## 10. SLOF's word lookups: with and without the find-hash "
         "patch, N = %d" % n, "",
         "Same run, medians of %d boots each, alternating: the series' SLOF "
         "(with) vs the same series without its find-hash patch (without, "
         "scripts/slof.sh baseline). Firmware part: exec -> prom_init's "
         "first line (QEMU start-up, SLOF, its PCI scan, loading the "
         "kernel); CAS: SLOF merging QEMU's new device tree. Device tree: a "
         "digest of the guest's whole /proc/device-tree (rng-seed, random per "
         "boot, and /openprom/model, SLOF's git commit, left out; SLOF's "
         "phandles, its nodes' addresses, numbered in path order, also "
         "where interrupt-map and interrupt-parent use them) "
         "and its number of properties; the same in every boot of both "
         "firmwares means the patch changed nothing SLOF builds." %
         max(len(v) for v in sl.values() if isinstance(v, list)), "",
         "| case | firmware part: without | with | with/without | SLOF PCI "
         "scan: without | with | with/without | CAS: without | with | "
         "with/without | exec -> userspace: without | with | with/without "
         "| device tree |", "|---|" + "---:|" * 12 + "---|"]
    for what, _m, _p in SLOF_TOPOS:
        dts = {fw: {tuple(r["dt"]) for r in sl.get("%s|%s" % (what, fw), [])
                    if r.get("dt")} for fw, _ in SLOF_FW}
        allv = dts["with"] | dts["without"]
        if len(allv) == 1 and dts["with"] and dts["without"]:
            dt = "same: %s, %d properties" % next(iter(allv))
        else:
            dt = "DIFFERS: without %s, with %s" % (sorted(dts["without"]),
                                                 sorted(dts["with"]))
        L.append("| %s | %s | %s |" % (what.replace("N", str(n), 1), " | ".join(
            pair(what, "t0", "prom_init_s") +
            pair(what, "pci_scan_s", "pci_scan_end_s") +
            pair(what, "cas_s", "cas_done_s") +
            pair(what, "t0", "userspace_s")), dt))
    L += ["", "Disk boots (section 7's disk, SLOF -> GRUB -> Linux): firmware "
          "part here is exec -> \"Welcome to GRUB\" (SLOF found, opened and "
          "loaded the PReP partition).", "",
          "| disk | exec -> GRUB: without | with | with/without | exec -> "
          "userspace: without | with | with/without |",
          "|---|" + "---:|" * 6]
    for key in sorted({k.rsplit("|", 1)[0] for k in sl
                       if k.startswith("disk: ")}):
        L.append("| %s | %s |" % (key[6:], " | ".join(
            pair(key, "t0", "grub_s") + pair(key, "t0", "userspace_s"))))
    return L


# ---------------------------------------------------------------- report

def fmt(s, unit, scale=1.0, digits=1):
    if s is None:
        return "-", "-"
    f = "%%.%df" % digits
    return ((f % (s["median"] * scale)) + " " + unit,
            (f + "–" + f) % (s["min"] * scale, s["max"] * scale))


def ratio(a, b):
    if not a or not b or not b["median"]:
        return "-"
    return "%.3f" % (a["median"] / b["median"])


def slope(points):
    """least-squares slope of (n, seconds)"""
    if len(points) < 2:
        return None
    xs, ys = zip(*points)
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def host_info():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    ver = subprocess.run([QEMU, "--version"], capture_output=True,
                         text=True).stdout.splitlines()[0]
    head = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    st = os.stat(QEMU_BUILT)
    return {"date": datetime.datetime.now().astimezone().isoformat(
                timespec="seconds"),
            "qemu": ver, "qemu_binary_mtime": datetime.datetime.fromtimestamp(
                st.st_mtime).isoformat(timespec="seconds"),
            "git_head": head, "qemu_sha256": subprocess.run(
                ["sha256sum", QEMU], capture_output=True,
                text=True).stdout.split()[0], "cpu": cpu, "nproc": os.cpu_count(),
            "kernel": platform.release(),
            "loadavg_start": open("/proc/loadavg").read().split()[:3],
            "reps": REPS, "boot_reps": BOOT_REPS, "quick": QUICK}


def pci_scan(runs):
    return stats([r["pci_scan_end_s"] - r["pci_scan_s"] for r in runs
                  if "pci_scan_end_s" in r and "pci_scan_s" in r])


def report(res):
    h = res["host"]
    L = []
    w = L.append
    w("# make bench: pseries-pcie vs pseries%s" %
      (" (BENCH_QUICK smoke run: not representative)" if QUICK else ""))
    w("")
    w("- date: %s; run took %.0f s" % (h["date"], res["elapsed_s"]))
    w("- %s (build/qemu-build binary of %s, sha256 %s..., run from a "
      "snapshot copy), project HEAD %s" %
      (h["qemu"], h["qemu_binary_mtime"], h["qemu_sha256"][:12],
       h["git_head"]))
    w("- host: %s, nproc %d, Linux %s; load average at start %s, at end %s" %
      (h["cpu"], h["nproc"], h["kernel"], " ".join(h["loadavg_start"]),
       " ".join(h["loadavg_end"])))
    w("- repetitions: %d (start-up), %d (config space), %d (device tree), "
      "%d (guest boots); machines interleaved within each repetition; TCG, "
      "one vCPU" % (2 * h["reps"], 3 * h["reps"], max(1, h["reps"] - 2),
                    h["boot_reps"]))
    w("- median, spread = min–max over the repetitions, n = samples; "
      "ratio = pseries-pcie median / pseries median (> 1: pseries-pcie "
      "slower or bigger; for rates and throughput < 1 is worse)")
    w("")

    # 1
    su = res["startup"]
    w("## 1. Start-up: exec → QMP ready → exit after `quit`")
    w("")
    w("`-S -nodefaults -display none -m 1G`, QMP on a socket QEMU connects "
      "to. N `%s` endpoints. `pseries`: 16 on `pci.0`, the rest behind "
      "`pci-bridge`s (31 each). `pseries-pcie`: 16 behind one "
      "`pcie-root-port` each, the rest behind x3130 switches (a root port, "
      "an upstream port, up to 32 downstream ports). `pseries-pcie-flat`: "
      "`pseries-pcie` with the `pseries` topology (endpoints on `pcie.0`, "
      "`pci-bridge`s) to separate the machine from the ports. `powernv10`: "
      "its 6 PHBs with one root port each, endpoints on the root ports "
      "(N ≤ 6) or behind one switch per root port. RSS at QMP ready." % DEV)
    w("")
    w("| machine | N | QEMU devices | exec→exit | spread | vs pseries "
      "| CPU (user+sys) | spread | vs pseries | exec→QMP ready "
      "| RSS at ready | n |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in NS:
        for m in MACHINES:
            if m == "none" and n != NS[0]:
                continue
            xs = su.get(m, {}).get(str(n), [])
            tot = stats([x["total"] for x in xs])
            rdy = stats([x["ready"] for x in xs])
            rs = stats([x["rss_kb"] for x in xs])
            base = stats([x["total"] for x in su["pseries"][str(n)]])
            cpu = stats([x["cpu"] for x in xs])
            cbase = stats([x["cpu"] for x in su["pseries"][str(n)]])
            a, b = fmt(tot, "ms", 1e3)
            c, d = fmt(cpu, "ms", 1e3)
            isp = m.startswith("pseries-pcie")
            w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |"
              % (m, n if m != "none" else "-", xs[0]["functions"], a, b,
                 ratio(tot, base) if isp else "", c, d,
                 ratio(cpu, cbase) if isp else "",
                 fmt(rdy, "ms", 1e3)[0], fmt(rs, "MiB", 1 / 1024)[0],
                 tot["n"]))
    w("")
    w("RSS at ready is bimodal (e.g. 62 or 107 MiB for pseries-pcie at "
      "N = 128): it includes FlatViews that wait for RCU to free them, "
      "gone a second later. Per-endpoint cost (least-squares slope of the "
      "medians over N = %s):" % ", ".join(map(str, NS)))
    w("")
    w("| machine | wall ms per endpoint | vs pseries | CPU ms per endpoint "
      "| vs pseries |")
    w("|---|---:|---:|---:|---:|")
    slopes, cslopes = {}, {}
    for m in MACHINES[:-1]:
        slopes[m] = slope([(n, stats([x["total"] for x in su[m][str(n)]])
                            ["median"]) for n in NS])
        cslopes[m] = slope([(n, stats([x["cpu"] for x in su[m][str(n)]])
                             ["median"]) for n in NS])
    for m in MACHINES[:-1]:
        isp = m.startswith("pseries-pcie")
        w("| %s | %.3f | %s | %.3f | %s |" % (
            m, slopes[m] * 1e3,
            "%.2f" % (slopes[m] / slopes["pseries"]) if isp else "",
            cslopes[m] * 1e3,
            "%.2f" % (cslopes[m] / cslopes["pseries"]) if isp else ""))
    res["startup_slope_s"] = slopes
    res["startup_cpu_slope_s"] = cslopes
    w("")

    # 2
    fd = res["fdt"]
    w("## 2. Device tree built at machine reset")
    w("")
    w("Size, nodes, properties: QMP `dumpdtb` after start-up (`-S`). Build "
      "time (%s): perf uprobes on `spapr_build_fdt` entry and return; the "
      "samples are the builds of %d `system_reset`s per process (the first "
      "build, at machine creation, is listed apart: cold caches); "
      "\"reset\" is QMP `system_reset` → `RESET` event, the whole machine "
      "reset (device resets + FDT)." % (res["fdt_method"], FDT_RESETS))
    w("")
    w("| machine | N | FDT bytes | nodes | props | build | spread | "
      "first build | reset | n | build vs pseries | bytes vs pseries |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in NS:
        for m in ("pseries-pcie", "pseries-pcie-flat", "pseries"):
            d = fd[m][str(n)]
            b = fd["pseries"][str(n)]
            bs, bb = stats(d["build_s"]), stats(b["build_s"])
            a, sp = fmt(bs, "ms", 1e3, 3)
            isp = m.startswith("pseries-pcie")
            w("| %s | %d | %d | %d | %d | %s | %s | %s | %s | %d | %s | %s |"
              % (m, n, d["bytes"], d["nodes"], d["props"], a, sp,
                 fmt(stats(d["first_build_s"]), "ms", 1e3, 3)[0],
                 fmt(stats(d["reset_wall_s"]), "ms", 1e3, 2)[0],
                 bs["n"] if bs else len(d["reset_wall_s"]),
                 ratio(bs, bb) if isp else "",
                 "%.3f" % (d["bytes"] / b["bytes"]) if isp else ""))
    w("")

    # 3
    bt = res["boot"]
    w("## 3. Guest boot to userspace")
    w("")
    w("The demo topology (`scripts/topology.sh`; the same endpoints, "
      "virtio-blk with a %d MiB disk), SLOF, the Debian kernel, "
      "`guest.mode=bench`. Host wall clock from exec to the `@@ userspace` "
      "line (first thing `/init` prints) on the console; the kernel's part "
      "is the guest's /proc/uptime at that line. exec→kernel: host time of "
      "the kernel's first line (`Preparing to boot Linux`, prom_init under "
      "SLOF); SLOF PCI scan: from SLOF's `Populating /pci@...` line to its "
      "next checkpoint (`C06xx`). `pseries-pcie-flat`: `pseries-pcie` with "
      "the `pseries` topology (the endpoints on `pcie.0`, the e1000 behind "
      "a `pci-bridge`): the machine without the cost of its ports." % DISK_MB)
    w("")
    w("| machine | exec→userspace | spread | vs pseries | exec→kernel "
      "(prom_init) | SLOF PCI scan | kernel (guest uptime) "
      "| exec→power-off | n |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in [m for m in ("pseries-pcie", "pseries-pcie-flat", "pseries")
              if m in bt]:
        us = stats([r["userspace_s"] for r in bt[m]])
        up = stats([r["guest_uptime_s"] for r in bt[m]])
        ex = stats([r["exit_s"] for r in bt[m]])
        base = stats([r["userspace_s"] for r in bt["pseries"]])
        a, b = fmt(us, "s", 1, 2)
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            m, a, b, ratio(us, base) if m != "pseries" else "",
            fmt(stats([r.get("prom_init_s") for r in bt[m]]), "s", 1, 2)[0],
            fmt(pci_scan(bt[m]), "s", 1, 2)[0],
            fmt(up, "s", 1, 2)[0], fmt(ex, "s", 1, 2)[0], us["n"]))
    w("")

    # 4
    cf = res["config"]
    w("## 4. Config-space reads: RTAS `ibm,read-pci-config` over qtest")
    w("")
    w("`-accel qtest`, 4-byte reads of an `nvme` (a PCIe function on both "
      "machines, 4 KiB config space) on the root bus (00:02.0) and behind a "
      "port (`pseries-pcie`: a `pcie-root-port`, 01:00.0; `pseries`: a "
      "`pci-bridge`, 01:01.0), offset 0x00 and 0x100 (extended), %d calls "
      "per sample, %d pipelined per write. The qtest protocol's own cost is "
      "the `readl` floor; \"RTAS µs\" = 1/rate − 1/floor." %
      (CFG_CALLS, CFG_BATCH))
    w("")
    w("| case | machine | calls/s | spread | RTAS µs/call | n | "
      "rate vs pseries |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for case in cf["pseries"]:
        for m in ("pseries-pcie", "pseries"):
            s = stats(cf[m][case])
            fl = stats(cf[m]["qtest floor (readl)"])
            us = ("%.2f" % ((1 / s["median"] - 1 / fl["median"]) * 1e6)
                  if "floor" not in case else "")
            a, b = fmt(s, "", 1, 0)
            w("| %s | %s | %s | %s | %s | %d | %s |" % (
                case, m, a.strip(), b, us, s["n"],
                ratio(s, stats(cf["pseries"][case]))
                if m != "pseries" else ""))
    w("")

    # 5
    w("## 5. Guest I/O: sequential read of virtio-blk")
    w("")
    w("Inside the guest: `dd if=/dev/vda of=/dev/null bs=1M iflag=direct` "
      "over the whole %d MiB disk (a raw image, in the host page cache), "
      "timed with /proc/timer_list; %d passes per boot, the first dropped "
      "(warm-up). `pseries-pcie`: virtio-blk behind a root port; "
      "`pseries`: on `pci.0`. virtio-pci picks its mode from the slot "
      "(`disable-legacy=auto`): modern-only on a PCI Express slot, "
      "transitional on a conventional one or on the root bus, as on q35 "
      "and i440fx; \"guest drives\" is what the guest negotiated "
      "(`VIRTIO_F_VERSION_1` in the device's features in sysfs): Linux "
      "drives a transitional device as a modern one too. The two control "
      "rows swap the device's mode with everything else equal, booted in "
      "the same rounds." % (DISK_MB, READ_PASSES))
    w("")
    w("| machine | virtio-blk | guest drives | MiB/s | spread | n "
      "| vs pseries |")
    w("|---|---|---|---:|---:|---:|---:|")
    rows = [("pseries", "on pci.0, transitional (default)",
             bt.get("pseries")),
            ("pseries-pcie", "behind a root port, modern (default)",
             bt.get("pseries-pcie")),
            ("pseries-pcie-flat", "on pcie.0, transitional (default)",
             bt.get("pseries-pcie-flat"))]
    ic = res.get("io_controls", {})
    for m, mode in IO_CONTROLS:
        where = "behind a root port" if m == "pseries-pcie" else "on pci.0"
        rows.append((m, "%s, `%s`" % (where, mode),
                     ic.get("%s %s" % (m, mode))))
    tp = []
    for m, what, runs in rows:
        xs = [b / (1 << 20) / (ns / 1e9) for r in runs or []
              for b, ns, _flag in r["reads"][1:]]
        tp.append(stats(xs) if xs else None)
    for (m, what, runs), s in zip(rows, tp):
        if s is None:
            continue
        a, b = fmt(s, "", 1, 0)
        modes = sorted({r.get("virtio_mode", "?") for r in runs})
        w("| %s | %s | %s | %s | %s | %d | %s |" % (
            m, what, "/".join(modes), a.strip(), b, s["n"],
            ratio(s, tp[0]) if s is not tp[0] else ""))
    w("")

    # 6
    rb = res["rss_boot"]
    w("## 6. QEMU RSS after boot")
    w("")
    w("VmRSS of QEMU when the guest (`guest.mode=bench`, 1 GiB, SLOF) "
      "prints `@@ bench-ready` (userspace up, virtio drivers bound), with "
      "the start-up topology of N `%s` endpoints; also the largest N booted "
      "with VOF (`x-vof=on`: no firmware PCI scan) and the demo topology of "
      "3/5. Guest RAM: Rss of the 1 GiB guest RAM mapping in "
      "/proc/PID/smaps; the rest is QEMU's own memory." % DEV)
    w("")
    w("| machine | topology | RSS | spread | n | vs pseries | of which "
      "guest RAM | QEMU (RSS − guest RAM) | vs pseries | exec→userspace "
      "| vs pseries | SLOF PCI scan |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [("N = %s" % n, lambda m, n=n: rb[m][str(n)]) for n in RSS_NS]
    rows.append(("N = %d, VOF" % RSS_NS[-1],
                 lambda m: rb[m]["%d-vof" % RSS_NS[-1]]))
    rows.append(("demo", lambda m: bt[m]))
    for name, get in rows:
        for m in ("pseries-pcie", "pseries"):
            s = stats([r["rss_kb"] for r in get(m)])
            base = stats([r["rss_kb"] for r in get("pseries")])
            a, b = fmt(s, "MiB", 1 / 1024, 1)
            us = stats([r["userspace_s"] for r in get(m)])
            ub = stats([r["userspace_s"] for r in get("pseries")])
            gr = stats([r.get("guest_ram_rss_kb") for r in get(m)])
            qm = stats([r["rss_kb"] - r["guest_ram_rss_kb"] for r in get(m)
                        if r.get("guest_ram_rss_kb")])
            qb = stats([r["rss_kb"] - r["guest_ram_rss_kb"]
                        for r in get("pseries") if r.get("guest_ram_rss_kb")])
            ps = "-" if "VOF" in name else fmt(pci_scan(get(m)), "s", 1, 1)[0]
            w("| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |"
              % (m, name, a, b, s["n"], ratio(s, base)
                 if m != "pseries" else "", fmt(gr, "MiB", 1 / 1024, 1)[0],
                 fmt(qm, "MiB", 1 / 1024, 1)[0],
                 ratio(qm, qb) if m != "pseries" else "",
                 fmt(us, "s", 1, 1)[0],
                 ratio(us, ub) if m != "pseries" else "", ps))
    w("")

    L.extend(diskboot_section(res))
    L.extend(anchor_section(res))
    L.extend(breakdown_section(res))
    L.extend(slof_section(res))
    return "\n".join(L)


def diskboot_section(res):
    L = []
    w = L.append
    db = res["diskboot"]
    w("## 7. Boot from disk: SLOF -> GRUB -> Linux, NVMe vs virtio-blk")
    w("")
    w("The same GPT disk (PReP partition with GRUB, ext2 /boot with the "
      "guest kernel and initramfs; `scripts/bootdisk.sh`), no `-kernel`, "
      "SLOF built from source with the NVMe driver of `slof-patches/`. "
      "SLOF probe: exec until SLOF opens the boot device (includes NVMe "
      "controller probing). Firmware load: SLOF opens the disk, reads the "
      "GPT and loads GRUB from PReP (until GRUB's banner). GRUB -> kernel: "
      "GRUB reads grub.cfg, the kernel (%.0f MiB) and the initramfs through "
      "SLOF's block driver (until the kernel's prom_init runs). "
      "vs virtio-blk: the NVMe median over the virtio-blk median on the "
      "same machine, same run." %
      (os.path.getsize(os.path.join(GUEST, "vmlinux")) / 2**20))
    w("")
    w("| machine | boot disk | SLOF probe | firmware load | GRUB -> kernel "
      "| vs virtio-blk | exec -> userspace | vs virtio-blk | n |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, what, _ in DISKBOOT_CASES:
        rs = db["%s|%s" % (m, what)]
        base = db["%s|%s" % (m, "virtio-blk, root port" if m == "pseries-pcie"
                             else "virtio-blk, pci.0")]
        probe = stats([r.get("load_s") for r in rs])
        load = stats([r["grub_s"] - r["load_s"] for r in rs
                      if "grub_s" in r and "load_s" in r])
        gk = stats([r["prom_init_s"] - r["grub_s"] for r in rs
                    if "prom_init_s" in r and "grub_s" in r])
        gkb = stats([r["prom_init_s"] - r["grub_s"] for r in base
                     if "prom_init_s" in r and "grub_s" in r])
        us = stats([r.get("userspace_s") for r in rs])
        ub = stats([r.get("userspace_s") for r in base])
        nv = "NVMe" in what
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %d |" %
          (m, what, fmt(probe, "s")[0], fmt(load, "s", 1, 2)[0],
           fmt(gk, "s")[0], ratio(gk, gkb) if nv else "",
           fmt(us, "s")[0], ratio(us, ub) if nv else "",
           us["n"] if us else 0))
    w("")
    return L


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    su = res["startup"]
    fig, ax = plt.subplots(figsize=(8, 5))
    for m in MACHINES:
        ns = NS if m != "none" else [NS[0], NS[-1]]
        src = [su[m][str(n if m != "none" else NS[0])] for n in ns]
        s = [stats([x["total"] for x in xs]) for xs in src]
        med = [x["median"] * 1e3 for x in s]
        err = [[x["median"] * 1e3 - x["min"] * 1e3 for x in s],
               [x["max"] * 1e3 - x["median"] * 1e3 for x in s]]
        ax.errorbar(ns, med, yerr=err, marker="o", capsize=3,
                    linestyle="--" if m == "none" else "-", label=LABEL[m])
    ax.set_xscale("log", base=2)
    ax.set_xticks(NS)
    ax.set_xticklabels([str(n) for n in NS])
    ax.set_xlabel("endpoints N (%s)" % DEV)
    ax.set_ylabel("exec → QMP ready → exit (ms), median, min–max")
    ax.set_title("QEMU start-up cost vs topology size (%s)" %
                 res["host"]["qemu"].split()[-1])
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    os.makedirs(WORK, exist_ok=True)
    shutil.copy2(QEMU_BUILT, QEMU + ".tmp")
    os.rename(QEMU + ".tmp", QEMU)
    res = {"host": host_info()}
    full = ["startup", "fdt", "config", "boot", "diskboot", "anchor",
            "breakdown", "slof"]
    only = os.environ.get("BENCH_ONLY", ",".join(full)).split(",")
    log("make bench: %s, reps %d, boot reps %d%s" %
        (res["host"]["qemu"], REPS, BOOT_REPS, ", QUICK" if QUICK else ""))
    steps = [("startup", bench_startup), ("fdt", bench_fdt),
             ("config", bench_config), ("boot", bench_boot),
             ("diskboot", bench_diskboot), ("anchor", bench_anchor),
             ("breakdown", bench_breakdown), ("slof", bench_slof)]
    for name, fn in steps:
        if name in only:
            fn(res)
    res["host"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    res["elapsed_s"] = time.time() - T_START
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    # the sections that can be run alone (BENCH_ONLY) and their report
    alone = {"diskboot": diskboot_section, "anchor": anchor_section,
             "breakdown": breakdown_section, "slof": slof_section}
    if set(only) >= set(full):
        name = "results.md"
        md = report(res)
        plot(res, os.path.join(OUT, "startup.png"))
    elif all(x in alone for x in only):
        name = "results-%s.md" % "-".join(only)
        md = "\n".join(x for o in only for x in alone[o](res))
    else:
        name, md = None, None
    if md is not None:
        with open(os.path.join(OUT, name), "w") as f:
            f.write(md + "\n")
        print(md)
    log("wrote %s/%s" % (OUT, (name + ", " if name else "") + "results.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
