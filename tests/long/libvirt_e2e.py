#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""libvirt end to end: a pseries-pcie-10.2 domain through the patched libvirt,
and what stock libvirt 11.3.0 does with the same XML.

Patched (build/libvirt-build, state under its prefix build/libvirt-inst):
virtlogd + virtqemud run in the foreground as
children of this script; virsh connects to virtqemud's socket explicitly. A
domain with no PCI addresses (virtio disk, virtio net on user networking)
boots the project's Debian guest; the test checks the QEMU command line that
libvirt generated, QEMU's query-pci while the guest is paused, and what the
guest reports on its serial console ("@@" lines).

Stock (build/libvirt-stock/root, Debian's 11.3.0-2~bpo12+1 packages unpacked,
never installed): run in a private mount namespace (unshare -m) where empty
directories are bind-mounted on /etc/libvirt, /run/libvirt, /var/lib/libvirt,
/var/cache/libvirt and /var/log/libvirt; the same XML must fail with QEMU's
"Bus 'pci.0' not found", and an explicit pcie-root must be refused.

Every process started is killed on exit; sockets and state live under
build/libvirt-e2e/.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(TOP, "build")
INST = os.path.join(BUILD, "libvirt-inst")    # compiled-in prefix: config, state
LVOBJ = os.path.join(BUILD, "libvirt-build")  # the daemons and virsh run from here
STOCK = os.path.join(BUILD, "libvirt-stock", "root")
WORK = os.path.join(BUILD, "libvirt-e2e")
QEMU = os.path.join(BUILD, "qemu-build", "qemu-system-ppc64")
GUEST = os.path.join(BUILD, "guest")
MACHINE = os.environ.get("LIBVIRT_E2E_MACHINE", "pseries-pcie-10.2")
DOM = "lvpcie"
BOOT_TIMEOUT = int(os.environ.get("LIBVIRT_E2E_TIMEOUT", "300"))

QEMU_CONF = """user = "root"
group = "root"
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
remember_owner = 0
"""

failures = []
procs = []


def log(msg):
    print(msg, flush=True)


def check(cond, what):
    log(("PASS: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)
    return cond


def start(argv, env, logname):
    f = open(os.path.join(WORK, logname), "w")
    p = subprocess.Popen(argv, env=env, stdout=f, stderr=subprocess.STDOUT,
                         start_new_session=True)
    procs.append(p)
    return p


def kill_domain_qemus(dirs):
    """QEMU processes started by a daemon run in their own session: kill
    those of our domain (from the daemon's pid file in one of dirs), by pid."""
    for d in dirs:
        pidfile = os.path.join(d, DOM + ".pid")
        try:
            pid = int(open(pidfile).read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if argv and argv[0].endswith(b"qemu-system-ppc64") and \
                ("guest=" + DOM).encode() in b" ".join(argv):
            log("killing leftover QEMU %d (%s)" % (pid, pidfile))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def stop_all(qemu_pid_dirs=(os.path.join(INST, "run", "libvirt", "qemu"),)):
    kill_domain_qemus(qemu_pid_dirs)
    for p in reversed(procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 10
    for p in reversed(procs):
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    procs.clear()


def wait_socket(path, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def domain_xml(serial, disk, explicit_root=None, extra_ctrl=""):
    ctrl = extra_ctrl
    if explicit_root:
        ctrl = "    <controller type='pci' index='0' model='%s'/>\n" % explicit_root + ctrl
    return """<domain type='qemu'>
  <name>%(dom)s</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='ppc64' machine='%(machine)s'>hvm</type>
    <kernel>%(guest)s/vmlinux</kernel>
    <initrd>%(guest)s/initramfs.gz</initrd>
    <cmdline>console=hvc0 quiet guest.mode=report guest.checks=disks,dhcp</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>%(qemu)s</emulator>
%(ctrl)s    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='%(disk)s'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='%(serial)s'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
""" % {"dom": DOM, "machine": MACHINE, "guest": GUEST, "qemu": QEMU,
       "disk": disk, "serial": serial, "ctrl": ctrl}


def virsh(virsh_bin, uri, env, *args, timeout=120):
    r = subprocess.run([virsh_bin, "-c", uri] + list(args), env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


# ---------------------------------------------------------------- patched

def patched():
    log("== patched libvirt (%s)" % LVOBJ)
    conf_dir = os.path.join(INST, "etc", "libvirt")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "qemu.conf"), "w") as f:
        f.write(QEMU_CONF)
    run_dir = os.path.join(INST, "run", "libvirt")
    for s in ("virtqemud-sock", "virtqemud-sock-ro", "virtqemud-admin-sock",
              "virtlogd-sock", "virtlogd-admin-sock"):
        try:
            os.unlink(os.path.join(run_dir, s))
        except FileNotFoundError:
            pass
    shutil.rmtree(os.path.join(INST, "var", "run"), ignore_errors=True)
    # a previous run's domain must not linger
    shutil.rmtree(os.path.join(INST, "etc", "libvirt", "qemu"), ignore_errors=True)
    shutil.rmtree(os.path.join(INST, "run", "libvirt", "qemu"), ignore_errors=True)
    env = dict(os.environ)
    env.pop("LIBVIRT_DEFAULT_URI", None)

    logd = start([os.path.join(LVOBJ, "src", "virtlogd")], env, "patched-virtlogd.log")
    if not check(wait_socket(os.path.join(run_dir, "virtlogd-sock"), logd),
                 "patched virtlogd is listening"):
        return None
    sock = os.path.join(run_dir, "virtqemud-sock")
    qd = start([os.path.join(LVOBJ, "src", "virtqemud")], env, "patched-virtqemud.log")
    if not check(wait_socket(sock, qd), "patched virtqemud is listening on %s" % sock):
        return None
    uri = "qemu:///system?socket=" + sock
    vs = os.path.join(LVOBJ, "tools", "virsh")
    cmdline = scenario("patched", vs, uri, env, "")
    # The same devices with the pcie-root-ports given one slot each
    # (not packed as functions of slot 1): tells a multifunction problem
    # apart from anything else.
    ctrl = "".join("    <controller type='pci' index='%d' model='pcie-root-port'>\n"
                   "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' function='0x0'/>\n"
                   "    </controller>\n" % (i, i + 1) for i in range(1, 5))
    scenario("patched-slots", vs, uri, env, ctrl)
    return cmdline


def scenario(label, vs, uri, env, extra_ctrl):
    log("-- %s%s" % (label, ": pcie-root-ports in slots 1-4" if extra_ctrl else ": no PCI addresses"))
    d = os.path.join(WORK, label)
    os.makedirs(d)

    disk = os.path.join(d, "disk-a.img")
    shutil.copyfile(os.path.join(GUEST, "disk-a.img"), disk)
    with open(disk, "rb") as f:
        disk_sum = hashlib.sha256(f.read()).hexdigest()
    serial = os.path.join(d, "serial.log")
    xml = os.path.join(d, "domain.xml")
    with open(xml, "w") as f:
        f.write(domain_xml(serial, disk, extra_ctrl=extra_ctrl))
    qlog = os.path.join(INST, "var", "log", "libvirt", "qemu", DOM + ".log")
    if os.path.exists(qlog):
        os.unlink(qlog)

    rc, out = virsh(vs, uri, env, "define", xml)
    if not check(rc == 0, label + ": virsh define (%s)" % out.strip()):
        return None
    rc, out = virsh(vs, uri, env, "dumpxml", DOM)
    with open(os.path.join(d, "defined.xml"), "w") as f:
        f.write(out)
    check("model='pcie-root'" in out and "model='pci-root'" not in out,
          label + ": the defined domain has a pcie-root and no pci-root")

    t0 = time.time()
    rc, out = virsh(vs, uri, env, "start", DOM, "--paused", timeout=180)
    if not check(rc == 0, label + ": virsh start --paused (%s)" % out.strip()):
        qlog = os.path.join(INST, "var", "log", "libvirt", "qemu", DOM + ".log")
        if os.path.exists(qlog):
            log(open(qlog).read()[-3000:])
        return None

    qlog = os.path.join(INST, "var", "log", "libvirt", "qemu", DOM + ".log")
    cmdline = ""
    with open(qlog) as f:
        text = f.read()
    # the last command line in the log (libvirt writes it before exec)
    m = list(re.finditer(r"^(?:LC_ALL|HOME|PATH|XDG|USER)[^\n]*?(/\S*qemu-system-ppc64 .*?)\n(?=\S+: |char device|\d{4}-)",
                         text, re.M | re.S))
    if m:
        cmdline = m[-1].group(1)
    else:
        i = text.rfind(QEMU + " ")
        cmdline = text[i:].split("\n")[0] if i >= 0 else ""
        # libvirt writes one argument per line ending with " \"
        lines = text[i:].split("\n")
        buf = []
        for ln in lines:
            buf.append(ln.rstrip("\\").strip())
            if not ln.endswith("\\"):
                break
        cmdline = " ".join(buf)
    with open(os.path.join(d, "qemu-cmdline.txt"), "w") as f:
        f.write(cmdline + "\n")
    log("generated QEMU command line:\n  " + cmdline)

    devs = [json.loads(a) for a in re.findall(r"-device '(\{.*?\})'", cmdline)]
    ports = {x["id"]: x for x in devs if x.get("driver") == "pcie-root-port"}
    check(len(ports) >= 2 and all(p.get("bus") == "pcie.0" for p in ports.values()),
          label + ": pcie-root-port devices on pcie.0 (%s)" % sorted(ports))
    check("pci.0" not in cmdline, label + ": nothing on pci.0")
    virtio = [x for x in devs if x.get("driver", "").startswith("virtio-")
              and x.get("driver", "").endswith("-pci")]
    buses = [x.get("bus") for x in virtio]
    check(len(virtio) >= 2 and all(b in ports for b in buses) and
          len(set(buses)) == len(buses),
          label + ": each virtio device on its own root port (%s)" %
          ", ".join("%s@%s" % (x["driver"], x.get("bus")) for x in virtio))

    rc, out = virsh(vs, uri, env, "qemu-monitor-command", DOM, '{"execute":"query-pci"}')
    if check(rc == 0, label + ": query-pci through virsh qemu-monitor-command"):
        qp = json.loads(out)["return"]
        with open(os.path.join(d, "query-pci.json"), "w") as f:
            json.dump(qp, f, indent=1)
        behind = {}
        for bus in qp:
            for dev in bus["devices"]:
                if (dev["id"]["vendor"], dev["id"]["device"]) == (0x1b36, 0x000c):
                    br = dev.get("pci_bridge", {})
                    for sub in br.get("devices", []):
                        if sub["id"]["vendor"] == 0x1af4:
                            behind.setdefault(dev["qdev_id"], []).append(sub["qdev_id"])
        endpoints = [e for v in behind.values() for e in v]
        check(len(endpoints) == len(virtio) and all(len(v) == 1 for v in behind.values()),
              label + ": QMP query-pci shows each virtio endpoint behind a distinct "
              "root port 1b36:000c (%s)" % behind)

    rc, out = virsh(vs, uri, env, "resume", DOM)
    check(rc == 0, label + ": virsh resume")
    deadline = time.time() + BOOT_TIMEOUT
    state = ""
    while time.time() < deadline:
        rc, state = virsh(vs, uri, env, "domstate", DOM)
        if "shut off" in state:
            break
        time.sleep(2)
    if "shut off" in state and "Cannot handle FDT update" in open(serial, errors="replace").read():
        state = "rebooted (destroyed by on_reboot)"
    elapsed = time.time() - t0
    check("shut off" in state, label + ": the guest powered off by itself (%.0f s)" % elapsed)
    if "shut off" not in state:
        virsh(vs, uri, env, "destroy", DOM)

    lines = []
    if os.path.exists(serial):
        with open(serial, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.startswith("@@")]
    for ln in lines:
        log("  guest: " + ln)
    with open(serial, errors="replace") as f:
        stext = f.read()
    if "Cannot handle FDT update" in stext:
        log("  NOTE: SLOF rebooted the guest ('Cannot handle FDT update'): a PCI bridge "
            "was left without bus numbers; see query-pci.json (secondary 0)")
    fns = [ln for ln in lines if ln.startswith("@@ fn ")]
    vfns = [ln for ln in fns if "id=0x1af4:" in ln]
    check(len(vfns) == len(virtio) and
          all('type="Endpoint"' in ln and "config=4096" in ln and "driver=virtio-pci" in ln
              for ln in vfns),
          label + ": guest sees the virtio functions as PCIe Endpoints with 4096-byte config space")
    vbuses = [ln.split()[2].split(":")[1] for ln in vfns]
    check(len(set(vbuses)) == len(vbuses) and "00" not in vbuses,
          label + ": the virtio functions are on distinct secondary buses (%s)" % vbuses)
    check(("@@ disk vda %s" % disk_sum) in lines,
          label + ": guest reads back the disk image through virtio-blk (sha256 %s...)" % disk_sum[:16])
    check(any(ln.startswith("@@ dhcp-lease eth0 ") for ln in lines),
          label + ": guest got a DHCP lease on virtio-net")
    check("@@ done" in lines, label + ": guest finished its checks")
    bad = [ln for ln in lines if ln.startswith(("@@ health-bad", "@@ insmod-failed"))]
    check("@@ health ok" in lines and not bad,
          label + ": guest kernel healthy, every module loaded%s" %
          (" (%s)" % "; ".join(bad) if bad else ""))
    virsh(vs, uri, env, "undefine", DOM)
    return cmdline


# ---------------------------------------------------------------- stock

STOCK_DIRS = ["/etc/libvirt", "/run/libvirt", "/var/lib/libvirt",
              "/var/cache/libvirt", "/var/log/libvirt", "/usr/share/libvirt"]


def stock_inner():
    """Runs inside 'unshare -m': private /etc/libvirt etc."""
    d = os.path.join(WORK, "stock")
    for p in STOCK_DIRS:
        src = os.path.join(d, "fs" + p)
        if p == "/usr/share/libvirt":   # cpu_map etc. of the stock packages
            src = os.path.join(STOCK, "usr", "share", "libvirt")
        os.makedirs(src, exist_ok=True)
        subprocess.run(["mount", "--bind", src, p], check=True)
    with open("/etc/libvirt/qemu.conf", "w") as f:
        f.write(QEMU_CONF)
    lib = os.path.join(STOCK, "usr", "lib", "x86_64-linux-gnu")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = lib
    env["LIBVIRT_DRIVER_DIR"] = os.path.join(lib, "libvirt", "connection-driver")
    env["LIBVIRT_LOCK_MANAGER_PLUGIN_DIR"] = os.path.join(lib, "libvirt", "lock-driver")
    env["PATH"] = os.path.join(STOCK, "usr", "sbin") + ":" + env["PATH"]
    env.pop("LIBVIRT_DEFAULT_URI", None)
    results = {}
    try:
        logd = start([os.path.join(STOCK, "usr", "sbin", "virtlogd")], env, "stock-virtlogd.log")
        if not wait_socket("/run/libvirt/virtlogd-sock", logd):
            results["error"] = "stock virtlogd did not start"
            return results
        lvd = start([os.path.join(STOCK, "usr", "sbin", "libvirtd")], env, "stock-libvirtd.log")
        if not wait_socket("/run/libvirt/libvirt-sock", lvd):
            results["error"] = "stock libvirtd did not start"
            return results
        uri = "qemu:///system?socket=/run/libvirt/libvirt-sock"
        vs = os.path.join(STOCK, "usr", "bin", "virsh")
        rc, out = virsh(vs, uri, env, "version")
        results["version"] = out.strip()
        disk = os.path.join(d, "disk-a.img")
        shutil.copyfile(os.path.join(GUEST, "disk-a.img"), disk)
        xml = os.path.join(d, "domain.xml")
        with open(xml, "w") as f:
            f.write(domain_xml(os.path.join(d, "serial.log"), disk))
        rc, out = virsh(vs, uri, env, "define", xml)
        results["define"] = [rc, out.strip()]
        rc, out = virsh(vs, uri, env, "dumpxml", DOM)
        results["dumpxml"] = out
        rc, out = virsh(vs, uri, env, "start", DOM, timeout=180)
        results["start"] = [rc, out.strip()]
        virsh(vs, uri, env, "destroy", DOM)
        virsh(vs, uri, env, "undefine", DOM)
        xml2 = os.path.join(d, "domain-pcie-root.xml")
        with open(xml2, "w") as f:
            f.write(domain_xml(os.path.join(d, "serial.log"), disk, "pcie-root"))
        rc, out = virsh(vs, uri, env, "define", xml2)
        results["define-pcie-root"] = [rc, out.strip()]
        virsh(vs, uri, env, "undefine", DOM)
    finally:
        stop_all(("/run/libvirt/qemu",))   # the stock daemon's, in this namespace
        for s in ("libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock",
                  "virtlogd-sock", "virtlogd-admin-sock"):
            try:
                os.unlink(os.path.join("/run/libvirt", s))
            except FileNotFoundError:
                pass
    return results


def stock():
    log("== stock libvirt 11.3.0 (%s, private mount namespace)" % STOCK)
    if not os.path.exists(os.path.join(STOCK, "usr", "sbin", "libvirtd")):
        check(False, "stock libvirt unpacked in %s" % STOCK)
        return None
    d = os.path.join(WORK, "stock")
    os.makedirs(d)
    created = []
    for p in STOCK_DIRS:
        if not os.path.isdir(p):
            os.makedirs(p)
            created.append(p)
    try:
        try:
            res = stock_inner()
        except Exception as e:
            res = {"error": "%s: %s" % (type(e).__name__, e)}
        with open(os.path.join(d, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
    finally:
        for p in reversed(STOCK_DIRS):
            subprocess.run(["umount", p], stderr=subprocess.DEVNULL)
        for c in reversed(created):
            try:
                os.rmdir(c)
            except OSError:
                pass
    with open(os.path.join(d, "results.json")) as f:
        res = json.load(f)
    if "error" in res:
        check(False, "stock: " + res["error"])
        return None
    log("stock: " + res.get("version", "").replace("\n", "; "))
    check(res["define"][0] == 0, "stock: the domain is accepted (%s)" % res["define"][1])
    check("model='pci-root'" in res.get("dumpxml", ""),
          "stock: it gets a legacy pci-root")
    start_rc, start_out = res["start"]
    m = re.search(r"Bus 'pci\.0' not found", start_out)
    log("stock: virsh start says:\n  " + start_out.replace("\n", "\n  "))
    check(start_rc != 0 and m is not None, "stock: start fails with QEMU's \"Bus 'pci.0' not found\"")
    drc, dout = res["define-pcie-root"]
    log("stock: explicit pcie-root: " + dout)
    check(drc != 0 and "must be model='pci-root'" in dout,
          "stock: an explicit pcie-root is refused (\"must be model='pci-root'\")")
    return start_out


def private_namespace():
    """Inside 'unshare -m': the libvirt builds resolve their default QEMU
    user 'libvirt-qemu' (Debian's) before reading qemu.conf; give this
    namespace, and only it, a passwd and a group file that have it."""
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    for name, line in (("passwd", "libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin\n"),
                       ("group", "libvirt-qemu:x:64055:\nkvm:x:64056:\n")):
        with open("/etc/" + name) as f:
            text = f.read()
        copy = os.path.join(WORK, name)
        with open(copy, "w") as f:
            f.write(text)
            for ln in line.splitlines(True):
                if ("\n" + ln.split(":")[0] + ":") not in "\n" + text:
                    f.write(ln)
        subprocess.run(["mount", "--bind", copy, "/etc/" + name], check=True)


def enter_namespace(work, script):
    """Everything runs in a private mount namespace (see private_namespace):
    outside it, empty WORK, run SCRIPT again under 'unshare -m' and return
    its exit status; inside, set the namespace up and return None."""
    if os.environ.get("LIBVIRT_E2E_NS") != "1":
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        env = dict(os.environ, LIBVIRT_E2E_NS="1")
        p = subprocess.Popen(["unshare", "-m", sys.executable, os.path.abspath(script)],
                             env=env, start_new_session=True)
        try:
            return p.wait()
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    private_namespace()
    return None


def main():
    for f in (QEMU, os.path.join(GUEST, "vmlinux"), os.path.join(GUEST, "initramfs.gz"),
              os.path.join(GUEST, "disk-a.img"), os.path.join(LVOBJ, "src", "virtqemud")):
        if not os.path.exists(f):
            log("missing %s" % f)
            return 1
    rc = enter_namespace(WORK, __file__)
    if rc is not None:
        return rc
    try:
        patched()
    finally:
        stop_all()
    if os.environ.get("LIBVIRT_E2E_SKIP_STOCK"):
        log("stock part skipped (LIBVIRT_E2E_SKIP_STOCK)")
    else:
        try:
            stock()
        finally:
            stop_all()
    log("%d check(s) failed" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
