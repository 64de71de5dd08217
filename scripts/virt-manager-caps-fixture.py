#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virt-manager's tests/data/capabilities/kvm-ppc64le-pseries-pcie.xml,
made from what libvirt really reports.

virt-manager's tests read host capabilities from fixtures. Ours is
upstream's kvm-ppc64le.xml (a POWER host with KVM) whose ppc64 and
ppc64le guest machine lists are replaced, line for line, by the one that
the patched libvirt reports for our qemu-system-ppc64 ('virsh
capabilities' with scripts/virt-env.sh): the machines in QEMU's order,
the default one (pseries-10.2) and its alias first, as
virQEMUCapsSetDefaultMachine() puts them, with pseries-pcie-10.2 and its
alias where QEMU lists them. libvirt formats the same list for both
arches of the binary; the domain types (qemu, kvm) stay those of the
POWER host.

usage: virt-manager-caps-fixture.py LIVE-CAPS.xml UPSTREAM-kvm-ppc64le.xml >OUT
"""
import re
import sys


def machine_lines(text, arch):
    """The <machine> lines of the first <arch name=ARCH> of TEXT"""
    m = re.search(r"<arch name='%s'>\n(.*?)</arch>" % re.escape(arch), text, re.S)
    if not m:
        sys.exit("no <arch name='%s'> in the capabilities" % arch)
    return [ln for ln in m.group(1).split("\n") if ln.strip().startswith("<machine")]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    live = open(sys.argv[1]).read()
    fixture = open(sys.argv[2]).read()
    machines = machine_lines(live, "ppc64")
    if not any(">pseries-pcie<" in ln for ln in machines):
        sys.exit("the live capabilities have no pseries-pcie machine: not our QEMU?")
    for arch in ("ppc64", "ppc64le"):
        old = machine_lines(fixture, arch)
        m = re.search(r"(<arch name='%s'>\n.*?)(</arch>)" % arch, fixture, re.S)
        block = m.group(1)
        first = block.index(old[0])
        last = block.index(old[-1]) + len(old[-1])
        first = block.rindex("\n", 0, first) + 1
        block = block[:first] + "\n".join(" " * 6 + ln.strip()
                                          for ln in machines) + block[last:]
        fixture = fixture[:m.start(1)] + block + fixture[m.end(1):]
    # (upstream's file ends with a blank line, which git am warns about)
    sys.stdout.write(fixture.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
