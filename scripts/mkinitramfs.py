#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Assemble the guest initramfs from unpacked Debian packages (ppc64el or amd64).

usage: mkinitramfs.py ROOT KVER INIT OUTPUT MODULE...

ROOT holds the unpacked packages (kernel, busybox-static, pciutils and the
libraries lspci needs).  The archive gets busybox, lspci with every shared
library it needs (ELF DT_NEEDED, resolved in ROOT, recursively), the named
kernel modules with their dependencies, in the order modules.dep gives
(Debian ships none: scripts/guest.sh runs depmod -b ROOT KVER first),
decompressed (6.12 and later ship .ko.xz; busybox insmod wants ELF),
skipping those the kernel has built in (modules.builtin), /modules (the
insmod order)
and INIT as /init.  Output is a gzip'ed newc cpio archive with fixed owners
and times, so the same inputs give the same bytes.
"""

import gzip
import lzma
import os
import re
import shutil
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


MOD_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def mod_name(path):
    base = os.path.basename(path)
    for suf in MOD_SUFFIXES:
        if base.endswith(suf):
            return base[:-len(suf)].replace("-", "_")
    return None


def read_module(path):
    """A module's bytes, decompressed (busybox insmod wants plain ELF)."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".zst"):
        if not shutil.which("zstd"):
            die("%s is zstd-compressed: install the zstd package" % path)
        return subprocess.run(["zstd", "-dc", path], check=True,
                              capture_output=True).stdout
    return data


def module_dep(root, kver):
    """{name: (path relative to ROOT, [dependency names])} from the
    modules.dep that depmod wrote for the unpacked kernel."""
    base = os.path.join("lib/modules", kver)
    path = os.path.join(root, base, "modules.dep")
    if not os.path.exists(path):
        die("%s is missing: run depmod -b ROOT %s first" % (path, kver))
    index = {}
    with open(path) as f:
        for ln in f:
            if ":" not in ln:
                continue
            mod, deps = ln.split(":", 1)
            index[mod_name(mod)] = (os.path.join(base, mod),
                                    [mod_name(d) for d in deps.split()])
    return index


def builtin_modules(root, kver):
    path = os.path.join(root, "lib/modules", kver, "modules.builtin")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {mod_name(ln.strip()) for ln in f if ln.strip()}


def module_order(root, kver, wanted):
    """The modules to load, each after what it needs (modules.dep lists
    every module's dependencies; visiting them first gives a load order).
    Modules the kernel has built in are skipped."""
    index = module_dep(root, kver)
    builtin = builtin_modules(root, kver)
    order, seen = [], set()

    def visit(name):
        name = name.replace("-", "_")
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            if name in builtin:
                return
            die("module %s not found for kernel %s" % (name, kver))
        for d in index[name][1]:
            visit(d)
        order.append(index[name][0])

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
    loaded = []
    for rel in order:
        plain = rel
        for suf in (".xz", ".zst", ".gz"):
            if plain.endswith(suf):
                plain = plain[:-len(suf)]
        arc.file(plain, read_module(os.path.join(root, rel)), 0o644)
        loaded.append(plain)
    arc.file("modules", "".join("/%s\n" % r for r in loaded).encode(), 0o644)
    with open(init, "rb") as f:
        arc.file("init", f.read())
    with open(output, "wb") as f:
        f.write(gzip.compress(arc.data(), mtime=0))
    print("initramfs: %s (%d modules, %d bytes)" %
          (output, len(order), os.path.getsize(output)))


if __name__ == "__main__":
    main()
