#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virt-install end to end: the patched virt-install (build/virt-manager,
run from its source tree), the patched libvirt daemons (virtqemud,
virtstoraged, virtlogd from build/libvirt-build) and the patched QEMU.

For each of pseries-pcie-10.2 and, for comparison, legacy pseries-10.2:
  1. virt-install --import a copy of build/bootdisk/boot-serve.img (GPT,
     PReP GRUB, ext2 /boot; the guest in guest.mode=serve), no -kernel:
     SLOF must load GRUB from the virtio disk (through a pcie-root-port on
     pseries-pcie, from pci.0 on pseries), GRUB boots Linux, the guest
     reads the first MiB of the disk back;
  2. virt-xml --add-device --update, live, three times: a virtio disk, a
     virtio NIC on user networking, a second virtio disk; after each the
     guest sees the new function (a PCIe Endpoint behind a root port on
     pseries-pcie), reads the disk back or gets a DHCP lease;
  3. virt-xml --remove-device --update for each: libvirt reports the
     device-removed event (QEMU's DEVICE_DELETED), the device leaves the
     live XML and the guest lets it go; the guest kernel stays healthy.
Then, for each machine, booting from NVMe with a boot order: libvirt
11.3.0 has no guest NVMe disk bus (<target bus='nvme'/>), so the NVMe
controller and its drive come through virt-install --qemu-commandline,
with bootindex=1, which is what <boot order='1'/> becomes on the QEMU
command line; a virtio disk (boot-serve.img) has <boot order='2'/>. The
NVMe disk is boot-gi.img, laid out as grub-install lays a disk out
(prefix "(,gpt2)", GRUB takes its disk from /chosen/bootpath; grubenv
next_entry=1, cleared by grub.cfg with save_env): SLOF must load from the
NVMe controller first, GRUB must boot the one-time entry and clear it on
the disk, and a second start must boot the default entry.
Then, defined but not booted: the index-less
'--controller type=pci,model=pcie-root-port' (pseries-pcie and, if
build/qemu-build-x86_64 exists, q35), the live attach of a PCI controller
(message) and its persistent attach (works); and stock virt-install 4.1.0
(Debian bookworm, unpacked in build/virtinst-stock) recorded: one spare
root port, the second live disk attach fails.

Then three booted flows: two PHBs (pseries-pcie-10.2 with a PCI Express
PHB 1 holding an integrated disk and a root port with a disk, and a
conventional PHB 3 with the NIC: controllers, guest PCI domains 0001 and
0002, both disks read back, DHCP over the conventional PHB); conversion
(pseries-10.2 -> virt-xml --convert-to-pseries-pcie -> --convert-to-pseries,
booted from disk each time, SLOF's boot path checked); default graphics
(VNC + VGA on pcie.0 slot 1, SLOF's framebuffer, the guest sees the VGA).

VIRT_INSTALL_E2E_ONLY=noboot,flow,nvme,phbs,convert,graphics (any
comma-separated subset) runs only those parts.

Runs in a private mount namespace like tests/long/libvirt_e2e.py (whose
helpers it uses); state under build/libvirt-inst, files under
build/virt-install-e2e/.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libvirt_e2e as L  # noqa: E402

TOP, BUILD, INST, LVOBJ = L.TOP, L.BUILD, L.INST, L.LVOBJ
WORK = os.path.join(BUILD, "virt-install-e2e")
L.WORK = WORK                      # libvirt_e2e.start() writes logs there
VM_TREE = os.path.join(BUILD, "virt-manager")
STOCK_VI = os.path.join(BUILD, "virtinst-stock", "root", "usr", "share", "virt-manager")
QEMU_DIR = os.path.join(BUILD, "qemu-build")
QEMU_X86_DIR = os.path.join(BUILD, "qemu-build-x86_64")
BOOTDISK = os.environ.get("VIRT_INSTALL_BOOTDISK",
                          os.path.join(BUILD, "bootdisk", "boot-serve.img"))
GUEST = L.GUEST
RUN_DIR = os.path.join(INST, "run", "libvirt")
SOCK = os.path.join(RUN_DIR, "virtqemud-sock")
URI = "qemu:///system?socket=" + SOCK
VIRSH = os.path.join(LVOBJ, "tools", "virsh")
BOOT_TIMEOUT = int(os.environ.get("VIRT_INSTALL_E2E_TIMEOUT", "360"))
MACHINES = os.environ.get("VIRT_INSTALL_E2E_MACHINES",
                          "pseries-pcie-10.2 pseries-10.2").split()

log, check = L.log, L.check
# Debian's python3: python3-gi, python3-libvirt and python3-libxml2 are its
PY = "/usr/bin/python3"
ENV = {}
domains = []


def run(argv, timeout=300, env=None):
    r = subprocess.run(argv, env=env or ENV, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip()


def virsh(*args, timeout=120):
    return run([VIRSH, "-c", URI] + list(args), timeout=timeout)


def virt_tool(tool, *args, stock=False, timeout=300):
    """virt-install / virt-xml from the patched source tree, or stock."""
    if stock:
        code = ("import sys; sys.path.insert(0, %r); from virtinst import %s; "
                "sys.argv[0] = %r; %s.runcli()" %
                (STOCK_VI, {"virt-install": "virtinstall", "virt-xml": "virtxml"}[tool],
                 tool, {"virt-install": "virtinstall", "virt-xml": "virtxml"}[tool]))
        argv = [PY, "-c", code]
    else:
        argv = [PY, os.path.join(VM_TREE, tool)]
    return run(argv + ["--connect", URI] + list(args), timeout=timeout)


def dumpxml(dom, inactive=False):
    rc, out = virsh("dumpxml", dom, *(["--inactive"] if inactive else []))
    return ET.fromstring(out) if rc == 0 else None


def pci_controllers(root):
    return [c for c in root.iter("controller") if c.get("type") == "pci"]


def spare_root_ports(root):
    """pcie-root-ports no device is plugged into (by bus number)."""
    ports = {int(c.get("index")) for c in pci_controllers(root)
             if c.get("model") == "pcie-root-port"}
    used = set()
    for a in root.iter("address"):
        if a.get("type") == "pci" and a.get("bus") is not None:
            used.add(int(a.get("bus"), 16))
    return sorted(ports - used)


def destroy_undefine(dom):
    virsh("destroy", dom)
    virsh("undefine", dom, "--nvram")
    virsh("undefine", dom)


# ---------------------------------------------------------------- daemons

def start_daemons():
    conf_dir = os.path.join(INST, "etc", "libvirt")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "qemu.conf"), "w") as f:
        f.write(L.QEMU_CONF)
    os.makedirs(RUN_DIR, exist_ok=True)
    # The daemons listen under RUNSTATEDIR ($prefix/run); libvirt's client
    # side looks for a privileged daemon's socket under LOCALSTATEDIR/run
    # (src/remote/remote_sockets.c): with a prefix those differ.
    varrun = os.path.join(INST, "var", "run")
    if not os.path.islink(varrun):
        shutil.rmtree(varrun, ignore_errors=True)
        os.makedirs(os.path.dirname(varrun), exist_ok=True)
        os.symlink("../run", varrun)
    for s in os.listdir(RUN_DIR):
        if s.endswith("-sock"):
            os.unlink(os.path.join(RUN_DIR, s))
    for d in (("etc", "libvirt", "qemu"), ("etc", "libvirt", "storage"),
              ("run", "libvirt", "qemu"), ("run", "libvirt", "storage")):
        shutil.rmtree(os.path.join(INST, *d), ignore_errors=True)
    env = dict(os.environ)
    env.pop("LIBVIRT_DEFAULT_URI", None)
    # virtqemud finds qemu-system-<arch> on its PATH: ours first
    path = [QEMU_DIR] + ([QEMU_X86_DIR] if os.path.exists(
        os.path.join(QEMU_X86_DIR, "qemu-system-x86_64")) else [])
    env["PATH"] = ":".join(path) + ":" + env["PATH"]
    for name in ("virtlogd", "virtstoraged", "virtqemud"):
        p = L.start([os.path.join(LVOBJ, "src", name)], env, name + ".log")
        if not check(L.wait_socket(os.path.join(RUN_DIR, name + "-sock"), p),
                     "patched %s is listening" % name):
            return False
    # the clients: python3-libvirt and virsh on the patched libvirt.so
    ENV.update(os.environ)
    ENV.pop("LIBVIRT_DEFAULT_URI", None)
    ENV["LD_LIBRARY_PATH"] = os.path.join(LVOBJ, "src")
    return True


def kill_qemus():
    qdir = os.path.join(RUN_DIR, "qemu")
    for dom in domains:
        try:
            pid = int(open(os.path.join(qdir, dom + ".pid")).read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"qemu-system" not in f.read():
                    continue
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- console

class Console:
    """The guest's serial console: QEMU listens on a unix socket (libvirt
    <serial type='unix' mode='bind'>) and logs it to a file."""

    def __init__(self, sock, logfile):
        self.sock_path, self.logfile = sock, logfile
        self.sock = None
        self.text = ""
        self.lock = threading.Lock()
        self.token = 0

    def connect(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock_path)
                self.sock = s
                threading.Thread(target=self._read, daemon=True).start()
                return True
            except OSError:
                time.sleep(0.2)
        return False

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.text += data.decode(errors="replace").replace("\r", "")

    def all_text(self):
        """What the guest printed: the log file (from power-on) and what
        came through the socket."""
        try:
            with open(self.logfile, errors="replace") as f:
                logged = f.read().replace("\r", "")
        except OSError:
            logged = ""
        with self.lock:
            return logged if len(logged) >= len(self.text) else self.text

    def lines(self, text=None):
        text = self.all_text() if text is None else text
        return [ln[ln.index("@@"):].strip() for ln in text.split("\n") if "@@" in ln]

    def wait(self, prefix, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ln in self.lines():
                if ln.startswith(prefix):
                    return ln
            time.sleep(0.5)
        return None

    def command(self, cmd, timeout=120, arg=""):
        self.token += 1
        tok = "%s-%d" % (cmd, self.token)
        with self.lock:
            start = len(self.text)
        self.sock.sendall(("%s %s %s\n" % (cmd, tok, arg)).encode())
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                new = self.text[start:]
            ls = self.lines(new)
            if "@@ ok " + tok in ls:
                return ls[:ls.index("@@ ok " + tok)]
            time.sleep(0.2)
        raise RuntimeError("guest did not answer '%s' in %d s" % (cmd, timeout))

    def close(self):
        if self.sock:
            self.sock.close()


FN_RE = re.compile(r'@@ fn (\S+) id=(\S+) class=\S+ config=(\d+) type="([^"]*)" driver=(\S+)')


def guest_drivers(con):
    """{bdf: driver} of every PCI function ('-' if none)"""
    return {ln.split()[2]: ln.split()[3] for ln in con.command("drivers")
            if ln.startswith("@@ drv ")}


def guest_fn(con, bdf):
    """(id, config size, port type, driver) of one function"""
    for ln in con.command("fn", arg=bdf):
        m = FN_RE.match(ln)
        if m and m.group(1) == bdf:
            return m.group(2, 3, 4, 5)
    return None


def guest_heads(con):
    return {ln.split()[2]: ln.split()[3] for ln in con.command("bootdisk")
            if ln.startswith("@@ disk-head ")}


def head_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(1 << 20)).hexdigest()


# ---------------------------------------------------------------- the flow

def import_domain(dom, machine, con, d, tag, devices, graphics=False):
    """virt-install --import of a one-vCPU TCG guest with DEVICES, its
    serial console on CON, started; the tool's output in D. True if it
    worked (checked). GRAPHICS: virt-install's default graphics and video
    (VNC, VGA on pseries), not none."""
    display = [] if graphics else ["--graphics", "none", "--video", "none"]
    rc, out = virt_tool(
        "virt-install", "--name", dom, "--machine", machine, "--arch", "ppc64",
        "--virt-type", "qemu", "--memory", "1024", "--vcpus", "1",
        "--osinfo", "linux2022", "--import", *devices,
        *display, "--memballoon", "none",
        "--serial", "unix,path=%s,mode=bind,log.file=%s" % (con.sock_path, con.logfile),
        "--console", "none", "--noautoconsole")
    with open(os.path.join(d, "virt-install.log"), "w") as f:
        f.write(out + "\n")
    if not check(rc == 0, tag + "virt-install --import creates and starts the domain"):
        log(out[-3000:])
        return False
    return True


def flow(machine):
    pcie = machine.startswith("pseries-pcie")
    dom = "vi-" + machine.replace(".", "-")
    tag = machine + ": "
    log("== %s: virt-install from a boot disk, then hotplug" % machine)
    d = os.path.join(WORK, machine)
    os.makedirs(d)
    boot = os.path.join(d, "boot.img")
    shutil.copyfile(BOOTDISK, boot)
    datas = []
    for n in ("a", "b"):
        p = os.path.join(d, "data-%s.img" % n)
        shutil.copyfile(os.path.join(GUEST, "disk-%s.img" % n), p)
        datas.append(p)
    con = Console(os.path.join(d, "console.sock"), os.path.join(d, "console.log"))
    domains.append(dom)
    t0 = time.time()
    if not import_domain(dom, machine, con, d, tag,
                         ["--disk", "path=%s,bus=virtio,format=raw" % boot,
                          "--network", "user,model=virtio"]):
        return
    root = dumpxml(dom)
    with open(os.path.join(d, "live.xml"), "w") as f:
        f.write(ET.tostring(root, encoding="unicode"))
    models = [c.get("model") for c in pci_controllers(root)]
    spare = spare_root_ports(root)
    if pcie:
        check(models.count("pcie-root") == 1 and models.count("pci-root") == 0 and
              len(spare) >= 3,
              tag + "pcie-root and %d pcie-root-ports, %d spare (virt-install adds 14)" %
              (models.count("pcie-root-port"), len(spare)))
    else:
        check(models == ["pci-root"], tag + "only the legacy pci-root (%s)" % models)
    con.connect()
    line = con.wait("@@ serving", BOOT_TIMEOUT)
    text = con.all_text()
    if not check(line is not None, tag + "the guest booted from disk and serves (%.0f s)" %
                 (time.time() - t0)):
        log(text[-3000:])
        destroy_undefine(dom)
        return
    m = re.search(r"Trying to load: +from: (\S+) .*?Successfully loaded", text, re.S)
    path = m.group(1) if m else ""
    if pcie:
        ok = re.match(r"/pci@800000020000000/pci@[0-9a-f,]+/scsi@0$", path)
    else:
        ok = re.match(r"/pci@800000020000000/scsi@[0-9a-f]+$", path)
    check(ok is not None, tag + "SLOF loaded GRUB from the virtio disk %s (%s)" %
          ("behind a root port" if pcie else "on pci.0", path))
    check("GRUB: booting the test guest from disk serve" in text and
          "@@ bootdisk serve" in con.lines(text), tag + "GRUB booted the disk's kernel")
    heads = guest_heads(con)
    check(heads.get("vda") == head_sha(boot), tag + "the guest reads the boot disk back")
    before = guest_drivers(con)

    # libvirt's device-removed event is QEMU's DEVICE_DELETED; stdbuf: virsh
    # writes its events with stdio, block-buffered into a file
    ev = L.start(["stdbuf", "-oL", VIRSH, "-c", URI, "event", dom, "--event",
                  "device-removed", "--loop", "--timestamp"], ENV, machine + "-events.log")
    time.sleep(1)

    # three live attaches into spare ports
    added = []
    for kind, spec in (("disk", "path=%s,bus=virtio,format=raw,target=vdb" % datas[0]),
                       ("network", "user,model=virtio"),
                       ("disk", "path=%s,bus=virtio,format=raw,target=vdc" % datas[1])):
        what = "%s %s" % (kind, spec.split(",")[0])
        rc, out = virt_tool("virt-xml", dom, "--add-device", "--" + kind, spec, "--update")
        if not check(rc == 0 and "hotplug successful" in out.lower(),
                     tag + "virt-xml --add-device --%s --update (live): %s" %
                     (kind, out.replace("\n", " ")[:200])):
            continue
        if kind == "disk":
            alias = disk_alias(dom, spec.split("target=")[1])
        else:
            alias = nic_alias(dom, before_xml=root)
        addr = pci_addr_of(dom, alias)
        if pcie:
            check(addr is not None and addr[0] in spare,
                  tag + "libvirt put %s into a spare root port (bus %s)" %
                  (alias, addr and "0x%02x" % addr[0]))
        else:
            check(addr is not None and addr[0] == 0,
                  tag + "libvirt put %s on pci.0 (slot %s)" % (alias, addr and "0x%02x" % addr[1]))
        # Legacy pSeries PCI hotplug needs the guest's rtas_errd and drmgr
        # (ppc64-diag, powerpc-utils) to configure the slot; the test guest
        # has neither, so there the guest side is recorded, not asserted.
        new = []
        for _ in range(60 if pcie else 10):
            drv = guest_drivers(con)
            new = [b for b in drv if b not in before and b not in [a[1] for a in added]
                   and drv[b] != "-"]
            if new:
                break
            time.sleep(2)
        if not pcie:
            log("RECORD " + tag + "after the live %s attach the guest %s" % (
                kind, "sees %s" % new if new else
                "sees no new function (no drmgr/rtas_errd in the test guest)"))
            added.append((kind, new[0] if new else None, alias, spec))
            continue
        if not check(len(new) == 1, tag + "the guest sees the new %s function, driver bound (%s)" %
                     (kind, new)):
            continue
        bdf = new[0]
        ident, cfg, ptype, drv = guest_fn(con, bdf) or ("?", "?", "?", "?")
        check(ptype == "Endpoint" and cfg == "4096" and not bdf.startswith("0000:00:"),
              tag + "%s is a PCIe Endpoint with 4 KiB config space behind a port (%s %s)" %
              (kind, bdf, ptype))
        if kind == "disk":
            dev = spec.split("target=")[1]
            guest_dev = None
            heads = {}
            for _ in range(15):
                heads = guest_heads(con)
                want = head_sha(datas[0] if dev == "vdb" else datas[1])
                guest_dev = next((k for k, v in heads.items() if v == want), None)
                if guest_dev:
                    break
                time.sleep(2)
            check(guest_dev is not None, tag + "the guest reads the hot-added disk back (%s)" %
                  guest_dev)
        else:
            leases = [ln for ln in con.command("dhcp", timeout=90)
                      if ln.startswith("@@ dhcp-lease")]
            check(len(leases) >= 2, tag + "DHCP lease on the hot-added NIC too (%s)" % leases)
        added.append((kind, bdf, alias, spec))

    if pcie:
        root2 = dumpxml(dom)
        check(len(spare_root_ports(root2)) == len(spare) - len(added),
              tag + "each hot-added device took one spare root port (%d -> %d)" %
              (len(spare), len(spare_root_ports(root2))))

    # detach each
    for kind, bdf, alias, spec in added:
        if kind == "disk":
            sel = "target=" + spec.split("target=")[1]
        else:
            sel = "mac=" + mac_of(dom, alias)
        rc, out = virt_tool("virt-xml", dom, "--remove-device", "--" + kind, sel, "--update")
        check(rc == 0, tag + "virt-xml --remove-device --%s %s --update: %s" %
              (kind, sel, out.replace("\n", " ")[:200]))
        gone = False
        for _ in range(60 if pcie else 20):
            with open(os.path.join(WORK, machine + "-events.log"), errors="replace") as f:
                evtext = f.read()
            if re.search(r"device-removed.*: %s\b" % re.escape(alias), evtext):
                gone = True
                break
            time.sleep(1)
        live = ET.tostring(dumpxml(dom), encoding="unicode")
        in_live = "'%s'" % alias in live or '"%s"' % alias in live
        if not pcie:
            log("RECORD " + tag + "after the %s removal: device-removed %s, %s the live XML" % (
                alias, "reported" if gone else "not reported in 20 s",
                "still in" if in_live else "gone from"))
            continue
        check(gone, tag + "libvirt reports device-removed for %s (QEMU's DEVICE_DELETED)" % alias)
        check(not in_live, tag + "%s is gone from the live XML" % alias)
        left = True
        for _ in range(30):
            if bdf not in guest_drivers(con):
                left = False
                break
            time.sleep(2)
        check(not left, tag + "the guest let %s go (%s)" % (bdf, kind))

    health = [ln for ln in con.command("health") if ln.startswith("@@ health-bad")]
    text = con.all_text()
    bad = health + [ln for ln in con.lines(text) if ln.startswith("@@ insmod-failed")]
    cm = re.search(r"Kernel panic|Oops:|BUG:|WARNING: CPU|Call Trace:|blocked for more than",
                   text)
    if cm:
        bad.append("console: " + cm.group(0))
    check(not bad, tag + "guest kernel healthy, every module loaded %s" % bad)
    con.close()
    destroy_undefine(dom)
    ev.terminate()


def guest_bad(con):
    """What is wrong with the guest's kernel: failed health checks, failed
    module loads, an Oops, BUG, WARNING, panic or hung task on the console"""
    bad = [ln for ln in con.command("health") if ln.startswith("@@ health-bad")]
    text = con.all_text()
    bad += [ln for ln in con.lines(text) if ln.startswith("@@ insmod-failed")]
    cm = re.search(r"Kernel panic|Oops:|BUG:|WARNING: CPU|Call Trace:|blocked for more than",
                   text)
    if cm:
        bad.append("console: " + cm.group(0))
    return bad


def serve_boot(dom, con, tag, what, start=False):
    """Start DOM if START (with a new console log), wait until its guest
    serves; True if it does (checked)"""
    if start:
        if os.path.exists(con.logfile):
            os.unlink(con.logfile)
        con = Console(con.sock_path, con.logfile)
        rc, out = virsh("start", dom)
        if not check(rc == 0, tag + "%s: the domain starts (%s)" % (what, out.strip())):
            return None
    t0 = time.time()
    con.connect()
    line = con.wait("@@ serving", BOOT_TIMEOUT)
    if not check(line is not None, tag + "%s: the guest booted from disk and serves "
                 "(%.0f s)" % (what, time.time() - t0)):
        log(con.all_text()[-3000:])
        con.close()
        return None
    return con


def stop_domain(dom):
    virsh("destroy", dom)
    deadline = time.time() + 60
    while time.time() < deadline and "shut off" not in virsh("domstate", dom)[1]:
        time.sleep(0.5)


def guest_fns(con):
    """{bdf: (id, config size, port type, driver)} of every PCI function"""
    out = {}
    for ln in con.command("fns"):
        m = FN_RE.match(ln)
        if m:
            out[m.group(1)] = m.group(2, 3, 4, 5)
    return out


def phbs_flow():
    """A pseries-pcie guest with two PHBs besides pcie.0, both with
    devices: a PCI Express one (a pcie-root with index 1: an integrated
    virtio disk on its root bus, a virtio disk behind a root port on it)
    and a conventional one (a pci-root: a virtio NIC on its bus)."""
    machine = "pseries-pcie-10.2"
    dom = "vi-phbs"
    tag = machine + ", two PHBs: "
    log("== %s: virt-install with a PCI Express and a conventional PHB" % machine)
    d = os.path.join(WORK, "phbs")
    os.makedirs(d)
    boot = os.path.join(d, "boot.img")
    shutil.copyfile(BOOTDISK, boot)
    datas = []
    for n in ("a", "b"):
        p = os.path.join(d, "data-%s.img" % n)
        shutil.copyfile(os.path.join(GUEST, "disk-%s.img" % n), p)
        datas.append(p)
    con = Console(os.path.join(d, "console.sock"), os.path.join(d, "console.log"))
    domains.append(dom)
    pciaddr = "address.type=pci,address.domain=0,address.bus=%d,address.slot=%d"
    if not import_domain(dom, machine, con, d, tag, [
            "--controller", "type=pci,model=pcie-root,index=1",
            "--controller", "type=pci,model=pcie-root-port,index=2," + pciaddr % (1, 1),
            "--controller", "type=pci,model=pci-root,index=3",
            "--disk", "path=%s,bus=virtio,format=raw,target=vda" % boot,
            "--disk", "path=%s,bus=virtio,format=raw,target=vdb,%s" % (
                datas[0], pciaddr % (1, 2)),
            "--disk", "path=%s,bus=virtio,format=raw,target=vdc,%s" % (
                datas[1], pciaddr % (2, 0)),
            "--network", "user,model=virtio," + pciaddr % (3, 1)]):
        return
    root = dumpxml(dom)
    with open(os.path.join(d, "live.xml"), "w") as f:
        f.write(ET.tostring(root, encoding="unicode"))
    phbs = {}
    for c in pci_controllers(root):
        m, t = c.find("model"), c.find("target")
        phbs[int(c.get("index"))] = (c.get("model"), m.get("name") if m is not None else None,
                                     t.get("index") if t is not None else None)
    check(phbs.get(0) == ("pcie-root", None, None) and
          phbs.get(1) == ("pcie-root", "spapr-pcie-host-bridge", "1") and
          phbs.get(3) == ("pci-root", "spapr-pci-host-bridge", "2"),
          tag + "pcie-root 0, PCI Express PHB 1 (spapr-pcie-host-bridge, target 1), "
          "conventional PHB 3 (spapr-pci-host-bridge, target 2): %s" %
          {k: v for k, v in phbs.items() if k in (0, 1, 3)})
    con = serve_boot(dom, con, tag, "first boot")
    if not con:
        destroy_undefine(dom)
        return
    heads = guest_heads(con)
    check(heads.get("vda") == head_sha(boot), tag + "the guest reads the boot disk back")
    check(heads.get("vdb") == head_sha(datas[0]) and heads.get("vdc") == head_sha(datas[1]),
          tag + "the guest reads both disks of the PCI Express PHB back")
    fns = guest_fns(con)
    with open(os.path.join(d, "fns.txt"), "w") as f:
        f.write("".join("%s %s\n" % (k, v) for k, v in sorted(fns.items())))
    # Linux numbers the PCI domains of sPAPR PHBs by their index
    # (linux,pci-domain): target index 1 is domain 0001, 2 is 0002
    pcie1 = {k: v for k, v in fns.items() if k.startswith("0001:")}
    conv2 = {k: v for k, v in fns.items() if k.startswith("0002:")}
    # An integrated virtio device on a PCI Express root bus is transitional
    # and has no Express capability, as on q35's pcie.0: QEMU gives virtio
    # the Express capability only behind a port (virtio_pci_realize,
    # pcie_port), which is why libvirt puts virtio devices behind root ports.
    integ = pcie1.get("0001:00:02.0", ("", "", "", ""))
    check(integ[0] == "0x1af4:0x1001" and integ[1] == "256" and integ[3] == "virtio-pci",
          tag + "the integrated disk is a transitional virtio-blk function on the root bus "
          "of domain 0001, as on q35's pcie.0 (%s)" % (integ,))
    check(pcie1.get("0001:00:01.0", ("", "", "", ""))[2] == "Root Port" and
          pcie1.get("0001:01:00.0", ("", "", "", ""))[2] == "Endpoint",
          tag + "the root port of PHB 1 and the disk behind it: %s" %
          ({k: pcie1.get(k) for k in ("0001:00:01.0", "0001:01:00.0")},))
    check(conv2.get("0002:00:01.0", ("", "", "", ""))[1:3] == ("256", "conventional") and
          conv2.get("0002:00:01.0", ("", "", "", ""))[3] != "-",
          tag + "the NIC is a conventional PCI function of domain 0002, with its "
          "driver (%s)" % (conv2.get("0002:00:01.0"),))
    leases = [ln for ln in con.command("dhcp", timeout=90) if ln.startswith("@@ dhcp-lease")]
    check(leases, tag + "the NIC on the conventional PHB gets a DHCP lease (%s)" % leases)
    bad = guest_bad(con)
    check(not bad, tag + "guest kernel healthy, every module loaded %s" % bad)
    con.close()
    destroy_undefine(dom)


def convert_flow():
    """pseries-10.2 -> pseries-pcie-10.2 -> pseries-10.2 with virt-xml's
    conversions, the guest booted from its disk each time; the NIC sits on
    a second, conventional PHB, which every conversion keeps (with the NIC
    in its slot)"""
    dom = "vi-convert"
    tag = "convert: "
    log("== virt-xml --convert-to-pseries-pcie and back, booted each time")
    d = os.path.join(WORK, "convert")
    os.makedirs(d)
    boot = os.path.join(d, "boot.img")
    shutil.copyfile(BOOTDISK, boot)
    con = Console(os.path.join(d, "console.sock"), os.path.join(d, "console.log"))
    domains.append(dom)
    if not import_domain(dom, "pseries-10.2", con, d, tag,
                         ["--disk", "path=%s,bus=virtio,format=raw" % boot,
                          "--controller", "type=pci,model=pci-root,index=1",
                          "--network", "user,model=virtio,address.type=pci,"
                          "address.bus=1,address.slot=3"]):
        return
    steps = [("pseries-10.2", None), ("pseries-pcie-10.2", "--convert-to-pseries-pcie"),
             ("pseries-10.2", "--convert-to-pseries")]
    for n, (machine, conv) in enumerate(steps):
        pcie = machine.startswith("pseries-pcie")
        what = "as %s" % machine
        if conv:
            stop_domain(dom)
            rc, out = virt_tool("virt-xml", dom, "--edit", conv, "--define")
            with open(os.path.join(d, "virt-xml-%d.log" % n), "w") as f:
                f.write(out + "\n")
            if not check(rc == 0, tag + "virt-xml %s --define (%s)" % (conv, out.strip()[-300:])):
                break
        root = dumpxml(dom, inactive=True)
        with open(os.path.join(d, "inactive-%d.xml" % n), "w") as f:
            f.write(ET.tostring(root, encoding="unicode"))
        got = root.find("os/type").get("machine")
        ctrls = pci_controllers(root)
        models = sorted({c.get("model") for c in ctrls})
        phb1 = [(c.get("model"), c.find("target").get("index") if c.find("target") is not None
                 else None) for c in ctrls if c.get("index") == "1"]
        if pcie:
            ok = got == machine and models == ["pci-root", "pcie-root", "pcie-root-port"]
        else:
            ok = got == machine and models == ["pci-root"]
        check(ok and phb1 == [("pci-root", "1")],
              tag + "%s: machine %s, PCI controllers %s, PHB 1 kept %s" %
              (what, got, models, phb1))
        nic = root.find("devices/interface/address")
        nicaddr = (int(nic.get("bus"), 0), int(nic.get("slot"), 0)) if nic is not None else None
        check(nicaddr == (1, 3), tag + "%s: the NIC stays on PHB 1 slot 3 (%s)" % (what, nicaddr))
        c = serve_boot(dom, con, tag, what, start=conv is not None)
        if not c:
            break
        con = c
        text = con.all_text()
        m = re.search(r"Trying to load: +from: (\S+) .*?Successfully loaded", text, re.S)
        path = m.group(1) if m else ""
        want = (r"/pci@800000020000000/pci@[0-9a-f,]+/scsi@0$" if pcie
                else r"/pci@800000020000000/scsi@[0-9a-f]+$")
        check(re.match(want, path) is not None,
              tag + "%s: SLOF loaded GRUB from the virtio disk %s (%s)" %
              (what, "behind a root port" if pcie else "on pci.0", path))
        heads = guest_heads(con)
        check(heads.get("vda") == head_sha(boot), tag + "%s: the guest reads its disk back" % what)
        leases = [ln for ln in con.command("dhcp", timeout=90) if ln.startswith("@@ dhcp-lease")]
        check(leases, tag + "%s: the NIC gets a DHCP lease (%s)" % (what, leases))
        fns = guest_fns(con)
        check(fns.get("0001:00:03.0", ("",))[0] == "0x1af4:0x1000",
              tag + "%s: the guest has the NIC at 0001:00:03.0 (%s)" %
              (what, fns.get("0001:00:03.0")))
        bad = guest_bad(con)
        check(not bad, tag + "%s: guest kernel healthy, every module loaded %s" % (what, bad))
        con.close()
    destroy_undefine(dom)


def graphics_flow():
    """virt-install's default graphics on pseries-pcie: VNC and a VGA,
    which libvirt puts on pcie.0; SLOF installs its framebuffer, the guest
    boots from its disk and has the VGA at 0000:00:01.0"""
    machine = "pseries-pcie-10.2"
    dom = "vi-vga"
    tag = machine + ", default graphics: "
    log("== %s: virt-install with the default graphics (VGA)" % machine)
    d = os.path.join(WORK, "vga")
    os.makedirs(d)
    boot = os.path.join(d, "boot.img")
    shutil.copyfile(BOOTDISK, boot)
    con = Console(os.path.join(d, "console.sock"), os.path.join(d, "console.log"))
    domains.append(dom)
    if not import_domain(dom, machine, con, d, tag,
                         ["--disk", "path=%s,bus=virtio,format=raw" % boot,
                          "--network", "user,model=virtio"], graphics=True):
        return
    root = dumpxml(dom)
    with open(os.path.join(d, "live.xml"), "w") as f:
        f.write(ET.tostring(root, encoding="unicode"))
    video = root.find("devices/video")
    model = video.find("model").get("type") if video is not None else None
    addr = video.find("address") if video is not None else None
    where = (int(addr.get("bus"), 16), int(addr.get("slot"), 16)) if addr is not None else None
    check(model == "vga" and where == (0, 1),
          tag + "the video is a VGA on pcie.0 slot 1 (%s at %s)" % (model, where))
    check(root.find("devices/graphics") is not None and
          root.find("devices/graphics").get("type") == "vnc",
          tag + "VNC graphics")
    rc, out = virsh("qemu-monitor-command", dom, "--hmp", "info pci")
    check(rc == 0 and "VGA controller" in out, tag + "QEMU has the VGA (info pci)")
    con = serve_boot(dom, con, tag, "boot")
    if not con:
        destroy_undefine(dom)
        return
    text = con.all_text()
    check("Installing QEMU fb" in text, tag + "SLOF installed its framebuffer on the VGA")
    heads = guest_heads(con)
    check(heads.get("vda") == head_sha(boot), tag + "the guest reads its disk back")
    fn = guest_fn(con, "0000:00:01.0")
    check(fn is not None and fn[0] == "0x1234:0x1111",
          tag + "the guest has the VGA at 0000:00:01.0 (%s)" % (fn,))
    bad = guest_bad(con)
    check(not bad, tag + "guest kernel healthy, every module loaded %s" % bad)
    con.close()
    destroy_undefine(dom)


def disk_alias(dom, target):
    root = dumpxml(dom)
    for disk in root.iter("disk"):
        t = disk.find("target")
        if t is not None and t.get("dev") == target:
            a = disk.find("alias")
            return a.get("name") if a is not None else "?"
    return "?"


def nic_alias(dom, before_xml):
    old = {i.find("alias").get("name") for i in before_xml.iter("interface")
           if i.find("alias") is not None}
    for i in dumpxml(dom).iter("interface"):
        a = i.find("alias")
        if a is not None and a.get("name") not in old:
            return a.get("name")
    return "?"


def pci_addr_of(dom, alias):
    """(bus, slot) of the device with this alias in the live XML"""
    for dev in dumpxml(dom).find("devices"):
        a = dev.find("alias")
        ad = dev.find("address")
        if a is not None and a.get("name") == alias and ad is not None and \
                ad.get("type") == "pci":
            return int(ad.get("bus"), 16), int(ad.get("slot"), 16)
    return None


def mac_of(dom, alias):
    for i in dumpxml(dom).iter("interface"):
        a = i.find("alias")
        if a is not None and a.get("name") == alias:
            return i.find("mac").get("address")
    return "?"


# ------------------------------------------------ defined, not booted

def print_xml_define(name, args, stock=False):
    """virt-install --print-xml, then virsh define; (rc, message, root)."""
    rc, out = virt_tool("virt-install", "--name", name, "--virt-type", "qemu",
                        "--memory", "1024", "--osinfo", "linux2022", "--import",
                        "--graphics", "none", "--video", "none",
                        "--memballoon", "none", "--print-xml", *args, stock=stock)
    if rc != 0:
        return rc, out, None
    p = os.path.join(WORK, name + ".xml")
    with open(p, "w") as f:
        f.write(out)
    domains.append(name)
    rc, msg = virsh("define", p)
    return rc, msg, dumpxml(name) if rc == 0 else None


def nvme_boot_flow(machine):
    pcie = machine.startswith("pseries-pcie")
    dom = "vi-nvme-" + machine.replace(".", "-")
    tag = machine + ", NVMe boot order: "
    log("== %s: NVMe disk first in the boot order, virtio disk second" % machine)
    d = os.path.join(WORK, "nvme-" + machine)
    os.makedirs(d)
    gi = os.path.join(d, "gi.img")
    shutil.copyfile(os.path.join(os.path.dirname(BOOTDISK), "boot-gi.img"), gi)
    other = os.path.join(d, "serve.img")
    shutil.copyfile(BOOTDISK, other)
    # QEMU creates every keyval -device before the JSON ones libvirt
    # writes, so the NVMe cannot go into one of libvirt's root ports (not
    # there yet): on pseries-pcie it gets its own root port, also from the
    # command line, in a slot libvirt leaves free; on pseries, pci.0.
    # (JSON -device through --qemu-commandline arrives XML-escaped.)
    if pcie:
        extra = ["--qemu-commandline=-device pcie-root-port,id=nvport,bus=pcie.0,"
                 "addr=0x1e,chassis=30,slot=30"]
        bus = "nvport"
    else:
        extra, bus = [], "pci.0,addr=0x1e"
    con = Console(os.path.join(d, "console.sock"), os.path.join(d, "console.log"))
    domains.append(dom)
    if not import_domain(
            dom, machine, con, d, tag,
            ["--disk", "path=%s,bus=virtio,format=raw,boot.order=2" % other,
             "--network", "none",
             "--qemu-commandline=-drive if=none,id=nvmeboot,file=%s,format=raw" % gi]
            + extra +
            ["--qemu-commandline=-device nvme,bus=%s,drive=nvmeboot,serial=gi,"
             "bootindex=1" % bus]):
        return
    want_path = (r"/pci@800000020000000/pci@[0-9a-f,]+/mass-storage@0$" if pcie
                 else r"/pci@800000020000000/mass-storage@[0-9a-f]+$")
    for n, disk in ((1, "gi-once"), (2, "gi")):
        if n == 2:
            # a new console: nothing of the first boot's output may count
            os.unlink(con.logfile)
            con = Console(con.sock_path, con.logfile)
            rc, out = virsh("start", dom)
            if not check(rc == 0, tag + "started again (%s)" % out):
                break
        con.connect()
        line = con.wait("@@ done", BOOT_TIMEOUT)
        text = con.all_text()
        con.close()
        if not check(line is not None, tag + "boot %d: the guest booted and ran its "
                     "checks" % n):
            log(text[-3000:])
            break
        m = re.search(r"Trying to load: +from: (\S+) .*?Successfully loaded", text, re.S)
        path = m.group(1) if m else ""
        check(re.match(want_path, path) is not None,
              tag + "boot %d: SLOF loaded GRUB from the NVMe controller (%s)" % (n, path))
        check("@@ bootdisk %s" % disk in con.lines(text),
              tag + "boot %d: GRUB booted entry %s" % (n, disk))
        check("@@ health ok" in con.lines(text) and
              not [ln for ln in con.lines(text) if ln.startswith("@@ insmod-failed")],
              tag + "boot %d: guest kernel healthy, modules loaded" % n)
        deadline = time.time() + 60
        while time.time() < deadline and "shut off" not in virsh("domstate", dom)[1]:
            time.sleep(0.5)
        if n == 1:
            with open(gi, "rb") as f:
                data = f.read()
            env = [data[a:a + 1024] for a in range(0, len(data), 512)
                   if data[a:a + 25] == b"# GRUB Environment Block\n"]
            check(len(env) == 1 and b"\nnext_entry=\n" in env[0],
                  tag + "GRUB's save_env cleared next_entry in grubenv on the NVMe disk")
    destroy_undefine(dom)


def no_boot_checks():
    log("== defined, not booted: index-less root ports, controller attach, stock virt-install")
    disk = os.path.join(WORK, "scratch.img")
    shutil.copyfile(os.path.join(GUEST, "disk-a.img"), disk)
    dargs = ["--disk", "path=%s,bus=virtio,format=raw" % disk, "--network", "none"]

    # an index-less pcie-root-port (virt-install adds no pcie-root then)
    cases = [("pseries-pcie-10.2", "ppc64")]
    if os.path.exists(os.path.join(QEMU_X86_DIR, "qemu-system-x86_64")):
        cases.append(("q35", "x86_64"))
    else:
        log("q35 comparison skipped: no %s/qemu-system-x86_64" % QEMU_X86_DIR)
    for machine, arch in cases:
        name = "noidx-" + arch
        rc, msg, root = print_xml_define(
            name, ["--machine", machine, "--arch", arch] + dargs +
            ["--controller", "type=pci,model=pcie-root-port"])
        ok = rc == 0 and root is not None
        if ok:
            ctl = [(int(c.get("index")), c.get("model")) for c in pci_controllers(root)]
            ok = (0, "pcie-root") in ctl and \
                all(i > 0 for i, m in ctl if m == "pcie-root-port")
            msg = str(ctl)
        check(ok, "%s: --controller type=pci,model=pcie-root-port (no index) is defined, "
              "pcie-root at index 0 (%s)" % (machine, msg))
        virsh("undefine", name)

    # live and persistent attach of a PCI controller to a running guest
    name = "ctl-attach"
    rc, msg, root = print_xml_define(name, ["--machine", "pseries-pcie-10.2", "--arch", "ppc64"]
                                     + dargs)
    if check(rc == 0, "pseries-pcie-10.2: defined for the controller attach (%s)" % msg):
        ports0 = len([c for c in pci_controllers(root) if c.get("model") == "pcie-root-port"])
        rc, msg = virsh("start", name, "--paused", timeout=180)
        check(rc == 0, "pseries-pcie-10.2: started paused (%s)" % msg)
        cx = os.path.join(WORK, "port.xml")
        with open(cx, "w") as f:
            f.write("<controller type='pci' model='pcie-root-port'/>\n")
        rc, msg = virsh("attach-device", name, cx, "--live")
        log("live attach of a pcie-root-port says: " + msg)
        check(rc != 0 and "cannot be hot plugged" in msg and "modelName" not in msg,
              "pseries-pcie-10.2: a live pcie-root-port attach is refused with "
              "\"'pci' controller cannot be hot plugged\"")
        rc, msg = virsh("attach-device", name, cx, "--config")
        inactive = dumpxml(name, inactive=True)
        ports1 = len([c for c in pci_controllers(inactive) if c.get("model") == "pcie-root-port"])
        check(rc == 0 and ports1 == ports0 + 1,
              "pseries-pcie-10.2: the persistent attach adds a root port (%d -> %d) %s" %
              (ports0, ports1, msg))
        destroy_undefine(name)

    # stock virt-install 4.1.0, for the record
    if not os.path.isdir(os.path.join(STOCK_VI, "virtinst")):
        check(False, "stock virtinst unpacked in %s" % STOCK_VI)
        return
    name = "stock-vi"
    rc, msg, root = print_xml_define(name, ["--machine", "pseries-pcie-10.2", "--arch", "ppc64"]
                                     + dargs, stock=True)
    if not check(rc == 0, "stock virt-install 4.1.0: pseries-pcie-10.2 defined (%s)" % msg[:200]):
        return
    spare = spare_root_ports(root)
    log("stock virt-install 4.1.0: %d pcie-root-port(s), %d spare" % (
        len([c for c in pci_controllers(root) if c.get("model") == "pcie-root-port"]), len(spare)))
    check(len(spare) == 1, "stock virt-install 4.1.0: one spare root port (libvirt's)")
    rc, msg = virsh("start", name, "--paused", timeout=180)
    results = []
    for n in ("b", "c"):
        img = os.path.join(WORK, "stock-%s.img" % n)
        shutil.copyfile(os.path.join(GUEST, "disk-a.img"), img)
        x = os.path.join(WORK, "stock-disk-%s.xml" % n)
        with open(x, "w") as f:
            f.write("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                    "<source file='%s'/><target dev='vd%s' bus='virtio'/></disk>\n" % (img, n))
        results.append(virsh("attach-device", name, x, "--live"))
    log("stock virt-install 4.1.0: live disk attaches: %s" % results)
    check(results[0][0] == 0 and results[1][0] != 0 and
          "No more available PCI slots" in results[1][1],
          "stock virt-install 4.1.0: the first live disk attach works, the second fails "
          "with \"No more available PCI slots\"")
    destroy_undefine(name)


def main():
    for f in (os.path.join(QEMU_DIR, "qemu-system-ppc64"), BOOTDISK,
              os.path.join(LVOBJ, "src", "virtstoraged"), os.path.join(VM_TREE, "virt-install")):
        if not os.path.exists(f):
            log("missing %s" % f)
            return 1
    rc = L.enter_namespace(WORK, __file__)
    if rc is not None:
        return rc
    try:
        if start_daemons():
            rc, out = virsh("version")
            log(out.replace("\n", "; "))
            # a comma-separated list of flows, all when unset
            only = set(filter(None, os.environ.get("VIRT_INSTALL_E2E_ONLY", "").split(",")))
            if not only or only & {"noboot"}:
                no_boot_checks()
            if not only or only & {"flow"}:
                for m in MACHINES:
                    flow(m)
            if not only or only & {"flow", "nvme"}:
                for m in MACHINES:
                    nvme_boot_flow(m)
            if not only or only & {"phbs"}:
                phbs_flow()
            if not only or only & {"convert"}:
                convert_flow()
            if not only or only & {"graphics"}:
                graphics_flow()
    finally:
        kill_qemus()
        L.stop_all()
    log("%d check(s) failed" % len(L.failures) if L.failures else "all checks passed")
    return 1 if L.failures else 0


if __name__ == "__main__":
    sys.exit(main())
