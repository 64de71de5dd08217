#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The derived variants of libvirt's ppc64 +pseriespcie capability replies.

libvirt's test data for a QEMU binary is the QMP conversation that
tests/qemucapsprobe records while libvirt probes it.  Ours,
caps_10.2.0_ppc64+pseriespcie.replies, was probed from our
qemu-system-ppc64 on an x86_64 host, so it has TCG only: query-kvm says
"present": false and there is no second (TCG-only) probe session.  Two
variants are derived from it, deterministically, by this script:

+pseriespcienobus  the same conversation with every machine type's
                   "pci-root-bus" member removed (a QEMU that does not
                   report the root bus: libvirt falls back to the name)

+pseriespciekvm    the conversation libvirt has with the same QEMU on a
                   POWER host with KVM: query-kvm answers "enabled": true,
                   "present": true, and, because KVM is there, libvirt
                   starts QEMU a second time with TCG only and asks again
                   for the CPU definitions, the "max" CPU expansion and
                   the machine types (virQEMUCapsInitQMPMonitorTCG()).
                   That session's replies are those of the first session,
                   as QEMU gives the same answers to both (the machine
                   types and CPU models of a binary do not depend on the
                   accelerator; the expansion fails the same way).  The
                   only thing not probed is KVM being present.

usage: libvirt-caps-variants.py PSERIESPCIE.replies nobus|kvm >OUT
"""
import json
import re
import sys


def blocks(text):
    """The QMP messages of a .replies file, as their text"""
    return [b for b in text.strip("\n").split("\n\n") if b.strip()]


def msg_id(block):
    return json.loads(block).get("id")


def with_id(block, new_id):
    return re.sub(r'"id": "libvirt-\d+"', '"id": "%s"' % new_id, block)


def nobus(text):
    # the member is always printed as a 4-line object in these files
    out = re.sub(r'\n *"pci-root-bus": \{\n *"(type|id)": "[^"]*",\n'
                 r' *"(type|id)": "[^"]*"\n *\},', "", text)
    if '"pci-root-bus"' in out.replace('"name": "pci-root-bus"', ""):
        sys.exit("a pci-root-bus member was left: its layout changed")
    return out


def kvm(text):
    msgs = blocks(text)
    out = []
    cmds = {}          # execute -> [(command block, reply block)]
    last = 0
    for i in range(0, len(msgs), 2):
        cmd, reply = msgs[i], msgs[i + 1]
        c, r = json.loads(cmd), json.loads(reply)
        if c.get("id") != r.get("id"):
            sys.exit("command %s and reply %s do not pair" % (c, r))
        name = c["execute"]
        if name == "query-kvm":
            if r["return"] != {"enabled": False, "present": False}:
                sys.exit("query-kvm already says %s" % r["return"])
            reply = reply.replace('"enabled": false', '"enabled": true')
            reply = reply.replace('"present": false', '"present": true')
        cmds.setdefault(name, []).append((cmd, reply))
        last = max(last, int(c["id"].split("-")[1]))
        out += [cmd, reply]

    def take(name, model=None):
        for cmd, reply in cmds.get(name, []):
            args = json.loads(cmd).get("arguments", {})
            if model is None or args.get("model", {}).get("name") == "host":
                yield cmd, reply, args

    # the second, TCG-only session (virQEMUCapsInitQMPSingle(onlyTCG))
    session = [('{\n  "execute": "qmp_capabilities",\n  "id": "libvirt-1"\n}',
                '{\n  "return": {},\n  "id": "libvirt-1"\n}')]
    for cmd, reply, _ in take("query-cpu-definitions"):
        session.append((cmd, reply))
    for cmd, reply, _ in take("query-cpu-model-expansion", model="host"):
        session.append((cmd.replace('"name": "host"', '"name": "max"'), reply))
    for cmd, reply, _ in take("query-machines"):
        session.append((cmd, reply))
    for n, (cmd, reply) in enumerate(session, start=1):
        out += [with_id(cmd, "libvirt-%d" % n), with_id(reply, "libvirt-%d" % n)]
    return "\n\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("nobus", "kvm"):
        sys.exit(__doc__.strip().splitlines()[-1])
    text = open(sys.argv[1]).read()
    sys.stdout.write(nobus(text) if sys.argv[2] == "nobus" else kvm(text))


if __name__ == "__main__":
    main()
