#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Assemble the guest initramfs from unpacked Debian packages (ppc64el or amd64).

usage: mkinitramfs.py ROOT KVER INIT OUTPUT MODULE...

ROOT holds the unpacked packages (kernel, busybox-static, pciutils and the
libraries lspci needs).  The archive gets busybox, lspci with every shared
library it needs (ELF DT_NEEDED, resolved in ROOT, recursively), the named
kernel modules with their dependencies (from each module's .modinfo
"depends=", since Debian ships no modules.dep), /modules (the insmod order)
and INIT as /init.  Output is a gzip'ed newc cpio archive with fixed owners
and times, so the same inputs give the same bytes.
"""

import gzip
import os
import re
import stat
import subprocess
import sys

LIB_DIRS = ["lib/powerpc64le-linux-gnu", "usr/lib/powerpc64le-linux-gnu",
            "lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu",
            "lib64", "lib"]


def die(msg):
    sys.exit("mkinitramfs: " + msg)


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True,
                         text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def interp(path):
    out = subprocess.run(["readelf", "-l", path], capture_output=True,
                         text=True).stdout
    m = re.search(r"Requesting program interpreter: ([^\]]+)\]", out)
    return m.group(1) if m else None


def find_lib(root, name):
    for d in LIB_DIRS:
        p = os.path.join(root, d, name)
        if os.path.exists(p):
            return os.path.join(d, name)
    die("library %s not found in the unpacked packages (add its package "
        "to GUEST_PKGS in scripts/guest.sh)" % name)


def lib_closure(root, binaries):
    files, todo = set(), list(binaries)
    while todo:
        rel = todo.pop()
        if rel in files:
            continue
        files.add(rel)
        full = os.path.realpath(os.path.join(root, rel))
        for n in needed(full):
            todo.append(find_lib(root, n))
        i = interp(full)
        if i:
            files.add(i.lstrip("/"))
            files.add(find_lib(root, os.path.basename(i)))
    return files


def module_index(root, kver):
    index = {}
    base = os.path.join(root, "lib/modules", kver)
    for dirpath, _, names in os.walk(base):
        for n in names:
            if n.endswith(".ko"):
                index[n[:-3].replace("-", "_")] = os.path.relpath(
                    os.path.join(dirpath, n), root)
    return index


def module_deps(root, path):
    with open(os.path.join(root, path), "rb") as f:
        data = f.read()
    m = re.search(rb"\0depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",")]


def module_order(root, kver, wanted):
    index = module_index(root, kver)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        if name not in index:
            die("module %s not found for kernel %s" % (name, kver))
        seen.add(name)
        for d in module_deps(root, index[name]):
            visit(d)
        order.append(index[name])

    for w in wanted:
        visit(w)
    return order


class Cpio:
    def __init__(self):
        self.chunks, self.ino, self.dirs = [], 1, set()

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0,
            len(name_b), 0))
        self.ino += 1
        blob = hdr.encode() + name_b
        blob += b"\0" * (-len(blob) % 4)
        blob += data + b"\0" * (-len(data) % 4)
        self.chunks.append(blob)

    def mkdir(self, name):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self._entry(d, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o755):
        self.mkdir(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self.mkdir(os.path.dirname(name))
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def data(self):
        self._entry("TRAILER!!!", 0)
        return b"".join(self.chunks)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    root, kver, init, output = sys.argv[1:5]
    modules = sys.argv[5:]
    arc = Cpio()
    for d in ("dev", "proc", "sys", "tmp", "run", "mnt"):
        arc.mkdir(d)
    with open(os.path.join(root, "bin/busybox"), "rb") as f:
        arc.file("bin/busybox", f.read())
    arc.symlink("bin/sh", "busybox")
    for rel in sorted(lib_closure(root, ["usr/bin/lspci"])):
        full = os.path.join(root, rel)
        if os.path.islink(full):
            target = os.readlink(full)
            arc.symlink(rel, target)
            rel = os.path.normpath(os.path.join(os.path.dirname(rel), target)
                                   if not target.startswith("/")
                                   else target.lstrip("/"))
            full = os.path.join(root, rel)
        with open(full, "rb") as f:
            arc.file(rel, f.read())
    pci_ids = "usr/share/misc/pci.ids"
    if os.path.exists(os.path.join(root, pci_ids)):
        with open(os.path.join(root, pci_ids), "rb") as f:
            arc.file(pci_ids, f.read(), 0o644)
    order = module_order(root, kver, modules)
    for rel in order:
        with open(os.path.join(root, rel), "rb") as f:
            arc.file(rel, f.read(), 0o644)
    arc.file("modules", "".join("/%s\n" % r for r in order).encode(), 0o644)
    with open(init, "rb") as f:
        arc.file("init", f.read())
    with open(output, "wb") as f:
        f.write(gzip.compress(arc.data(), mtime=0))
    print("initramfs: %s (%d modules, %d bytes)" %
          (output, len(order), os.path.getsize(output)))


if __name__ == "__main__":
    main()
