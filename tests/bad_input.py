#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The bad-input matrix (issue 5, item 5).

usage: bad_input.py QEMU GUEST_DIR TOPO_SCRIPT WORKDIR DOC [--write-doc]

Every invalid command line below must make QEMU exit with status 1 and an
error whose first line says what is wrong (the expected text), with no
abort, crash or sanitizer report.  Every invalid QMP request is sent to a
running pseries-pcie guest (the demo topology, plus a root port with
hotplug=off): it must get a QMP error with a one-line description, and
leave the machine as it was (query-pci, the QOM peripherals, the run
state); at the end the guest must still answer on its console and see the
PCI functions it saw before.

DOC (docs/bad-input.md) is the table of these cases with QEMU's actual
messages; the test fails if it is out of date, and --write-doc rewrites it.
"""

import json
import os
import re
import subprocess
import sys

from live_guest import LiveGuest, GuestError, demo_topology

PCIE = "pseries-pcie"
RP = "pcie-root-port"

# (what, machine, extra args, text the first line of stderr must contain)
CMDLINE = [
    ("PCIe root port on legacy pseries", "pseries",
     "-device pcie-root-port,chassis=1", "needs a PCI Express bus"),
    ("PCIe switch on legacy pseries", "pseries",
     "-device x3130-upstream", "needs a PCI Express bus"),
    ("PCIe-to-PCI bridge on legacy pseries", "pseries",
     "-device pcie-pci-bridge", "needs a PCI Express bus"),
    ("legacy bus name on pseries-pcie", PCIE,
     "-device virtio-net-pci,bus=pci.0", "Bus 'pci.0' not found"),
    ("bus that does not exist", PCIE,
     "-device e1000,bus=nosuchbus", "Bus 'nosuchbus' not found"),
    ("bus of a PHB that does not exist", PCIE,
     "-device virtio-rng-pci,bus=phb7.0", "Bus 'phb7.0' not found"),
    ("PCIe root port behind the PCIe-to-PCI bridge", PCIE,
     "-device pcie-pci-bridge,id=pb -device pcie-root-port,bus=pb,chassis=1",
     "needs a PCI Express bus, but bus 'pb' is a conventional PCI bus"),
    ("PCIe-to-PCI bridge behind a PCIe-to-PCI bridge", PCIE,
     "-device pcie-pci-bridge,id=pb -device pcie-pci-bridge,bus=pb",
     "needs a PCI Express bus"),
    ("PCIe switch behind a conventional pci-bridge", PCIE,
     "-device pci-bridge,id=cb,chassis_nr=1 -device x3130-upstream,bus=cb",
     "needs a PCI Express bus"),
    ("extra PHB without index", PCIE,
     "-device spapr-pcie-host-bridge", "\"index\" for PAPR PHB is mandatory"),
    ("extra PHB index too large", PCIE,
     "-device spapr-pcie-host-bridge,index=31", "too large"),
    ("extra PHB index negative", PCIE,
     "-device spapr-pcie-host-bridge,index=-1",
     "Parameter 'index' expects uint32_t"),
    ("extra PHB index not a number", PCIE,
     "-device spapr-pcie-host-bridge,index=abc",
     "Parameter 'index' expects integer"),
    ("extra PHB index of the default PHB", PCIE,
     "-device spapr-pcie-host-bridge,index=0", "PHB 0 already attached"),
    ("legacy PHB with the default PHB's index", PCIE,
     "-device spapr-pci-host-bridge,index=0", "PHB 0 already attached"),
    ("two extra PHBs with one index", PCIE,
     "-device spapr-pcie-host-bridge,index=1 "
     "-device spapr-pcie-host-bridge,index=1", "PHB 1 already attached"),
    ("extra PHB on a NUMA node that does not exist", PCIE,
     "-device spapr-pcie-host-bridge,index=1,numa_node=99",
     "Invalid NUMA node ID for PCI host bridge"),
    ("extra PHB with a legacy window property", PCIE,
     "-device spapr-pcie-host-bridge,index=1,mem_win_addr=0x1000",
     "Property 'spapr-pcie-host-bridge.mem_win_addr' not found"),
    ("extra PHB with a BUID", PCIE,
     "-device spapr-pcie-host-bridge,index=1,buid=0x1",
     "Property 'spapr-pcie-host-bridge.buid' not found"),
    ("PCIe PHB without extended config space", PCIE,
     "-global spapr-pcie-host-bridge.pcie-extended-configuration-space=off",
     "always has PCI Express extended config space"),
    ("sPAPR PCIe PHB on a non-pseries machine", "ppce500",
     "-device spapr-pcie-host-bridge,index=1", "spapr-pcie-host-bridge"),
    ("machine option that does not exist", PCIE + ",foo=bar", "",
     "Property 'pseries-pcie-10.2-machine.foo' not found"),
    ("sPAPR capability that does not exist", PCIE + ",cap-foo=on", "",
     "Property 'pseries-pcie-10.2-machine.cap-foo' not found"),
    ("machine version that does not exist", "pseries-pcie-9.9", "",
     "unsupported machine type: \"pseries-pcie-9.9\""),
    ("bad boolean machine option", PCIE + ",x-vof=maybe", "",
     "Parameter 'x-vof' expects 'on' or 'off'"),
    ("bad CPU compatibility mode", PCIE + ",max-cpu-compat=power99", "",
     "Invalid compatibility mode \"power99\""),
    ("devfn out of range", PCIE,
     "-device pcie-root-port,chassis=1,addr=0x20",
     "Property 'pcie-root-port.addr' doesn't take value '0x20'"),
    ("two devices in one slot of pcie.0", PCIE,
     "-device virtio-rng-pci,addr=3 -device virtio-rng-pci,addr=3",
     "PCI: slot 3 already occupied by virtio-rng-pci"),
    ("too many devices on pcie.0", PCIE,
     " ".join(["-device virtio-rng-pci"] * 33),
     "PCI: no slot/function available for virtio-rng-pci"),
    ("two root ports without chassis/slot", PCIE,
     "-device pcie-root-port -device pcie-root-port",
     "PCI Express chassis 0 slot 0 is already in use"),
    ("two root ports with one chassis/slot", PCIE,
     "-device pcie-root-port,chassis=3,slot=4 "
     "-device pcie-root-port,chassis=3,slot=4",
     "PCI Express chassis 3 slot 4 is already in use"),
    ("downstream ports with one chassis/slot", PCIE,
     "-device pcie-root-port,id=rp,chassis=1 -device x3130-upstream,id=up,bus=rp "
     "-device xio3130-downstream,bus=up,chassis=1,slot=0",
     "PCI Express chassis 1 slot 0 is already in use"),
    ("chassis out of range", PCIE,
     "-device pcie-root-port,chassis=300", "Parameter 'chassis' expects uint8_t"),
    ("slot out of range", PCIE,
     "-device pcie-root-port,chassis=1,slot=70000",
     "Parameter 'slot' expects uint16_t"),
    ("duplicate device id", PCIE,
     "-device pcie-root-port,id=rp1,chassis=1 "
     "-device pcie-root-port,id=rp1,chassis=2", "Duplicate ID 'rp1' for device"),
    ("bad multifunction value", PCIE,
     "-device pcie-root-port,chassis=1,multifunction=maybe",
     "Parameter 'multifunction' expects 'on' or 'off'"),
    ("virtio-blk without a drive", PCIE,
     "-device pcie-root-port,id=rp,chassis=1 -device virtio-blk-pci,bus=rp",
     "drive property not set"),
    ("NVMe without a serial", PCIE,
     "-device pcie-root-port,id=rp,chassis=1 -device nvme,bus=rp",
     "serial property not set"),
    ("NIC with a netdev that does not exist", PCIE,
     "-device pcie-root-port,id=rp,chassis=1 "
     "-device virtio-net-pci,bus=rp,netdev=nope", "can't find value 'nope'"),
    ("device model that does not exist", PCIE,
     "-device pcie-root-porte", "'pcie-root-porte' is not a valid device model name"),
]

# Added to the demo topology for the QMP cases
QMP_TOPOLOGY_EXTRA = ["-device", "pcie-root-port,id=rpnh,chassis=1,slot=9,"
                      "addr=9.0,hotplug=off",
                      "-device", "virtio-rng-pci,id=rngnh,bus=rpnh"]

# (what, command, arguments, text the error must contain)
QMP = [
    ("legacy bus name", "device_add",
     {"driver": "virtio-net-pci", "bus": "pci.0"}, "Bus 'pci.0' not found"),
    ("bus that does not exist", "device_add",
     {"driver": "virtio-rng-pci", "bus": "nosuchbus"},
     "Bus 'nosuchbus' not found"),
    ("root port hot-plugged onto pcie.0", "device_add",
     {"driver": RP, "id": "x", "chassis": 9, "slot": 9},
     "pcie-root-port cannot be hot-plugged into bus 'pcie.0'"),
    ("PCIe switch hot-plugged onto pcie.0", "device_add",
     {"driver": "x3130-upstream", "id": "x"},
     "x3130-upstream cannot be hot-plugged into bus 'pcie.0'"),
    ("PCIe-to-PCI bridge hot-plugged onto pcie.0", "device_add",
     {"driver": "pcie-pci-bridge", "id": "x"},
     "pcie-pci-bridge cannot be hot-plugged into bus 'pcie.0'"),
    ("switch downstream port hot-plugged below the upstream port", "device_add",
     {"driver": "xio3130-downstream", "id": "x", "bus": "up", "chassis": 9},
     "Bus 'up' does not support hotplugging"),
    ("into an occupied root port", "device_add",
     {"driver": "virtio-rng-pci", "id": "x", "bus": "rp1"},
     "slot 0 function 0 already occupied by virtio-net-pci"),
    ("into an occupied downstream port", "device_add",
     {"driver": "virtio-rng-pci", "id": "x", "bus": "dn1"},
     "slot 0 function 0 already occupied by nvme"),
    ("into an occupied slot of pcie.0", "device_add",
     {"driver": "virtio-rng-pci", "id": "x", "bus": "pcie.0", "addr": "1.0"},
     "PCI: slot 1 already occupied by pcie-root-port"),
    ("into a root port with hotplug=off", "device_add",
     {"driver": "virtio-rng-pci", "id": "x", "bus": "rpnh"},
     "Bus 'rpnh' does not support hotplugging"),
    ("PCIe-to-PCI bridge hot-plugged into an empty root port", "device_add",
     {"driver": "pcie-pci-bridge", "id": "x", "bus": "rp4"},
     "pcie-pci-bridge cannot be hot-plugged into bus 'rp4'"),
    ("PCIe switch hot-plugged into an empty root port", "device_add",
     {"driver": "x3130-upstream", "id": "x", "bus": "rp4"},
     "x3130-upstream cannot be hot-plugged into bus 'rp4'"),
    ("root port hot-plugged into an empty root port", "device_add",
     {"driver": RP, "id": "x", "bus": "rp4", "chassis": 9, "slot": 9},
     "pcie-root-port cannot be hot-plugged into bus 'rp4'"),
    ("pci-bridge hot-plugged into an empty root port", "device_add",
     {"driver": "pci-bridge", "id": "x", "bus": "rp4", "chassis_nr": 9},
     "pci-bridge cannot be hot-plugged into bus 'rp4'"),
    ("pci-bridge hot-plugged behind the PCIe-to-PCI bridge", "device_add",
     {"driver": "pci-bridge", "id": "x", "bus": "pb", "chassis_nr": 9,
      "addr": "5.0"},
     "pci-bridge cannot be hot-plugged into bus 'pb'"),
    ("root port behind the PCIe-to-PCI bridge", "device_add",
     {"driver": RP, "id": "x", "bus": "pb", "chassis": 7},
     "needs a PCI Express bus, but bus 'pb' is a conventional PCI bus"),
    ("PCIe switch behind the PCIe-to-PCI bridge", "device_add",
     {"driver": "x3130-upstream", "id": "x", "bus": "pb"},
     "needs a PCI Express bus"),
    ("extra PHB with the default PHB's index", "device_add",
     {"driver": "spapr-pcie-host-bridge", "id": "x", "index": 0},
     "PHB 0 already attached"),
    ("extra PHB index too large", "device_add",
     {"driver": "spapr-pcie-host-bridge", "id": "x", "index": 31},
     "too large"),
    ("extra PHB without index", "device_add",
     {"driver": "spapr-pcie-host-bridge", "id": "x"},
     "\"index\" for PAPR PHB is mandatory"),
    ("extra PHB on a NUMA node that does not exist", "device_add",
     {"driver": "spapr-pcie-host-bridge", "id": "x", "index": 2,
      "numa_node": 99}, "Invalid NUMA node ID"),
    ("duplicate device id", "device_add",
     {"driver": "virtio-rng-pci", "id": "rp1", "bus": "rp4"},
     "Duplicate device ID 'rp1'"),
    ("devfn out of range", "device_add",
     {"driver": "virtio-rng-pci", "id": "x", "addr": "0x40"},
     "doesn't take value '0x40'"),
    ("chassis out of range", "device_add",
     {"driver": RP, "id": "x", "chassis": 300},
     "Parameter 'chassis' expects uint8_t"),
    ("virtio-blk without a drive", "device_add",
     {"driver": "virtio-blk-pci", "id": "x", "bus": "rp4"},
     "drive property not set"),
    ("NIC with a netdev that does not exist", "device_add",
     {"driver": "virtio-net-pci", "id": "x", "bus": "rp4", "netdev": "nope"},
     "can't find value 'nope'"),
    ("device model that does not exist", "device_add",
     {"driver": "pcie-root-porte", "id": "x"},
     "'pcie-root-porte' is not a valid device model name"),
    ("unplug of a device that does not exist", "device_del",
     {"id": "nosuchdevice"}, "Device 'nosuchdevice' not found"),
    ("unplug of the root bus", "device_del",
     {"id": "pcie.0"}, "Device 'pcie.0' not found"),
    ("unplug of a root port with a device", "device_del",
     {"id": "rp1"}, "PCI: Hot unplug of PCI bridges not supported"),
    ("unplug of a root port with a switch below", "device_del",
     {"id": "rp3"}, "PCI: Hot unplug of PCI bridges not supported"),
    ("unplug of an empty root port", "device_del",
     {"id": "rp4"}, "PCI: Hot unplug of PCI bridges not supported"),
    ("unplug from a root port with hotplug=off", "device_del",
     {"id": "rngnh"}, "does not support hotplugging"),
]

ASAN_NOTE = re.compile(r"==\d+==WARNING: ASan doesn't fully support "
                       r"makecontext/swapcontext")

BAD_OUTPUT = ("Aborted", "core dumped", "Assertion", "Segmentation",
              "runtime error", "AddressSanitizer", "LeakSanitizer",
              "terminating on signal")


def run_cmdline(qemu, machine, extra):
    args = [qemu, "-display", "none", "-nodefaults", "-accel", "qtest",
            "-M", machine] + extra.split()
    env = dict(os.environ)
    # Leaks at exit(1) are not what this test looks for
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30,
                           env=env)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        return "still running after 30s", (e.stderr or b"").decode()


def state(qmp):
    return (json.dumps(qmp.cmd("query-pci"), sort_keys=True),
            json.dumps(sorted((p["name"], p["type"]) for p in
                              qmp.cmd("qom-list", path="/machine/peripheral"))),
            qmp.cmd("query-status")["status"])


def main():
    qemu, guest_dir, topo_script, workdir, doc = sys.argv[1:6]
    write_doc = "--write-doc" in sys.argv
    os.makedirs(workdir, exist_ok=True)
    failures = []
    rows = []

    def check(cond, what):
        print("%s: %s" % ("ok  " if cond else "FAIL", what), flush=True)
        if not cond:
            failures.append(what)

    for what, machine, extra, want in CMDLINE:
        rc, err = run_cmdline(qemu, machine, extra)
        # An ASan build warns about coroutines first: not QEMU's message
        lines = [ln for ln in err.strip().split("\n")
                 if ln and not ASAN_NOTE.match(ln)]
        first = lines[0] if lines else ""
        # Drop "qemu-system-ppc64: -device ...: " to keep the message
        msg = first.split(": ", 1)[-1]
        if msg.startswith("-") and ": " in msg:
            msg = msg.split(": ", 1)[1]
        bad = [b for b in BAD_OUTPUT if b in err]
        ok = (rc == 1 and want in first and not bad and
              first.startswith(os.path.basename(qemu) + ": "))
        check(ok, "command line: %s (exit %s, %d line(s)%s)" %
              (what, rc, len(lines), ", " + ", ".join(bad) if bad else ""))
        if not ok:
            print("   -M %s %s\n   stderr: %s" % (machine, extra, err.strip()))
        hint = lines[1] if len(lines) > 1 else ""
        words = extra.split(" -device ")
        if len(words) > 3 and len(set(words)) == 1:
            extra = "%s (%d times)" % (words[0], len(words))
        rows.append(("command line", what, "-M %s %s" % (machine, extra),
                     msg, hint))

    # QMP cases on a running guest
    args = (demo_topology(topo_script, "pseries-pcie", guest_dir) +
            QMP_TOPOLOGY_EXTRA)
    try:
        g = LiveGuest(qemu, guest_dir, workdir, "bad-input", args)
        g.wait_serving()
        fns0 = g.fns()
        s0 = state(g.qmp)
        for what, cmd, arguments, want in QMP:
            g.qmp.sock.sendall(json.dumps({"execute": cmd,
                                           "arguments": arguments}).encode()
                               + b"\n")
            resp = g.qmp._read()
            err = resp.get("error", {}).get("desc", "")
            ok = "error" in resp and want in err and "\n" not in err
            same = state(g.qmp) == s0
            check(ok and same, "QMP %s: %s (%s)" %
                  (cmd, what, "machine unchanged" if same else "MACHINE CHANGED"))
            if not ok:
                print("   %s %s -> %s" % (cmd, json.dumps(arguments), resp))
            rows.append(("QMP " + cmd, what, json.dumps(arguments), err, ""))
        check(g.fns() == fns0,
              "the guest answers and sees the same %d PCI functions" %
              len(fns0))
        bad = g.health_problems()
        check(not bad, "the guest kernel stayed healthy%s" %
              (" (%s)" % "; ".join(bad) if bad else ""))
        check(g.stop() == 0, "QEMU quits cleanly")
        bad = [b for b in BAD_OUTPUT if b in g.stderr()]
        check(not bad, "no abort or sanitizer report on QEMU's stderr")
    except GuestError as e:
        check(False, str(e))
    finally:
        LiveGuest.stop_all()

    text = render(rows)
    if write_doc:
        with open(doc, "w") as f:
            f.write(text)
        print("wrote %s" % doc)
    else:
        try:
            current = open(doc).read()
        except OSError:
            current = ""
        check(current == text, "%s matches QEMU's messages (regenerate: "
              "make bad-input-doc)" % doc)
    print("%d bad inputs tried (%d command lines, %d QMP requests), "
          "%d failed" % (len(CMDLINE) + len(QMP), len(CMDLINE), len(QMP),
                         len(failures)))
    return 1 if failures else 0


def cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def render(rows):
    out = ["<!-- SPDX-License-Identifier: GPL-2.0-or-later -->",
           "<!-- Generated by tests/bad_input.py (make bad-input-doc); "
           "do not edit. -->",
           "# Bad input: what QEMU says",
           "",
           "Invalid command lines and QMP requests around the pseries-pcie "
           "family, and the error",
           "QEMU gives for each. `make check` runs every one (tests/bad-input.sh): "
           "a command line",
           "must exit with status 1 and this message, without abort or core; a "
           "QMP request must",
           "fail with this message and leave the running guest unchanged "
           "(`query-pci`, QOM",
           "peripherals, run state, the PCI functions the guest sees).",
           "",
           "| # | input | what is wrong | QEMU says |",
           "|---|---|---|---|"]
    for i, (kind, what, inp, msg, hint) in enumerate(rows, 1):
        said = cell(msg) + (" *(hint: %s)*" % cell(hint) if hint else "")
        out.append("| %d | %s `%s` | %s | %s |" % (i, kind, cell(inp),
                                                     cell(what), said))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
