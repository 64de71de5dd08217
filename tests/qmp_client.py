# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal QMP client for the project's tests (no dependency on QEMU's
python/ tree): commands, and the events that arrive meanwhile."""

import json
import socket
import time


class QMPError(Exception):
    pass


def connect_unix(path, timeout, what="QMP"):
    """A socket connected to the UNIX socket QEMU listens on at path,
    retrying until timeout seconds have passed (QEMU may still start)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.time() + timeout
    while True:
        try:
            sock.connect(path)
            return sock
        except OSError:
            if time.time() > deadline:
                sock.close()
                raise QMPError("cannot connect to %s at %s" % (what, path))
            time.sleep(0.05)


class QMP:
    def __init__(self, path, timeout=30):
        self.sock = connect_unix(path, timeout)
        self.buf = b""
        self.events = []
        self._read(timeout)                 # greeting
        self.cmd("qmp_capabilities")

    def _line(self, timeout):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise QMPError("QEMU closed the QMP connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def _read(self, timeout=60):
        while True:
            msg = self._line(timeout)
            if msg is None:
                raise QMPError("no answer from QEMU")
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        resp = self._read()
        if "error" in resp:
            raise QMPError("%s: %s" % (name, resp["error"]["desc"]))
        return resp["return"]

    def wait_event(self, name, match=lambda data: True, timeout=60):
        deadline = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and match(ev.get("data", {})):
                    return self.events.pop(i)
            left = deadline - time.time()
            if left <= 0:
                return None
            msg = self._line(min(left, 1))
            if msg is not None and "event" in msg:
                self.events.append(msg)
