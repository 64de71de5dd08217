# SPDX-License-Identifier: GPL-2.0-or-later
"""A guest that stays alive: QEMU running the test guest in
guest.mode=serve (scripts/guest-init.sh), with QMP and a console the test
types commands on. Used by the migration, hotplug soak and bad-input tests.

    g = LiveGuest(qemu, guest_dir, workdir, "name", args)
    g.wait_serving()
    fns = g.fns()                 # {bdf: "@@ fn ..." line}
    g.disks(), g.dhcp()           # {disk: sha256}, [lease lines]
    g.health_problems()           # [] if the guest kernel stayed healthy
    g.qmp.cmd("device_add", ...)
    g.stop()
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time

from qmp_client import QMP

# scripts/guest-init.sh function_line()
FN_RE = re.compile(r'@@ fn (\S+) id=(\S+) class=\S+ config=(\d+) '
                   r'type="([^"]*)" driver=(\S+)')


# What the guest kernel must never print on its console ("@@ health", run
# in the guest, looks at its whole kernel log)
CONSOLE_BAD = re.compile(r"Kernel panic|Oops:|BUG:|WARNING: CPU|Call Trace:|"
                         r"blocked for more than|nobody cared|"
                         r"Unable to handle kernel")


class GuestError(Exception):
    pass


def demo_topology(script, machine, guest_dir):
    """QEMU arguments of the demo topology (scripts/topology-args.sh)."""
    out = subprocess.run(["bash", script, machine,
                          os.path.join(guest_dir, "disk-a.img"),
                          os.path.join(guest_dir, "disk-b.img")],
                         check=True, capture_output=True, text=True).stdout
    return [a for a in out.split("\0") if a]


class LiveGuest:
    running = []

    def __init__(self, qemu, guest_dir, workdir, name, args, incoming=None,
                 append_extra="", env=None):
        self.name = name
        self.log = os.path.join(workdir, name + ".console.log")
        self.qmp_path = os.path.join(workdir, name + ".qmp")
        self.con_path = os.path.join(workdir, name + ".con")
        self.err_path = os.path.join(workdir, name + ".stderr")
        for f in (self.log, self.qmp_path, self.con_path):
            if os.path.exists(f):
                os.unlink(f)
        cmd = [qemu] + list(args) + [
            "-display", "none", "-monitor", "none",
            "-chardev", "socket,id=con0,path=%s,server=on,wait=on" %
            self.con_path,
            "-serial", "chardev:con0",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
            "-kernel", os.path.join(guest_dir, "vmlinux"),
            "-initrd", os.path.join(guest_dir, "initramfs.gz"),
            "-append", "console=hvc0 quiet guest.mode=serve " + append_extra]
        if incoming:
            cmd += ["-incoming", incoming]
        self.cmdline = cmd
        self.text = ""
        self.lock = threading.Lock()
        self.token = 0
        self.t0 = time.time()
        self.errf = open(self.err_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.errf, env=env)
        LiveGuest.running.append(self)
        # wait=on: QEMU waits for the console before it starts
        self.con = self._connect(self.con_path)
        self.reader = threading.Thread(target=self._read_console, daemon=True)
        self.reader.start()
        self.qmp = QMP(self.qmp_path)

    def _connect(self, path, timeout=30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise GuestError("%s: QEMU exited with %s before its console "
                                 "was up: %s" % (self.name, self.proc.returncode,
                                                 self.stderr()))
            try:
                s.connect(path)
                return s
            except OSError:
                if time.time() > deadline:
                    raise GuestError("%s: no console at %s" % (self.name, path))
                time.sleep(0.05)

    def _read_console(self):
        with open(self.log, "w") as logf:
            while True:
                try:
                    data = self.con.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                text = data.decode(errors="replace").replace("\r", "")
                logf.write(text)
                logf.flush()
                with self.lock:
                    self.text += text

    def stderr(self):
        try:
            with open(self.err_path) as f:
                return f.read().strip()
        except OSError:
            return ""

    def lines(self, start=0):
        with self.lock:
            text = self.text[start:]
        return [ln[ln.index("@@"):] for ln in text.split("\n") if "@@" in ln]

    def wait_line(self, prefix, timeout=180, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ln in self.lines(start):
                if ln.startswith(prefix):
                    return ln
            if self.proc.poll() is not None:
                raise GuestError("%s: QEMU exited with %s waiting for '%s'" %
                                 (self.name, self.proc.returncode, prefix))
            time.sleep(0.1)
        raise GuestError("%s: no '%s' from the guest in %ds (console: %s)" %
                         (self.name, prefix, timeout, self.log))

    def wait_serving(self, timeout=240):
        self.wait_line("@@ serving", timeout)
        return time.time() - self.t0

    def command(self, cmd, timeout=120, arg=None):
        """Type CMD (and ARG) on the guest's console; its @@ lines until
        '@@ ok'."""
        self.token += 1
        tok = "%s-%d" % (cmd, self.token)
        with self.lock:
            start = len(self.text)
        self.con.sendall(("%s %s%s\n" % (cmd, tok, " " + arg if arg else "")).encode())
        self.wait_line("@@ ok " + tok, timeout, start)
        out = []
        for ln in self.lines(start):
            if ln == "@@ ok " + tok:
                break
            out.append(ln)
        return out

    def fns(self):
        """{bdf: (id, config size, port type, driver)} of every function."""
        res = {}
        for ln in self.command("fns"):
            m = FN_RE.match(ln)
            if m:
                res[m.group(1)] = m.group(2, 3, 4, 5)
        return res

    def drivers(self):
        """{bdf: driver} of every PCI function (no lspci: cheap)."""
        return {ln.split()[2]: ln.split()[3] for ln in self.command("drivers")
                if ln.startswith("@@ drv ")}

    def wait_drivers(self, pred, timeout=60, interval=0.2):
        """Poll drivers() until PRED({bdf: driver}) holds or TIMEOUT
        seconds have passed; the last answer."""
        deadline = time.time() + timeout
        while True:
            drv = self.drivers()
            if pred(drv) or time.time() > deadline:
                return drv
            time.sleep(interval)

    def blocked(self):
        """{task name: [kernel functions, innermost first]} of every guest
        task in uninterruptible sleep."""
        res = {}
        for ln in self.command("blocked"):
            f = ln.split()
            if ln.startswith("@@ blocked ") and len(f) >= 3:
                res[f[2]] = [x for x in (f[3] if len(f) > 3 else "").split(",")
                             if x]
        return res

    def disks(self):
        return {ln.split()[2]: ln.split()[3]
                for ln in self.command("disks") if ln.startswith("@@ disk ")}

    def dhcp(self):
        out = self.command("dhcp", timeout=60)
        if any(ln.startswith("@@ dhcp-failed") for ln in out):
            return []
        return [ln for ln in out if ln.startswith("@@ dhcp-lease")]

    def health_problems(self):
        """What went wrong in the guest kernel: Oops, BUG, WARNING, panic,
        hung task (its whole log, read by the guest), a module that did not
        load, an error on the console; [] if nothing."""
        bad = [ln for ln in self.command("health")
               if ln.startswith("@@ health-bad")]
        bad += [ln for ln in self.lines() if ln.startswith("@@ insmod-failed")]
        with self.lock:
            m = CONSOLE_BAD.search(self.text)
        if m:
            bad.append("console: " + m.group(0))
        return bad

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
        return 0

    def status(self):
        return self.qmp.cmd("query-status")["status"]

    def wait_status(self, want, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status()
            if st == want:
                return
            time.sleep(0.1)
        raise GuestError("%s: status %s, expected %s" % (self.name, st, want))

    def stop(self, timeout=15):
        """Quit QEMU (QMP quit, then SIGKILL); return its exit status."""
        if self.proc.poll() is None:
            try:
                self.qmp.cmd("quit")
            except Exception:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.con, self.qmp.sock):
            try:
                s.close()
            except OSError:
                pass
        self.errf.close()
        if self in LiveGuest.running:
            LiveGuest.running.remove(self)
        return self.proc.returncode

    @staticmethod
    def stop_all():
        for g in list(LiveGuest.running):
            try:
                g.proc.send_signal(signal.SIGKILL)
                g.proc.wait(5)
            except Exception:
                pass
            LiveGuest.running.remove(g)
